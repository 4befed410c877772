"""A sample's kept mesh as PLY bytes (the ``mesh_ply`` field of :mod:`anomalygen.shards`): both ways."""

from __future__ import annotations

import io

import trimesh


def encode_mesh(mesh: trimesh.Trimesh) -> bytes:
    """``mesh`` as binary PLY bytes (what a shard keeps with ``output.keep_meshes``)."""
    buffer = io.BytesIO()
    mesh.export(buffer, file_type="ply", encoding="binary")
    return buffer.getvalue()


def decode_mesh(data: bytes) -> trimesh.Trimesh:
    """PLY bytes -> the mesh, vertices and faces exactly as stored (no processing)."""
    return trimesh.load(io.BytesIO(data), file_type="ply", process=False, force="mesh")


def sample_mesh(sample) -> trimesh.Trimesh | None:
    """The edited mesh kept with a sample (``mesh_ply``), or None when it was not kept."""
    if not sample.mesh_ply:
        return None
    return decode_mesh(sample.mesh_ply)
