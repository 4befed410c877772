"""Surface helpers shared by the operators: random locations and geodesic neighbourhoods."""

from __future__ import annotations

import numpy as np
import scipy.sparse
import trimesh
from scipy.sparse.csgraph import dijkstra


def random_surface_point(mesh: trimesh.Trimesh, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One area-uniform random point on the surface: ((3,) position, face index)."""
    cumulative = np.cumsum(mesh.area_faces)
    face = int(np.searchsorted(cumulative, rng.uniform(0.0, cumulative[-1]), side="right"))
    face = min(face, len(mesh.faces) - 1)
    u, v = rng.random(2)
    if u + v > 1.0:  # fold the unit square onto the triangle so the point stays uniform
        u, v = 1.0 - u, 1.0 - v
    a, b, c = mesh.vertices[mesh.faces[face]]
    return a + u * (b - a) + v * (c - a), face


def edge_graph(mesh: trimesh.Trimesh) -> scipy.sparse.csr_matrix:
    """(V, V) sparse matrix of edge lengths (upper triangle; use it as an undirected graph)."""
    edges = mesh.edges_unique
    n = len(mesh.vertices)
    return scipy.sparse.csr_matrix((mesh.edges_unique_length, (edges[:, 0], edges[:, 1])), shape=(n, n))


def geodesic_distance(mesh: trimesh.Trimesh, point: np.ndarray, face: int, limit: float) -> np.ndarray:
    """(V,) approximate geodesic distance from a surface point to every vertex, inf beyond ``limit``.

    Shortest paths along mesh edges, started from the corners of ``face`` at their straight-line
    distance to ``point``. On an isotropically remeshed surface this over-estimates the true
    geodesic by a few percent, which only makes a bump very slightly polygonal; unlike the
    Euclidean distance it never jumps across a thin wall to the surface on its other side.
    """
    corners = mesh.faces[face]
    start = np.linalg.norm(mesh.vertices[corners] - point, axis=1)
    per_corner = dijkstra(edge_graph(mesh), directed=False, indices=corners, limit=limit)
    distance = np.min(per_corner + start[:, None], axis=0)
    distance[distance > limit] = np.inf
    return distance
