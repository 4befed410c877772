"""Ragged arrays in HDF5: one variable-length array per sample, stored back to back.

A ragged group holds, for n samples, any number of columns and one ``offsets`` dataset::

    <column>   (P, *row) any dtype   the samples' rows concatenated (P rows in all)
    offsets    (n+1,) int64          sample i is rows offsets[i]:offsets[i+1] of every column

Plain h5py reads it. A non-empty column is chunked (at most :data:`CHUNK_ROWS` rows a chunk)
and filtered as the writer asks (e.g. ``compression="gzip", shuffle=True``); an empty one is
stored contiguous, as HDF5 cannot chunk it. Datasets carry no timestamps, so equal arrays
give equal bytes. :class:`RaggedColumn` reads one sample's rows without reading the others.
"""

from __future__ import annotations

from typing import Sequence

import h5py
import numpy as np

OFFSETS = "offsets"
CHUNK_ROWS = 65536


def offsets_of(lengths: Sequence[int]) -> np.ndarray:
    """(n+1,) int64 start rows of n arrays of ``lengths`` rows, then the total."""
    return np.concatenate([[0], np.cumsum(np.asarray(lengths, dtype=np.int64))]).astype(np.int64)


def write_column(group: h5py.Group, name: str, arrays: Sequence[np.ndarray], dtype,
                 row_shape: tuple[int, ...] = (), **filters) -> h5py.Dataset:
    """Write ``arrays`` (each (N_i, *row_shape)) back to back as dataset ``name`` of ``dtype``;
    ``filters`` (h5py's ``compression``, ``compression_opts``, ``shuffle``) apply when it is
    not empty. Write :func:`write_offsets` of the same arrays beside it."""
    if len(arrays):
        data = np.concatenate(arrays).astype(dtype)
    else:
        data = np.zeros((0, *row_shape), dtype)
    if not len(data):  # HDF5 cannot chunk an empty dataset
        return group.create_dataset(name, data=data, track_times=False)
    chunks = (min(len(data), CHUNK_ROWS), *data.shape[1:])
    return group.create_dataset(name, data=data, chunks=chunks, track_times=False, **filters)


def write_offsets(group: h5py.Group, lengths: Sequence[int]) -> np.ndarray:
    """Write the ``offsets`` dataset for arrays of ``lengths`` rows; returns it ((n+1,) int64)."""
    offsets = offsets_of(lengths)
    group.create_dataset(OFFSETS, data=offsets, track_times=False)
    return offsets


def read_offsets(group: h5py.Group) -> np.ndarray:
    """The group's (n+1,) int64 offsets."""
    return group[OFFSETS][:]


def read_rows(group: h5py.Group, name: str, offsets: np.ndarray, i: int) -> np.ndarray:
    """Sample ``i``'s rows of column ``name`` ((N_i, *row)); only those rows are read."""
    return group[name][int(offsets[i]):int(offsets[i + 1])]


def read_all(group: h5py.Group, name: str, offsets: np.ndarray) -> list[np.ndarray]:
    """Every sample's rows of column ``name``: the column read at once, split into n views."""
    if len(offsets) < 2:
        return []
    return np.split(group[name][:], np.asarray(offsets[1:-1], dtype=np.int64))


class RaggedColumn:
    """A lazy sequence over one column of an open group: ``column[i]`` reads sample i's rows."""

    def __init__(self, group: h5py.Group, name: str, offsets: np.ndarray | None = None):
        self.dataset = group[name]
        self.offsets = read_offsets(group) if offsets is None else np.asarray(offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> np.ndarray:
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        return self.dataset[int(self.offsets[i]):int(self.offsets[i + 1])]
