"""Area-uniform surface sampling that remembers where every point came from."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from anomalygen.geometry.sampling import area_uniform_points


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
    points, face_index, barycentric = area_uniform_points(mesh.vertices, mesh.faces, mesh.area_faces, count, rng)
    return SurfaceSample(
        points=points,
        normals=np.asarray(mesh.face_normals)[face_index],
        face_index=face_index,
        barycentric=barycentric,
    )
