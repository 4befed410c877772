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
pose                    (n, 4, 4) f8     canonical -> posed coordinates (sensor splits only)
outliers                (n,) int64       the last outliers[i] points are outliers (sensor)
scan/viewpoints         (Q, 3) float64   the scanner positions of all samples, posed frame
scan/offsets            (n+1,) int64     sample i's viewpoints are rows offsets[i]:offsets[i+1]
======================  ===============  ================================================

File attributes: schema_version, anomalygen_version, recipe_name, recipe_digest, class_name,
split, shard_id. Nothing here imports torch or the generator.

Schema 2 added the sensor datasets (pose, outliers, scan/). A shard of a split without a sensor
has none of them and is written as schema 1, byte for byte what it was before; the reader takes
both and gives a schema-1 sample the identity pose, no viewpoints and no outliers.

A shard's bytes depend on its content only (no timestamps), so the manifest can record each
file's sha256 (:func:`file_sha256`) and a rerun or ``verify --data`` can find damaged files.
The reader opens a shard when it is first read, and a damaged one raises :class:`ShardError`
naming the file, so it does not stop reading the other shards.
"""

from __future__ import annotations

import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

import h5py
import numpy as np

from anomalygen.storage import atomic, ragged
from anomalygen.storage.atomic import atomic_path

SCHEMA_VERSION = 2
PLAIN_SCHEMA_VERSION = 1   # the schema of shards (and manifests) without sensor data: as before it
READABLE_SCHEMAS = (PLAIN_SCHEMA_VERSION, SCHEMA_VERSION)
SCAN_GROUP = "scan"
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
    pose: np.ndarray | None = None        # (4, 4) canonical -> posed; None: made without a sensor
    viewpoints: np.ndarray | None = None  # (V, 3) scanner positions, posed frame; (0, 3): no scanner
    outliers: int = 0                     # the last ``outliers`` points are outliers (label 0)

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


def file_sha256(path: str | Path) -> str:
    """sha256 hex of a file's bytes, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def write_shard(path: Path, samples: Sequence[Sample], attrs: dict, compression: str = "gzip",
                before_rename: Callable[[], None] | None = None) -> str:
    """Write ``samples`` to ``path`` atomically (:func:`~anomalygen.storage.atomic.atomic_path`);
    returns the file's sha256. ``before_rename()`` may raise to leave ``path`` as it was."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        _write_h5(tmp, samples, attrs, compression)
        digest = file_sha256(tmp)
        if before_rename:
            before_rename()
    return digest


GZIP_LEVEL = 1
"""zlib level of ``compression: gzip`` (with the shuffle filter). Chosen by measurement
(``benchmarks/compression.py`` on the full anomaly_shapenet output): level 1 writes in 0.79x
the CPU time of level 4 and its files are 2% smaller; lzf (a recipe's other choice) writes in
0.40x but its files are 11% larger and need h5py's own filter to read."""


def filters(compression: str) -> dict:
    """h5py's filter options of the per-point datasets for ``compression`` ("gzip" | "lzf" | "none")."""
    if compression == "none":
        return {}
    options = {"compression": compression, "shuffle": True}
    if compression == "gzip":
        options["compression_opts"] = GZIP_LEVEL
    return options


def _write_h5(tmp: Path, samples: Sequence[Sample], attrs: dict, compression: str) -> None:
    options = filters(compression)
    string = h5py.string_dtype()
    # equal samples must give equal bytes: no chunk cache, so chunks are placed in the file as
    # they are written, not when the dataset object happens to be freed (later where a profiler
    # holds the frame, as Dask's does), and no timestamps (h5py's default, said explicitly)
    sensed = any(s.pose is not None for s in samples)
    with h5py.File(tmp, "w", track_order=True, rdcc_nbytes=0) as f:
        f.attrs.update({"schema_version": SCHEMA_VERSION if sensed else PLAIN_SCHEMA_VERSION, **attrs})

        def put(name, data=None, **kwargs):
            return f.create_dataset(name, data=data, track_times=False, **kwargs)

        ragged.write_column(f, "points", [s.points for s in samples], np.float32, (3,), **options)
        ragged.write_column(f, "normals", [s.normals for s in samples], np.float32, (3,), **options)
        ragged.write_column(f, "labels", [s.labels for s in samples], np.uint8, **options)
        ragged.write_column(f, "anomaly_index", [s.anomaly_index for s in samples], np.uint8, **options)
        ragged.write_offsets(f, [len(s.points) for s in samples])
        put("sample_id", [s.sample_id for s in samples], dtype=string)
        put("kind", [s.kind for s in samples], dtype=string)
        put("types", [json.dumps(s.types) for s in samples], dtype=string)
        put("params", [json.dumps(s.params, sort_keys=True) for s in samples], dtype=string)
        put("seed", np.array([s.seed for s in samples], dtype=np.uint64))
        put("object_label", np.array([s.object_label for s in samples], dtype=np.uint8))
        put("anomalous_fraction", np.array([s.anomalous_fraction for s in samples], dtype=np.float32))
        put("checksum", [s.checksum for s in samples], dtype=string)
        if any(s.mesh_ply is not None for s in samples):
            meshes = put("mesh_ply", shape=(len(samples),), dtype=h5py.vlen_dtype(np.uint8))
            for i, s in enumerate(samples):
                meshes[i] = np.frombuffer(s.mesh_ply or b"", dtype=np.uint8)
        if sensed:
            put("pose", np.array([_pose(s) for s in samples], dtype=np.float64).reshape(-1, 4, 4))
            put("outliers", np.array([s.outliers for s in samples], dtype=np.int64))
            views = [_viewpoints(s) for s in samples]
            scan = f.create_group(SCAN_GROUP, track_order=True)
            ragged.write_column(scan, "viewpoints", views, np.float64, (3,))
            ragged.write_offsets(scan, [len(v) for v in views])


def _pose(sample: Sample) -> np.ndarray:
    return np.eye(4) if sample.pose is None else sample.pose


def _viewpoints(sample: Sample) -> np.ndarray:
    return np.zeros((0, 3)) if sample.viewpoints is None else sample.viewpoints


def _text(values) -> list[str]:
    return [v.decode() if isinstance(v, bytes) else str(v) for v in values]


class ShardError(ValueError):
    """A shard file that cannot be read (damaged, truncated, another schema); one line naming it."""


_TABLE = ("attrs", "offsets", "sample_ids", "kinds", "types", "params", "seeds", "checksums", "has_meshes",
          "poses", "outlier_counts", "viewpoints")


class Shard:
    """One shard file, opened when first used: then its per-sample table is read at once, point
    arrays on demand. ``class_name`` and ``split`` come from the file's path, so a dataset can be
    filtered (and other classes read) without opening this file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.class_name = self.path.parent.name
        self.split = self.path.stem.rsplit("-", 1)[0]

    def __getattr__(self, name: str):
        # the table's attributes (see _TABLE) are read on first access, then are plain attributes
        if name not in _TABLE:
            raise AttributeError(name)
        self.__dict__.update(self._read_table())
        return self.__dict__[name]

    def _read_table(self) -> dict:
        with self.open() as f:
            if int(f.attrs.get("schema_version", -1)) not in READABLE_SCHEMAS:
                raise ShardError(f"{self.path}: schema_version {f.attrs.get('schema_version')!r}, "
                                 f"expected one of {', '.join(map(str, READABLE_SCHEMAS))}")
            n = len(f["sample_id"])
            sensed = "pose" in f
            return {
                "attrs": {k: (v.item() if hasattr(v, "item") else v) for k, v in f.attrs.items()},
                "offsets": ragged.read_offsets(f),
                "sample_ids": _text(f["sample_id"][:]),
                "kinds": _text(f["kind"][:]),
                "types": [json.loads(t) for t in _text(f["types"][:])],
                "params": [json.loads(p) for p in _text(f["params"][:])],
                "seeds": f["seed"][:],
                "checksums": _text(f["checksum"][:]),
                "has_meshes": "mesh_ply" in f,
                "poses": f["pose"][:] if sensed else np.broadcast_to(np.eye(4), (n, 4, 4)),
                "outlier_counts": f["outliers"][:] if sensed else np.zeros(n, dtype=np.int64),
                "viewpoints": (ragged.read_all(f[SCAN_GROUP], "viewpoints", ragged.read_offsets(f[SCAN_GROUP]))
                               if sensed else [np.zeros((0, 3))] * n),
            }

    @contextmanager
    def open(self) -> Iterator[h5py.File]:
        """The open file; any failure to read it raises :class:`ShardError` naming it."""
        try:
            with h5py.File(self.path, "r") as f:
                yield f
        except ShardError:
            raise
        except (OSError, KeyError, ValueError, json.JSONDecodeError) as error:
            reason = " ".join(f"{type(error).__name__}: {error}".split())
            raise ShardError(f"{self.path}: damaged shard ({reason}); delete it and run synth again") from None

    def __len__(self) -> int:
        return len(self.sample_ids)

    def read(self, i: int, f: h5py.File | None = None) -> Sample:
        """The i-th sample with its arrays."""
        if f is None:
            with self.open() as f:
                return self.read(i, f)
        class_name, split, _ = self.sample_ids[i].split("/")
        return Sample(
            sample_id=self.sample_ids[i],
            class_name=class_name,
            split=split,
            kind=self.kinds[i],
            points=ragged.read_rows(f, "points", self.offsets, i),
            normals=ragged.read_rows(f, "normals", self.offsets, i),
            anomaly_index=ragged.read_rows(f, "anomaly_index", self.offsets, i),
            types=self.types[i],
            params=self.params[i],
            seed=int(self.seeds[i]),
            mesh_ply=f["mesh_ply"][i].tobytes() if self.has_meshes else None,
            pose=np.array(self.poses[i]),
            viewpoints=self.viewpoints[i],
            outliers=int(self.outlier_counts[i]),
        )

    def column(self, name: str) -> list[np.ndarray]:
        """One per-point dataset (e.g. ``"anomaly_index"``) split into a list of per-sample arrays."""
        with self.open() as f:
            return ragged.read_all(f, name, self.offsets)

    def __iter__(self) -> Iterator[Sample]:
        with self.open() as f:
            for i in range(len(self)):
                yield self.read(i, f)


class Dataset:
    """All shards of an output folder, filtered by class and split.

    ``for sample in Dataset(path, classes=["vase3"], split="test"): ...`` yields
    :class:`Sample` objects with numpy arrays. ``path`` may be the folder or one shard file.
    Shards are opened as they are read, so a damaged shard of one class (which raises
    :class:`ShardError`) does not stop reading the others.
    """

    def __init__(self, path: str | Path, classes: Sequence[str] | None = None, split: str | None = None):
        path = Path(path)
        files = [path] if path.is_file() else sorted((path / SHARD_DIR).glob("*/*.h5"))
        if not path.exists():
            raise FileNotFoundError(f"{path}: no such dataset folder or shard")
        wanted = set(classes) if classes else None
        shards = (Shard(file) for file in files)
        self.shards = [s for s in shards if (wanted is None or s.class_name in wanted) and split in (None, s.split)]
        self.manifest = read_manifest(path) if path.is_dir() and (path / MANIFEST).exists() else None

    @property
    def class_names(self) -> list[str]:
        return sorted({s.class_name for s in self.shards})

    @property
    def sample_ids(self) -> list[str]:
        return [sid for shard in self.shards for sid in shard.sample_ids]

    def __len__(self) -> int:
        return sum(len(s) for s in self.shards)

    def __iter__(self) -> Iterator[Sample]:
        for shard in self.shards:
            yield from shard

    def __getitem__(self, sample_id: str) -> Sample:
        # only the shards of its class are opened (all, for a lone shard file outside the layout)
        own = [s for s in self.shards if s.class_name == sample_id.split("/")[0]] or self.shards
        for shard in own:
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
    atomic.write_text(Path(out_dir) / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
