"""Microphones: a revolved body (ball-grille handheld, or a studio capsule on a desk
stand) with grille bands and a switch. Upright along +Z; about one unit tall.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from manifold3d import Manifold

from . import _geometry as g
from ._registry import Kind, jitter, pick_preset


@dataclass(frozen=True)
class Microphone:
    """Microphone parameters (object units).

    style:         ``"handheld"`` (tapered handle, collar, ball head) or ``"studio"``
                   (cylindrical capsule with a domed grille on a desk stand).
    head_radius:   radius of the grille head; ``handle_length`` the body below it.
    handle_radius: radius of the handle below the head (the handheld one tapers to 65%).
    bands:         number of rings around the grille (the first sits at its widest).
    band_radius:   tube radius of those rings.
    switch:        add a slide switch on the front (-Y) of the handle.
    """

    style: str = "handheld"
    head_radius: float = 0.14
    handle_length: float = 0.6
    handle_radius: float = 0.065
    bands: int = 1
    band_radius: float = 0.018
    switch: bool = True


def body_profile(p: Microphone) -> tuple[np.ndarray, np.ndarray]:
    """(N, 2) (r, z) outer profile and the (K, 2) (r, z) centres of the grille bands."""
    r, length, hr = p.handle_radius, p.handle_length, p.head_radius
    if p.style == "handheld":
        base = [[0.65 * r, 0.0], [0.68 * r, 0.04], [0.62 * r, 0.05], [0.65 * r, 0.06],
                [r, length - 0.06], [1.3 * r, length - 0.04], [1.3 * r, length]]
        center = length + 0.85 * hr
        a = np.linspace(-np.pi / 2 + 0.55, np.pi / 2, 12)
        head = np.column_stack([hr * np.cos(a), center + hr * np.sin(a)])
        levels = np.linspace(0.0, 0.9, p.bands + 1)[:-1]
        bands = np.column_stack([hr * np.cos(levels), center + hr * np.sin(levels)])
        return np.concatenate([base, head]), bands
    stand = [[2.6 * r, 0.0], [2.6 * r, 0.035], [2.2 * r, 0.05], [0.35 * r, 0.07],
             [0.35 * r, 0.25 * length], [0.9 * r, 0.25 * length + 0.02]]
    body = [[r, 0.3 * length], [r, length], [hr, length + 0.02], [hr, length + 1.2 * hr]]
    a = np.linspace(0.0, np.pi / 2, 8)[1:]
    dome = np.column_stack([hr * np.cos(a), length + 1.2 * hr + hr * np.sin(a)])
    z = length + np.linspace(0.1, 1.1, p.bands) * hr
    bands = np.column_stack([np.full(p.bands, hr), z])
    return np.concatenate([stand, body, dome]), bands


def make_microphone(p: Microphone) -> Manifold:
    """Build the solid of a :class:`Microphone`."""
    profile, bands = body_profile(p)
    body = g.revolve(g.silhouette(g.smooth_curve(profile, 120)), 64)
    parts = [body]
    for r, z in bands:
        parts.append(g.torus(float(r), p.band_radius, segments=64, minor_segments=12)
                     .translate((0.0, 0.0, float(z))))
    if p.switch:
        z = 0.6 * p.handle_length if p.style == "handheld" else 0.55 * p.handle_length
        rr = p.handle_radius * (0.9 if p.style == "handheld" else 1.0)
        parts.append(g.rounded_box((0.05, 0.05, 0.1), 0.02, center=(0.0, -rr, z)))
    return g.union(parts)


MICROPHONES = {
    0: Microphone(),
    # the second release's microphone1: a studio capsule on a desk stand
    1: Microphone(style="studio", head_radius=0.11, handle_length=0.55, handle_radius=0.085,
                  bands=3, band_radius=0.016),
}


def sample_microphone(rng: np.random.Generator) -> Microphone:
    """A handheld or studio microphone with jittered proportions."""
    base = pick_preset(MICROPHONES, rng)
    return replace(base, head_radius=jitter(rng, base.head_radius, 0.15),
                   handle_length=jitter(rng, base.handle_length, 0.2),
                   handle_radius=jitter(rng, base.handle_radius, 0.1),
                   bands=int(rng.integers(1, 4)), switch=bool(rng.random() < 0.6))


KINDS = {"microphone": Kind("microphone", make_microphone, MICROPHONES, sample_microphone)}
