"""``anomalygen.json``: what an exported folder layout cannot hold, so import can restore it.

The releases' PCD + GT files carry points, normals (optionally) and 0/1 labels. The sidecar at
the export root adds, per sample id: its pcd file, kind, types, params, seed, checksum and the
points of the second and later anomalies (``anomaly_index`` > 1, which a 0/1 GT row cannot
tell apart from the first). Import restores them, so export -> import gives the same samples.
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
    return {"pcd": pcd, "kind": sample.kind, "types": sample.types, "params": sample.params, "seed": sample.seed,
            "checksum": sample.checksum, "later_anomalies": later}


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
    """Every field of the right type, later anomalies as {"2": [point rows], ...}."""
    return (isinstance(e, dict) and all(isinstance(e.get(k), t) for k, t in _FIELDS.items())
            and all(k.isdigit() and 1 < int(k) < 256 and isinstance(rows, list) and all(isinstance(r, int) and 0 <= r < 2**31 for r in rows)
                    for k, rows in e["later_anomalies"].items()))


def restore(sample: Sample, sample_id: str, e: dict) -> Sample:
    """``sample`` as read from the files, with the sidecar's id, record and later anomalies."""
    index = sample.anomaly_index.copy()
    for k, rows in e["later_anomalies"].items():
        rows = np.asarray(rows, np.int64)
        if rows.size and (rows.min() < 0 or rows.max() >= len(index) or not index[rows].all()):
            raise ValueError(f"{FILE}: anomaly {k} of {sample_id} names points the GT does not label anomalous")
        index[rows] = int(k)
    class_name, split, _ = sample_id.split("/")
    return Sample(sample_id=sample_id, class_name=class_name, split=split, kind=e["kind"], points=sample.points,
                  normals=sample.normals, anomaly_index=index, types=list(e["types"]), params=list(e["params"]),
                  seed=int(e["seed"]), mesh_ply=sample.mesh_ply)
