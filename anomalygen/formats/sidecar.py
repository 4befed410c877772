"""``anomalygen.json``: what an exported folder layout cannot hold, so import can restore it.

The releases' PCD + GT files carry points, normals (optionally) and 0/1 labels. The sidecar at
the export root adds, per sample id: its pcd file, kind, types, params, seed, checksum and the
points of the second and later anomalies (``anomaly_index`` > 1, which a 0/1 GT row cannot
tell apart from the first); for a sample made through a sensor (``sensor:`` in its recipe), also
its ``sensor`` record: pose (4 x 4, canonical -> posed), viewpoints (V x 3, posed frame) and
the number of outliers at the end of its points. Import restores them, so export -> import gives
the same samples. Entries without ``sensor`` (plain samples, older sidecars) read as before.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from anomalygen import __version__
from anomalygen.shards import Sample

FILE = "anomalygen.json"
SCHEMA = 1
_FIELDS = {"pcd": str, "kind": str, "types": list, "params": list, "seed": int, "checksum": str, "later_anomalies": dict}


def entry(sample: Sample, pcd: str) -> dict:
    """The sidecar entry of ``sample`` exported as ``pcd`` (a path relative to the export root)."""
    later = {str(k): np.flatnonzero(sample.anomaly_index == k).tolist()
             for k in np.unique(sample.anomaly_index) if k > 1}
    e = {"pcd": pcd, "kind": sample.kind, "types": sample.types, "params": sample.params, "seed": sample.seed,
         "checksum": sample.checksum, "later_anomalies": later}
    viewpoints = np.zeros((0, 3)) if sample.viewpoints is None else sample.viewpoints
    if _sensed(sample.pose, viewpoints, sample.outliers):     # json writes floats by repr: bit for bit back
        e["sensor"] = {"pose": np.asarray(sample.pose, np.float64).tolist(),
                       "viewpoints": np.asarray(viewpoints, np.float64).tolist(), "outliers": int(sample.outliers)}
    return e


def _sensed(pose: np.ndarray | None, viewpoints: np.ndarray, outliers: int) -> bool:
    """Whether a sample has sensor data to keep: the reader gives samples of plain shards the
    identity pose, no viewpoints and no outliers, which need no record."""
    return pose is not None and (not np.array_equal(pose, np.eye(4)) or len(viewpoints) > 0 or outliers > 0)


def write(dest: Path, layout: str, entries: dict[str, dict]) -> Path:
    path = Path(dest) / FILE
    path.write_text(json.dumps({"schema": SCHEMA, "anomalygen": __version__, "format": layout,
                                "samples": entries}, indent=1, sort_keys=True) + "\n")
    return path


def read(root: Path) -> dict[Path, tuple[str, dict]]:
    """Resolved pcd path -> (sample id, entry) from ``root/anomalygen.json``; empty without one."""
    path = Path(root) / FILE
    if not path.is_file():
        return {}
    try:
        doc = json.loads(path.read_text())
        if doc.get("schema") != SCHEMA or not isinstance(doc["samples"], dict):
            raise ValueError(f"schema {doc.get('schema')!r}, expected {SCHEMA}")
        for sample_id, e in doc["samples"].items():
            if not _well_formed(e):
                raise ValueError(f"entry {sample_id!r} lacks or mistypes one of {', '.join(_FIELDS)}")
        return {(path.parent / e["pcd"]).resolve(): (sample_id, e) for sample_id, e in doc["samples"].items()}
    except (ValueError, KeyError, AttributeError) as error:
        raise ValueError(f"{path}: not a sidecar written by `anomalygen export` ({error})") from None


def _well_formed(e: object) -> bool:
    """Every field of the right type, later anomalies as {"2": [point rows], ...}, and a sensor
    record, where there is one, as :func:`entry` writes it."""
    return (isinstance(e, dict) and all(isinstance(e.get(k), t) for k, t in _FIELDS.items())
            and all(k.isdigit() and 1 < int(k) < 256 and isinstance(rows, list) and all(isinstance(r, int) and 0 <= r < 2**31 for r in rows)
                    for k, rows in e["later_anomalies"].items())
            and ("sensor" not in e or _sensor_well_formed(e["sensor"])))


def _sensor_well_formed(record: object) -> bool:
    def rows(value: object, width: int) -> bool:
        return isinstance(value, list) and all(
            isinstance(row, list) and len(row) == width
            and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for x in row)
            for row in value)

    return (isinstance(record, dict) and set(record) == {"pose", "viewpoints", "outliers"}
            and rows(record["pose"], 4) and len(record["pose"]) == 4 and rows(record["viewpoints"], 3)
            and isinstance(record["outliers"], int) and not isinstance(record["outliers"], bool)
            and record["outliers"] >= 0)


def restore(sample: Sample, sample_id: str, e: dict) -> Sample:
    """``sample`` as read from the files, with the sidecar's id, record and later anomalies."""
    index = sample.anomaly_index.copy()
    for k, rows in e["later_anomalies"].items():
        rows = np.asarray(rows, np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(index) or not index[rows].all()):
            raise ValueError(f"{FILE}: anomaly {k} of {sample_id} names points the GT does not label anomalous")
        index[rows] = int(k)
    sensor = e.get("sensor")
    if sensor is not None and sensor["outliers"] > len(index):
        raise ValueError(f"{FILE}: {sample_id} has {sensor['outliers']} outliers but {len(index)} points")
    class_name, split, _ = sample_id.split("/")
    return Sample(sample_id=sample_id, class_name=class_name, split=split, kind=e["kind"], points=sample.points,
                  normals=sample.normals, anomaly_index=index, types=list(e["types"]), params=list(e["params"]),
                  seed=int(e["seed"]), mesh_ply=sample.mesh_ply,
                  pose=None if sensor is None else np.array(sensor["pose"], np.float64),
                  viewpoints=None if sensor is None else np.array(sensor["viewpoints"], np.float64).reshape(-1, 3),
                  outliers=0 if sensor is None else sensor["outliers"])
