"""The field's per-class folder layouts, shared by Anomaly-ShapeNet and Real3D-AD: naming, and import.

Both releases are ``<cls>/train/*.pcd``, ``<cls>/test/*.pcd`` and a ground-truth folder of
one txt per anomalous test sample with an ``x y z label`` row per point. They differ only in
what a :class:`FolderLayout` holds: file stems, the name of the GT folder, its delimiter, the
tokens for normal test samples and some anomaly types, and how files are numbered. Export is
:mod:`~anomalygen.formats.folder_export`.

Import reads a downloaded release (or an export) into shards. GT rows are matched to pcd
points by nearest neighbour (they are not always in pcd order and may be printed with fewer
digits); where the GT does not describe the pcd's points at all (but has as many rows), the GT
points become the cloud. Sample ids and class names become paths, so both ways they must be
names by the recipe rule (:func:`anomalygen.recipe.is_name`).
"""

from __future__ import annotations

import functools
import io
import platform
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from anomalygen import __version__
from anomalygen.formats import sidecar
from anomalygen.formats.pcd import read_pcd
from anomalygen.formats.staging import check_target, staged_folder
from anomalygen.formats.trees import mesh_file
from anomalygen.recipe import NAME_TEXT, is_name
from anomalygen.geometry.normals import pca_normals
from anomalygen.shards import PLAIN_SCHEMA_VERSION, SCHEMA_VERSION, Sample, count_samples, shard_path, write_manifest, write_shard

NORMAL = "normal"

# file token -> sample kind, over both releases (Anomaly-ShapeNet's misspellings included)
_KIND_OF_TOKEN = {
    "template": NORMAL, "positive": NORMAL, "good": NORMAL,
    "bulge": "bulge", "concavity": "concavity", "sink": "concavity", "scratch": "scratch",
    "crak": "crack", "crack": "crack", "hole": "hole", "broken": "break", "break": "break",
    "bending": "bending",
}
# sample kind -> Anomaly-ShapeNet token, the token of this project's sample ids
_TOKEN_OF_KIND = {"bulge": "bulge", "concavity": "concavity", "scratch": "scratch", "crack": "crak",
                  "hole": "hole", "break": "broken", "bending": "bending"}


@functools.lru_cache(maxsize=1)
def _operator_tokens() -> dict[str, str]:
    """kind -> token of the registered operators (they win over the static table)."""
    from anomalygen.ops import OPERATORS

    return {name: op.token for name, op in OPERATORS.items()}


def kind_of_token(token: str) -> str | None:
    """A file token's sample kind (``bulge_cut`` -> bulge by its first word); None if unknown."""
    table = {**_KIND_OF_TOKEN, **{tok: kind for kind, tok in _operator_tokens().items()}}
    token = token.lower()
    if token in table:
        return table[token]
    first = re.split(r"[_\-]", token)[0]
    return table.get(first)


def id_token(kind: str, split: str) -> str:
    """The token of a sample id for ``kind`` (mirrors :func:`anomalygen.plan.file_token`)."""
    if kind == NORMAL:
        return "template" if split == "train" else "positive"
    return {**_TOKEN_OF_KIND, **_operator_tokens()}.get(kind, kind)


def check_sample_id(sample_id: str, where) -> None:
    """Refuse an id that is not three names by the recipe rule: ids become paths under DEST/OUT."""
    parts = sample_id.split("/")
    if len(parts) != 3 or not all(is_name(p) for p in parts):
        raise ValueError(f"{where}: sample id {sample_id!r} is not <class>/<split>/<name>, each {NAME_TEXT}")


def split_sample_id(sample_id: str) -> tuple[str, str, str, int]:
    """``vase3/test/bulge2`` -> (``vase3``, ``test``, ``bulge``, 2)."""
    class_name, split, name = sample_id.split("/")
    m = re.fullmatch(r"(.*?)(\d+)", name)
    if not m:
        raise ValueError(f"sample id {sample_id!r} does not end in an index")
    return class_name, split, m.group(1), int(m.group(2))


@dataclass(frozen=True)
class FolderLayout:
    """What differs between the releases' folders."""

    name: str
    stem: str                      # format of a file stem: {cls}, {token}, {index}
    gt_dir: str                    # GT folder beside train/ and test/
    gt_delimiter: str              # between the columns of a GT row
    normal_test_token: str         # token of normal test files
    export_tokens: dict = field(default_factory=dict)   # id token -> file token where they differ
    numbered_per_class: bool = False   # export numbers a class's files 0, 1, ... across splits and kinds

    def file_stem(self, class_name: str, split: str, token: str, index: int) -> str:
        if token == "positive" and split == "test":
            token = self.normal_test_token
        token = self.export_tokens.get(token, token)
        return self.stem.format(cls=class_name, token=token, index=index)


# ------------------------------------------------------------------------------------ import

def estimate_normals(points: np.ndarray, k: int = 16) -> np.ndarray:
    """(N, 3) float32 unit normals from the PCA of each point's k nearest neighbours, turned to
    point away from the centroid (right for the closed, roughly star-shaped objects of these
    sets); see :func:`anomalygen.geometry.normals.pca_normals`."""
    return pca_normals(points, k)


def read_gt(path: Path) -> np.ndarray:
    """A GT txt (comma or whitespace separated, >= 4 columns) -> (M, 4) float64 ``x y z label``."""
    text = path.read_text()
    first = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "," if "," in first else None
    try:
        table = np.loadtxt(io.StringIO(text), delimiter=delimiter, ndmin=2, dtype=np.float64)
    except ValueError as error:
        raise ValueError(f"{path}: unreadable GT table ({error})") from None
    if table.size and table.shape[1] < 4:
        raise ValueError(f"{path}: GT rows need x, y, z, label; found {table.shape[1]} columns")
    return table[:, :4] if table.size else np.zeros((0, 4))


@dataclass
class Match:
    """How GT rows were matched to a cloud."""

    labels: np.ndarray              # (N,) uint8, label of each cloud point
    exact: bool                     # GT rows are the cloud's points in order
    unmatched_points: int           # cloud points with no GT row within the tolerance (label 0)
    unmatched_gt: int               # GT rows with no cloud point within the tolerance
    tolerance: float
    max_distance: float


def match_gt(points: np.ndarray, gt: np.ndarray, relative_tolerance: float = 1e-3) -> Match:
    """Labels for ``points`` (N, 3) from GT rows ``gt`` (M, 4) by nearest neighbour.

    The tolerance is ``relative_tolerance`` x the cloud's bounding-box diagonal, capped at half
    the median point spacing so that a GT row can never be taken for a neighbouring point.
    """
    from scipy.spatial import cKDTree

    points = np.asarray(points, np.float32)
    gt_xyz, gt_labels = gt[:, :3], (gt[:, 3] > 0.5).astype(np.uint8)
    n = len(points)
    if len(gt) == n and np.array_equal(gt_xyz.astype(np.float32), points):
        return Match(gt_labels, True, 0, 0, 0.0, 0.0)
    if n == 0 or len(gt) == 0:
        return Match(np.zeros(n, np.uint8), False, n, len(gt), 0.0, float("inf"))
    pts = points.astype(np.float64)
    cloud_tree = cKDTree(pts)
    tolerance = relative_tolerance * float(np.linalg.norm(pts.max(0) - pts.min(0)))
    if n > 1:
        spacing, _ = cloud_tree.query(pts, k=2)
        tolerance = min(tolerance, 0.5 * float(np.median(spacing[:, 1])) or tolerance)
    d_points, nearest_gt = cKDTree(gt_xyz).query(pts)
    d_gt, _ = cloud_tree.query(gt_xyz)
    matched = d_points <= tolerance
    labels = np.where(matched, gt_labels[nearest_gt], 0).astype(np.uint8)
    return Match(labels, False, int((~matched).sum()), int((d_gt > tolerance).sum()), tolerance,
                 float(d_points.max()))


def parse_stem(stem: str, class_name: str) -> tuple[str, int | None]:
    """A release file stem -> (token, index or None).

    ``vase3_bulge2`` -> (bulge, 2); ``482_bulge_cut`` -> (bulge_cut, 482);
    ``good_1`` -> (good, 1); anything else -> (the stem, None).
    """
    rest = stem[len(class_name) + 1:] if stem.startswith(class_name + "_") else stem
    for pattern, token_group, index_group in ((r"(\d+)_([A-Za-z][\w\-]*)", 2, 1),
                                              (r"(?:.*_)?([A-Za-z]+)(\d+)", 1, 2),
                                              (r"([A-Za-z][\w\-]*?)_(\d+)", 1, 2)):
        m = re.fullmatch(pattern, rest, re.ASCII)    # ASCII: tokens become sample ids (names)
        if m:
            return m.group(token_group).lower(), int(m.group(index_group))
    return re.sub(r"\W", "_", rest, flags=re.ASCII).lower() or "sample", None


def _has_samples(folder: Path) -> bool:
    return any(any((folder / split).glob("*.pcd")) for split in ("train", "test") if (folder / split).is_dir())


# deepest class folder searched below SRC: the v2 release's Anomaly-ShapeNet-v2/dataset/pcd/<cls>
# from two folders above Anomaly-ShapeNet-v2
MAX_DEPTH = 5


def _class_dirs(src: Path) -> list[Path]:
    """Class folders (src itself or below it, at most MAX_DEPTH levels) with pcds in train/ or
    test/; the shallowest level that has any (the v2 release's dataset/pcd and dataset/new_pcd
    are one level)."""
    for depth in range(MAX_DEPTH + 1):
        found = [f for f in (sorted(src.glob("/".join(["*"] * depth))) if depth else [src])
                 if f.is_dir() and _has_samples(f)]
        if found:
            names = [f.name for f in found]
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{src}: class folder name(s) {twice} found more than once; import one release at a time")
            return found
    return []


def _gt_folder(class_dir: Path) -> Path | None:
    return next((p for p in sorted(class_dir.iterdir()) if p.is_dir() and p.name.lower() == "gt"), None)


@dataclass
class _Entry:
    """One sample's files before reading."""

    split: str
    token: str
    index: int | None
    kind: str
    pcd: Path | None
    gt: Path | None


def shown(path: Path) -> str:
    """A path printable as text even when its name is no valid UTF-8 (bytes as escapes)."""
    return str(path).encode("utf-8", "backslashreplace").decode("utf-8")


def _files(folder: Path, pattern: str) -> dict[str, Path]:
    """stem -> file; a name that is no UTF-8 could not be recorded in shards or the manifest."""
    files = sorted(folder.glob(pattern))
    for path in files:
        try:
            path.name.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError(f"{shown(path)}: file name is not valid UTF-8; rename the file") from None
    return {p.stem: p for p in files}


def _class_name(class_dir: Path) -> str:
    if not is_name(class_dir.name):
        raise ValueError(f"{shown(class_dir)}: class folder name {class_dir.name!r} is not {NAME_TEXT}")
    return class_dir.name


def _entries(class_dir: Path) -> list[_Entry]:
    gt_dir = _gt_folder(class_dir)
    gts = _files(gt_dir, "*.txt") if gt_dir else {}
    entries = []
    for split in ("train", "test"):
        folder = class_dir / split
        pcds = _files(folder, "*.pcd") if folder.is_dir() else {}
        stems = sorted(pcds) + (sorted(set(gts) - set(pcds)) if split == "test" else [])
        for stem in stems:
            token, index = parse_stem(stem, class_dir.name)
            kind = NORMAL if split == "train" else (kind_of_token(token) or token)
            entries.append(_Entry(split, token, index, kind, pcds.get(stem), gts.get(stem) if split == "test" else None))
    return entries


def _assign_ids(class_name: str, entries: list[_Entry]) -> list[str]:
    """``<cls>/<split>/<token><index>`` ids: the file's index where free, else the next free one."""
    keys = [(e.split, id_token(e.kind, e.split)) for e in entries]
    taken: dict[tuple[str, str], set[int]] = {key: set() for key in keys}
    indices: list[int | None] = [None] * len(entries)
    for i, (entry, key) in enumerate(zip(entries, keys)):
        if entry.index is not None and entry.index not in taken[key]:
            indices[i] = entry.index
            taken[key].add(entry.index)
    for i, key in enumerate(keys):   # unnumbered files and clashes (482_bulge, 482_bulge_cut)
        if indices[i] is None:
            indices[i] = max(taken[key], default=-1) + 1
            taken[key].add(indices[i])
    return [f"{class_name}/{split}/{token}{index}" for (split, token), index in zip(keys, indices)]


def _read_sample(sample_id: str, entry: _Entry, normals: str, points: str, tolerance: float, meshes: bool) -> tuple[Sample, dict]:
    """Read one sample's pcd/GT into a :class:`Sample` and its import record."""
    class_name, split, _ = sample_id.split("/")
    record: dict = {"source": {"pcd": entry.pcd.name if entry.pcd else None, "gt": entry.gt.name if entry.gt else None}}
    cloud = read_pcd(entry.pcd) if entry.pcd else None
    gt = read_gt(entry.gt) if entry.gt else None
    xyz = file_normals = None
    if cloud is not None:
        xyz = cloud.xyz.astype(np.float32)
        keep = np.isfinite(xyz).all(axis=1)               # organized scans pad with NaN points
        xyz = xyz[keep]
        file_normals = cloud.normals[keep].astype(np.float32) if cloud.normals is not None else None
        record["dropped_nan_points"] = int((~keep).sum())
    labels = np.zeros(0 if xyz is None else len(xyz), np.uint8)
    use_gt_points = gt is not None and (xyz is None or points == "gt")
    if gt is not None and not use_gt_points and points == "auto" and len(gt) != len(xyz):
        # neither file can be trusted: taking either would lose points or labels in silence
        raise ValueError(f"{entry.gt.name} has {len(gt)} rows for the {len(xyz)} points of {entry.pcd.name} "
                         "(--points gt takes the cloud from the GT, --points pcd keeps the pcd's)")
    if gt is not None and not use_gt_points:
        match = match_gt(xyz, gt, tolerance)
        record.update(gt_exact_order=match.exact, unmatched_points=match.unmatched_points,
                      unmatched_gt=match.unmatched_gt, max_match_distance=match.max_distance)
        bad = max(match.unmatched_points / max(len(xyz), 1), match.unmatched_gt / max(len(gt), 1))
        if points == "auto" and bad > 0.01:
            use_gt_points = True         # the GT is another point set: trust it, as loaders do
        else:
            labels = match.labels
    if use_gt_points:
        xyz, labels, file_normals = gt[:, :3].astype(np.float32), (gt[:, 3] > 0.5).astype(np.uint8), None
    record["cloud"] = "gt" if use_gt_points else "pcd"
    if file_normals is not None:
        vectors, record["normals"] = file_normals, "file"
    elif normals == "estimate":
        vectors, record["normals"] = estimate_normals(xyz), "estimated"
    else:
        vectors, record["normals"] = np.zeros_like(xyz), "zeros"
    mesh_ply = None
    obj = mesh_file(entry.pcd) if meshes and entry.pcd else None
    if obj is not None:
        import trimesh

        mesh_ply = trimesh.load(obj, process=False, force="mesh").export(file_type="ply")
    anomalous = entry.kind != NORMAL
    sample = Sample(sample_id=sample_id, class_name=class_name, split=split, kind=entry.kind, points=xyz,
                    normals=vectors, anomaly_index=labels, types=[entry.kind] if anomalous else [],
                    params=[{}] if anomalous else [], seed=0, mesh_ply=mesh_ply)
    return sample, record


def import_folder(src, out_dir, layout: FolderLayout, *, normals: str = "estimate", points: str = "auto",
                  tolerance: float = 1e-3, meshes: bool = True, shard_size: int = 64,
                  overwrite: bool = False) -> dict:
    """Read a downloaded release folder into shards + manifest under ``out_dir``; returns a summary.

    ``normals``: ``estimate`` (kNN PCA, away from the centroid) or ``zeros`` where the pcd has
    no normal fields; ``points``: ``auto`` (pcd, unless its GT is another point set of the same
    size; a GT with another row count is a failure), ``pcd`` or ``gt`` (the cloud of anomalous
    samples taken from the GT rows); ``tolerance``: GT matching distance relative to the
    cloud's bounding-box diagonal. A folder exported by anomalygen has ``anomalygen.json``,
    whose ids, params, seeds, types and anomaly indices are restored. Everything is written to
    a folder beside ``out_dir`` that replaces it at the end (``overwrite``: replace a dataset).
    """
    import h5py
    import scipy
    import trimesh

    if normals not in ("estimate", "zeros"):
        raise ValueError(f"normals must be 'estimate' or 'zeros', got {normals!r}")
    if points not in ("auto", "pcd", "gt"):
        raise ValueError(f"points must be 'auto', 'pcd' or 'gt', got {points!r}")
    src, out_dir = Path(src), Path(out_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src}: no such folder")
    check_target(out_dir, overwrite)
    src = src.resolve()                  # "." has no name; its real name is the class's
    class_dirs = _class_dirs(src)
    if not class_dirs:
        raise ValueError(f"{src}: no class folder with train/ or test/ found ({layout.name} layout expected)")
    # an export's sidecar lies beside its class folders
    exported = {path: known for root in sorted({d.parent for d in class_dirs})
                for path, known in sidecar.read(root).items()}
    # every name is checked before anything is written
    plans = [(class_dir, _identified(_class_name(class_dir), _entries(class_dir), exported)) for class_dir in class_dirs]
    manifest = {
        "schema_version": PLAIN_SCHEMA_VERSION,     # SCHEMA_VERSION below if a sample has sensor data
        "source": {"format": layout.name, "path": str(src)},
        "versions": {"anomalygen": __version__, "python": platform.python_version(), "numpy": np.__version__,
                     "scipy": scipy.__version__, "trimesh": trimesh.__version__, "h5py": h5py.__version__},
        "shards": {}, "samples": {}, "failed": {},
    }
    sensed = False                                  # a sidecar restored some sample's pose
    with staged_folder(out_dir, overwrite) as stage:
        for class_dir, triples in plans:
            by_split, records = _read_class(triples, manifest["failed"], normals, points, tolerance, meshes)
            for split, samples in by_split.items():
                for k, start in enumerate(range(0, len(samples), shard_size)):
                    shard_id = f"{class_dir.name}/{split}-{k:04d}"
                    chunk = samples[start : start + shard_size]
                    attrs = {"anomalygen_version": __version__, "recipe_name": f"import:{layout.name}",
                             "recipe_digest": "", "class_name": class_dir.name, "split": split, "shard_id": shard_id,
                             "source_path": str(class_dir)}
                    write_shard(shard_path(stage, shard_id), chunk, attrs)
                    sensed |= any(s.pose is not None for s in chunk)
                    manifest["shards"][shard_id] = {"samples": len(chunk), "failed": 0, "planned": len(chunk)}
                    for s in chunk:
                        manifest["samples"][s.sample_id] = {
                            "shard": shard_id, "kind": s.kind, "types": s.types, "points": len(s.points),
                            "anomalous_fraction": round(s.anomalous_fraction, 6), "checksum": s.checksum,
                            "import": records[s.sample_id]}
        manifest["counts"] = count_samples(manifest["samples"])
        if sensed:
            manifest["schema_version"] = SCHEMA_VERSION
        write_manifest(stage, manifest)
    records = [e["import"] for e in manifest["samples"].values()]
    return {"format": layout.name, "out_dir": str(out_dir), "classes": len(class_dirs), "samples": len(records),
            "failed": len(manifest["failed"]), "failures": manifest["failed"],
            "anomalous": sum(1 for e in manifest["samples"].values() if e["types"]),
            "missing_gt": sum(1 for r in records if r.get("missing_gt")),
            "cloud_from_gt": sum(1 for r in records if r["cloud"] == "gt"),
            "unmatched_points": sum(r.get("unmatched_points", 0) for r in records if r["cloud"] == "pcd"),
            "restored": sum(1 for r in records if "exact" in r), "restored_exactly": sum(1 for r in records if r.get("exact"))}


def _read_class(triples, failed: dict, normals: str, points: str, tolerance: float,
                meshes: bool) -> tuple[dict[str, list[Sample]], dict[str, dict]]:
    """One class's samples by split and their import records; a sample that cannot be read goes
    to ``failed`` with the reason, and the others are still imported."""
    by_split: dict[str, list[Sample]] = {}
    records: dict[str, dict] = {}
    for sample_id, entry, known in triples:
        try:
            sample, record = _read_sample(sample_id, entry, normals, points, tolerance, meshes)
            if known is not None:
                sample = sidecar.restore(sample, sample_id, known)
                record["exact"] = sample.checksum == known["checksum"]
        except (ValueError, OSError) as error:
            failed[sample_id] = f"{type(error).__name__}: {error}"
            continue
        if entry.kind != NORMAL and entry.gt is None:
            record["missing_gt"] = True
        by_split.setdefault(entry.split, []).append(sample)
        records[sample_id] = record
    return by_split, records


def _identified(class_name: str, entries: list[_Entry], exported: dict) -> list[tuple[str, _Entry, dict | None]]:
    """(sample id, entry, sidecar entry or None) in shard order. The sidecar's id wins where it
    names the file (checked like any id, and of this class and split); else the file name's."""
    triples = []
    for sample_id, entry in zip(_assign_ids(class_name, entries), entries):
        sample_id, known = exported.get(entry.pcd.resolve() if entry.pcd else None, (sample_id, None))
        check_sample_id(sample_id, sidecar.FILE if known else shown(entry.pcd or entry.gt))
        if sample_id.split("/")[:2] != [class_name, entry.split]:
            raise ValueError(f"{sidecar.FILE}: sample {sample_id} is filed as {shown(entry.pcd)}")
        triples.append((sample_id, entry, known))
    if len({t[0] for t in triples}) != len(triples):
        raise ValueError(f"{sidecar.FILE}: names one sample id for two files of class {class_name}")
    return sorted(triples, key=lambda t: _order(t[0]))


def _order(sample_id: str) -> tuple:
    """Train first, normal samples before anomalies, then token and numeric index."""
    _, split, token, index = split_sample_id(sample_id)
    return (split != "train", token not in ("template", "positive"), token, index)
