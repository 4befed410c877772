"""anomalygen.storage: atomic writes and ragged HDF5 columns."""

import os

import h5py
import numpy as np
import pytest

from anomalygen.storage import atomic, ragged
from anomalygen.storage.atomic import atomic_path, temporary_owner, temporary_path


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def test_atomic_write_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "a.json"
    path.write_text("old")
    atomic.write_text(path, "new ü")
    assert path.read_text(encoding="utf-8") == "new ü"
    atomic.write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert leftovers(tmp_path) == []


def test_atomic_write_writes_beside_the_target_under_one_name(tmp_path):
    path = tmp_path / "model.pt"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp == temporary_path(path)
        assert tmp.name == f".model.pt.{os.getpid()}.tmp"
        tmp.write_text("x")
        assert not path.exists()  # nothing is visible before the block ends
    assert path.read_text() == "x"
    assert temporary_owner(tmp) == os.getpid()
    assert temporary_owner(tmp_path / ".model.pt.tmp") is None
    assert temporary_owner(tmp_path / "model.pt") is None


@pytest.mark.parametrize("error", [ValueError, KeyboardInterrupt, SystemExit])
def test_a_failed_write_keeps_the_old_file_and_removes_the_temporary(tmp_path, error):
    path = tmp_path / "manifest.json"
    path.write_text("old")
    with pytest.raises(error):
        with atomic_path(path) as tmp:
            tmp.write_text("half of the new")
            raise error("stop")
    assert path.read_text() == "old"
    assert leftovers(tmp_path) == []


def test_a_failed_write_of_a_new_file_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "new.h5") as tmp, h5py.File(tmp, "w") as f:
            f.create_dataset("x", data=np.arange(3))
            raise RuntimeError
    assert list(tmp_path.iterdir()) == []


def test_a_write_that_never_creates_the_temporary_fails_cleanly(tmp_path):
    with pytest.raises(FileNotFoundError):  # os.replace of a file never written
        with atomic_path(tmp_path / "x.txt"):
            pass
    assert list(tmp_path.iterdir()) == []


def arrays(rng, lengths, row=(3,), dtype=np.float32):
    return [rng.normal(size=(n, *row)).astype(dtype) for n in lengths]


@pytest.mark.parametrize("lengths", [[5, 0, 3, 1], [0, 0], [7], []])
def test_ragged_round_trip_with_empty_arrays(tmp_path, lengths):
    rng = np.random.default_rng(0)
    points, labels = arrays(rng, lengths), [rng.integers(0, 2, n).astype(np.uint8) for n in lengths]
    with h5py.File(tmp_path / "r.h5", "w") as f:
        ragged.write_column(f, "points", points, np.float32, (3,), compression="gzip", shuffle=True)
        ragged.write_column(f, "labels", labels, np.uint8, compression="gzip", shuffle=True)
        offsets = ragged.write_offsets(f, lengths)
    assert offsets.dtype == np.int64 and offsets.tolist() == [0, *np.cumsum(lengths).tolist()]
    with h5py.File(tmp_path / "r.h5", "r") as f:
        assert f["points"].shape == (sum(lengths), 3) and f["points"].dtype == np.float32
        assert f["labels"].shape == (sum(lengths),)
        offsets = ragged.read_offsets(f)
        for i, n in enumerate(lengths):
            got = ragged.read_rows(f, "points", offsets, i)
            assert got.shape == (n, 3) and np.array_equal(got, points[i])
            assert np.array_equal(ragged.read_rows(f, "labels", offsets, i), labels[i])
        everything = ragged.read_all(f, "points", offsets)
        assert len(everything) == len(lengths)
        assert all(np.array_equal(a, b) for a, b in zip(everything, points))
        column = ragged.RaggedColumn(f, "labels")
        assert len(column) == len(lengths)
        assert all(np.array_equal(column[i], labels[i]) for i in range(len(lengths)))
        with pytest.raises(IndexError):
            column[len(lengths)]


def test_ragged_columns_are_chunked_filtered_and_deterministic(tmp_path):
    rng = np.random.default_rng(1)
    points = arrays(rng, [70000, 10])
    digests = []
    for name in ("a.h5", "b.h5"):
        with h5py.File(tmp_path / name, "w", track_order=True) as f:
            data = ragged.write_column(f, "points", points, np.float32, (3,), compression="gzip",
                                       compression_opts=1, shuffle=True)
            assert data.chunks == (ragged.CHUNK_ROWS, 3)
            assert data.compression == "gzip" and data.compression_opts == 1 and data.shuffle
            empty = ragged.write_column(f, "none", [], np.uint8, compression="gzip")
            assert empty.shape == (0,) and empty.chunks is None
            ragged.write_offsets(f, [len(p) for p in points])
        digests.append((tmp_path / name).read_bytes())
    assert digests[0] == digests[1]


def test_ragged_column_reads_only_the_rows_asked_for(tmp_path):
    rng = np.random.default_rng(2)
    values = arrays(rng, [4, 2, 6], row=())
    with h5py.File(tmp_path / "r.h5", "w") as f:
        ragged.write_column(f, "v", values, np.float64)
        ragged.write_offsets(f, [4, 2, 6])
    with h5py.File(tmp_path / "r.h5", "r") as f:
        column = ragged.RaggedColumn(f, "v")
        asked = []

        class Recording:
            def __getitem__(self, rows):
                asked.append(rows)
                return f["v"][rows]

        column.dataset = Recording()
        assert np.array_equal(column[1], values[1])
        assert np.array_equal(column[-1], values[2])
    assert asked == [slice(4, 6), slice(6, 12)]
