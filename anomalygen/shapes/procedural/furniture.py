"""Furniture: chairs (seat, slender legs, back rest), desks (top on legs, drawer pedestal)
and cabinets (a carcass with proud doors and drawer fronts, handles, plinth).

Built from boxes and cylinders like :mod:`.boxes`: every joint overlaps by construction
(legs sink into the seat, fronts into the carcass) so unions never rely on faces merely
touching. Front is -Y (towards the default camera), +Z up; about one unit in size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset

# --------------------------------------------------------------------------- shared parts


def leg(x: float, y: float, z0: float, z1: float, size: float, cylindrical: bool) -> Manifold:
    """A vertical leg from z0 to z1 at (x, y): a cylinder of radius ``size`` or a square post
    of half-side ``size``."""
    if cylindrical:
        return g.cylinder((x, y, z0), (x, y, z1), size, segments=20)
    return g.box((2 * size, 2 * size, z1 - z0), (x, y, (z0 + z1) / 2))


def fronts(width: float, heights: list[float], z0: float, y: float, gap: float,
           proud: float, knob: float) -> list[Manifold]:
    """Door or drawer fronts stacked upwards from ``z0`` on a face at ``y`` (the front,
    facing -Y): panels of ``width`` and the given heights, ``gap`` apart, standing ``proud``
    of the face (and sunk as deep into it), each with a bar handle of radius ``knob``."""
    parts, z = [], z0
    for h in heights:
        center = (0.0, y - proud / 2, z + h / 2)
        parts.append(g.box((width - gap, 2 * proud, h - gap), center))
        # a horizontal bar near the top of the front, standing on two short posts
        bar_z, half = z + 0.75 * h, min(0.25 * width, 0.12)
        yb = y - proud - 2.5 * knob
        parts.append(g.capsule((-half, yb, bar_z), (half, yb, bar_z), knob, segments=16))
        parts += [g.cylinder((s * 0.8 * half, y - proud / 2, bar_z), (s * 0.8 * half, yb, bar_z),
                             0.8 * knob, segments=12) for s in (-1.0, 1.0)]
        z += h
    return parts


# --------------------------------------------------------------------------- chair


@dataclass(frozen=True)
class Chair:
    """A dining chair.

    seat:           (width X, depth Y) of the seat; ``seat_height`` its top above the floor;
                    ``seat_thickness``.
    leg:            leg radius (``round_legs``) or half-side of square legs; keep >= 0.02 so
                    remeshing keeps them, and slender enough that bending finds them.
    back_height:    height of the back rest's top above the seat.
    rake:           backwards lean of the back posts, degrees.
    slats:          vertical slats between the seat and the top rail (0: one solid panel).
    rail:           height of the top rail (or of the panel when there are no slats).
    stretcher:      height of the rails joining the legs (0: none).
    """

    seat: tuple[float, float] = (0.46, 0.44)
    seat_height: float = 0.46
    seat_thickness: float = 0.045
    leg: float = 0.022
    round_legs: bool = False
    back_height: float = 0.46
    rake: float = 8.0
    slats: int = 3
    rail: float = 0.1
    stretcher: float = 0.14


def make_chair(p: Chair) -> Manifold:
    """Build the solid of a :class:`Chair`."""
    (w, d), z_seat, t, s = p.seat, p.seat_height, p.seat_thickness, p.leg
    x, y = w / 2 - 1.5 * s, d / 2 - 1.5 * s
    z_under = z_seat - t / 2  # legs end half-way into the seat
    parts = [g.rounded_box((w, d, t), 0.3 * t, center=(0.0, 0.0, z_seat - t / 2))]
    parts += [leg(sx * x, -y, 0.0, z_under, s, p.round_legs) for sx in (-1.0, 1.0)]
    # back posts: the rear legs run on past the seat, leaning back by `rake`
    lean = np.tan(np.radians(p.rake)) * p.back_height
    top = z_seat + p.back_height
    tilt = g.rotation((1.0, 0.0, 0.0), -np.radians(p.rake))  # top towards +Y (back)

    def on_back(size, x_at: float, z: float) -> Manifold:
        """A box of ``size`` in the plane of the back, centred at (x_at, z), leaning with it."""
        return g.place(g.box(size), tilt, (x_at, y + lean * (z - z_under) / (top - z_under), z))

    for sx in (-1.0, 1.0):
        parts.append(leg(sx * x, y, 0.0, z_under, s, p.round_legs))
        parts.append(g.capsule((sx * x, y, z_under), (sx * x, y + lean, top), s, segments=16)
                     if p.round_legs else
                     on_back((2 * s, 2 * s, top - z_under), sx * x, (z_under + top) / 2))
    parts.append(on_back((2 * x, 1.6 * s, p.rail), 0.0, top - p.rail / 2))
    low, high = z_seat - t / 4, top - p.rail / 2
    if p.slats:
        parts += [on_back((1.2 * s, s, high - low), sx * x, (low + high) / 2)
                  for sx in np.linspace(-1.0, 1.0, p.slats + 2)[1:-1]]
    else:
        # one solid panel from just above the seat up into the rail
        z = (z_seat + 0.08 + high) / 2
        parts.append(on_back((2 * x, s, high - z_seat - 0.08), 0.0, z))
    if p.stretcher > 0:
        z = p.stretcher
        parts += [g.box((2 * x, 1.2 * s, 1.5 * s), (0.0, sy * y, z)) for sy in (-1.0, 1.0)]
        parts += [g.box((1.2 * s, 2 * y, 1.5 * s), (sx * x, 0.0, z)) for sx in (-1.0, 1.0)]
    return g.union(parts)


CHAIRS = {0: Chair()}


def sample_chair(rng: np.random.Generator) -> Chair:
    """A chair with jittered proportions, leg style, slats and stretchers."""
    base = CHAIRS[0]
    return replace(base, seat=(jitter(rng, base.seat[0], 0.15), jitter(rng, base.seat[1], 0.15)),
                   seat_height=jitter(rng, base.seat_height, 0.1),
                   back_height=jitter(rng, base.back_height, 0.2),
                   leg=jitter(rng, base.leg, 0.15), round_legs=bool(rng.random() < 0.5),
                   rake=float(rng.uniform(0.0, 14.0)), slats=int(rng.integers(0, 5)),
                   rail=jitter(rng, base.rail, 0.3),
                   stretcher=float(rng.choice([0.0, rng.uniform(0.1, 0.2)])))


# --------------------------------------------------------------------------- desk


@dataclass(frozen=True)
class Desk:
    """A writing desk.

    top:        (width X, depth Y, thickness Z) of the top; ``height`` to its upper face.
    leg:        leg radius (``round_legs``) or half-side of square legs.
    drawers:    drawers in a pedestal under the right-hand (+X) end (0: four legs only).
    pedestal:   the pedestal's width (X).
    modesty:    height of a back panel between the rear legs (0: none).
    """

    top: tuple[float, float, float] = (1.2, 0.6, 0.04)
    height: float = 0.75
    leg: float = 0.025
    round_legs: bool = False
    drawers: int = 3
    pedestal: float = 0.4
    modesty: float = 0.3


def make_desk(p: Desk) -> Manifold:
    """Build the solid of a :class:`Desk`."""
    (w, d, t), h, s = p.top, p.height, p.leg
    x, y = w / 2 - 2 * s, d / 2 - 2 * s
    z_under = h - t / 2
    parts = [g.rounded_box((w, d, t), 0.25 * t, center=(0.0, 0.0, h - t / 2))]
    xs = (-x, x) if p.drawers == 0 else (-x,)
    parts += [leg(sx, sy * y, 0.0, z_under, s, p.round_legs) for sx in xs for sy in (-1.0, 1.0)]
    pw, pd = p.pedestal, d - 2 * s
    px = w / 2 - s - pw / 2
    if p.drawers:
        parts.append(g.box((pw, pd, z_under), (px, 0.0, z_under / 2)))
        plinth = 0.06
        size = (z_under - t / 2 - plinth) / p.drawers
        drawers = fronts(pw - 2 * s, [size] * p.drawers, plinth, -pd / 2, 0.012, 0.012,
                         0.009)
        parts += [part.translate((px, 0.0, 0.0)) for part in drawers]
    if p.modesty > 0:
        left = -x
        right = x if p.drawers == 0 else px - pw / 2 + s  # sunk into the pedestal
        parts.append(g.box((right - left, 1.2 * s, p.modesty),
                           ((left + right) / 2, y, z_under - p.modesty / 2 + t / 4)))
    return g.union(parts)


DESKS = {0: Desk()}


def sample_desk(rng: np.random.Generator) -> Desk:
    """A desk with jittered size, legs, pedestal and modesty panel."""
    base = DESKS[0]
    top = (jitter(rng, base.top[0], 0.2), jitter(rng, base.top[1], 0.15), base.top[2])
    return replace(base, top=top, height=jitter(rng, base.height, 0.08),
                   leg=jitter(rng, base.leg, 0.15), round_legs=bool(rng.random() < 0.5),
                   drawers=int(rng.integers(0, 5)), pedestal=jitter(rng, base.pedestal, 0.15),
                   modesty=float(rng.choice([0.0, rng.uniform(0.2, 0.35)])))


# --------------------------------------------------------------------------- cabinet


@dataclass(frozen=True)
class Cabinet:
    """A storage cabinet (a hutch with an open compartment, a sideboard, a wardrobe).

    size:       carcass (width X, depth Y, height Z), plinth and top board included.
    doors:      doors side by side at the bottom (1 or 2).
    drawers:    drawers in a row above the doors (0: none), each ``drawer`` tall.
    niche:      height of an open compartment at the top, walled by boards of thickness
                ``board`` (0: closed); its thin walls are what bending and cracks act on.
    plinth:     height of a recessed plinth under the carcass (0: four short feet instead).
    overhang:   how far the top board overhangs the carcass at the front and sides.
    """

    size: tuple[float, float, float] = (0.8, 0.42, 1.1)
    doors: int = 2
    drawers: int = 0
    drawer: float = 0.16
    niche: float = 0.4
    board: float = 0.035
    plinth: float = 0.07
    overhang: float = 0.02


def make_cabinet(p: Cabinet) -> Manifold:
    """Build the solid of a :class:`Cabinet`."""
    (w, d, h), base, top_t = p.size, max(p.plinth, 0.08), 0.035
    body_h = h - base - top_t
    body = g.box((w, d, body_h + top_t / 2), (0.0, 0.0, base + (body_h + top_t / 2) / 2))
    if p.niche > 0:
        # open at the front, a back panel of one board left; the cut stops short of the
        # top board so that no faces coincide
        y0, y1 = -d / 2 - 0.05, d / 2 - p.board
        z1 = h - top_t - p.board / 2
        body = g.subtract(body, [g.box((w - 2 * p.board, y1 - y0, p.niche),
                                       (0.0, (y0 + y1) / 2, z1 - p.niche / 2))])
    parts = [body, g.rounded_box((w + 2 * p.overhang, d + p.overhang, top_t), 0.01,
                                 center=(0.0, -p.overhang / 2, h - top_t / 2))]
    if p.plinth > 0:
        parts.append(g.box((w - 0.06, d - 0.06, base + 0.01), (0.0, 0.0, (base + 0.01) / 2)))
    else:
        foot = 0.035
        parts += [g.cylinder((sx * (w / 2 - 2 * foot), sy * (d / 2 - 2 * foot), 0.0),
                             (sx * (w / 2 - 2 * foot), sy * (d / 2 - 2 * foot), base + 0.01),
                             foot, 0.7 * foot, segments=20)
                  for sx in (-1.0, 1.0) for sy in (-1.0, 1.0)]
    frame, gap, proud, knob = 0.02, 0.01, 0.012, 0.01
    door_h = body_h - 2 * frame - p.drawers * p.drawer - p.niche - p.board / 2
    door_w = (w - 2 * frame) / p.doors
    for k in range(p.doors):
        x = -w / 2 + frame + (k + 0.5) * door_w
        parts += [part.translate((x, 0.0, 0.0))
                  for part in fronts(door_w, [door_h], base + frame, -d / 2, gap, proud, knob)]
    if p.drawers:
        drawer_w = (w - 2 * frame) / p.drawers
        for k in range(p.drawers):
            x = -w / 2 + frame + (k + 0.5) * drawer_w
            parts += [part.translate((x, 0.0, 0.0))
                      for part in fronts(drawer_w, [p.drawer], base + frame + door_h, -d / 2,
                                         gap, proud, knob)]
    return g.union(parts)


CABINETS = {0: Cabinet()}
_SIDEBOARD = Cabinet(size=(0.9, 0.45, 0.8), doors=2, drawers=2, niche=0.0)
_WARDROBE = Cabinet(size=(0.7, 0.45, 1.25), doors=2, niche=0.0, plinth=0.0, overhang=0.0)


def sample_cabinet(rng: np.random.Generator) -> Cabinet:
    """A hutch, a sideboard or a wardrobe with jittered size, doors and drawers."""
    base = pick_preset({0: CABINETS[0], 1: _SIDEBOARD, 2: _WARDROBE}, rng)
    size = tuple(jitter(rng, s, spread) for s, spread in zip(base.size, (0.3, 0.2, 0.3)))
    body = size[2] - 0.12  # less plinth and top board
    niche = body * float(rng.uniform(0.25, 0.4)) if base.niche > 0 else 0.0
    drawer = jitter(rng, base.drawer, 0.2)
    # the doors keep at least 40% of the body: only as many drawers as fit above them
    drawers = min(int(rng.integers(0, 3)), int(max(0.6 * body - niche, 0.0) // drawer))
    return replace(base, size=size, doors=int(rng.integers(1, 3)), drawers=drawers,
                   drawer=drawer, niche=niche)


KINDS = {
    "cabinet": Kind("cabinet", make_cabinet, CABINETS, sample_cabinet),
    "chair": Kind("chair", make_chair, CHAIRS, sample_chair),
    "desk": Kind("desk", make_desk, DESKS, sample_desk),
}
