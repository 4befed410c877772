"""Vessels: a revolved outer profile with a wall thickness, plus handles, lips and notches.

One parametrised builder serves every round container kind (vase, bottle, jar, bowl, cup,
bucket, ashtray); :mod:`.revolved` holds their presets. Open vessels are hollow with a real
inner surface and a floor; closed ones (capped bottles, lidded jars) are solid, so that no
hidden inner surface ends up in sampled point clouds.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import CrossSection, Manifold

from . import _geometry as g
from ._registry import jitter

PROFILE_POINTS = 160
"""Points the smooth outer profile is sampled at before offsetting (simplified later)."""


@dataclass(frozen=True)
class Handle:
    """A handle attached to a vessel wall.

    style:  ``"loop"``: a D-shaped loop in a vertical plane (mug, amphora);
            ``"ear"``: a flat loop lying horizontally under the rim (bowl, pot);
            ``"bail"``: a wire arching over the opening between two lugs (bucket).
    z:      (low, high) attachment heights as fractions of the vessel height; ear and bail
            only use ``high``.
    reach:  loop/ear: how far the handle stands out from the widest wall it spans;
            bail: how high it rises above the lugs.
    radius: tube radius; ``aspect`` scales the in-plane thickness (< 1: a flat strap).
    angles: positions about +Z in degrees (0 = +X); a bail always spans 0 and 180.
    grip:   bail only: arc length of a thicker grip sleeve at the top (0 = none).
    tilt:   bail only: degrees the bail leans over about its pivot axis.
    """

    style: str
    z: tuple[float, float]
    reach: float
    radius: float
    angles: tuple[float, ...] = (0.0,)
    aspect: float = 1.0
    grip: float = 0.0
    tilt: float = 0.0


@dataclass(frozen=True)
class Vessel:
    """Parameters of a vessel (object units, about one unit tall, +Z up).

    profile:   outer (r, z) control points, bottom to top; a closed top ends at r = 0.
    thickness: wall thickness (open vessels); keep >= 3% of the object's size.
    open_top:  hollow and open at the top; otherwise solid.
    floor:     open vessels: the cavity starts this far above the bottom (default thickness).
    lip:       radius of a bead rolled onto the rim (0: a plain rounded rim).
    segments:  angular resolution; a small number makes a faceted vessel.
    squash:    scale along Y (< 1: an oval vessel; keep handles at 0/180 degrees then).
    handles:   handles, see :class:`Handle`.
    notches:   number of rest notches cut across the rim (ashtrays), of ``notch_radius``.
    """

    profile: tuple[tuple[float, float], ...]
    thickness: float
    open_top: bool = True
    floor: float | None = None
    lip: float = 0.0
    segments: int = g.SEGMENTS
    squash: float = 1.0
    handles: tuple[Handle, ...] = ()
    notches: int = 0
    notch_radius: float = 0.0


# --------------------------------------------------------------------------- handles


def _about_z(solid: Manifold, degrees: float) -> Manifold:
    return solid.rotate((0.0, 0.0, float(degrees)))


def loop_handle(curve: np.ndarray, h: Handle, height: float, bury: float) -> list[Manifold]:
    """D-shaped loops (one per angle) whose ends sit ``bury`` inside the outer wall."""
    z_lo, z_hi = h.z[0] * height, h.z[1] * height
    p0 = np.array([g.radius_at(curve, z_hi) - bury, z_hi])
    p3 = np.array([g.radius_at(curve, z_lo) - bury, z_lo])
    # choose the control x so the Bezier's extreme reaches exactly `reach` past the wall
    target = g.widest_between(curve, z_lo, z_hi) + h.reach
    x = (8 * target - p0[0] - p3[0]) / 6
    control = np.array([p0, [x, z_hi], [x, z_lo], p3])
    path2d = g.bezier(control, 48)
    path = np.column_stack([path2d[:, 0], np.zeros(len(path2d)), path2d[:, 1]])
    loop = g.tube(path, h.radius, aspect=h.aspect, up=(0.0, 0.0, 1.0))
    return [_about_z(loop, a) for a in h.angles]


def ear_handle(curve: np.ndarray, h: Handle, height: float, bury: float) -> list[Manifold]:
    """Flat horizontal loops under the rim (one per angle)."""
    z = h.z[1] * height
    r = g.radius_at(curve, z)
    half = 0.9 * h.reach
    x = r + h.reach * 4 / 3
    control = np.array([[r - bury, -half, z], [x, -half * 1.2, z],
                        [x, half * 1.2, z], [r - bury, half, z]])
    ear = g.tube(g.bezier(control, 40), h.radius, aspect=h.aspect, up=(0.0, 0.0, 1.0))
    return [_about_z(ear, a) for a in h.angles]


def bail_handle(curve: np.ndarray, h: Handle, height: float, bury: float,
                lip: float) -> list[Manifold]:
    """Two lugs on the wall at +-X and a wire arching over the opening between them."""
    z = h.z[1] * height
    rad = h.radius
    clear = float(curve[curve[:, 1] >= z - rad, 0].max()) + lip
    span = clear + 2.0 * rad
    lug_r = 2.2 * rad
    parts = []
    for side in (1.0, -1.0):
        start = (side * (g.radius_at(curve, z) - bury), 0.0, z)
        parts.append(g.cylinder(start, (side * (span + 1.6 * rad), 0.0, z), lug_r, segments=24))
    a = np.linspace(0.0, np.pi, 72)
    path = np.column_stack([span * np.cos(a), np.zeros_like(a), z + h.reach * np.sin(a)])
    wire = [g.tube(path, rad, up=(0.0, 1.0, 0.0))]
    if h.grip > 0:
        # a sleeve on the top of the arc, as long as `grip` measured along the arc
        half = h.grip / 2 / np.sqrt(0.5 * (span ** 2 + h.reach ** 2))
        b = np.linspace(np.pi / 2 - half, np.pi / 2 + half, 24)
        sleeve = np.column_stack([span * np.cos(b), np.zeros_like(b), z + h.reach * np.sin(b)])
        wire.append(g.tube(sleeve, 2.0 * rad, up=(0.0, 1.0, 0.0)))
    tilt = g.rotation((1.0, 0.0, 0.0), np.radians(h.tilt))
    wire = [g.place(w.translate((0.0, 0.0, -z)), tilt, (0.0, 0.0, z)) for w in wire]
    return parts + wire


# --------------------------------------------------------------------------- builder


def rim_bead(curve: np.ndarray, thickness: float, lip: float) -> CrossSection:
    """Circle of radius ``lip`` on the middle of the rim, sunk a little into the wall
    (2D, r > 0 side)."""
    tangent, normal = g.end_normal(curve, end=True)
    center = curve[-1] - normal * thickness / 2 - tangent * 0.3 * lip
    return CrossSection.circle(lip, 20).translate(tuple(center))


def make_vessel(p: Vessel) -> Manifold:
    """Build the solid of a :class:`Vessel`."""
    curve = g.smooth_curve(np.asarray(p.profile, dtype=float), PROFILE_POINTS)
    height = float(curve[:, 1].max())
    t = p.thickness
    if p.open_top:
        wall, cavity = g.shell_section(curve, t, floor=p.floor)
        if p.lip > 0:
            wall = wall + rim_bead(curve, t, p.lip)
    else:
        wall, cavity = g.silhouette(curve).simplify(1e-4), None
    # handle ends sit in the middle of an open vessel's wall, well inside a solid one
    bury = t / 2 if p.open_top else 0.05
    parts = []
    for h in p.handles:
        if h.style == "loop":
            parts += loop_handle(curve, h, height, bury)
        elif h.style == "ear":
            parts += ear_handle(curve, h, height, bury)
        elif h.style == "bail":
            parts += bail_handle(curve, h, height, bury, p.lip)
        else:
            raise ValueError(f"unknown handle style {h.style!r}")
    if cavity is not None:
        parts = g.trim_outside(parts, cavity, 0.3 * t)
    solid = g.union([g.revolve(wall, p.segments), *parts])
    if p.notches:
        reach = float(curve[:, 0].max()) + p.lip + 0.2
        z = height + 0.3 * p.notch_radius
        cuts = [g.cylinder((0.0, 0.0, z), (reach * np.cos(a), reach * np.sin(a), z),
                           p.notch_radius, segments=24)
                for a in np.linspace(0, 2 * np.pi, p.notches, endpoint=False) + np.pi / p.notches]
        solid = g.subtract(solid, cuts)
    if p.squash != 1.0:
        solid = solid.scale((1.0, p.squash, 1.0))
    return solid


def sample_like(base: Vessel, rng: np.random.Generator, spread: float = 0.15) -> Vessel:
    """A new vessel in the style of ``base``: profile, proportions and handles jittered."""
    sr, sz = rng.uniform(1 - spread, 1 + spread, size=2)
    prof = np.asarray(base.profile, dtype=float)
    wobble = rng.uniform(1 - spread / 2, 1 + spread / 2, size=len(prof))
    prof = np.column_stack([prof[:, 0] * sr * wobble, prof[:, 1] * sz])
    thickness = jitter(rng, base.thickness, spread / 3)
    if base.open_top:
        # keep a bore through the narrowest part of an open vessel
        thickness = min(thickness, 0.55 * float(prof[1:, 0].min()))
    handles = tuple(replace(h, reach=jitter(rng, h.reach, spread),
                            z=(h.z[0] + rng.uniform(-0.03, 0.03), h.z[1]))
                    for h in base.handles)
    return replace(base, profile=tuple(map(tuple, prof)), thickness=thickness, handles=handles)
