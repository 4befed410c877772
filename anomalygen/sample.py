"""Area-uniform surface sampling that remembers where every point came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh


@dataclass
class SurfaceSample:
    """N points on a mesh surface.

    points:      (N, 3) float64 positions.
    normals:     (N, 3) float64 unit normals of the faces the points lie on.
    face_index:  (N,) int64 face of each point.
    barycentric: (N, 3) float64 barycentric coordinates of each point in its face.
    """

    points: np.ndarray
    normals: np.ndarray
    face_index: np.ndarray
    barycentric: np.ndarray


def sample_surface(mesh: trimesh.Trimesh, count: int, rng: np.random.Generator) -> SurfaceSample:
    """``count`` points drawn uniformly by area over the surface of ``mesh``.

    Written out rather than calling ``trimesh.sample.sample_surface`` so that the random
    stream, and therefore every generated benchmark, depends on numpy's Generator alone.
    """
    cumulative = np.cumsum(mesh.area_faces)
    face_index = np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1], count), side="right")
    face_index = np.minimum(face_index, len(mesh.faces) - 1)
    uv = rng.random((count, 2))
    folded = uv.sum(axis=1) > 1.0  # reflect into the triangle so density stays uniform
    uv[folded] = 1.0 - uv[folded]
    barycentric = np.column_stack([1.0 - uv.sum(axis=1), uv])
    triangles = mesh.triangles[face_index]
    points = np.einsum("nk,nkd->nd", barycentric, triangles)
    return SurfaceSample(
        points=points,
        normals=np.asarray(mesh.face_normals)[face_index],
        face_index=face_index.astype(np.int64),
        barycentric=barycentric,
    )
