"""Canonical coordinates: the same bits on every CPU.

numpy picks SIMD kernels at run time (AVX-512, AVX2, SSE) and OpenBLAS picks its own per CPU;
sums, norms, dot products and transcendental functions then differ in the last bits between
machines. Elementwise ``+ - * /`` and ``sqrt`` are exact IEEE operations and do not. Those
last-bit differences are harmless in themselves but every stage that makes discrete decisions
from coordinates amplifies them: manifold3d booleans and pymeshlab's remesher (topology),
vertex merging, thresholds.

So coordinates are *snapped* to a fixed binary grid before they enter such a stage: two inputs
that differ by a few ULP snap to the same value unless one of them lies within those few ULP
of a midpoint between grid values, which for a grid of ``GRID`` and errors below 1e-14 happens
to about one coordinate in 10^7. Snapping is exact arithmetic (division and multiplication by a
power of two, rounding to an integer), so it is itself CPU-independent.
"""

from __future__ import annotations

import numpy as np

GRID = 2.0**-24
"""Snapping step in object units / UNIT (6e-8: 60 nm on a 1 m object; far below any recipe length)."""


def snap(values: np.ndarray) -> np.ndarray:
    """Any float array -> float64 array of the same shape, every value a multiple of GRID."""
    snapped = np.rint(np.asarray(values, dtype=np.float64) / GRID) * GRID
    return snapped + 0.0  # no negative zeros: -0.0 and 0.0 hash differently


def row_norms(vectors: np.ndarray) -> np.ndarray:
    """(N, D) -> (N,) Euclidean norms, summed column by column in a fixed order.

    ``np.linalg.norm(v, axis=1)`` reduces with SIMD kernels whose summation order depends on
    the CPU; this uses elementwise operations only, which are exact on every CPU.
    """
    v = np.asarray(vectors, dtype=np.float64)
    total = v[:, 0] * v[:, 0]
    for column in range(1, v.shape[1]):
        total = total + v[:, column] * v[:, column]
    return np.sqrt(total)
