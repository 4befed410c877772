"""Plate mode of :mod:`anomalygen.ops.bending`: a patch of a thin board, band or shell deflected
along its normal by a C1 plateau-and-ramp field; see that module's docstring."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import trimesh

from anomalygen.geometry.frames import tangent_frame
from anomalygen.geometry.rays import RayCaster
from anomalygen.geometry.topology import vertex_components
from anomalygen.ops._bending_shared import AREA_TOLERANCE, MAX_PART_LENGTH, touches_rest
from anomalygen.ops._curves import smoothstep, summarise
from anomalygen.ops.base import OperatorNotApplicable

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
    plane = tangent_frame(n0)[:, :2]
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
        labels = vertex_components(len(sub), e[inner])[1]
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


def bend_plate(
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
    caster = RayCaster(mesh, engine="triangle")  # the same hits wherever the benchmark is made
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
        depth, face = caster.first_hits(vertices[seed][None], -n0[None], MAX_PLATE_THICKNESS, [skip])
        thickness, hit = float(depth[0]), int(face[0])
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
        if touches_rest(vertices, displacement, moved, plate.mask, abs(deflection) + 0.1, edge):
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
