"""Mesh topology on plain arrays: equal-row grouping, compaction, connected components, edges.

Everything takes (V, 3) float vertices and/or (F, 3) int faces (or (E, 2) int edges) and returns
plain numpy arrays; nothing here depends on coordinates except :func:`compact` (which carries
them along), so the results are the same on every CPU.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph


def group_rows(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Group equal rows of an (N, K) integer array (much faster than np.unique(axis=0)).

    Returns first (G,) index of each group's first row, inverse (N,) group of each row and
    counts (G,). Groups are numbered in lexicographic order of their rows.
    """
    if len(rows) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    rows = np.asarray(rows).reshape(len(rows), -1)
    order = np.lexsort(rows.T[::-1])  # stable: a group's first row has its lowest index
    ranked = rows[order]
    new = np.r_[True, (ranked[1:] != ranked[:-1]).any(axis=1)]
    group = np.cumsum(new) - 1
    inverse = np.empty(len(rows), dtype=np.int64)
    inverse[order] = group
    starts = np.flatnonzero(new)
    return order[starts], inverse, np.diff(np.r_[starts, len(rows)])


def compact(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertices no face uses, keeping the order of the others.

    (V, 3) vertices, (F, K) int faces -> (V', 3) vertices, (F, K) int64 faces re-indexed.
    """
    used = np.zeros(len(vertices), dtype=bool)
    used[faces.reshape(-1)] = True
    new_index = np.cumsum(used) - 1
    return vertices[used], new_index[faces].astype(np.int64)


def vertex_components(vertex_count: int, links: np.ndarray) -> tuple[int, np.ndarray]:
    """Connected parts of a vertex graph: (number of parts, (V,) part label of every vertex).

    links: (F, 3) faces (a face joins its three corners) or (E, 2) edges. Vertices in no link
    are parts of their own. Labels depend only on which vertices are linked.
    """
    links = np.asarray(links)
    if links.ndim == 2 and links.shape[1] == 3:
        rows = links[:, [0, 1, 2]].reshape(-1)
        cols = links[:, [1, 2, 0]].reshape(-1)
    else:
        rows, cols = links[:, 0], links[:, 1]
    ones = np.ones(len(rows), dtype=np.int8)
    graph = sparse.coo_matrix((ones, (rows, cols)), shape=(vertex_count,) * 2)
    count, labels = csgraph.connected_components(graph, directed=False)
    return int(count), labels


def face_components(face_count: int, face_a: np.ndarray, face_b: np.ndarray) -> np.ndarray:
    """(F,) part label of every face, parts connected through the face pairs (face_a, face_b)."""
    graph = sparse.coo_matrix(
        (np.ones(len(face_a), dtype=np.int8), (face_a, face_b)), shape=(face_count,) * 2
    )
    return csgraph.connected_components(graph, directed=False)[1]


def directed_edges(faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(3F, 2) edges of (F, 3) faces as each face winds them, and the (3F,) face of each."""
    return faces[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), np.repeat(np.arange(len(faces)), 3)


def edge_face_counts(faces: np.ndarray) -> np.ndarray:
    """(G,) number of faces on each distinct undirected edge of (F, 3) faces (1: a rim edge,
    2: manifold, more: non-manifold); edges in lexicographic order of (low, high) vertex."""
    return group_rows(np.sort(directed_edges(faces)[0], axis=1))[2]


def boundary_edges(faces: np.ndarray) -> int:
    """Number of edges of (F, 3) faces used by exactly one face (open rims)."""
    return int((edge_face_counts(np.asarray(faces, dtype=np.int64).reshape(-1, 3)) == 1).sum())


def manifold_adjacency(faces: np.ndarray):
    """Face pairs sharing a manifold edge.

    Returns face_a, face_b (E,) int64, same_direction (E,) bool (both faces traverse the shared
    edge the same way, i.e. are wound inconsistently) and the (F,) count of each face's edges
    that have exactly two faces.
    """
    directed, owner = directed_edges(faces)
    _, inverse, counts = group_rows(np.sort(directed, axis=1))
    order = np.argsort(inverse, kind="stable")
    grouped = inverse[order]
    starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]])
    pair = counts[grouped[starts]] == 2
    first, second = order[starts[pair]], order[starts[pair] + 1]
    same = directed[first, 0] == directed[second, 0]
    closed = np.bincount(owner[np.r_[first, second]], minlength=len(faces))
    return owner[first], owner[second], same, closed


def rim_loops(vertex_count: int, faces: np.ndarray):
    """The boundary (rim) edges of (F, 3) faces, grouped into loops.

    Returns (K, 2) rim edges as their faces wind them, their (K,) faces, the (K,) loop label of
    each (rim edges connected through shared vertices) and (K,) bool ``bad``: the edge's start
    has more than one rim edge out or its end more than one rim edge in (the loop is not
    simple). All empty where there is no rim.
    """
    directed, owner = directed_edges(faces)
    _, inverse, counts = group_rows(np.sort(directed, axis=1))
    rim = counts[inverse] == 1
    edges, owner = directed[rim], owner[rim]
    if not len(edges):
        return edges, owner, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
    n = vertex_count
    out_degree = np.bincount(edges[:, 0], minlength=n)
    in_degree = np.bincount(edges[:, 1], minlength=n)
    graph = sparse.coo_matrix(
        (np.ones(len(edges), dtype=np.int8), (edges[:, 0], edges[:, 1])), shape=(n, n)
    )
    loop = csgraph.connected_components(graph, directed=False)[1][edges[:, 0]]
    bad = (out_degree[edges[:, 0]] != 1) | (in_degree[edges[:, 1]] != 1)
    return edges, owner, loop, bad
