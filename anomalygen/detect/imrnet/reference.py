"""IMRNet's normal reference: what its maps look like on the training clouds, place by place."""

from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from scipy.spatial import cKDTree

__all__ = ["NormalReference", "reference_part"]


class NormalReference:
    """What the training clouds' own maps look like at each place: the model's usual error there.

    One part per training cloud: (points (R_i, 3) in normalised coordinates, their drift (R_i, 3)
    (:func:`.anomaly_map.drift`), their raw backward and feature levels (R_i, 2)). A blurred
    template pulls every normal sample's surface the same way at the same place, so subtracting
    this leaves what the sample does differently. ``expected(points (N, 3), k)`` averages the
    ``k`` nearest reference points -> (drift (N, 3), levels (N, 2)); ``without(i)`` leaves cloud
    i out (how the training clouds themselves are scored for the fusion statistics).
    """

    def __init__(self, parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]):
        self.parts = [tuple(np.asarray(a, np.float32) for a in part) for part in parts]
        self.points, self.vectors, self.levels = (np.concatenate(column) for column in zip(*self.parts))
        self._tree: cKDTree | None = None

    def without(self, i: int) -> "NormalReference | None":
        others = [part for j, part in enumerate(self.parts) if j != i]
        return NormalReference(others) if others else None

    def expected(self, points: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        if self._tree is None:
            self._tree = cKDTree(self.points)
        _, idx = self._tree.query(points, k=min(k, len(self.points)))
        idx = idx.reshape(len(points), -1)
        return self.vectors[idx].mean(1), self.levels[idx].mean(1)


@torch.no_grad()
def reference_part(maps: Callable[..., dict], prepared: tuple, iterations: int, starts: int,
                   size: int = 8192) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One training cloud's part of the :class:`NormalReference`: its maps after ``iterations`` passes
    averaged over ``starts`` GPS draws, at a fixed subset of at most ``size`` of its points.

    ``maps(prepared, passes, reference, start=...)`` is the detector's raw-map function.
    """
    pts, t = prepared[0], iterations
    keep = np.arange(len(pts)) if len(pts) <= size else np.sort(np.random.default_rng(0).choice(len(pts), size, replace=False))
    vectors, levels = np.zeros((len(keep), 3)), np.zeros((len(keep), 2))
    for start in range(starts):
        m = maps(prepared, [t], None, start=start * 7919)[t]
        vectors += m["drift"][keep]
        levels += np.stack([m["backward"], m["feature"]], axis=1)[keep]
    return pts[keep], vectors / starts, levels / starts
