"""bending: a small protruding part (a handle, a spout tip, a brim, the top of a neck) bent by an angle.

The part is the tip of the object in some direction u: the connected piece of surface beyond a
cutting plane ``x.u = s0``, with ``s0`` chosen so that the piece covers ``part_fraction`` of the
surface area (other pieces beyond the plane stay put). Measuring from the plane along u (x) and
across the part along b (r), the part is bent like a beam about an axis a that lies in the
plane along the cut's longest extent, so the bend folds the part's thin direction: over a
transition of length tau the angle grows as ``angle * smoothstep(x / tau)`` and the centre
line follows the turning tangent (keeping its length); beyond tau the part turns rigidly by the
full angle. Nothing else moves, the topology is untouched (``face_origin=None``), the angle is 0
with zero slope at the cut, so the surface stays connected and smooth, and the displacement
field gives the labels.

Fibres of the transition shrink or stretch by ``r * dtheta/dx``; tau is made long enough to keep
that under MAX_STRAIN (no fold). A direction is skipped when its tip is no part: a stub no longer
than ~its thickness (the cap of a sphere, the corner of a box), a piece too short or thick for
the angle, a separate body, or a part whose bent tip would come near the rest of the object
(clearance test against the unmoved vertices). Several directions are tried (principal axes,
coordinate axes, a few random ones) before the operator gives up, so round or compact objects
(a sphere, a cube, a torus) are not applicable.

Default ranges: points near the cut barely move, so the anomalous fraction is 55-90% of the
part's area fraction; ``part_fraction`` 0.025-0.06 gives about 1.5%-5% anomalous points, and
10-25 degrees is a visible but plausible bend.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import scipy.sparse
import trimesh
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from anomalygen.ops._curves import smoothstep, summarise
from anomalygen.ops.base import EditResult, Operator, OperatorNotApplicable, Param, register

PARAMS = (
    Param("angle", (10.0, 25.0), (1.0, 60.0), "bend angle, degrees"),
    Param("part_fraction", (0.025, 0.06), (0.002, 0.3), "surface-area fraction of the bent part, transition included"),
)

#: largest fibre strain in the transition (shortening on the inside of the bend)
MAX_STRAIN = 0.5
#: the transition takes between these fractions of the part's length along u
TRANSITION = (0.3, 0.85)
#: a part must stick out at least this many times its thickness across the bend (which keeps
#: corners and caps of compact bodies out)
MIN_SLENDERNESS = 0.8
#: a part longer than this along u is not "small" (and bounds the search for the cut)
MAX_PART_LENGTH = 1.0
#: accepted part area, relative to the drawn target
AREA_TOLERANCE = (0.7, 1.4)
RANDOM_DIRECTIONS = 4


@dataclass
class Part:
    """The tip of the object in direction u: vertices ``mask`` (V,) bool beyond the plane at s0."""

    u: np.ndarray
    s0: float
    mask: np.ndarray
    area: float


def _vertex_areas(faces: np.ndarray, face_areas: np.ndarray, n_vertices: int) -> np.ndarray:
    """(V,) a third of the area of every face around each vertex (sums to the surface area)."""
    return np.bincount(faces.ravel(), weights=np.repeat(face_areas / 3.0, 3), minlength=n_vertices)


def _directions(vertices: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(K, 3) candidate tip directions in random order: +-principal axes, +-coordinate axes and a
    few random ones, without near-duplicates (within 15 degrees)."""
    centred = vertices - np.average(vertices, axis=0, weights=weights)
    _, axes = np.linalg.eigh((centred * weights[:, None]).T @ centred)
    random = rng.normal(size=(RANDOM_DIRECTIONS, 3))
    random /= np.linalg.norm(random, axis=1, keepdims=True)
    candidates = np.vstack((axes.T, -axes.T, np.eye(3), -np.eye(3), random))
    candidates = candidates[rng.permutation(len(candidates))]
    kept: list[np.ndarray] = []
    for d in candidates:
        if all(d @ k < np.cos(np.radians(15.0)) for k in kept):
            kept.append(d)
    return np.array(kept)


def _find_part(u: np.ndarray, vertices: np.ndarray, edges: np.ndarray, vertex_area: np.ndarray, target: float) -> Part:
    """The connected piece of surface around the extreme vertex in direction u, beyond a cutting
    plane placed so that the piece's area is about ``target``.

    Raises OperatorNotApplicable where no cut within MAX_PART_LENGTH of the tip gives that area
    (the tip is a long thin spike, or two pieces merge across the target).
    """
    h = vertices @ u
    tip = int(np.argmax(h))
    floor = h[tip] - MAX_PART_LENGTH
    # only vertices above the lowest allowed cut take part in the search
    sub = np.flatnonzero(h > floor)
    local = np.full(len(h), -1)
    local[sub] = np.arange(len(sub))
    e = local[edges]
    e = e[(e >= 0).all(axis=1)]
    h_sub, area_sub = h[sub], vertex_area[sub]
    tip_sub = int(local[tip])
    edge_low = h_sub[e].min(axis=1)

    def piece(s: float) -> tuple[np.ndarray, float]:
        """(len(sub),) mask of the tip's connected piece of {h > s}, and its area."""
        keep = edge_low > s
        graph = scipy.sparse.coo_matrix((np.ones(keep.sum()), (e[keep, 0], e[keep, 1])), shape=(len(sub),) * 2)
        labels = connected_components(graph, directed=False)[1]
        mask = (labels == labels[tip_sub]) & (h_sub > s)
        return mask, float(area_sub[mask].sum())

    def fits(area: float) -> bool:
        return AREA_TOLERANCE[0] * target <= area <= AREA_TOLERANCE[1] * target

    # first guess: the cut where the whole half-space beyond it has the target area; the tip's
    # piece is that half-space unless other pieces of the object reach beyond the cut too
    order = np.argsort(-h_sub)
    reach = int(np.searchsorted(np.cumsum(area_sub[order]), target))
    if reach >= len(order):
        raise OperatorNotApplicable("the tip is a long thin spike")
    low, high = floor, float(h_sub[order[reach]])
    cut = high
    for _ in range(16):  # bisection on the cut height: the tip's piece only grows as the cut drops
        mask, area = piece(cut)
        if fits(area):
            full = np.zeros(len(h), dtype=bool)
            full[sub[mask]] = True
            return Part(u, cut, full, area)
        if area < target:
            high = cut
        else:
            low = cut
        cut = 0.5 * (low + high)
    raise OperatorNotApplicable("no piece of the drawn area at the tip")


def _bend(
    vertices: np.ndarray, edges: np.ndarray, edge: float, part: Part, angle: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """(V, 3) displacement that bends ``part`` by ``angle`` degrees, and where (for params).

    edge: the mean edge length, the scale of "near" in the clearance test.

    Raises OperatorNotApplicable where the part is a separate body, too short or thick for the
    bend without folding, or would come near the rest of the object.
    """
    u, mask = part.u, part.mask
    crossing = mask[edges[:, 0]] != mask[edges[:, 1]]
    cut = np.unique(edges[crossing][mask[edges[crossing]]])
    if len(cut) < 3:
        raise OperatorNotApplicable("the tip is a separate body, not a part")
    # in-plane frame: a along the cut's longest extent (the bend axis), b across it
    e1 = np.cross(u, np.eye(3)[np.argmin(np.abs(u))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(u, e1)
    plane = np.column_stack((e1, e2))  # (3, 2)
    q = (vertices[cut] - vertices[cut].mean(axis=0)) @ plane
    major = np.linalg.eigh(q.T @ q)[1][:, -1]
    a = plane @ major
    a *= rng.choice((-1.0, 1.0))  # bend towards +b or -b
    b = np.cross(u, a)
    across = vertices[cut] @ b
    pivot = part.s0 * u + (vertices[cut] @ a).mean() * a + 0.5 * (across.min() + across.max()) * b

    ids = np.flatnonzero(mask)
    rel = vertices[ids] - pivot
    x, r = rel @ u, rel @ b
    length = float(x.max())
    thickness = float(across.max() - across.min())
    if length < MIN_SLENDERNESS * thickness:
        raise OperatorNotApplicable("the tip is a stub, not a protruding part")
    transition_zone = x <= TRANSITION[1] * length
    if not transition_zone.any():
        raise OperatorNotApplicable("the tip is a flat face, not a part")
    theta = np.radians(angle)
    # fibre strain r * dtheta/dx peaks at 1.5 * theta * r / tau (smoothstep's steepest slope)
    r_max = float(np.abs(r[transition_zone]).max())
    tau = max(1.5 * theta * r_max / MAX_STRAIN, TRANSITION[0] * length)
    if tau > TRANSITION[1] * length:
        raise OperatorNotApplicable("the part is too short or thick to bend without folding")

    # the bent centre line, integrated along the transition: c(x) = int_0^x (cos t, sin t)
    grid = np.linspace(0.0, tau, 257)
    turn = theta * smoothstep(grid / tau)
    tangent = np.column_stack((np.cos(turn), np.sin(turn)))
    centre = np.vstack(([0.0, 0.0], np.cumsum(0.5 * (tangent[1:] + tangent[:-1]) * np.diff(grid)[:, None], axis=0)))
    inside = np.minimum(x, tau)
    beyond = np.maximum(x - tau, 0.0)
    t = theta * smoothstep(inside / tau)
    along = np.interp(inside, grid, centre[:, 0]) + beyond * np.cos(t) - r * np.sin(t)
    side = np.interp(inside, grid, centre[:, 1]) + beyond * np.sin(t) + r * np.cos(t)
    displacement = np.zeros_like(vertices)
    displacement[ids] = (along - x)[:, None] * u + (side - r)[:, None] * b

    # clearance: a moved vertex must not end up much closer to the unmoved surface than it was
    moved = ids[np.linalg.norm(displacement[ids], axis=1) > 1e-9]
    if len(moved):
        before, after = vertices[moved], vertices[moved] + displacement[moved]
        margin = float(np.linalg.norm(displacement[moved], axis=1).max()) + 0.1
        lo = np.minimum(before.min(axis=0), after.min(axis=0)) - margin
        hi = np.maximum(before.max(axis=0), after.max(axis=0)) + margin
        near = np.all((vertices >= lo) & (vertices <= hi), axis=1) & ~mask
        if near.any():
            tree = cKDTree(vertices[near])
            d_before, d_after = tree.query(before)[0], tree.query(after)[0]
            if np.any((d_after < 0.5 * d_before) & (d_after < 2.0 * edge)):
                raise OperatorNotApplicable("the bent part would touch the rest of the object")
    where = {
        "direction": u,
        "axis": a,
        "pivot": pivot,
        "transition": tau,
        "part_length": length,
        "thickness": thickness,
    }
    return displacement, where


def bending(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    """Bend a small protruding part; see the module docstring."""
    angle, fraction = float(params["angle"]), float(params["part_fraction"])
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    edges = np.asarray(mesh.edges_unique)
    edge = float(np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1).mean())
    vertex_area = _vertex_areas(faces, np.asarray(mesh.area_faces), len(vertices))
    total = float(vertex_area.sum())
    if not total > 0.0:
        raise OperatorNotApplicable("bending: the mesh has no area")
    directions = _directions(vertices, vertex_area, rng)
    reasons: Counter = Counter()
    for u in directions:
        try:
            part = _find_part(u, vertices, edges, vertex_area, fraction * total)
            displacement, where = _bend(vertices, edges, edge, part, angle, rng)
        except OperatorNotApplicable as skip:
            reasons[str(skip)] += 1
            continue
        params_out = {"angle": round(angle, 6), "part_fraction": round(fraction, 6)}
        params_out.update({k: np.round(v, 6).tolist() for k, v in where.items()})
        params_out["part_area_fraction"] = round(part.area / total, 6)
        return EditResult(
            mesh=trimesh.Trimesh(vertices + displacement, faces, process=False),
            displacement=displacement,
            new_faces=np.zeros(len(faces), dtype=bool),
            params=params_out,
        )
    raise OperatorNotApplicable(
        f"bending: no slender part of {fraction:.1%} of the area bends {angle:.0f} degrees cleanly "
        f"in {len(directions)} directions tried ({summarise(reasons)})"
    )


register(
    Operator(
        name="bending",
        token="bending",
        params=PARAMS,
        apply=bending,
        doc=__doc__,
    )
)
