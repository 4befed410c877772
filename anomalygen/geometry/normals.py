"""Normals of point clouds from a local PCA (principal component analysis).

Neighbourhoods are the k nearest neighbours from a k-d tree: a one-off pass over a whole cloud,
tens of thousands of points, where a tree is far cheaper than a dense distance matrix.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

CHUNK = 100_000
"""Points per block of neighbourhoods; bounds the (chunk, k, 3) temporaries."""


def local_pca(points: np.ndarray, k: int = 16, *, covariance: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Eigen-decomposition of every point's neighbourhood of its ``k`` nearest neighbours.

    points: (N, 3), any units. Returns ((N, 3) ascending eigenvalues, (N, 3) unit normals: the
    eigenvector of the smallest eigenvalue, sign arbitrary), float64. The neighbourhood
    includes the point itself (``min(k, N)`` points). ``covariance=True`` decomposes the
    covariance (the centred scatter matrix divided by k, summed with ``einsum``),
    ``covariance=False`` the scatter matrix itself (a stacked matrix product): the eigenvectors
    agree up to the last bits, the eigenvalues by the factor k; each caller keeps the form it
    was measured with.
    """
    pts = np.asarray(points, dtype=np.float64)
    n = len(pts)
    k = min(k, n)
    tree = cKDTree(pts)
    eigenvalues, normals = np.empty((n, 3)), np.empty((n, 3))
    for start in range(0, n, CHUNK):
        rows = slice(start, min(start + CHUNK, n))
        _, idx = tree.query(pts[rows], k=k)
        local = pts[idx]                                          # (chunk, k, 3)
        local -= local.mean(axis=1, keepdims=True)
        if covariance:
            matrix = np.einsum("nki,nkj->nij", local, local) / k
        else:
            matrix = local.transpose(0, 2, 1) @ local
        eig, vec = np.linalg.eigh(matrix)                         # ascending eigenvalues
        eigenvalues[rows], normals[rows] = eig, vec[:, :, 0]
    return eigenvalues, normals


def orient_outward(points: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """(N, 3) ``normals`` negated where they point towards the centroid of (N, 3) ``points``
    (right for closed, roughly star-shaped objects). Returns a new float64 array."""
    pts = np.asarray(points, dtype=np.float64)
    normals = np.array(normals, dtype=np.float64)
    flip = np.einsum("ni,ni->n", normals, pts - pts.mean(axis=0)) < 0
    normals[flip] *= -1
    return normals


def pca_normals(points: np.ndarray, k: int = 16) -> np.ndarray:
    """(N, 3) float32 unit normals of (N, 3) ``points`` from the PCA of each point's k nearest
    neighbours' scatter matrix, turned away from the centroid; zeros for fewer than 3 points."""
    n = len(points)
    if n < 3:
        return np.zeros((n, 3), np.float32)
    pts = np.asarray(points, np.float64)
    return orient_outward(pts, local_pca(pts, k, covariance=False)[1]).astype(np.float32)
