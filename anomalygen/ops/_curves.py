"""Helpers for operators that follow a curve on the surface or need a locally finer mesh.

* :func:`refine_faces` splits chosen faces into ``n*n`` triangles without cracks and keeps, for
  every output face, the input face it lies in (``face_origin`` of :class:`EditResult`).
* :func:`surface_path` draws a smooth, geodesic-like curve of a given length on the surface.
* :func:`resample_polyline` and :func:`smoothstep` are the small pieces both of them use;
  :func:`summarise` words the reasons of operators that try several locations before giving up.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import trimesh
from scipy.ndimage import gaussian_filter1d
from scipy.sparse.csgraph import dijkstra
from scipy.spatial import cKDTree

from anomalygen.geometry.canonical import row_norms
from anomalygen.ops._surface import edge_graph
from anomalygen.ops.base import OperatorNotApplicable


def summarise(reasons: Counter) -> str:
    """``"3x reason a; 1x reason b"``, most frequent first: why each try of an operator failed."""
    return "; ".join(f"{count}x {reason}" for reason, count in reasons.most_common())


def smoothstep(t: np.ndarray) -> np.ndarray:
    """C1 ramp on t: 0 for t<=0, 1 for t>=1, 3t^2-2t^3 between (zero slope at both ends)."""
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


# --------------------------------------------------------------------------------------------
# crack-free local refinement
# --------------------------------------------------------------------------------------------


@dataclass
class Refined:
    """A mesh with some faces split, and how it relates to its input.

    vertices:    (V', 3) float64; the first V rows are the input vertices, unchanged.
    faces:       (F', 3) int64, same winding as the input faces they lie in.
    face_origin: (F',) int64, input face each output face lies in.
    refined:     (F',) bool, output faces that are pieces of an ``n*n`` split face (not the
                 fans that close the cracks around them, nor untouched faces).
    parents:     (V'-V, 3) int64 input vertices each new vertex interpolates ...
    weights:     (V'-V, 3) float64 ... with these barycentric weights (rows sum to 1), so any
                 per-vertex attribute (normals) can be carried over: ``(w[..., None] * a[p]).sum(1)``.
    """

    vertices: np.ndarray
    faces: np.ndarray
    face_origin: np.ndarray
    refined: np.ndarray
    parents: np.ndarray
    weights: np.ndarray

    def interpolate(self, attribute: np.ndarray) -> np.ndarray:
        """(V, k) per-input-vertex attribute -> (V', k) on the refined mesh."""
        new = np.einsum("ij,ijk->ik", self.weights, attribute[self.parents])
        return np.vstack((attribute, new))


def _lattice(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Barycentric lattice of a triangle split n times per edge.

    Returns (P, 2) int points (i, j) -- the point c0 + i/n (c1-c0) + j/n (c2-c0) -- and
    (n*n, 3) int sub-triangles as indices into those points, wound like (c0, c1, c2).
    """
    points = np.array([(i, j) for j in range(n + 1) for i in range(n + 1 - j)])
    index = {tuple(p): k for k, p in enumerate(points)}
    triangles = [(index[i, j], index[i + 1, j], index[i, j + 1]) for j in range(n) for i in range(n - j)]
    triangles += [
        (index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]) for j in range(n - 1) for i in range(n - 1 - j)
    ]
    return points, np.array(triangles)


def refine_faces(mesh: trimesh.Trimesh, selected: np.ndarray, n: int) -> Refined:
    """Split every selected face into ``n*n`` similar triangles, crack-free.

    Faces left unselected but sharing an edge with a selected face would otherwise meet the new
    edge points in T-junctions (a crack). So the selection is first grown until every other face
    touches at most one split edge, and each such face is then fanned from its opposite corner
    into ``n`` triangles through that edge's points. Every new vertex sits on an input edge or
    inside an input face, so each output face lies in exactly one input face: ``face_origin`` is
    exact, and a watertight input stays watertight.

    mesh: input (V vertices, F faces); selected: (F,) bool; n >= 2 pieces per edge.
    """
    n = int(n)
    if n < 2:
        raise ValueError(f"refine_faces needs n >= 2 pieces per edge, got {n}")
    faces = np.asarray(mesh.faces, dtype=np.int64)
    n_vertices = len(mesh.vertices)
    face_edges = mesh.faces_unique_edges  # (F, 3) unique edge of (c0,c1), (c1,c2), (c2,c0)
    edges = mesh.edges_unique
    selected = np.asarray(selected, dtype=bool).copy()
    split = np.zeros(len(edges), dtype=bool)
    while True:  # grow the selection over faces that would touch two or three split edges
        split[face_edges[selected].ravel()] = True
        grow = ~selected & (split[face_edges].sum(axis=1) >= 2)
        if not grow.any():
            break
        selected |= grow

    # n-1 new vertices on every split edge, evenly spaced from edges[e, 0] to edges[e, 1]
    split_ids = np.flatnonzero(split)
    slot = np.full(len(edges), -1, dtype=np.int64)
    slot[split_ids] = np.arange(len(split_ids))
    steps = np.arange(1, n) / n
    edge_parents = np.repeat(edges[split_ids], n - 1, axis=0)
    edge_weights = np.column_stack((1.0 - np.tile(steps, len(split_ids)), np.tile(steps, len(split_ids))))

    def edge_point(face_idx: np.ndarray, side: int, m: np.ndarray) -> np.ndarray:
        """Vertex id of the point m/n of the way from corner ``side`` to the next corner."""
        e = face_edges[face_idx, side]
        forward = edges[e, 0] == faces[face_idx, side]
        k = np.where(forward[:, None], m[None, :], n - m[None, :])
        return n_vertices + slot[e][:, None] * (n - 1) + (k - 1)

    # the n*n pieces of every selected face, through the lattice of each face
    sel = np.flatnonzero(selected)
    points, pieces = _lattice(n)
    i, j = points[:, 0], points[:, 1]
    ids = np.empty((len(sel), len(points)), dtype=np.int64)
    for corner, (ci, cj) in enumerate(((0, 0), (n, 0), (0, n))):
        ids[:, (i == ci) & (j == cj)] = faces[sel, corner][:, None]
    m = np.arange(1, n)
    # lattice points of side 0 (c0->c1), side 1 (c1->c2), side 2 (c2->c0), ordered by m from the start corner
    sides = (
        [np.flatnonzero((i == k) & (j == 0))[0] for k in m],
        [np.flatnonzero((i == n - k) & (j == k))[0] for k in m],
        [np.flatnonzero((i == 0) & (j == n - k))[0] for k in m],
    )
    for side, lattice_ids in enumerate(sides):
        if len(lattice_ids):
            ids[:, lattice_ids] = edge_point(sel, side, m)
    interior = np.flatnonzero((i > 0) & (j > 0) & (i + j < n))
    first_interior = n_vertices + len(split_ids) * (n - 1)
    ids[:, interior] = first_interior + np.arange(len(sel) * len(interior)).reshape(len(sel), -1)
    interior_parents = np.repeat(faces[sel], len(interior), axis=0)
    bary = np.column_stack((n - i[interior] - j[interior], i[interior], j[interior])) / n
    interior_weights = np.tile(bary, (len(sel), 1))
    split_faces = ids[:, pieces].reshape(-1, 3)

    # fans: faces with exactly one split edge, re-rooted so that edge runs corner a -> corner b
    touched = ~selected & split[face_edges].any(axis=1)
    fan = np.flatnonzero(touched)
    side = np.argmax(split[face_edges[fan]], axis=1)
    a = faces[fan, side]
    c = faces[fan, (side + 2) % 3]
    b = faces[fan, (side + 1) % 3]
    # the edge vertices from a to b, framed by a and b themselves
    chain = np.column_stack((a, np.empty((len(fan), n - 1), dtype=np.int64), b))
    for s in range(3):
        rows = side == s
        if rows.any():
            chain[rows, 1:n] = edge_point(fan[rows], s, m)
    fan_faces = np.stack((chain[:, :-1], chain[:, 1:], np.repeat(c[:, None], n, axis=1)), axis=-1).reshape(-1, 3)

    keep = np.flatnonzero(~selected & ~touched)
    new_faces = np.vstack((faces[keep], split_faces, fan_faces))
    face_origin = np.concatenate((keep, np.repeat(sel, len(pieces)), np.repeat(fan, n)))
    refined = np.zeros(len(new_faces), dtype=bool)
    refined[len(keep) : len(keep) + len(split_faces)] = True
    parents = np.vstack((np.column_stack((edge_parents, edge_parents[:, 0])), interior_parents))
    weights = np.vstack((np.column_stack((edge_weights, np.zeros(len(edge_weights)))), interior_weights))
    vertices = np.vstack((mesh.vertices, np.einsum("ij,ijk->ik", weights, mesh.vertices[parents])))
    return Refined(vertices, new_faces, face_origin.astype(np.int64), refined, parents, weights)


# --------------------------------------------------------------------------------------------
# curves on the surface
# --------------------------------------------------------------------------------------------


def resample_polyline(points: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """(K, 3) polyline -> ((M, 3) points about ``spacing`` apart along it, (M,) arc length).

    Keeps both ends; consecutive duplicate points are harmless.
    """
    arc = np.concatenate(([0.0], np.cumsum(np.linalg.norm(np.diff(points, axis=0), axis=1))))
    count = max(int(np.ceil(arc[-1] / spacing)), 1) + 1
    s = np.linspace(0.0, arc[-1], count)
    return np.column_stack([np.interp(s, arc, points[:, k]) for k in range(3)]), s


def project_onto_faces(
    mesh: trimesh.Trimesh, points: np.ndarray, candidates: np.ndarray, k: int = 12
) -> tuple[np.ndarray, np.ndarray]:
    """Closest points on a set of faces: ((N, 3) points, (N,) face index).

    Only the ``k`` candidate faces whose centroids are nearest each point are tested, which is
    exact while the points lie within about an edge of the candidate patch -- and avoids
    building the whole mesh's r-tree (seconds on a 50k-face mesh) for a few hundred points.
    """
    k = min(k, len(candidates))
    _, nearest = cKDTree(mesh.triangles_center[candidates]).query(points, k=k)
    faces = candidates[nearest.reshape(len(points), k)]
    closest = trimesh.triangles.closest_point(
        mesh.triangles[faces.ravel()], np.repeat(points, k, axis=0)
    ).reshape(len(points), k, 3)
    best = np.argmin(np.linalg.norm(closest - points[:, None, :], axis=2), axis=1)
    rows = np.arange(len(points))
    return closest[rows, best], faces[rows, best]


def surface_path(
    mesh: trimesh.Trimesh,
    start: np.ndarray,
    start_face: int,
    length: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """A smooth geodesic-like curve on the surface, ``length`` long, from near ``start``.

    The shortest edge path from the start to a random vertex at graph distance just over
    ``length`` is a geodesic up to the zig-zag of the edges; a Gaussian filter of about two edge
    lengths removes the zig-zag, the filtered points are projected back onto the faces around
    the path, and the curve is cut to ``length``.

    Returns ((M, 3) points on the surface about a quarter edge apart, (M, 3) unit surface normals
    there, interpolated from the vertex normals). Interpolated, not the normal of the face a
    point was projected onto: smoothed points often project onto an edge, where which of its
    two faces wins is a last-bit tie that differs between CPUs. Raises OperatorNotApplicable where no vertex is far enough away along
    the surface (a small part or body) or the projected curve jumps between surfaces.
    """
    edge = float(mesh.edges_unique_length.mean())
    corners = mesh.faces[start_face]
    source = int(corners[np.argmin(np.linalg.norm(mesh.vertices[corners] - start, axis=1))])
    # edge paths overestimate the geodesic by a few percent, and filtering shortens them a
    # little more: aim beyond ``length`` and cut afterwards
    low, high = 1.05 * length, 1.3 * length
    distance, predecessors = dijkstra(
        edge_graph(mesh), directed=False, indices=source, limit=high, return_predecessors=True
    )
    far = np.flatnonzero((distance >= low) & (distance <= high))
    if len(far) == 0:
        raise OperatorNotApplicable(f"no surface path of length {length:.3f} from the drawn start point")
    node = int(far[rng.integers(len(far))])
    path = [node]
    while node != source:
        node = int(predecessors[node])
        path.append(node)
    path = np.array(path[::-1])
    dense, _ = resample_polyline(np.vstack((start, mesh.vertices[path])), edge / 4.0)
    smooth = gaussian_filter1d(dense, sigma=8.0, axis=0, mode="nearest")  # 8 quarter edges = 2 edges
    on_path = np.zeros(len(mesh.vertices), dtype=bool)
    on_path[path] = True
    candidates = np.flatnonzero(on_path[mesh.faces].any(axis=1))
    on_surface, triangles = project_onto_faces(mesh, smooth, candidates)
    steps = np.linalg.norm(np.diff(on_surface, axis=0), axis=1)
    if steps.max() > 2.0 * edge:
        raise OperatorNotApplicable("the curve jumps between surfaces (a wall thinner than an edge)")
    arc = np.concatenate(([0.0], np.cumsum(steps)))
    if arc[-1] < 0.9 * length:
        raise OperatorNotApplicable(f"no smooth surface path of length {length:.3f} from the drawn start point")
    keep = arc <= length
    return on_surface[keep], interpolated_normals(mesh, on_surface[keep], triangles[keep])


def interpolated_normals(mesh: trimesh.Trimesh, points: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """(N, 3) unit normals at ``points`` (N, 3) on ``faces`` (N,): the faces' vertex normals
    blended by barycentric weight, so continuous across edges."""
    # a zero-area face (remeshing leaves a few on long straight creases) has no barycentric
    # coordinates; its corners then weigh equally instead of making the normal NaN
    with np.errstate(divide="ignore", invalid="ignore"):
        weights = trimesh.triangles.points_to_barycentric(mesh.triangles[faces], points)
    weights[~np.isfinite(weights).all(axis=1)] = 1.0 / 3.0
    corner = mesh.vertex_normals[mesh.faces[faces]]  # (N, 3 corners, 3)
    blended = weights[:, :1] * corner[:, 0] + weights[:, 1:2] * corner[:, 1] + weights[:, 2:] * corner[:, 2]
    return blended / np.maximum(row_norms(blended), 1e-12)[:, None]
