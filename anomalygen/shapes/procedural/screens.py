"""Screens: a flat monitor panel with a recessed display and a housing on its back, on a
desk stand (a slender neck on a base plate).

The display faces -Y (the default camera), +Z up; about one unit wide.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter


@dataclass(frozen=True)
class Screen:
    """Monitor parameters (object units).

    panel:   (width X, height Z, thickness Y) of the panel; ``bezel``: width of the frame
             around the display, which lies ``recess`` below the frame.
    housing: (width, height) of the housing on the back as fractions of the panel's, and its
             depth (Y) behind the panel.
    lift:    height of the panel's lower edge above the desk; ``tilt``: backwards lean of
             the panel, degrees.
    neck:    (width X, thickness Y) of the stand's column (slender enough for bending).
    foot:    (width X, depth Y, thickness Z) of the base plate.
    """

    panel: tuple[float, float, float] = (1.0, 0.6, 0.035)
    bezel: float = 0.03
    recess: float = 0.008
    housing: tuple[float, float, float] = (0.5, 0.55, 0.05)
    lift: float = 0.16
    tilt: float = 8.0
    neck: tuple[float, float] = (0.07, 0.03)
    foot: tuple[float, float, float] = (0.36, 0.24, 0.025)


def make_screen(p: Screen) -> Manifold:
    """Build the solid of a :class:`Screen`."""
    w, h, t = p.panel
    hw, hh, depth = p.housing[0] * w, p.housing[1] * h, p.housing[2]
    panel = g.rounded_box((w, t, h), 0.4 * t, segments=12)
    display = g.box((w - 2 * p.bezel, 2 * p.recess, h - 2 * p.bezel), (0.0, -t / 2, 0.0))
    # the housing sinks half the panel's thickness into it, a little below its middle
    housing_at = np.array([0.0, depth / 2, -0.1 * h])
    housing = g.rounded_box((hw, depth + t / 2, hh), 0.3 * depth, center=housing_at,
                            segments=12)
    head = g.subtract(g.union([panel, housing]), [display])
    lean = g.rotation((1.0, 0.0, 0.0), -np.radians(p.tilt))  # top towards +Y (back)
    center = np.array([0.0, 0.0, p.lift + h / 2])
    head = g.place(head, lean, center)
    # the neck rises from the base plate into the middle of the (leaned) housing
    top = lean @ housing_at + center
    nw, nt = p.neck
    fw, fd, ft = p.foot
    neck = g.box((nw, nt, top[2] - ft / 2), (0.0, top[1], (top[2] + ft / 2) / 2))
    foot = g.rounded_box((fw, fd, ft), 0.4 * ft, center=(0.0, top[1] - 0.15 * fd, ft / 2),
                         segments=12)
    # the leaned housing meets the neck at grazing angles, which can leave zero-volume specks
    return g.largest_body(g.union([head, neck, foot]))


SCREENS = {0: Screen()}


def sample_screen(rng: np.random.Generator) -> Screen:
    """A monitor of a random aspect ratio (4:3 to ultra-wide), housing, tilt and stand."""
    base = SCREENS[0]
    w, _, t = base.panel
    return replace(base, panel=(w, w / float(rng.uniform(1.3, 2.4)), t),
                   housing=(float(rng.uniform(0.3, 0.8)), float(rng.uniform(0.4, 0.8)),
                            float(rng.uniform(0.03, 0.12))),
                   lift=float(rng.uniform(0.06, 0.3)), tilt=float(rng.uniform(0.0, 15.0)),
                   neck=(jitter(rng, base.neck[0], 0.25), base.neck[1]),
                   foot=tuple(jitter(rng, s, 0.3) for s in base.foot))


KINDS = {"screen": Kind("screen", make_screen, SCREENS, sample_screen)}
