"""Taps (faucets): a base plate and column (one revolved profile), a swept spout ending in
a nozzle with an outlet bore, and a lever. The spout points along +X, a side lever
towards -Y (the default camera); one connected body, about one unit tall.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset


@dataclass(frozen=True)
class Tap:
    """Tap parameters (object units).

    base_radius, base_height: the round plate on the sink; column_radius, column_height:
    the body standing on it (height to the top of its cap).
    spout:        ``"gooseneck"`` (rises above the column and arcs over) or ``"short"``
                  (leaves the column sideways and bends down at its end).
    spout_reach:  horizontal distance from the column axis to the outlet.
    spout_rise:   gooseneck: straight rise above the column before the arc; short: height
                  of the spout below the column top.
    spout_radius: radius of the spout tube (>= 0.03 so that remeshing keeps it round).
    lever:        ``"side"`` (hub on the column's front, lever pointing up) or ``"top"``
                  (joystick lever on the column top, pointing back); ``lever_length``.
    """

    base_radius: float = 0.15
    base_height: float = 0.05
    column_radius: float = 0.065
    column_height: float = 0.45
    spout: str = "gooseneck"
    spout_reach: float = 0.42
    spout_rise: float = 0.2
    spout_radius: float = 0.035
    lever: str = "side"
    lever_length: float = 0.2


def column(p: Tap) -> Manifold:
    """Base plate and column as one solid of revolution."""
    rb, hb, rc, h = p.base_radius, p.base_height, p.column_radius, p.column_height
    profile = np.array([[rb, 0.0], [rb, 0.55 * hb], [0.85 * rb, hb], [1.15 * rc, hb + 0.012],
                        [rc, hb + 0.06], [0.95 * rc, h - 0.05], [0.8 * rc, h - 0.01],
                        [0.0, h]])
    return g.revolve(g.silhouette(g.smooth_curve(profile, 80)), 48)


def spout_path(p: Tap) -> np.ndarray:
    """(N, 3) centre line of the spout, from inside the column to the outlet."""
    h, reach = p.column_height, p.spout_reach
    if p.spout == "gooseneck":
        top = h + p.spout_rise
        rise = np.column_stack([np.zeros(8), np.zeros(8), np.linspace(h - 0.08, top, 8)])
        a = np.linspace(np.pi, 0.0, 48)[1:]
        over = np.column_stack([reach / 2 * (1 + np.cos(a)), np.zeros_like(a),
                                top + reach / 2 * np.sin(a)])
        down = np.column_stack([np.full(6, reach), np.zeros(6),
                                np.linspace(top, top - 0.12, 7)[1:]])
        return np.concatenate([rise, over, down])
    z = h - p.spout_rise
    control = np.array([[0.0, 0.0, z], [0.75 * reach, 0.0, z], [reach, 0.0, z],
                        [reach, 0.0, z - 0.1]])
    return g.bezier(control, 48)


def nozzle(path: np.ndarray, radius: float) -> tuple[Manifold, Manifold]:
    """A collar at the spout's outlet and the bore to cut into it: (collar, bore)."""
    tip, before = path[-1], path[-4]
    direction = (tip - before) / np.linalg.norm(tip - before)
    collar = g.cylinder(tip - 0.05 * direction, tip + 0.01 * direction, 1.25 * radius,
                        segments=32)
    bore = g.cylinder(tip - 0.04 * direction, tip + 0.05 * direction, 0.6 * radius,
                      segments=24)
    return collar, bore


def lever(p: Tap) -> list[Manifold]:
    """The lever and its hub."""
    h, rc, length = p.column_height, p.column_radius, p.lever_length
    if p.lever == "side":
        z = 0.62 * h
        hub_end = np.array([0.0, -(rc + 0.06), z])
        hub = g.cylinder((0.0, 0.0, z), hub_end, 0.045, segments=32)
        arm = g.capsule(hub_end + (0, 0.01, 0), hub_end + (0.0, -0.03, length), 0.022)
        return [hub, arm]
    cartridge = g.cylinder((0.0, 0.0, h - 0.03), (0.0, 0.0, h + 0.05), 0.8 * rc, segments=32)
    start = np.array([0.0, 0.0, h + 0.05])
    end = start + np.array([-0.94 * length, 0.0, 0.34 * length])
    arm = g.tube(g.bezier(np.array([start, start + (-0.3 * length, 0, 0.05), end]), 16),
                 0.028, aspect=0.6, sides=16, up=(0.0, 0.0, 1.0))
    return [cartridge, arm]


def make_tap(p: Tap) -> Manifold:
    """Build the solid of a :class:`Tap`."""
    path = spout_path(p)
    collar, bore = nozzle(path, p.spout_radius)
    spout = g.tube(path, p.spout_radius, sides=24)
    return g.subtract(g.union([column(p), spout, collar, *lever(p)]), [bore])


TAPS = {
    # kitchen gooseneck with a side lever
    0: Tap(),
    # basin mixer: short spout and a joystick lever on top
    1: Tap(base_radius=0.17, base_height=0.05, column_radius=0.085, column_height=0.5,
           spout="short", spout_reach=0.34, spout_rise=0.12, spout_radius=0.04,
           lever="top", lever_length=0.26),
}


def sample_tap(rng: np.random.Generator) -> Tap:
    """A tap in the style of a random preset, proportions and lever jittered."""
    base = pick_preset(TAPS, rng)
    return replace(base, column_height=jitter(rng, base.column_height, 0.15),
                   spout_reach=jitter(rng, base.spout_reach, 0.2),
                   spout_rise=jitter(rng, base.spout_rise, 0.2),
                   lever=("side", "top")[int(rng.integers(2))],
                   lever_length=jitter(rng, base.lever_length, 0.2))


KINDS = {"tap": Kind("tap", make_tap, TAPS, sample_tap)}
