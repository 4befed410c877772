"""Area-uniform random points on a triangle surface.

The random stream depends on numpy's Generator alone (no trimesh sampling), so that every
generated benchmark is reproducible from its seeds.
"""

from __future__ import annotations

import numpy as np


def area_uniform_faces(face_areas: np.ndarray, count: int | None, rng: np.random.Generator
                       ) -> tuple[np.ndarray, np.ndarray]:
    """Faces and in-face coordinates of area-uniform random surface points.

    face_areas: (F,) areas. Returns ((N,) int64 face of each point, (N, 2) coordinates (u, v)
    with u + v <= 1: the point is ``a + u (b - a) + v (c - a)`` of its face's corners a, b, c).
    ``count=None`` draws one point and returns (int face, (2,) uv), consuming the random stream
    exactly as a draw of ``count=1`` does.
    """
    cumulative = np.cumsum(face_areas)
    if count is None:
        face = int(np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1]), side="right"))
        face = min(face, len(face_areas) - 1)
        u, v = rng.random(2)
        if u + v > 1.0:  # fold the unit square onto the triangle so the point stays uniform
            u, v = 1.0 - u, 1.0 - v
        return face, np.array([u, v])
    face_index = np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1], count), side="right")
    face_index = np.minimum(face_index, len(face_areas) - 1)
    uv = rng.random((count, 2))
    folded = uv.sum(axis=1) > 1.0  # reflect into the triangle so density stays uniform
    uv[folded] = 1.0 - uv[folded]
    return face_index.astype(np.int64), uv


def barycentric_of(uv: np.ndarray) -> np.ndarray:
    """(N, 2) in-face coordinates (u, v) -> (N, 3) barycentric coordinates (1 - u - v, u, v)."""
    return np.column_stack([1.0 - uv.sum(axis=1), uv])


def surface_points(triangles: np.ndarray, barycentric: np.ndarray) -> np.ndarray:
    """(N, 3, 3) triangles' corners and (N, 3) barycentric coordinates -> (N, 3) points."""
    return np.einsum("nk,nkd->nd", barycentric, triangles)


def area_uniform_points(vertices: np.ndarray, faces: np.ndarray, face_areas: np.ndarray, count: int,
                        rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``count`` area-uniform random points on the surface (V, 3) vertices, (F, 3) faces.

    Returns ((N, 3) points, (N,) int64 faces, (N, 3) barycentric coordinates).
    """
    face_index, uv = area_uniform_faces(face_areas, count, rng)
    barycentric = barycentric_of(uv)
    return surface_points(vertices[faces[face_index]], barycentric), face_index, barycentric


def area_uniform_point(vertices: np.ndarray, faces: np.ndarray, face_areas: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One area-uniform random point on the surface: ((3,) position, face index).

    The position is ``a + u (b - a) + v (c - a)`` (the form operators have always used for
    their locations; :func:`area_uniform_points` weighs the corners instead, which can differ
    in the last bit).
    """
    face, (u, v) = area_uniform_faces(face_areas, None, rng)
    a, b, c = vertices[faces[face]]
    return a + u * (b - a) + v * (c - a), face
