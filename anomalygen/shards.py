"""HDF5 shards: the schema, the writer, the reader API and the manifest.

An output folder holds ``manifest.json`` and ``shards/<class>/<split>-<k>.h5``. Each shard
stores the samples of one class and split back to back, readable with h5py alone:

======================  ===============  ================================================
dataset                 shape, dtype     meaning
======================  ===============  ================================================
points                  (P, 3) float32   all samples' points, concatenated (unit sphere)
normals                 (P, 3) float32   unit surface normal of each point
labels                  (P,) uint8       1 where the point is anomalous
anomaly_index           (P,) uint8       0 normal, k for the k-th anomaly of its sample
offsets                 (n+1,) int64     sample i is rows offsets[i]:offsets[i+1]
sample_id               (n,) str         "<class>/<split>/<token><index>"
kind                    (n,) str         "normal" or the sample's anomaly type
types                   (n,) str         JSON list, the type of anomaly k at position k-1
params                  (n,) str         JSON list, the parameters of each anomaly
seed                    (n,) uint64      the sample's random seed
object_label            (n,) uint8       1 for an anomalous sample
anomalous_fraction      (n,) float32     fraction of the sample's points labelled 1
checksum                (n,) str         see :func:`sample_checksum`
mesh_ply                (n,) vlen uint8  binary PLY of the sampled mesh (keep_meshes only)
======================  ===============  ================================================

File attributes: schema_version, anomalygen_version, recipe_name, recipe_digest, class_name,
split, shard_id. Nothing here imports torch or the generator.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import h5py
import numpy as np

SCHEMA_VERSION = 1
MANIFEST = "manifest.json"
SHARD_DIR = "shards"
POINT_DECIMALS = 5   # checksums see points rounded to 1e-5 units (10 micrometres on a 1 m object)
NORMAL_DECIMALS = 3


@dataclass
class Sample:
    """One labelled point cloud and its record."""

    sample_id: str
    class_name: str
    split: str
    kind: str
    points: np.ndarray              # (N, 3) float32
    normals: np.ndarray             # (N, 3) float32
    anomaly_index: np.ndarray       # (N,) uint8
    types: list[str] = field(default_factory=list)
    params: list[dict] = field(default_factory=list)
    seed: int = 0
    mesh_ply: bytes | None = None

    @property
    def labels(self) -> np.ndarray:
        """(N,) uint8, 1 where the point is anomalous."""
        return (self.anomaly_index > 0).astype(np.uint8)

    @property
    def object_label(self) -> int:
        return int(bool(self.types))

    @property
    def anomalous_fraction(self) -> float:
        return float(np.count_nonzero(self.anomaly_index)) / max(len(self.anomaly_index), 1)

    @property
    def checksum(self) -> str:
        return sample_checksum(self.points, self.normals, self.anomaly_index)


def sample_checksum(points: np.ndarray, normals: np.ndarray, anomaly_index: np.ndarray) -> str:
    """sha256 hex of a sample's arrays, stable across machines and library builds.

    Points are rounded to ``POINT_DECIMALS`` and normals to ``NORMAL_DECIMALS`` decimals and
    hashed as little-endian int64 together with the anomaly indices, so float noise in the
    last bits from another BLAS or CPU does not change it while any real change does.
    """
    h = hashlib.sha256()
    for array, decimals in ((points, POINT_DECIMALS), (normals, NORMAL_DECIMALS)):
        quantised = np.round(np.asarray(array, dtype=np.float64) * 10**decimals).astype("<i8")
        h.update(quantised.tobytes())
    h.update(np.asarray(anomaly_index, dtype=np.uint8).tobytes())
    return h.hexdigest()


def shard_path(out_dir: Path, shard_id: str) -> Path:
    return Path(out_dir) / SHARD_DIR / f"{shard_id}.h5"


def write_shard(path: Path, samples: Sequence[Sample], attrs: dict, compression: str = "gzip") -> None:
    """Write ``samples`` to ``path`` atomically (a temporary file renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    options = {} if compression == "none" else {"compression": compression, "shuffle": True}
    if compression == "gzip":
        options["compression_opts"] = 4
    counts = np.array([len(s.points) for s in samples], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    string = h5py.string_dtype()
    with h5py.File(tmp, "w", track_order=True) as f:
        f.attrs.update({"schema_version": SCHEMA_VERSION, **attrs})

        def stacked(name, arrays, dtype, width=None):
            data = np.concatenate(arrays).astype(dtype) if arrays else np.zeros((0,) + ((width,) if width else ()), dtype)
            if len(data):  # HDF5 cannot chunk an empty dataset
                f.create_dataset(name, data=data, chunks=(min(len(data), 65536),) + data.shape[1:], **options)
            else:
                f.create_dataset(name, data=data)

        stacked("points", [s.points for s in samples], np.float32, 3)
        stacked("normals", [s.normals for s in samples], np.float32, 3)
        stacked("labels", [s.labels for s in samples], np.uint8)
        stacked("anomaly_index", [s.anomaly_index for s in samples], np.uint8)
        f.create_dataset("offsets", data=offsets)
        f.create_dataset("sample_id", data=[s.sample_id for s in samples], dtype=string)
        f.create_dataset("kind", data=[s.kind for s in samples], dtype=string)
        f.create_dataset("types", data=[json.dumps(s.types) for s in samples], dtype=string)
        f.create_dataset("params", data=[json.dumps(s.params, sort_keys=True) for s in samples], dtype=string)
        f.create_dataset("seed", data=np.array([s.seed for s in samples], dtype=np.uint64))
        f.create_dataset("object_label", data=np.array([s.object_label for s in samples], dtype=np.uint8))
        f.create_dataset("anomalous_fraction", data=np.array([s.anomalous_fraction for s in samples], dtype=np.float32))
        f.create_dataset("checksum", data=[s.checksum for s in samples], dtype=string)
        if any(s.mesh_ply is not None for s in samples):
            meshes = f.create_dataset("mesh_ply", (len(samples),), dtype=h5py.vlen_dtype(np.uint8))
            for i, s in enumerate(samples):
                meshes[i] = np.frombuffer(s.mesh_ply or b"", dtype=np.uint8)
    os.replace(tmp, path)


class ShardError(Exception):
    """A shard file that cannot be read (damaged, truncated or no HDF5 file); names the file."""


def _open(path: Path) -> h5py.File:
    try:
        return h5py.File(path, "r")
    except OSError as error:
        raise ShardError(f"{path}: damaged shard, cannot be read ({error})") from None


def _text(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


class Shard:
    """One shard file: its per-sample table is read eagerly, point arrays on demand."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        with _open(self.path) as f:
            if int(f.attrs.get("schema_version", -1)) != SCHEMA_VERSION:
                raise ValueError(f"{self.path}: schema_version {f.attrs.get('schema_version')!r}, expected {SCHEMA_VERSION}")
            self.attrs = {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()}
            self.offsets = f["offsets"][:]
            self.sample_ids = _text(f["sample_id"][:])
            self.kinds = _text(f["kind"][:])
            self.types = [json.loads(t) for t in _text(f["types"][:])]
            self.params = [json.loads(p) for p in _text(f["params"][:])]
            self.seeds = f["seed"][:]
            self.checksums = _text(f["checksum"][:])
            self.has_meshes = "mesh_ply" in f

    def __len__(self) -> int:
        return len(self.sample_ids)

    def read(self, i: int, f: h5py.File | None = None) -> Sample:
        """The i-th sample with its arrays."""
        if f is None:
            with _open(self.path) as f:
                return self.read(i, f)
        rows = slice(int(self.offsets[i]), int(self.offsets[i + 1]))
        class_name, split, _ = self.sample_ids[i].split("/")
        return Sample(
            sample_id=self.sample_ids[i],
            class_name=class_name,
            split=split,
            kind=self.kinds[i],
            points=f["points"][rows],
            normals=f["normals"][rows],
            anomaly_index=f["anomaly_index"][rows],
            types=self.types[i],
            params=self.params[i],
            seed=int(self.seeds[i]),
            mesh_ply=f["mesh_ply"][i].tobytes() if self.has_meshes else None,
        )

    def column(self, name: str) -> list[np.ndarray]:
        """One per-point dataset (e.g. ``"anomaly_index"``) split into a list of per-sample arrays."""
        with _open(self.path) as f:
            data = f[name][:]
        return np.split(data, self.offsets[1:-1])

    def __iter__(self) -> Iterator[Sample]:
        with _open(self.path) as f:
            for i in range(len(self)):
                yield self.read(i, f)


class Dataset:
    """All shards of an output folder, filtered by class and split.

    ``for sample in Dataset(path, classes=["vase3"], split="test"): ...`` yields
    :class:`Sample` objects with numpy arrays. ``path`` may be the folder or one shard file.
    """

    def __init__(self, path: str | Path, classes: Sequence[str] | None = None, split: str | None = None):
        path = Path(path)
        files = [path] if path.is_file() else sorted((path / SHARD_DIR).glob("*/*.h5"))
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such dataset folder or shard")
        wanted = set(classes) if classes else None
        self.shards = []
        for file in files:
            class_name, split_name = file.parent.name, file.stem.rsplit("-", 1)[0]
            if (wanted is None or class_name in wanted) and (split is None or split_name == split):
                self.shards.append(Shard(file))
        self.manifest = read_manifest(path) if path.is_dir() and (path / MANIFEST).exists() else None

    @property
    def class_names(self) -> list[str]:
        return sorted({s.attrs["class_name"] for s in self.shards})

    @property
    def sample_ids(self) -> list[str]:
        return [sid for shard in self.shards for sid in shard.sample_ids]

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def __iter__(self) -> Iterator[Sample]:
        for shard in self.shards:
            yield from shard

    def __getitem__(self, sample_id: str) -> Sample:
        for shard in self.shards:
            if sample_id in shard.sample_ids:
                return shard.read(shard.sample_ids.index(sample_id))
        raise KeyError(sample_id)


def open_dataset(path: str | Path, classes: Sequence[str] | None = None, split: str | None = None) -> Dataset:
    """Open a generated folder (or a single shard) for reading; see :class:`Dataset`."""
    return Dataset(path, classes=classes, split=split)


def count_samples(samples: dict[str, dict]) -> dict:
    """Manifest counts from its ``samples`` entries: class -> split -> kind -> n."""
    counts: dict = {}
    for sample_id, entry in sorted(samples.items()):
        class_name, split, _ = sample_id.split("/")
        by_kind = counts.setdefault(class_name, {}).setdefault(split, {})
        by_kind[entry["kind"]] = by_kind.get(entry["kind"], 0) + 1
    return counts


def read_manifest(out_dir: str | Path) -> dict:
    with open(Path(out_dir) / MANIFEST) as f:
        return json.load(f)


def write_manifest(out_dir: str | Path, manifest: dict) -> None:
    """Write ``manifest.json`` atomically, keys sorted so equal content gives equal bytes."""
    path = Path(out_dir) / MANIFEST
    tmp = path.with_name(f".{MANIFEST}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)
