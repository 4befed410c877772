"""One binary PLY per sample (export only): ``<cls>/<split>/<token><index>.ply``.

Each file is a vertex-only, little-endian PLY with the properties ``x y z nx ny nz`` (float)
and ``label anomaly_index`` (uchar), readable by trimesh, Open3D, MeshLab and :func:`read_ply`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from anomalygen.shards import Sample

VERTEX = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("nx", "<f4"), ("ny", "<f4"), ("nz", "<f4"),
                   ("label", "u1"), ("anomaly_index", "u1")])
_PLY_TYPES = {"f4": "float", "f8": "double", "u1": "uchar", "i1": "char", "u2": "ushort", "i2": "short",
              "u4": "uint", "i4": "int"}
_NUMPY_TYPES = {name: code for code, name in _PLY_TYPES.items()} | {"float32": "f4", "float64": "f8", "uint8": "u1",
                                                                   "int8": "i1", "uint16": "u2", "int16": "i2",
                                                                   "uint32": "u4", "int32": "i4"}


def write_ply(path: Path, sample: Sample) -> Path:
    """Write one sample's points, normals and labels as a binary PLY."""
    vertices = np.empty(len(sample.points), VERTEX)
    for k, axis in enumerate("xyz"):
        vertices[axis] = sample.points[:, k]
        vertices[f"n{axis}"] = sample.normals[:, k]
    vertices["label"] = sample.labels
    vertices["anomaly_index"] = sample.anomaly_index
    header = ["ply", "format binary_little_endian 1.0", f"comment anomalygen sample {sample.sample_id}",
              f"comment kind {sample.kind}", f"element vertex {len(vertices)}"]
    header += [f"property {_PLY_TYPES[VERTEX[name].str.lstrip('<|')]} {name}" for name in VERTEX.names]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("\n".join(header + ["end_header"]) + "\n").encode("ascii") + vertices.tobytes())
    return path


def read_ply(path: Path) -> np.ndarray:
    """The vertex element of a binary little-endian, vertex-only PLY as a structured array."""
    raw = Path(path).read_bytes()
    end = raw.find(b"end_header\n")
    if not raw.startswith(b"ply") or end < 0:
        raise ValueError(f"{path}: not a PLY file")
    lines = raw[:end].decode("ascii").splitlines()
    if "format binary_little_endian 1.0" not in lines:
        raise ValueError(f"{path}: only binary_little_endian PLY is read here")
    count, fields, in_vertex = 0, [], False
    for line in lines:
        words = line.split()
        if words[:1] == ["element"]:
            if words[1] != "vertex" or in_vertex:
                raise ValueError(f"{path}: only a single vertex element is read here")
            in_vertex, count = True, int(words[2])
        elif words[:1] == ["property"] and in_vertex:
            fields.append((words[2], "<" + _NUMPY_TYPES[words[1]]))
    return np.frombuffer(raw, np.dtype(fields), count=count, offset=end + len(b"end_header\n")).copy()


def export(src_dir, dest, *, overwrite: bool = False) -> dict:
    """Shards -> ``<cls>/<split>/<token><index>.ply`` under ``dest``; returns a summary."""
    from anomalygen.formats.export_checks import check_dest, open_source  # here: read_ply needs no folder layout

    dataset = open_source(src_dir)
    dest = Path(dest)
    check_dest(dest, overwrite)
    dest.mkdir(parents=True, exist_ok=True)
    summary = {"format": "ply", "dest": str(dest), "samples": 0, "anomalous": 0, "points": 0, "classes": []}
    for sample in dataset:
        write_ply(dest / f"{sample.sample_id}.ply", sample)   # the id was checked to be three names
        summary["samples"] += 1
        summary["anomalous"] += sample.object_label
        summary["points"] += len(sample.points)
        if sample.class_name not in summary["classes"]:
            summary["classes"].append(sample.class_name)
    return summary
