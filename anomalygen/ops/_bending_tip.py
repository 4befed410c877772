"""Tip mode of :mod:`anomalygen.ops.bending`: a protruding part (a handle, a spout tip, a brim,
the top of a neck) bent like a beam about an axis in its cutting plane; see that module's docstring."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from anomalygen.geometry.topology import vertex_components
from anomalygen.ops._bending_shared import AREA_TOLERANCE, MAX_PART_LENGTH, hinge_frame, part_where, planar_displacement
from anomalygen.ops._curves import smoothstep, summarise
from anomalygen.ops.base import OperatorNotApplicable

#: largest fibre strain in the transition (shortening on the inside of the bend)
MAX_STRAIN = 0.5
#: the transition takes between these fractions of the part's length along u
TRANSITION = (0.3, 0.85)
#: a part must stick out at least this many times its thickness across the bend (which keeps
#: corners and caps of compact bodies out)
MIN_SLENDERNESS = 0.8
RANDOM_DIRECTIONS = 4


@dataclass
class Part:
    """The tip of the object in direction u: vertices ``mask`` (V,) bool beyond the plane at s0."""

    u: np.ndarray
    s0: float
    mask: np.ndarray
    area: float


def candidate_directions(vertices: np.ndarray, weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
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


def find_part(u: np.ndarray, vertices: np.ndarray, edges: np.ndarray, vertex_area: np.ndarray, target: float) -> Part:
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
        labels = vertex_components(len(sub), e[keep])[1]
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


def bend(
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
    a, b = hinge_frame(vertices, cut, u, rng)  # a along the bend axis, its sign: bend towards +b or -b
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
    displacement = planar_displacement(vertices, ids, x, r, along, side, u, b, mask, edge, "part")
    return displacement, part_where(u, a, pivot, tau, length, thickness=thickness)


def bend_tip(mesh, vertices, edges, edge, vertex_area, target, angle, rng) -> tuple[np.ndarray, dict, float]:
    """Tip mode: (V, 3) displacement, where (for params), and the part's area."""
    return bend_first_part("tip", bend, "slender part", vertices, edges, edge, vertex_area, target, angle, rng)


def bend_first_part(mode: str, deform, what: str, vertices, edges, edge, vertex_area, target, angle,
                    rng) -> tuple[np.ndarray, dict, float]:
    """The first of :func:`candidate_directions` whose :func:`find_part` ``deform`` (``bend`` or
    the extremity mode's ``hinge``: (vertices, edges, edge, part, angle, rng) -> (displacement,
    where)) bends: (V, 3) displacement, where (with ``mode``) and the part's area. Raises
    OperatorNotApplicable naming ``what`` and the reasons counted if no direction works."""
    directions = candidate_directions(vertices, vertex_area, rng)
    reasons: Counter = Counter()
    for u in directions:
        try:
            part = find_part(u, vertices, edges, vertex_area, target)
            displacement, where = deform(vertices, edges, edge, part, angle, rng)
        except OperatorNotApplicable as skip:
            reasons[str(skip)] += 1
            continue
        return displacement, {"mode": mode, **where}, part.area
    raise OperatorNotApplicable(
        f"no {what} bends cleanly in {len(directions)} directions tried ({summarise(reasons)})"
    )
