"""Box-like objects: erasers (rounded blocks), shelves (boards) and bags (tapered totes).

Built from rounded boxes and their convex hulls; parts overlap by construction (boards sink
half their thickness into the sides) so that unions never rely on faces merely touching.
Front is -Y (towards the default camera); about one unit in size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter

# --------------------------------------------------------------------------- eraser


@dataclass(frozen=True)
class Eraser:
    """A rubber block: ``size`` (length X, width Y, height Z), edge ``radius``; a paper
    ``sleeve`` covering that fraction of the length (0: none), centred at ``sleeve_at``
    (fraction of the length from the -X end), standing ``sleeve_thickness`` proud; ``bevel``
    cuts the +X end at that angle from the vertical, in degrees (0: square end)."""

    size: tuple[float, float, float] = (0.9, 0.4, 0.2)
    radius: float = 0.04
    sleeve: float = 0.55
    sleeve_at: float = 0.6
    sleeve_thickness: float = 0.02
    bevel: float = 0.0


def make_eraser(p: Eraser) -> Manifold:
    """Build the solid of an :class:`Eraser`."""
    length, width, height = p.size
    block = g.rounded_box(p.size, p.radius, center=(0.0, 0.0, height / 2))
    if p.bevel > 0:
        # a big box rotated about Y, its face through the top edge of the +X end
        a = np.radians(p.bevel)
        big = 2.0 * length
        cutter = g.place(g.box((big, big, big), (big / 2, 0.0, 0.0)),
                         g.rotation((0.0, 1.0, 0.0), -a), (length / 2 - p.radius, 0.0, height))
        block = g.subtract(block, [cutter])
    if p.sleeve > 0:
        s = p.sleeve_thickness
        sleeve = g.rounded_box((p.sleeve * length, width + 2 * s, height + 2 * s),
                               p.radius * 0.5 + s,
                               center=((p.sleeve_at - 0.5) * length, 0.0, height / 2))
        block = g.union([block, sleeve])
    return block


ERASERS = {0: Eraser()}


def sample_eraser(rng: np.random.Generator) -> Eraser:
    """An eraser with jittered proportions, sleeve and bevel."""
    base = ERASERS[0]
    size = tuple(jitter(rng, s, 0.2) for s in base.size)
    sleeve = float(rng.choice([0.0, rng.uniform(0.4, 0.7)]))
    return replace(base, size=size, sleeve=sleeve, sleeve_at=float(rng.uniform(0.45, 0.65)),
                   bevel=float(rng.choice([0.0, rng.uniform(25.0, 50.0)])))


# --------------------------------------------------------------------------- shelf


@dataclass(frozen=True)
class Shelf:
    """A bookcase: outer ``width`` (X), ``height`` (Z), ``depth`` (Y); ``board`` thickness;
    ``shelves`` intermediate boards; a ``back`` panel; a ``plinth`` of that height under the
    bottom board (0: none); the top board overhangs the sides by ``overhang``."""

    width: float = 0.7
    height: float = 1.1
    depth: float = 0.32
    board: float = 0.04
    shelves: int = 3
    back: bool = True
    plinth: float = 0.07
    overhang: float = 0.02


def make_shelf(p: Shelf) -> Manifold:
    """Build the solid of a :class:`Shelf`."""
    w, h, d, b = p.width, p.height, p.depth, p.board
    side_x = w / 2 - b / 2
    parts = [g.box((b, d, h), (sx, 0.0, h / 2)) for sx in (-side_x, side_x)]
    # the top sits on the sides, sinking into them by half a board
    parts.append(g.box((w + 2 * p.overhang, d + p.overhang, b),
                       (0.0, -p.overhang / 2, h)))
    inner = w - b  # boards reach half-way into each side
    setback = 0.02  # shelves stand back from the front edge, as real ones do
    bottom = p.plinth + b / 2
    levels = np.linspace(bottom, h, p.shelves + 2)[:-1]
    for z in levels:
        parts.append(g.box((inner, d - setback, b), (0.0, setback / 2, z)))
    if p.plinth > 0:
        parts.append(g.box((inner, b, p.plinth + b / 2),
                           (0.0, -d / 2 + 2 * setback, (p.plinth + b / 2) / 2)))
    if p.back:
        back = 0.6 * b
        parts.append(g.box((inner, back, h - bottom), (0.0, d / 2 - back / 2, (h + bottom) / 2)))
    return g.union(parts)


SHELVES = {0: Shelf()}


def sample_shelf(rng: np.random.Generator) -> Shelf:
    """A bookcase with jittered size, shelf count, back panel and plinth."""
    base = SHELVES[0]
    return replace(base, width=jitter(rng, base.width, 0.3), height=jitter(rng, base.height, 0.25),
                   depth=jitter(rng, base.depth, 0.2), shelves=int(rng.integers(1, 5)),
                   back=bool(rng.random() < 0.6), plinth=float(rng.choice([0.0, 0.07])))


# --------------------------------------------------------------------------- bag


@dataclass(frozen=True)
class Bag:
    """An open tote bag widening upwards.

    bottom, top: (width X, depth Y) of the base and of the opening; ``height``; wall
    ``thickness``; corner ``radius``; two strap handles (one on each long wall) rising
    ``handle_rise`` above the rim, attached ``handle_span`` apart (fraction of the top width).
    """

    bottom: tuple[float, float] = (0.62, 0.24)
    top: tuple[float, float] = (0.8, 0.2)
    height: float = 0.62
    thickness: float = 0.03
    radius: float = 0.06
    handle_rise: float = 0.32
    handle_span: float = 0.55
    handle_radius: float = 0.03


def _tapered_block(bottom, top, z0: float, z1: float, radius: float) -> Manifold:
    """Convex hull of two thin rounded slabs: footprint ``bottom`` at z0, ``top`` at z1."""
    slab = [g.rounded_box((w, d, 2 * radius), radius, center=(0.0, 0.0, z), segments=16)
            for (w, d), z in ((bottom, z0 + radius), (top, z1 - radius))]
    return Manifold.batch_hull(slab)


def _bag_cavity(p: Bag, grow: float, above: float) -> Manifold:
    """The bag's inside grown by ``grow``, continuing ``above`` past the rim."""
    h = p.height
    # footprints follow the outer taper, shrunk by the wall thickness
    slope = (np.asarray(p.top) - np.asarray(p.bottom)) / h
    inset = 2 * (p.thickness - grow)
    z0 = p.thickness - grow
    bottom = np.asarray(p.bottom) + slope * z0 - inset
    top = np.asarray(p.top) + slope * above - inset
    return _tapered_block(bottom, top, z0, h + above, max(p.radius - p.thickness, 0.015))


def make_bag(p: Bag) -> Manifold:
    """Build the solid of a :class:`Bag`."""
    body = _tapered_block(p.bottom, p.top, 0.0, p.height, p.radius)
    body = g.subtract(body, [_bag_cavity(p, 0.0, 0.3)])
    half = p.handle_span * p.top[0] / 2
    a = np.linspace(np.pi + 0.25, -0.25, 64)
    straps = []
    for side in (1.0, -1.0):
        y = side * (p.top[1] / 2 - p.thickness / 2)
        path = np.column_stack([half * np.cos(a), np.full_like(a, y),
                                p.height - 0.02 + p.handle_rise * np.sin(a)])
        straps.append(g.tube(path, p.handle_radius, aspect=0.7, sides=16, up=(0.0, 1.0, 0.0)))
    # trim the straps where they would show inside the bag (leaving their cut faces buried)
    trim = _bag_cavity(p, 0.3 * p.thickness, 0.01)
    straps = [g.subtract(s, [trim]) for s in straps]
    return g.union([body, *straps])


BAGS = {0: Bag()}


def sample_bag(rng: np.random.Generator) -> Bag:
    """A tote with jittered proportions and handles."""
    base = BAGS[0]
    sx, sy = rng.uniform(0.85, 1.15, size=2)
    return replace(base, bottom=(base.bottom[0] * sx, base.bottom[1] * sy),
                   top=(base.top[0] * sx * rng.uniform(0.9, 1.1), base.top[1] * sy),
                   height=jitter(rng, base.height, 0.2),
                   handle_rise=jitter(rng, base.handle_rise, 0.25),
                   handle_span=float(rng.uniform(0.4, 0.7)))


KINDS = {
    "bag": Kind("bag", make_bag, BAGS, sample_bag),
    "eraser": Kind("eraser", make_eraser, ERASERS, sample_eraser),
    "shelf": Kind("shelf", make_shelf, SHELVES, sample_shelf),
}
