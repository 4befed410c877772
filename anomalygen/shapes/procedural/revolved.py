"""Round containers: vase, bottle, jar, bowl, cup, bucket, ashtray.

All are :class:`~.vessels.Vessel` presets (outer (r, z) profiles in object units, about one
unit tall); variants without a preset jitter a randomly chosen preset of the same kind from
the first release (the ``*_V2`` presets of the second release stay out of that pool, so that
adding them changed no sampled variant).
"""

from __future__ import annotations

import numpy as np

from ._registry import Kind, pick_preset
from .vessels import Handle, Vessel, make_vessel, sample_like

VASES = {
    # pear-shaped baluster: foot, low belly, long narrow neck, flared mouth with a bead
    0: Vessel(((0.17, 0.0), (0.18, 0.03), (0.15, 0.07), (0.3, 0.2), (0.32, 0.3),
               (0.22, 0.52), (0.12, 0.72), (0.1, 0.85), (0.16, 0.97), (0.18, 1.0)),
              thickness=0.035, lip=0.02),
    # tall, slender flower vase with a slight flare
    1: Vessel(((0.12, 0.0), (0.13, 0.25), (0.15, 0.75), (0.17, 1.05), (0.2, 1.15)),
              thickness=0.035),
    # amphora with two loop handles from neck to shoulder
    2: Vessel(((0.06, 0.0), (0.07, 0.04), (0.2, 0.25), (0.3, 0.5), (0.27, 0.62),
               (0.12, 0.75), (0.09, 0.85), (0.09, 1.0), (0.13, 1.05)),
              thickness=0.035, lip=0.018,
              handles=(Handle("loop", (0.62, 0.92), 0.08, 0.028, angles=(0.0, 180.0)),)),
    # bulbous round vase with a short neck
    3: Vessel(((0.13, 0.0), (0.29, 0.1), (0.37, 0.32), (0.3, 0.55), (0.13, 0.68),
               (0.11, 0.74), (0.15, 0.8)),
              thickness=0.035, lip=0.02),
    # trumpet on a round foot
    4: Vessel(((0.2, 0.0), (0.2, 0.03), (0.09, 0.08), (0.075, 0.25), (0.1, 0.55),
               (0.2, 0.85), (0.33, 1.0)),
              thickness=0.035),
    # waisted (hourglass) vase
    5: Vessel(((0.22, 0.0), (0.24, 0.12), (0.14, 0.5), (0.24, 0.9), (0.25, 1.0)),
              thickness=0.035, lip=0.02),
    # squat, wide pot-bellied vase with a small mouth
    7: Vessel(((0.2, 0.0), (0.37, 0.12), (0.4, 0.22), (0.3, 0.4), (0.13, 0.5),
               (0.14, 0.56)),
              thickness=0.035, lip=0.02),
    # gourd: two stacked bulbs
    8: Vessel(((0.15, 0.0), (0.3, 0.17), (0.25, 0.4), (0.14, 0.53), (0.2, 0.7),
               (0.12, 0.9), (0.1, 0.98), (0.12, 1.04)),
              thickness=0.035, lip=0.015),
    # hexagonal (faceted) urn
    9: Vessel(((0.2, 0.0), (0.3, 0.45), (0.28, 0.8), (0.22, 0.92), (0.26, 1.0)),
              thickness=0.04, segments=6),
}

VASES_V2 = {
    # globe vase: a round body under a tall, straight, narrow neck
    6: Vessel(((0.16, 0.0), (0.17, 0.02), (0.3, 0.15), (0.33, 0.3), (0.25, 0.48),
               (0.08, 0.58), (0.065, 0.65), (0.065, 0.95), (0.08, 1.0)),
              thickness=0.03, lip=0.015),
    # urn on a stem: a round foot, a slender stem and a wide cup (the cavity stays in the cup)
    10: Vessel(((0.18, 0.0), (0.18, 0.03), (0.06, 0.06), (0.05, 0.2), (0.08, 0.26),
                (0.25, 0.4), (0.3, 0.6), (0.28, 0.75), (0.32, 0.85)),
               thickness=0.035, floor=0.3, lip=0.018),
}

BOTTLES = {
    # wine bottle, open, with a bead at the mouth
    0: Vessel(((0.15, 0.0), (0.155, 0.03), (0.155, 0.55), (0.14, 0.63), (0.08, 0.74),
               (0.06, 0.8), (0.06, 0.98), (0.065, 1.0)),
              thickness=0.028, floor=0.06, lip=0.014),
    # ribbed water bottle with a screw cap (closed, solid)
    1: Vessel(((0.16, 0.0), (0.17, 0.03), (0.17, 0.2), (0.15, 0.24), (0.17, 0.28),
               (0.17, 0.45), (0.15, 0.49), (0.17, 0.53), (0.17, 0.62), (0.09, 0.8),
               (0.07, 0.84), (0.08, 0.845), (0.08, 0.93), (0.07, 0.94), (0.0, 0.94)),
              thickness=0.0, open_top=False),
    # oval shampoo bottle with a flip cap (closed, solid)
    3: Vessel(((0.2, 0.0), (0.22, 0.04), (0.23, 0.5), (0.2, 0.7), (0.1, 0.78),
               (0.09, 0.8), (0.11, 0.81), (0.11, 0.92), (0.08, 0.95), (0.0, 0.95)),
              thickness=0.0, open_top=False, squash=0.55),
}

JARS = {
    # ginger jar: round shoulder, short neck and a domed lid with a knob (closed)
    0: Vessel(((0.17, 0.0), (0.19, 0.03), (0.3, 0.2), (0.33, 0.35), (0.28, 0.55),
               (0.17, 0.65), (0.16, 0.68), (0.2, 0.69), (0.2, 0.72), (0.12, 0.8),
               (0.05, 0.83), (0.05, 0.86), (0.06, 0.88), (0.0, 0.9)),
              thickness=0.0, open_top=False),
}

BOWLS = {
    # rice bowl on a foot ring
    0: Vessel(((0.14, 0.0), (0.15, 0.04), (0.13, 0.05), (0.3, 0.15), (0.42, 0.3),
               (0.45, 0.38)),
              thickness=0.032, floor=0.08),
    # shallow wide dish
    1: Vessel(((0.22, 0.0), (0.3, 0.03), (0.5, 0.12), (0.56, 0.17)),
              thickness=0.032, lip=0.02),
    # conical salad bowl
    2: Vessel(((0.12, 0.0), (0.12, 0.03), (0.45, 0.42), (0.47, 0.44)),
              thickness=0.032),
    # deep noodle bowl with a flared lip
    3: Vessel(((0.18, 0.0), (0.19, 0.05), (0.17, 0.06), (0.32, 0.25), (0.4, 0.42),
               (0.49, 0.5)),
              thickness=0.032, floor=0.09),
    # straight-sided bowl with a bead rim
    4: Vessel(((0.34, 0.0), (0.37, 0.02), (0.4, 0.3)),
              thickness=0.032, lip=0.022),
    # bowl with two flat ear handles
    5: Vessel(((0.3, 0.0), (0.38, 0.05), (0.42, 0.18), (0.43, 0.24)),
              thickness=0.032,
              handles=(Handle("ear", (0.8, 0.8), 0.09, 0.03, angles=(0.0, 180.0),
                              aspect=0.6),)),
}

CUPS = {
    # straight mug with a D handle
    0: Vessel(((0.2, 0.0), (0.21, 0.02), (0.21, 0.55)),
              thickness=0.032, floor=0.05,
              handles=(Handle("loop", (0.22, 0.8), 0.14, 0.032, aspect=0.7),)),
    # teacup on a foot with a small ring handle
    1: Vessel(((0.1, 0.0), (0.11, 0.02), (0.09, 0.03), (0.2, 0.12), (0.27, 0.3),
               (0.3, 0.35)),
              thickness=0.03, floor=0.06, lip=0.016,
              handles=(Handle("loop", (0.4, 0.85), 0.1, 0.026),)),
}

CUPS_V2 = {
    # takeaway cup: a tapered paper cup with a rolled rim, no handle
    2: Vessel(((0.14, 0.0), (0.15, 0.01), (0.22, 0.6)),
              thickness=0.03, floor=0.04, lip=0.018),
}

BUCKETS = {
    # tapered pail with a ribbed wall, a rolled rim and a wire bail
    0: Vessel(((0.28, 0.0), (0.29, 0.02), (0.32, 0.25), (0.34, 0.27), (0.335, 0.29),
               (0.36, 0.5), (0.38, 0.52), (0.375, 0.54), (0.4, 0.7)),
              thickness=0.032, lip=0.024,
              handles=(Handle("bail", (0.85, 0.85), 0.42, 0.018, tilt=-15.0),)),
    # tall straight bucket with a bail and a grip sleeve
    1: Vessel(((0.26, 0.0), (0.28, 0.04), (0.3, 0.8)),
              thickness=0.032, lip=0.022,
              handles=(Handle("bail", (0.9, 0.9), 0.36, 0.018, grip=0.22),)),
}

ASHTRAYS = {
    # thick round dish with three cigarette rests in the rim
    0: Vessel(((0.42, 0.0), (0.44, 0.03), (0.45, 0.15), (0.44, 0.17)),
              thickness=0.08, floor=0.06, notches=3, notch_radius=0.04),
}


def _kind(name: str, presets: dict[int, Vessel],
          later: dict[int, Vessel] | None = None) -> Kind[Vessel]:
    """The kind ``name`` with the first release's ``presets`` and the second's (``later``);
    only the former seed sampled variants."""
    def sample(rng: np.random.Generator) -> Vessel:
        return sample_like(pick_preset(presets, rng), rng)

    return Kind(name, make_vessel, {**presets, **(later or {})}, sample)


KINDS = {
    "ashtray": _kind("ashtray", ASHTRAYS),
    "bottle": _kind("bottle", BOTTLES),
    "bowl": _kind("bowl", BOWLS),
    "bucket": _kind("bucket", BUCKETS),
    "cup": _kind("cup", CUPS, CUPS_V2),
    "jar": _kind("jar", JARS),
    "vase": _kind("vase", VASES, VASES_V2),
}
