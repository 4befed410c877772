"""The disk cache of prepared meshes: one ``<key>.npz`` per (mesh content, preparation settings,
:data:`~anomalygen.shapes.prepare.PREPARE_VERSION`, watertighting method)."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import trimesh

from anomalygen.shapes import prepare
from anomalygen.shapes.watertight import METHOD as WATERTIGHT_METHOD
from anomalygen.storage.atomic import atomic_path


def mesh_digest(mesh: trimesh.Trimesh) -> str:
    """sha256 hex digest of a mesh's vertex and face arrays.

    Vertices are hashed as C-contiguous float64 (with -0.0 read as 0.0), faces as C-contiguous
    int64, each preceded by its shape, so the digest depends on the values only, not on the
    dtype or memory layout the arrays happen to have.
    """
    vertices = np.ascontiguousarray(np.asarray(mesh.vertices, dtype=np.float64)) + 0.0
    faces = np.ascontiguousarray(np.asarray(mesh.faces, dtype=np.int64))
    digest = hashlib.sha256()
    for tag, array in ((b"vertices", vertices.reshape(-1, 3)), (b"faces", faces.reshape(-1, 3))):
        digest.update(tag + repr(array.shape).encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


class PreparedMeshCache:
    """Prepared meshes on disk, one ``<key>.npz`` per (mesh content, preparation settings, version).

    Files hold ``vertices`` (float64), ``faces`` (int64) and ``report`` (the preparation report
    as JSON) and are written atomically (a temp file in the same folder, then os.replace), so
    concurrent processes sharing the folder only ever see whole files; two processes preparing
    the same mesh at once both write, the last rename wins, and both results are identical anyway.
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def key(self, mesh: trimesh.Trimesh, edge_length: float, watertight: str = "never",
            min_thickness: float | None = None) -> str:
        """Cache key: sha256 of the mesh digest, the settings, PREPARE_VERSION and the
        watertighting method."""
        thickness = prepare.resolved_min_thickness(edge_length, min_thickness)
        text = (f"{mesh_digest(mesh)}|{float(edge_length)!r}|{prepare.PREPARE_VERSION}|{watertight}|"
                f"{thickness!r}|{WATERTIGHT_METHOD}")
        return hashlib.sha256(text.encode()).hexdigest()

    def path(self, mesh: trimesh.Trimesh, edge_length: float, watertight: str = "never",
             min_thickness: float | None = None) -> Path:
        return self.directory / f"{self.key(mesh, edge_length, watertight, min_thickness)}.npz"

    def get(self, mesh: trimesh.Trimesh, edge_length: float, watertight: str = "never",
            min_thickness: float | None = None) -> trimesh.Trimesh:
        """The prepared mesh (see :func:`prepare_mesh`), read from the cache or prepared now and stored."""
        path = self.path(mesh, edge_length, watertight, min_thickness)
        cached = _read_npz(path)
        if cached is not None:
            vertices, faces, report = cached
            return trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False,
                                   metadata={"preparation": report})
        prepared = prepare.prepare_mesh(mesh, edge_length, watertight, min_thickness)
        _write_npz_atomic(path, np.asarray(prepared.vertices), np.asarray(prepared.faces),
                          prepared.metadata["preparation"])
        return prepared


def _read_npz(path: Path) -> tuple[np.ndarray, np.ndarray, dict] | None:
    """(vertices float64, faces int64, report) from a cache file, or None if absent or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            vertices, faces, report = data["vertices"], data["faces"], json.loads(str(data["report"]))
    except FileNotFoundError:
        return None
    except Exception:  # a damaged file (e.g. a disk that filled up) is a miss; it is rewritten
        return None
    if vertices.dtype != np.float64 or faces.dtype != np.int64 or faces.ndim != 2:
        return None
    return vertices, faces, report


def _write_npz_atomic(path: Path, vertices: np.ndarray, faces: np.ndarray, report: dict) -> None:
    """Write ``path`` so that readers see either no file or the whole file (synced to disk first)."""
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        np.savez(
            stream,
            vertices=np.ascontiguousarray(vertices, dtype=np.float64),
            faces=np.ascontiguousarray(faces, dtype=np.int64),
            report=np.array(json.dumps(report, sort_keys=True)),
        )
        stream.flush()
        os.fsync(stream.fileno())
