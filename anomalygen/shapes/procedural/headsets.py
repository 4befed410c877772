"""Headsets: a flat headband arching between two ear cups, optional yokes and a boom mic.

Ear cups face each other along X; the band arches up in the XZ plane; the front (where a
boom microphone points) is -Y, towards the default camera. One connected body, about one
unit in size.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset


@dataclass(frozen=True)
class Headset:
    """Headset parameters (object units).

    span:       distance from the centre to each cup's inner face.
    band_rise:  height of the band's apex above the cups' centres.
    band_width: half-width of the band (along Y); ``band_thickness``: its radial half-size.
    cup_radius, cup_depth: size of an ear cup; ``cup_aspect``: height / width (ovals > 1).
    cushion:    tube radius of the ear cushion ring.
    yoke:       cups hang in U-shaped forks (else the band enters the cup directly).
    boom:       a microphone boom on the left cup.
    """

    span: float = 0.4
    band_rise: float = 0.55
    band_width: float = 0.045
    band_thickness: float = 0.02
    cup_radius: float = 0.17
    cup_depth: float = 0.1
    cup_aspect: float = 1.0
    cushion: float = 0.04
    yoke: bool = True
    boom: bool = False


def ear_cup(p: Headset, side: float) -> Manifold:
    """One cup, its cushion facing the centre; ``side`` is +1 (right, +X) or -1."""
    r, d = p.cup_radius, p.cup_depth
    profile = np.array([[0.88 * r, 0.0], [r, 0.3 * d], [0.96 * r, 0.75 * d], [0.7 * r, d],
                        [0.0, 1.04 * d]])
    puck = g.revolve(g.silhouette(g.smooth_curve(profile, 40)), 48)
    ring = g.torus(0.7 * r, p.cushion, segments=48, minor_segments=16)
    cup = g.union([puck, ring])
    # local +Z (outwards) becomes +-X; then stretch vertically for oval cups
    cup = g.place(cup, g.frame_z_to((side, 0.0, 0.0)), (side * p.span, 0.0, 0.0))
    return cup.scale((1.0, 1.0, p.cup_aspect))


def yoke(p: Headset, side: float) -> list[Manifold]:
    """U-shaped fork around a cup (in the YZ plane) and the two pins holding the cup."""
    x = side * (p.span + 0.5 * p.cup_depth)
    reach = p.cup_radius + 0.035
    rad = 0.022
    a = np.linspace(0.0, np.pi, 48)
    height = reach * p.cup_aspect
    path = np.column_stack([np.full_like(a, x), reach * np.cos(a), height * np.sin(a)])
    fork = g.tube(path, rad, aspect=1.4, up=(1.0, 0.0, 0.0))
    pins = [g.cylinder((x, s * 0.8 * p.cup_radius, 0.0), (x, s * (reach + 0.6 * rad), 0.0),
                       0.75 * rad, segments=16) for s in (1.0, -1.0)]
    return [fork, *pins]


def band(p: Headset) -> Manifold:
    """Flat band arching from the top of one cup (or yoke) to the other."""
    x = p.span + 0.5 * p.cup_depth
    top = (p.cup_radius + 0.035) * p.cup_aspect if p.yoke else 0.8 * p.cup_radius * p.cup_aspect
    a = np.linspace(0.0, np.pi, 96)
    path = np.column_stack([x * np.cos(a), np.zeros_like(a), top + p.band_rise * np.sin(a)])
    # the ends dip a little into the cup / yoke so the parts fuse
    path[[0, -1], 2] -= 0.03
    return g.tube(path, p.band_width, aspect=p.band_thickness / p.band_width,
                  up=(1.0, 0.0, 0.0))


def boom(p: Headset) -> list[Manifold]:
    """A boom microphone from the left cup forward (-Y) to in front of the mouth."""
    r = p.cup_radius
    x0 = -(p.span + 0.6 * p.cup_depth)
    control = np.array([[x0, -0.3 * r, -0.3 * r], [x0 - 0.05, -1.3 * r, -0.6 * r],
                        [-0.6 * p.span, -2.1 * r, -1.0 * r], [-0.3 * p.span, -2.3 * r, -1.0 * r]])
    path = g.bezier(control, 40)
    return [g.tube(path, 0.018, sides=16), g.capsule(path[-1], path[-1] + (0.06, 0.0, 0.0),
                                                      0.035)]


def make_headset(p: Headset) -> Manifold:
    """Build the solid of a :class:`Headset`."""
    parts = [ear_cup(p, 1.0), ear_cup(p, -1.0), band(p)]
    if p.yoke:
        parts += yoke(p, 1.0) + yoke(p, -1.0)
    if p.boom:
        parts += boom(p)
    return g.union(parts)


HEADSETS = {
    # over-ear headphones: round cups in forks, slim band
    0: Headset(),
    # gaming headset: oval cups fixed to a wide band, boom microphone
    1: Headset(span=0.36, band_rise=0.48, band_width=0.06, band_thickness=0.024,
               cup_radius=0.15, cup_depth=0.12, cup_aspect=1.3, cushion=0.045, yoke=False,
               boom=True),
}


def sample_headset(rng: np.random.Generator) -> Headset:
    """A headset in the style of a random preset, proportions and options jittered."""
    base = pick_preset(HEADSETS, rng)
    return replace(base, span=jitter(rng, base.span, 0.1),
                   band_rise=jitter(rng, base.band_rise, 0.15),
                   cup_radius=jitter(rng, base.cup_radius, 0.12),
                   cup_aspect=float(rng.uniform(1.0, 1.35)),
                   boom=bool(rng.random() < 0.4))


KINDS = {"headset": Kind("headset", make_headset, HEADSETS, sample_headset)}
