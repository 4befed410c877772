"""Surface helpers shared by the operators: random locations and geodesic neighbourhoods."""

from __future__ import annotations

import weakref

import numpy as np
import scipy.sparse
import trimesh
from scipy.sparse.csgraph import dijkstra

from anomalygen.geometry.sampling import area_uniform_point


def random_surface_point(mesh: trimesh.Trimesh, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """One area-uniform random point on the surface: ((3,) position, face index)."""
    return area_uniform_point(mesh.vertices, mesh.faces, mesh.area_faces, rng)


_GRAPHS: "weakref.WeakKeyDictionary[trimesh.Trimesh, scipy.sparse.csr_matrix]" = weakref.WeakKeyDictionary()
"""Each mesh's edge graph while the mesh lives: every sample of a class edits the same prepared
mesh. A Trimesh hashes by its content, so a mesh changed in place misses and is built anew."""


def edge_graph(mesh: trimesh.Trimesh) -> scipy.sparse.csr_matrix:
    """(V, V) sparse matrix of edge lengths (upper triangle; use it as an undirected graph).
    The same object for the same mesh: do not modify it."""
    graph = _GRAPHS.get(mesh)
    if graph is None:
        edges = mesh.edges_unique
        n = len(mesh.vertices)
        graph = scipy.sparse.csr_matrix((mesh.edges_unique_length, (edges[:, 0], edges[:, 1])), shape=(n, n))
        _GRAPHS[mesh] = graph
    return graph


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
