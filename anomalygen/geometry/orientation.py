"""Coherent, outward face orientation of triangle meshes (plain arrays in and out).

:func:`orient_faces` winds every face like its neighbours across manifold edges, turns closed
parts outward (positive signed volume) and enclosed cavities inward.
"""

from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.sparse import csgraph

from anomalygen.geometry.topology import face_components, manifold_adjacency


def orient_faces(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(F, 3) faces re-wound coherently, closed parts outward, enclosed cavities inward.

    Faces are grouped into parts connected across manifold edges (edges of exactly two faces);
    within a part every face is wound like its neighbours. A part is then flipped so that its
    signed volume (about its bounding-box centre) is positive, which for a closed part means
    outward normals; a closed part lying inside another closed part (a cavity) is flipped to
    point into the cavity instead, so that solids with voids stay valid.
    """
    faces = np.asarray(faces, dtype=np.int64).copy()
    if len(faces) == 0:
        return faces
    face_a, face_b, same_direction, closed_edges = manifold_adjacency(faces)
    labels = face_components(len(faces), face_a, face_b)
    flip = coherent_flips(len(faces), face_a, face_b, same_direction, labels)
    faces[flip] = faces[flip][:, ::-1]
    # flipping one face of a pair toggles whether the pair agrees; no new pairs appear
    same_direction = same_direction ^ flip[face_a] ^ flip[face_b]

    volume = part_volumes(vertices, faces, labels)
    closed = closed_parts(labels, face_a, same_direction, closed_edges)
    inverted = volume < 0.0
    cavity = cavities(vertices, faces, labels, closed)
    flip_part = inverted ^ cavity
    flip = flip_part[labels]
    faces[flip] = faces[flip][:, ::-1]
    return faces



def coherent_flips(face_count, face_a, face_b, same_direction, labels) -> np.ndarray:
    """(F,) bool: faces to flip so that every part is wound like its root face.

    A breadth-first spanning tree of each part (rooted at its lowest face index, all parts
    hung below one virtual node) gives every face a parent; a face must flip iff an odd
    number of inconsistent tree edges lies between it and its root. Parities to the root are
    accumulated by pointer jumping, so the cost is O(F log depth) in numpy.
    """
    if len(face_a) == 0:
        return np.zeros(face_count, dtype=bool)
    roots = np.unique(labels, return_index=True)[1]
    virtual = face_count
    rows = np.r_[face_a, np.full(len(roots), virtual)]
    cols = np.r_[face_b, roots]
    graph = sparse.coo_matrix(
        (np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(face_count + 1,) * 2
    ).tocsr()
    _, parent = csgraph.breadth_first_order(
        graph, virtual, directed=False, return_predecessors=True
    )
    parent = parent[:face_count].astype(np.int64)
    is_root = parent == virtual
    parent[is_root] = np.flatnonzero(is_root)

    # parity of each tree edge (parent, child): look it up among the adjacency pairs
    key_pairs = np.minimum(face_a, face_b) * (face_count + 1) + np.maximum(face_a, face_b)
    key_tree = np.minimum(parent, np.arange(face_count)) * (face_count + 1) + np.maximum(
        parent, np.arange(face_count)
    )
    order = np.argsort(key_pairs, kind="stable")
    position = np.searchsorted(key_pairs[order], key_tree)
    position = np.minimum(position, len(order) - 1)
    parity = same_direction[order[position]] & ~is_root

    ancestor = parent
    while True:
        parity = parity ^ parity[ancestor]
        next_ancestor = ancestor[ancestor]
        if np.array_equal(next_ancestor, ancestor):
            break
        ancestor = next_ancestor
    return parity


def part_volumes(vertices: np.ndarray, faces: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """(P,) signed volume of each part, taken about the part's bounding-box centre.

    For a closed part the reference point does not matter; for an open one the box centre
    makes the sign independent of where the part sits (positive: normals point away from it).
    """
    count = labels.max() + 1
    tri = vertices[faces]
    lo = np.full((count, 3), np.inf)
    hi = np.full((count, 3), -np.inf)
    np.minimum.at(lo, labels, tri.min(axis=1))
    np.maximum.at(hi, labels, tri.max(axis=1))
    tri = tri - ((lo + hi) / 2.0)[labels][:, None, :]
    signed = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])) / 6.0
    return np.bincount(labels, weights=signed, minlength=count)


def closed_parts(labels, face_a, same_direction, closed_edges) -> np.ndarray:
    """(P,) bool: parts in which every edge has exactly two faces, wound consistently."""
    count = labels.max() + 1
    open_faces = np.bincount(labels, weights=closed_edges < 3, minlength=count) > 0
    inconsistent = np.bincount(labels[face_a[same_direction]], minlength=count) > 0
    return ~open_faces & ~inconsistent


def winding_numbers(points: np.ndarray, triangles: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """(N,) generalised winding number of closed triangles (M, 3, 3) at points (N, 3)."""
    total = np.zeros(len(points))
    for start in range(0, len(triangles), chunk):
        tri = triangles[start : start + chunk][None, :, :, :] - points[:, None, None, :]
        a, b, c = tri[:, :, 0], tri[:, :, 1], tri[:, :, 2]
        la, lb, lc = (np.linalg.norm(x, axis=2) for x in (a, b, c))
        det = np.einsum("nmi,nmi->nm", a, np.cross(b, c))
        dots = (
            la * lb * lc
            + np.einsum("nmi,nmi->nm", a, b) * lc
            + np.einsum("nmi,nmi->nm", b, c) * la
            + np.einsum("nmi,nmi->nm", c, a) * lb
        )
        total += 2.0 * np.arctan2(det, dots).sum(axis=1)
    return total / (4.0 * np.pi)


def cavities(vertices, faces, labels, closed, samples: int = 8) -> np.ndarray:
    """(P,) bool: closed parts nested inside an odd number of other closed parts.

    A part counts as inside another when its bounding box lies within the other's and the
    other's winding number is about 1 at ``samples`` of its face centroids. Parts that merely
    intersect (ShapeNet parts often do) fail one of the two tests and stay outward.
    """
    count = labels.max() + 1
    cavity = np.zeros(count, dtype=bool)
    candidates = np.flatnonzero(closed)
    if len(candidates) < 2:
        return cavity
    tri = vertices[faces]
    lo = np.full((count, 3), np.inf)
    hi = np.full((count, 3), -np.inf)
    np.minimum.at(lo, labels, tri.min(axis=1))
    np.maximum.at(hi, labels, tri.max(axis=1))
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(count + 1))
    depth = np.zeros(count, dtype=np.int64)
    for inner in candidates:
        members = order[starts[inner] : starts[inner + 1]]
        probe = tri[members[np.linspace(0, len(members) - 1, samples).astype(int)]].mean(axis=1)
        for outer in candidates:
            if outer == inner or not (
                np.all(lo[outer] < lo[inner]) and np.all(hi[inner] < hi[outer])
            ):
                continue
            shell = tri[order[starts[outer] : starts[outer + 1]]]
            if np.all(np.abs(winding_numbers(probe, shell)) > 0.5):
                depth[inner] += 1
    cavity[:] = depth % 2 == 1
    return cavity

