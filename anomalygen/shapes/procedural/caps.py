"""Head wear: caps (crown + visor) and helmets (thick shells with openings, vents, peaks).

Both are revolved shells open at the bottom (:func:`~._geometry.shell_section`), elongated
front to back, with add-ons (visor, button, ridge) whose buried parts are trimmed by the
shell's cavity so nothing pokes inside. Up is +Z; parts are modelled with the front
towards +Y and the finished object is turned to face -Y (towards the default camera of
:mod:`anomalygen.render`); about one unit in size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import CrossSection, Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset

PROFILE_POINTS = 120


# --------------------------------------------------------------------------- shared parts


@dataclass(frozen=True)
class Visor:
    """A visor (peak) in front (+Y) of a crown.

    length: how far it reaches past the crown; width: its half-width as a fraction of the
    crown radius at its root; bend: droop (1/units, z drops by bend * d^2 at distance d
    from the crown); curl: extra droop towards the sides (curved brim); thickness: plate.
    """

    length: float
    thickness: float = 0.03
    bend: float = 0.0
    curl: float = 0.0
    width: float = 1.0


def visor(v: Visor, root_radius: float, wall: float, z: float) -> Manifold:
    """Visor plate whose inner edge is buried in a crown wall of outer radius
    ``root_radius`` and thickness ``wall``; its lower face starts at height ``z``."""
    a, b = root_radius * v.width, root_radius + v.length
    outline = CrossSection.circle(1.0, 96).scale((a, b))
    front = CrossSection.square((2 * a + 1.0, b + 1.0)).translate((-(a + 0.5), 0.0))
    region = (outline ^ front) - CrossSection.circle(root_radius - wall / 2, 96)
    plate = Manifold.extrude(region, v.thickness).translate((0.0, 0.0, z))
    plate = plate.refine_to_length(0.03)

    def droop(p: np.ndarray) -> np.ndarray:
        d = np.maximum(np.hypot(p[:, 0], p[:, 1]) - root_radius, 0.0)
        q = p.copy()
        q[:, 2] -= v.bend * d ** 2 + v.curl * p[:, 0] ** 2 * d / max(v.length, 1e-6)
        return q

    return plate.warp_batch(droop)


def mid_surface(curve: np.ndarray, thickness: float) -> np.ndarray:
    """(N, 2) (r, z) curve half a wall thickness inside the outer (r, z) ``curve``."""
    tangent = np.gradient(curve, axis=0)
    normal = np.column_stack([tangent[:, 1], -tangent[:, 0]])
    normal /= np.linalg.norm(normal, axis=1, keepdims=True)
    return curve - normal * thickness / 2


def height_over(curve: np.ndarray, rho: np.ndarray) -> np.ndarray:
    """Heights of the dome part of an (r, z) ``curve`` (its top, where r falls to 0)
    above horizontal distances ``rho`` from the axis."""
    top = int(np.argmax(curve[:, 0]))
    dome = curve[top:]  # r decreases monotonically from the widest point to the apex
    return np.interp(rho, dome[::-1, 0], dome[::-1, 1])


def shell(profile, thickness: float) -> tuple[Manifold, CrossSection, np.ndarray]:
    """Revolved shell open at the bottom: (solid, cavity section, smooth outer curve)."""
    curve = g.smooth_curve(np.asarray(profile, dtype=float), PROFILE_POINTS)
    wall, cavity = g.shell_section(curve, thickness, open_top=False, open_bottom=True)
    return g.revolve(wall), cavity, curve


# --------------------------------------------------------------------------- caps


@dataclass(frozen=True)
class Cap:
    """A soft cap: crown profile (r, z) from the bottom edge to the apex (r = 0), shell
    ``thickness``, optional :class:`Visor`, a ``button`` of that radius on top (0: none),
    and ``elongate``: front-to-back (Y) scale of the whole cap."""

    profile: tuple[tuple[float, float], ...]
    thickness: float = 0.03
    visor: Visor | None = None
    button: float = 0.0
    elongate: float = 1.08


def make_cap(p: Cap) -> Manifold:
    """Build the solid of a :class:`Cap`."""
    crown, cavity, curve = shell(p.profile, p.thickness)
    parts = []
    if p.visor is not None:
        z0 = float(curve[0, 1])
        parts.append(visor(p.visor, float(curve[0, 0]), p.thickness, z0 + 0.004))
    if p.button > 0:
        apex = float(curve[-1, 1])
        parts.append(g.ellipsoid((p.button, p.button, 0.5 * p.button), (0.0, 0.0, apex)))
    parts = g.trim_outside(parts, cavity, 0.3 * p.thickness)
    return g.union([crown, *parts]).scale((1.0, p.elongate, 1.0)).rotate((0.0, 0.0, 180.0))


def _dome(radius: float, height: float, squareness: float = 0.0) -> tuple:
    """Control points of a crown from (radius, 0) to (0, height); ``squareness`` in [0, 1)
    pushes the shoulder out (a boxier crown)."""
    a = np.linspace(0.0, np.pi / 2, 7)
    r = radius * np.cos(a) ** (1 - squareness)
    z = height * np.sin(a) ** (1 - squareness)
    return tuple(zip(np.round(r, 4), np.round(z, 4)))


CAPS = {
    # baseball cap: round crown, button, long curved visor
    0: Cap(_dome(0.31, 0.3), visor=Visor(0.27, bend=0.9, curl=0.5), button=0.035),
    # snapback: taller, boxier crown and a flat visor
    3: Cap(_dome(0.31, 0.42, 0.45), visor=Visor(0.34, thickness=0.035), button=0.03,
           elongate=1.0),
    # bucket hat: short crown and a sloping brim all round
    4: Cap(((0.5, -0.1), (0.42, -0.04), (0.33, 0.0), (0.31, 0.14), (0.28, 0.24),
            (0.2, 0.27), (0.0, 0.28)), thickness=0.032, elongate=1.05),
    # peaked (captain's) cap: narrow band, wide flat top, short glossy visor
    5: Cap(((0.3, 0.0), (0.3, 0.1), (0.36, 0.2), (0.42, 0.26), (0.4, 0.29), (0.2, 0.3),
            (0.0, 0.3)), visor=Visor(0.16, bend=3.0, curl=1.0, width=0.9), elongate=1.1),
}


CAPS_V2 = {
    # beanie: a tall knitted dome with a turned-up cuff and a pompom
    1: Cap(((0.33, 0.0), (0.335, 0.12), (0.318, 0.13), (0.31, 0.25), (0.26, 0.38),
            (0.15, 0.45), (0.0, 0.47)), thickness=0.032, button=0.1, elongate=1.05),
    # beret: a flat disc wider than the head band, with a short stalk on top
    2: Cap(((0.26, 0.0), (0.27, 0.03), (0.36, 0.09), (0.4, 0.14), (0.36, 0.2),
            (0.2, 0.24), (0.0, 0.25)), button=0.025, elongate=1.02),
}
"""Caps of the second release; sampled caps keep drawing from :data:`CAPS` only, so that
adding these changed no sampled variant."""


def sample_cap(rng: np.random.Generator) -> Cap:
    """A cap in the style of a random preset, proportions and visor jittered."""
    base = pick_preset(CAPS, rng)
    sr, sz = rng.uniform(0.88, 1.12, size=2)
    profile = tuple((r * sr, z * sz) for r, z in base.profile)
    v = base.visor
    if v is not None:
        v = replace(v, length=jitter(rng, v.length, 0.2), bend=jitter(rng, v.bend, 0.3))
    return replace(base, profile=profile, visor=v, elongate=jitter(rng, base.elongate, 0.04))


# --------------------------------------------------------------------------- helmets


@dataclass(frozen=True)
class Helmet:
    """A helmet shell.

    profile:   outer (r, z) control points from the bottom edge to the apex (r = 0).
    thickness: shell thickness (helmets are thick: foam liners, 0.04-0.08).
    elongate:  front-to-back (Y) scale.
    face:      full-face opening (half-width, bottom z, top z) cut in the front, or None.
    vents:     number of front-to-back slots through the top (bicycle helmets), ``vent_width``.
    visor:     a peak at the front, at the bottom edge (or at ``visor_z`` when given).
    ridge:     radius of a front-to-back crest on top (hard hats; 0: none).
    band:      radius of a ring around the shell at 40% height (0: none).
    pivots:    radius of side discs (visor pivots, 0: none).
    drop:      how far the lower edge hangs down at the back (a neck guard); the front
               keeps its height.
    peak:      how far the bottom rim is drawn out at the front (a hard hat's peak).
    """

    profile: tuple[tuple[float, float], ...]
    thickness: float = 0.05
    elongate: float = 1.15
    face: tuple[float, float, float] | None = None
    vents: int = 0
    vent_width: float = 0.05
    visor: Visor | None = None
    visor_z: float | None = None
    ridge: float = 0.0
    band: float = 0.0
    pivots: float = 0.0
    drop: float = 0.0
    peak: float = 0.0


# Both warps below move points along one axis by an amount that is monotone along that
# same axis (z -> z - f(y, z) with f falling as z rises; y -> y + s(y, z) with s rising
# with y): such maps are one-to-one, so the warped shell cannot fold onto itself, and
# unlike a separately modelled part they never create near-coincident surfaces.


def _hang_back(solid: Manifold, curve: np.ndarray, drop: float) -> Manifold:
    """Lower the bottom half of a shell towards the back (-Y before the final turn)."""
    height = float(curve[:, 1].max())
    reach = float(curve[:, 0].max())

    def warp(p: np.ndarray) -> np.ndarray:
        low = np.clip(1.0 - (p[:, 2] - curve[0, 1]) / (0.55 * height), 0.0, 1.0) ** 2
        back = np.clip(0.5 - 0.5 * p[:, 1] / reach, 0.0, 1.0) ** 1.5
        q = p.copy()
        q[:, 2] -= drop * low * back
        return q

    return solid.refine_to_length(0.04).warp_batch(warp)


def _draw_out_front(solid: Manifold, curve: np.ndarray, peak: float) -> Manifold:
    """Stretch the lowest part of a shell (its rim) forward (+Y before the final turn)."""
    z0 = float(curve[0, 1])
    reach = float(curve[:, 0].max())

    def warp(p: np.ndarray) -> np.ndarray:
        low = np.clip((z0 + 0.1 - p[:, 2]) / 0.07, 0.0, 1.0)
        front = np.clip(p[:, 1] / reach, 0.0, 1.0) ** 2
        q = p.copy()
        q[:, 1] += peak * low * front
        return q

    return solid.refine_to_length(0.04).warp_batch(warp)


def _vents(p: Helmet, curve: np.ndarray) -> list[Manifold]:
    """Slots following the shell's mid-surface from front to back, side by side."""
    mid = mid_surface(curve, p.thickness)
    reach = 0.6 * float(curve[:, 0].max())
    xs = np.linspace(-1, 1, p.vents) * reach * 0.55
    slots = []
    for x in xs:
        half = np.sqrt(max(reach ** 2 - x ** 2, 1e-4))
        y = np.linspace(-half, half, 40)
        z = height_over(mid, np.hypot(x, y))
        slots.append(g.tube(np.column_stack([np.full_like(y, x), y, z]), p.vent_width / 2,
                            aspect=2.2, sides=16, up=(0.0, 0.0, 1.0)))
    return slots


def _ridge(p: Helmet, curve: np.ndarray) -> Manifold:
    """A crest along the outer surface from front to back (x = 0)."""
    reach = 0.75 * float(curve[:, 0].max())
    y = np.linspace(-reach, reach, 48)
    z = height_over(curve, np.abs(y)) + 0.2 * p.ridge
    return g.tube(np.column_stack([np.zeros_like(y), y, z]), p.ridge, up=(0.0, 0.0, 1.0))


def make_helmet(p: Helmet) -> Manifold:
    """Build the solid of a :class:`Helmet`."""
    body, cavity, curve = shell(p.profile, p.thickness)
    if p.drop > 0:
        body = _hang_back(body, curve, p.drop)
    if p.peak > 0:
        body = _draw_out_front(body, curve, p.peak)
    cuts, parts = [], []
    if p.face is not None:
        half_w, z0, z1 = p.face
        depth = float(curve[:, 0].max()) + 0.2
        cuts.append(g.rounded_box((2 * half_w, depth, z1 - z0), 0.06,
                                  center=(0.0, depth / 2, (z0 + z1) / 2)))
    if p.vents:
        cuts += _vents(p, curve)
    if p.visor is not None:
        z = float(curve[0, 1]) + 0.004 if p.visor_z is None else p.visor_z
        parts.append(visor(p.visor, g.radius_at(curve, z), p.thickness, z))
    if p.ridge > 0:
        parts.append(_ridge(p, curve))
    if p.band > 0:
        z = 0.4 * float(curve[:, 1].max())
        parts.append(g.torus(g.radius_at(curve, z), p.band).translate((0.0, 0.0, z)))
    if p.pivots > 0:
        z = 0.45 * float(curve[:, 1].max())
        r = g.radius_at(curve, z)
        parts.append(g.cylinder((-r - 0.01, 0, z), (r + 0.01, 0, z), p.pivots, segments=32))
    parts = g.trim_outside(parts, cavity, 0.3 * p.thickness)
    solid = g.subtract(g.union([body, *parts]), cuts)
    return g.largest_body(solid).scale((1.0, p.elongate, 1.0)).rotate((0.0, 0.0, 180.0))


def _sphere_profile(radius: float, bottom_angle: float, n: int = 9) -> tuple:
    """Control points of a spherical shell from ``bottom_angle`` (radians below the
    equator) to the apex, resting on z = 0."""
    a = np.linspace(-bottom_angle, np.pi / 2, n)
    zc = radius * np.sin(bottom_angle)
    return tuple(zip(np.round(radius * np.cos(a), 4), np.round(zc + radius * np.sin(a), 4)))


HELMETS = {
    # bicycle helmet: thick foam shell with vents and a small peak
    0: Helmet(((0.42, 0.0), (0.44, 0.08), (0.42, 0.2), (0.32, 0.33), (0.16, 0.39),
               (0.0, 0.4)), thickness=0.07, elongate=1.3, vents=5,
              visor=Visor(0.1, thickness=0.03, bend=1.0, width=0.8), visor_z=0.07),
    # full-face motorcycle helmet with a face opening and visor pivots
    1: Helmet(_sphere_profile(0.45, 0.95), thickness=0.05, elongate=1.12,
              face=(0.3, 0.25, 0.6), pivots=0.05),
    # steel combat helmet: deep dome, flared skirt hanging lower at the back
    2: Helmet(((0.5, 0.0), (0.45, 0.04), (0.42, 0.1), (0.41, 0.22), (0.36, 0.36),
               (0.22, 0.44), (0.0, 0.47)), thickness=0.045, elongate=1.1, drop=0.16),
    # hard hat: dome, narrow rim all round, front peak and a crest
    3: Helmet(((0.45, 0.0), (0.4, 0.03), (0.37, 0.08), (0.36, 0.18), (0.3, 0.32),
               (0.16, 0.39), (0.0, 0.41)), thickness=0.045, elongate=1.12, ridge=0.04,
              peak=0.2),
}


def sample_helmet(rng: np.random.Generator) -> Helmet:
    """A helmet in the style of a random preset, proportions jittered."""
    base = pick_preset(HELMETS, rng)
    sr, sz = rng.uniform(0.9, 1.1, size=2)
    profile = tuple((r * sr, z * sz) for r, z in base.profile)
    face = base.face
    if face is not None:
        face = (face[0] * sr, face[1] * sz, face[2] * sz)
    visor_z = None if base.visor_z is None else base.visor_z * sz
    return replace(base, profile=profile, face=face, visor_z=visor_z,
                   elongate=jitter(rng, base.elongate, 0.05))


KINDS = {
    "cap": Kind("cap", make_cap, {**CAPS, **CAPS_V2}, sample_cap),
    "helmet": Kind("helmet", make_helmet, HELMETS, sample_helmet),
}
