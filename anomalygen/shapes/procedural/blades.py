"""Knives: a flat blade (an extruded outline, thinning towards the cutting edge) on a handle,
with a bolster or a cross guard.

The blade lies in the XZ plane, point towards +X, cutting edge down (-Z), so the default
camera (from -Y) sees its side; about one unit long.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset

OUTLINE_POINTS = 48
"""Points along each of the blade's two curves (spine and edge)."""


@dataclass(frozen=True)
class Knife:
    """Knife parameters (object units).

    blade:   (length X, height Z) of the blade, from the handle to the point.
    spine:   blade thickness at the back; ``edge``: thickness along the cutting edge (the
             blade thins linearly in between; keep >= 0.01 so that remeshing keeps it).
    drop:    how far the point lies below the spine, as a fraction of the blade height
             (0: on the spine line, a chef's knife; 0.4: a clip point).
    belly:   where the edge starts rising towards the point, as a fraction of the length.
    handle:  (length X, height Z, thickness Y) of the handle.
    guard:   how far a cross guard stands out above the spine and below the edge (0: a
             bolster, as tall as the handle, instead).
    pommel:  radius of a knob at the end of the handle (0: none).
    """

    blade: tuple[float, float] = (0.62, 0.15)
    spine: float = 0.026
    edge: float = 0.012
    drop: float = 0.05
    belly: float = 0.55
    handle: tuple[float, float, float] = (0.34, 0.08, 0.05)
    guard: float = 0.0
    pommel: float = 0.0


def blade_outline(p: Knife) -> np.ndarray:
    """(N, 2) (x, y) outline of the blade: spine at y = 0, edge at y = -height; it starts
    a little inside the handle (x < 0) so that the union buries its root."""
    length, height = p.blade
    root = -0.04
    tip = (length, -p.drop * height)
    spine = g.smooth_curve(np.array([[root, 0.0], [0.6 * length, 0.0],
                                     [0.9 * length, 0.4 * tip[1]], tip]), OUTLINE_POINTS)
    edge = g.smooth_curve(np.array([tip, [0.5 * (1 + p.belly) * length, -0.8 * height],
                                    [p.belly * length, -height], [root, -height]]),
                          OUTLINE_POINTS)
    return np.concatenate([spine, edge[1:]])


def make_blade(p: Knife) -> Manifold:
    """The blade, standing in the XZ plane and thinning from the spine to the edge."""
    height = p.blade[1]
    slab = g.prism(blade_outline(p), p.spine).refine_to_length(height / 6)
    ratio = p.edge / p.spine

    def thin(v: np.ndarray) -> np.ndarray:
        # z (the thickness, before the blade is stood up) shrinks linearly from the spine
        # (y = 0) to the edge (y = -height); plain arithmetic, so the same bits on every CPU
        w = v.copy()
        w[:, 2] *= ratio + (1.0 - ratio) * np.clip(1.0 + v[:, 1] / height, 0.0, 1.0)
        return w

    return g.place(slab.warp_batch(thin), g.rotation((1.0, 0.0, 0.0), np.pi / 2))


def make_knife(p: Knife) -> Manifold:
    """Build the solid of a :class:`Knife`."""
    height = p.blade[1]
    hl, hh, ht = p.handle
    z = -0.4 * height  # the handle's axis, a little above the blade's middle
    radius = 0.45 * min(hh, ht)
    parts = [make_blade(p),
             g.rounded_box((hl, ht, hh), radius, center=(-hl / 2, 0.0, z), segments=12)]
    if p.guard > 0:
        span = height + 2 * p.guard
        parts.append(g.rounded_box((0.03, 1.3 * ht, span), 0.012,
                                   center=(0.0, 0.0, -height / 2), segments=12))
    else:
        # a bolster joins the handle to the blade, a little taller than the blade's root
        # (level with it, its faces would coincide with the spine and the edge)
        parts.append(g.rounded_box((0.05, 1.05 * ht, 1.1 * height), 0.4 * ht / 2,
                                   center=(0.0, 0.0, -height / 2), segments=12))
    if p.pommel > 0:
        parts.append(g.sphere(p.pommel, (-hl, 0.0, z), segments=24))
    # the thinned blade meets the handle at grazing angles, which can leave zero-volume specks
    return g.largest_body(g.union(parts))


KNIVES = {
    # chef's knife: tall blade with a curved belly, point on the spine line, bolster
    0: Knife(),
    # hunting knife: shorter blade with a clip point, cross guard, thick handle, pommel
    1: Knife(blade=(0.5, 0.11), spine=0.032, edge=0.013, drop=0.45, belly=0.4,
             handle=(0.36, 0.085, 0.06), guard=0.035, pommel=0.045),
}


def sample_knife(rng: np.random.Generator) -> Knife:
    """A knife with the handle of a random preset and a freely drawn blade shape, guard and
    pommel (proportions alone barely change a long, thin object)."""
    base = pick_preset(KNIVES, rng)
    length, height = float(rng.uniform(0.35, 0.8)), float(rng.uniform(0.07, 0.22))
    hl, hh, ht = base.handle
    return replace(base, blade=(length, height),
                   drop=float(rng.uniform(0.0, 0.5)), belly=float(rng.uniform(0.3, 0.7)),
                   handle=(jitter(rng, hl, 0.3), jitter(rng, hh, 0.15), jitter(rng, ht, 0.15)),
                   guard=float(rng.choice([0.0, rng.uniform(0.02, 0.05)])),
                   pommel=float(rng.choice([0.0, rng.uniform(0.035, 0.05)])))


KINDS = {"knife": Kind("knife", make_knife, KNIVES, sample_knife)}
