"""Read any mesh file into one triangle mesh, or fail with one readable exception type.

``load_mesh`` reads OBJ, PLY, STL, OFF, GLB and GLTF through trimesh. Scenes (several objects,
glTF node hierarchies, multi-body STL) are flattened into one mesh: each node's transform is
applied and the triangle meshes are concatenated; point clouds, lines and empty geometry are
dropped. Only geometry is returned: vertices and faces exactly as stored (no merging, no
visuals); :func:`anomalygen.shapes.prepare.prepare_mesh` does the cleaning.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import trimesh

MESH_SUFFIXES: tuple[str, ...] = (".obj", ".ply", ".stl", ".off", ".glb", ".gltf")
"""File suffixes load_mesh accepts, lower case (matching is case-insensitive)."""

# formats trimesh parses as text; read here so that a file that is not UTF-8 (a Latin-1
# comment, or not a mesh at all) is decoded leniently instead of failing deep in trimesh
_TEXT_FORMATS = {".obj", ".off"}


class MeshLoadError(Exception):
    """A file could not be read as a triangle mesh; the message names the file and the reason."""


def load_mesh(path: str | os.PathLike) -> trimesh.Trimesh:
    """Read ``path`` into one trimesh.Trimesh (V, 3) float64 vertices, (F, 3) int64 faces, F > 0.

    Raises MeshLoadError (never another exception type) when the file is missing, has an
    unsupported suffix, cannot be parsed, or holds no triangles (e.g. a points-only PLY).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as error:  # e.g. a name too long for the file system
        raise MeshLoadError(f"{path}: cannot be accessed ({error})") from error
    if not exists:
        raise MeshLoadError(f"{path}: no such file")
    if not is_file:
        raise MeshLoadError(f"{path}: not a file")
    if suffix not in MESH_SUFFIXES:
        raise MeshLoadError(
            f"{path}: unsupported suffix {path.suffix!r} (supported: {', '.join(MESH_SUFFIXES)})"
        )
    try:
        scene = _read_scene(path, suffix)
        vertices, faces = _flatten(scene)
    except MeshLoadError:
        raise
    except (UnicodeDecodeError, ImportError) as error:
        # trimesh falls back to decoding bytes as text (and an optional charset detector)
        # when they are not valid binary data: the file is neither
        raise MeshLoadError(
            f"{path}: cannot be read as {suffix[1:].upper()} (neither valid binary data nor text)"
        ) from error
    except Exception as error:  # trimesh raises many types; callers get one with the reason
        raise MeshLoadError(
            f"{path}: cannot be read as {suffix[1:].upper()} ({type(error).__name__}: {error})"
        ) from error
    if len(faces) == 0:
        raise MeshLoadError(f"{path}: no triangles (the file holds only points or nothing)")
    if faces.min() < 0 or faces.max() >= len(vertices):
        raise MeshLoadError(f"{path}: face indices point outside the vertex list")
    return trimesh.Trimesh(vertices=vertices, faces=faces, process=False, validate=False)


def _read_scene(path: Path, suffix: str) -> trimesh.Scene:
    """trimesh Scene of the file; text formats are decoded as UTF-8, else Latin-1."""
    if suffix not in _TEXT_FORMATS:
        return trimesh.load_scene(str(path), process=False)
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # never fails; non-mesh bytes then parse to nothing
    return trimesh.load_scene(
        io.StringIO(text),
        file_type=suffix[1:],
        resolver=trimesh.resolvers.FilePathResolver(str(path)),  # mtl and textures beside it
        process=False,
    )


def _flatten(scene: trimesh.Scene) -> tuple[np.ndarray, np.ndarray]:
    """Concatenate every triangle mesh instance of ``scene`` in world coordinates."""
    vertices, faces, offset = [], [], 0
    for geometry in scene.dump():  # copies with each node's transform applied
        if not isinstance(geometry, trimesh.Trimesh) or len(geometry.faces) == 0:
            continue
        v = np.asarray(geometry.vertices, dtype=np.float64).reshape(-1, 3)
        f = np.asarray(geometry.faces, dtype=np.int64).reshape(-1, 3)
        vertices.append(v)
        faces.append(f + offset)
        offset += len(v)
    if not faces:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    return np.concatenate(vertices), np.concatenate(faces)
