"""What a scanner adds to the points it returns: range noise, outliers, quantisation.

Rays are unit directions from the scanner to each point ((N, 3)); without a scanner, the ray
of a point is its inward normal (a scanner looking straight at it). None of this changes a
point's label: labels belong to the surface point that was measured.
"""

from __future__ import annotations

import numpy as np

OUTLIER_SPREAD = 0.2
"""An outlier lies on the ray of a measured point, up to this far in front of or behind it
(unit-sphere units): a stray return along a real ray, like a mixed pixel."""


def range_noise(points: np.ndarray, rays: np.ndarray, std: float, rng: np.random.Generator) -> np.ndarray:
    """(N, 3) points moved along their rays by Gaussian noise of ``std`` (unit-sphere units)."""
    if std <= 0:
        return points
    return points + rng.normal(0.0, std, len(points))[:, None] * rays


def outlier_sources(count: int, fraction: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Which measured points (of ``count``) spawn an outlier, and how far along its ray it lies:
    ((K,) int64 indices, (K,) offsets), K = round(fraction * count)."""
    k = int(round(fraction * count)) if count else 0
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    return rng.integers(0, count, k), rng.uniform(-OUTLIER_SPREAD, OUTLIER_SPREAD, k)


def quantise(points: np.ndarray, step: float) -> np.ndarray:
    """(N, 3) coordinates rounded to multiples of ``step`` (0: unchanged)."""
    if step <= 0:
        return points
    return np.rint(points / step) * step + 0.0
