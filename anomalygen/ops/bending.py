"""bending: a small protruding part, or a patch of a thin plate, bent by an angle.

Two modes. The tip mode bends a protruding part (a handle, a spout tip, a brim, the top of a
neck); the plate mode bends a patch of a thin board, band or shell (a sagging shelf board, a
bent stretch of a headband, a piece of a helmet's skirt or a cap's brim pushed in or out),
where no part protrudes. A draw tries the plate mode first with probability PLATE_PROBABILITY,
else the tip mode first, and falls back to the other; ``params["mode"]`` records which bent.

Tip mode. The part is the tip of the object in some direction u: the connected piece of surface beyond a
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

Plate mode. Seeds are drawn by area; a seed is on a thin wall where a ray into the object meets
the wall's far side within MAX_PLATE_THICKNESS (the ray runs through material, so what it meets
is the same wall's other face). In the frame of the mid-surface point under the seed -- normal
n0, l along the seed face's longer local extent, s across -- the patch is the seed's sheet and
the far sheet inside the box |l| < half_l, |s| < half_s, |h| < thickness/2 + curvature
allowance, sized so its area is ``part_fraction`` of the surface. It is deflected along n0 by
w = d * W(l / half_l) * W(s / half_s), W a C1 plateau-and-smoothstep window, d scaled so the
steepest slope is tan(angle). Being a function of position only, the field moves both faces
together (thickness along n0 kept exactly, a shear cannot fold the plate through itself); the
plateau translates rigidly and the ramps stretch faces by at most the shear's 1/cos-like
factor. Where the face is a band (narrower than BAND_WIDTH thicknesses) the patch is centred
on it and covers its whole width, so a band bends along its length. A seed is skipped where
the patch would tear (the surface leaves the box through its top or bottom where the field is
not zero: a support, a side panel, a rib), the wall is too thick for the patch, or the
deflected plate would come near the rest of the object; a sphere or a solid block has no thin
wall, so neither mode applies.

Default ranges: points near the cut barely move, so the anomalous fraction is 55-90% of the
part's area fraction; ``part_fraction`` 0.025-0.06 gives about 1.5%-5% anomalous points, and
10-25 degrees is a visible but plausible bend. In the plate mode the ramps' rims barely move:
on the procedural shells, boards and bands the anomalous fraction is about 1.5%-5% as well.
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
from anomalygen.ops.base import EditResult, MeshPreconditionFailed, Operator, OperatorNotApplicable, Param, register

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


# --------------------------------------------------------------------------------------------
# plate mode: a thin board, band or brim bent in its middle or at its edge
# --------------------------------------------------------------------------------------------

#: probability of trying the plate mode first where both modes could apply
PLATE_PROBABILITY = 0.35
#: a plate is at most this thick (along the inward normal at the seed), in unit-sphere units ...
MAX_PLATE_THICKNESS = 0.12
#: ... and at most this fraction of the patch's half-length (a plate is much wider than thick)
MAX_THICKNESS_RATIO = 0.5
#: the flat (rigidly translated) core of the profile, as a fraction of each half-size
PLATEAU = 0.35
#: half-size across (s) over half-size along (l) the plate's longer local extent, drawn from this
#: range: a board sags along its span, a band bends along its length
PLATE_ASPECT = (0.6, 1.0)
#: ... and narrowed down to this where the patch runs into a support
MIN_PLATE_ASPECT = 0.3
#: a plate whose face near the seed is narrower than this many thicknesses is a band
BAND_WIDTH = 4.0
#: seeds tried before the plate mode gives up
PLATE_SEEDS = 48


@dataclass
class Plate:
    """A patch of a thin plate in the frame of its mid-surface point.

    origin: (3,) mid-surface point under the seed; normal: (3,) unit plate normal n0 (outward at
    the seed); along, across: (3,) unit in-plane directions l (the plate's longer local extent)
    and s; half_l, half_s: half-sizes of the bent patch; thickness: at the seed;
    mask: (V,) bool vertices of the patch (both sheets and any edge strip between them);
    area: surface area of the vertices the field moves.
    """

    origin: np.ndarray
    normal: np.ndarray
    along: np.ndarray
    across: np.ndarray
    half_l: float
    half_s: float
    thickness: float
    mask: np.ndarray
    area: float


def _window(t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Profile across a patch and its slope, for t = coordinate / half-size (any sign).

    Returns ((N,) value, (N,) d value / d t): 1 on the plateau |t| <= PLATEAU, falling with a
    smoothstep to 0 at |t| = 1 and 0 beyond, so that value and slope are continuous (C1) and the
    patch meets the unmoved plate without a crease.
    """
    u = (np.abs(t) - PLATEAU) / (1.0 - PLATEAU)
    value = 1.0 - smoothstep(u)
    inside = (u > 0.0) & (u < 1.0)
    slope = np.where(inside, -6.0 * u * (1.0 - u) / (1.0 - PLATEAU), 0.0) * np.sign(t)
    return value, slope


def _ray_depth(
    triangles: np.ndarray,
    centres: cKDTree,
    edge: float,
    origin: np.ndarray,
    direction: np.ndarray,
    reach: float,
    skip: np.ndarray,
) -> tuple[float, int]:
    """Distance from ``origin`` along unit ``direction`` to the first face hit within ``reach``.

    triangles: (F, 3, 3) corners; centres: KD-tree of the face centroids, which limits the test
    to faces near the ray (reach is small, a plate's thickness); edge: the mean edge length, so a
    face whose centroid is off the ray but that the ray crosses is kept; skip: (k,) faces never counted
    (those around the origin vertex). Returns (distance, face), or (inf, -1) when nothing is hit.
    Moller-Trumbore, vectorised over the candidate faces.
    """
    middle = origin + 0.5 * reach * direction
    radius = 0.5 * reach + 2.0 * edge
    candidates = np.setdiff1d(np.asarray(centres.query_ball_point(middle, radius), dtype=np.int64), skip)
    if len(candidates) == 0:
        return np.inf, -1
    tri = triangles[candidates]
    e1, e2 = tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0]
    h = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, h)
    ok = np.abs(det) > 1e-14
    inv = np.divide(1.0, det, out=np.zeros_like(det), where=ok)
    sv = origin - tri[:, 0]
    u = np.einsum("ij,ij->i", sv, h) * inv
    q = np.cross(sv, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 1e-9) & (t <= reach)
    if not hit.any():
        return np.inf, -1
    best = np.flatnonzero(hit)[np.argmin(t[hit])]
    return float(t[best]), int(candidates[best])


def _profile(plate: Plate, vertices: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Unit profile phi = W(l / half_l) W(s / half_s) over the patch's vertices and its slope.

    Returns ((P,) phi, (P,) |grad phi| in 1/unit) for the P vertices of ``plate.mask``, in order.
    """
    rel = vertices[plate.mask] - plate.origin
    wl, dl = _window(rel @ plate.along / plate.half_l)
    ws, ds = _window(rel @ plate.across / plate.half_s)
    return wl * ws, np.hypot(dl * ws / plate.half_l, wl * ds / plate.half_s)


def _plate_field(plate: Plate, vertices: np.ndarray, deflection: float) -> np.ndarray:
    """(V, 3) displacement that deflects ``plate`` by ``deflection`` (signed, unit-sphere units).

    Every vertex of the patch moves along the fixed plate normal n0 by
    w(s, l) = deflection * W(l / half_l) * W(s / half_s), a function of its position in the plate
    only (not of its height over the plate, not of its own normal). So both sheets of the plate
    and the edge strip between them move together: x -> x + w(s, l) n0 is a shear of space along
    n0, one-to-one whatever the slope, so the plate cannot fold through itself, and its thickness
    along n0 is kept exactly (across the tilted ramps, the perpendicular thickness is
    cos(slope) of it). Turning each fibre with the slope instead (plate kinematics) would keep
    that too, but strains the faces by height * curvature, which on ramps a few thicknesses
    long is tens of percent; the shear stretches them only by 1/cos(slope) - 1. On the plateau
    the patch translates rigidly.
    """
    phi, _ = _profile(plate, vertices)
    displacement = np.zeros_like(vertices)
    displacement[plate.mask] = (deflection * phi)[:, None] * plate.normal
    return displacement


def _find_plate(
    seed: int,
    vertices: np.ndarray,
    normals: np.ndarray,
    edges: np.ndarray,
    vertex_area: np.ndarray,
    target: float,
    thickness: float,
    hit_face: int,
    faces: np.ndarray,
    rng: np.random.Generator,
) -> Plate:
    """The patch of the thin plate under vertex ``seed`` whose moved area is about ``target``.

    thickness, hit_face: the plate's thickness at the seed and the face on its far sheet.
    The patch is the connected piece, through the seed, of the surface inside the box
    |l| < half_l, |s| < half_s, |h| < H over the mid-surface point; the half-sizes are scaled
    until its area fits. Raises OperatorNotApplicable where no size fits, the seed's face is a
    strip narrower than the wall is thick (the wall's edge, not its face), the far sheet leaves
    the box (a strongly curved wall), the wall is too thick for the patch, or the surface leaves
    the box through its top or bottom while the field is not zero there (the patch is not a
    plate there: it would tear from a support, a side panel, a rib). ``rng`` draws the aspect.
    """
    n0 = normals[seed] / np.linalg.norm(normals[seed])
    origin = vertices[seed] - 0.5 * thickness * n0
    # in-plane axes: the principal directions of the seed's own sheet nearby, so that a band is
    # bent along its length and a board along its longer span
    reach = 2.5 * np.sqrt(0.5 * target)
    rel = vertices - origin
    h_all = rel @ n0
    near = (np.linalg.norm(rel - h_all[:, None] * n0, axis=1) < reach) & (np.abs(h_all) < thickness) & (normals @ n0 > 0.9)
    e1 = np.cross(n0, np.eye(3)[np.argmin(np.abs(n0))])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(n0, e1)
    plane = np.column_stack((e1, e2))
    q = rel[near] @ plane
    q -= q.mean(axis=0)
    if len(q) < 3:
        raise OperatorNotApplicable("the seed's face of the wall is too small")
    major = np.linalg.eigh((q * vertex_area[near, None]).T @ q)[1][:, -1]
    minor = q @ np.array([-major[1], major[0]])
    width = float(np.ptp(minor))
    if width < 1.5 * thickness:
        # a strip narrower than the wall is thick (the edge strip of a board, the side of a
        # band): the plate lies across, not along, this face
        raise OperatorNotApplicable("the seed's face of the wall is narrower than the wall is thick")
    along = plane @ major
    across = np.cross(n0, along)
    # a band (a strip a few thicknesses wide): centre the patch on it and make it wide enough
    # that the whole width lies on the plateau across, so the band bends along its length
    # rather than being dented across it
    band = width < BAND_WIDTH * thickness
    if band:
        origin = origin + 0.5 * (minor.max() + minor.min()) * across
        rel = vertices - origin
        h_all = rel @ n0
    l_all, s_all = rel @ along, rel @ across
    aspect = float(rng.uniform(*PLATE_ASPECT))
    far = faces[hit_face]

    def patch(half_l: float) -> tuple[np.ndarray, float, str]:
        """(V,) mask of the patch for this size (and the current aspect), its moved area, and why
        it is unusable ('' if not)."""
        half_s = (0.5 * width + thickness) / PLATEAU if band else aspect * half_l
        support = (np.abs(l_all) < half_l) & (np.abs(s_all) < half_s)
        # fibres of the plate reach thickness/2 from the mid-surface; allow for the plate's
        # curvature over the patch (a shell, an arched band) up to a fifth of its size
        box = support & (np.abs(h_all) < 0.5 * thickness + 0.2 * half_l + 0.01)
        sub = np.flatnonzero(box)
        local = np.full(len(vertices), -1)
        local[sub] = np.arange(len(sub))
        e = local[edges]
        inner = (e >= 0).all(axis=1)
        graph = scipy.sparse.coo_matrix((np.ones(inner.sum()), (e[inner, 0], e[inner, 1])), shape=(len(sub),) * 2)
        labels = connected_components(graph, directed=False)[1]
        # the seed's sheet and the far sheet (the ray went through material to reach it, so it
        # is the other face of the same wall); they join inside the box only where the patch
        # reaches the plate's free edge, so both are taken explicitly
        if (local[far] < 0).any():
            return np.zeros(len(vertices), dtype=bool), 0.0, "the far side of the wall leaves the patch"
        mask = np.zeros(len(vertices), dtype=bool)
        mask[sub[np.isin(labels, labels[np.append(local[far], local[seed])])]] = True
        # an edge from the patch to a vertex outside the box but inside the support would tear
        out = mask[edges[:, 0]] != mask[edges[:, 1]]
        outside = np.where(mask[edges[out, 0]], edges[out, 1], edges[out, 0])
        if support[outside].any():
            return mask, 0.0, "the patch runs into a support or a rib"
        return mask, float(vertex_area[mask].sum()), ""

    half_l = np.sqrt(target / (8.0 * aspect))  # two sheets of a 2 half_l x 2 half_s rectangle
    for _ in range(12):  # secant steps in log size: the area grows about as size^2 (a band: size)
        mask, area, why = patch(half_l)
        if why and not band and aspect > MIN_PLATE_ASPECT and "support" in why:
            # a board between supports: a longer, narrower patch of the same area may fit
            aspect *= 0.75
            half_l /= np.sqrt(0.75)
            continue
        if why:
            raise OperatorNotApplicable(why)
        if AREA_TOLERANCE[0] * target <= area <= AREA_TOLERANCE[1] * target:
            if thickness > MAX_THICKNESS_RATIO * half_l:
                raise OperatorNotApplicable("the wall is too thick for its width to bend as a plate")
            half_s = (0.5 * width + thickness) / PLATEAU if band else aspect * half_l
            return Plate(origin, n0, along, across, half_l, half_s, thickness, mask, area)
        half_l *= float(np.clip(np.sqrt(target / max(area, 1e-12)), 0.5, 2.0))
        if half_l > MAX_PART_LENGTH:
            break
    raise OperatorNotApplicable("no plate patch of the drawn area")


def _bend_plate(
    mesh: trimesh.Trimesh,
    vertices: np.ndarray,
    edges: np.ndarray,
    edge: float,
    vertex_area: np.ndarray,
    target: float,
    angle: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray, dict, float]:
    """Plate mode: (V, 3) displacement, where (for params), and the patch's area.

    Seeds are drawn by area; a seed qualifies where a ray into the object from it meets the far
    side of the wall within MAX_PLATE_THICKNESS. Raises OperatorNotApplicable (with the reasons
    counted) when no seed gives a patch that bends cleanly.
    """
    faces = np.asarray(mesh.faces)
    normals = np.asarray(mesh.vertex_normals)
    triangles = np.asarray(mesh.triangles)
    centres = cKDTree(np.asarray(mesh.triangles_center))
    incident = mesh.vertex_faces  # (V, k) faces around each vertex, -1 padded
    seeds = rng.choice(len(vertices), size=PLATE_SEEDS, p=vertex_area / vertex_area.sum())
    theta = np.radians(angle)
    reasons: Counter = Counter()
    face_normals = np.asarray(mesh.face_normals)
    for seed in seeds:
        n0 = normals[seed] / np.linalg.norm(normals[seed])
        skip = incident[seed][incident[seed] >= 0]
        if (face_normals[skip] @ n0).min() < np.cos(np.radians(25.0)):
            # an edge or corner of the wall: its averaged normal runs diagonally through it
            reasons["the seed is on a crease"] += 1
            continue
        thickness, hit = _ray_depth(triangles, centres, edge, vertices[seed], -n0, MAX_PLATE_THICKNESS, skip)
        if hit < 0:
            reasons["no thin wall under the seed"] += 1
            continue
        try:
            plate = _find_plate(seed, vertices, normals, edges, vertex_area, target, thickness, hit, faces, rng)
        except OperatorNotApplicable as skip_reason:
            reasons[str(skip_reason)] += 1
            continue
        # scale the deflection so that the steepest slope of the patch is tan(angle): the plate
        # turns by at most the drawn angle in the ramps (slopes add up in the patch's corners)
        _, slope = _profile(plate, vertices)
        deflection = np.tan(theta) / max(float(slope.max()), 1e-12) * rng.choice((-1.0, 1.0))
        displacement = _plate_field(plate, vertices, deflection)
        # clearance: moved vertices must not end up much closer to the unmoved surface than before
        moved = np.flatnonzero(np.linalg.norm(displacement, axis=1) > 1e-9)
        before, after = vertices[moved], vertices[moved] + displacement[moved]
        margin = abs(deflection) + 0.1
        lo = np.minimum(before.min(axis=0), after.min(axis=0)) - margin
        hi = np.maximum(before.max(axis=0), after.max(axis=0)) + margin
        near = np.all((vertices >= lo) & (vertices <= hi), axis=1) & ~plate.mask
        if near.any():
            tree = cKDTree(vertices[near])
            d_before, d_after = tree.query(before)[0], tree.query(after)[0]
            if np.any((d_after < 0.5 * d_before) & (d_after < 2.0 * edge)):
                reasons["the bent plate would touch the rest of the object"] += 1
                continue
        where = {
            "mode": "plate",
            "center": plate.origin,
            "normal": plate.normal,
            "along": plate.along,
            "half_length": plate.half_l,
            "half_width": plate.half_s,
            "thickness": plate.thickness,
            "deflection": deflection,
        }
        return displacement, where, plate.area
    raise OperatorNotApplicable(f"no thin plate bends cleanly at {len(seeds)} seeds tried ({summarise(reasons)})")


def _bend_tip(mesh, vertices, edges, edge, vertex_area, target, angle, rng) -> tuple[np.ndarray, dict, float]:
    """Tip mode: (V, 3) displacement, where (for params), and the part's area; tries several
    directions and raises OperatorNotApplicable (with the reasons counted) if none works."""
    directions = _directions(vertices, vertex_area, rng)
    reasons: Counter = Counter()
    for u in directions:
        try:
            part = _find_part(u, vertices, edges, vertex_area, target)
            displacement, where = _bend(vertices, edges, edge, part, angle, rng)
        except OperatorNotApplicable as skip:
            reasons[str(skip)] += 1
            continue
        return displacement, {"mode": "tip", **where}, part.area
    raise OperatorNotApplicable(
        f"no slender part bends cleanly in {len(directions)} directions tried ({summarise(reasons)})"
    )


def bending(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    """Bend a small protruding part or a patch of a thin plate; see the module docstring."""
    angle, fraction = float(params["angle"]), float(params["part_fraction"])
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    edges = np.asarray(mesh.edges_unique)
    edge = float(np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1).mean())
    vertex_area = _vertex_areas(faces, np.asarray(mesh.area_faces), len(vertices))
    total = float(vertex_area.sum())
    if not total > 0.0:
        raise MeshPreconditionFailed("bending: the mesh has no area")
    modes = (_bend_tip, _bend_plate)
    if rng.random() < PLATE_PROBABILITY:  # drawn first, so a seed always picks the same order
        modes = modes[::-1]
    failures = []
    for mode in modes:
        try:
            displacement, where, area = mode(mesh, vertices, edges, edge, vertex_area, fraction * total, angle, rng)
        except OperatorNotApplicable as skip:
            failures.append(f"{'tip' if mode is _bend_tip else 'plate'}: {skip}")
            continue
        params_out = {"angle": round(angle, 6), "part_fraction": round(fraction, 6)}
        params_out.update({k: v if isinstance(v, str) else np.round(v, 6).tolist() for k, v in where.items()})
        params_out["part_area_fraction"] = round(area / total, 6)
        return EditResult(
            mesh=trimesh.Trimesh(vertices + displacement, faces, process=False),
            displacement=displacement,
            new_faces=np.zeros(len(faces), dtype=bool),
            params=params_out,
        )
    raise OperatorNotApplicable(
        f"bending: no slender part or thin plate of {fraction:.1%} of the area bends {angle:.0f} degrees "
        f"cleanly ({'; '.join(sorted(failures, reverse=True))})"
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
