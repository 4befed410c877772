"""IMRNet's anomaly map: how far the input and its reconstruction are apart, both ways, and in feature space.

Lengths in RMS-radius units. ``N`` input points, ``M`` down-sampled points, ``R`` reconstructed
points, ``G`` patches of ``K`` points.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree

from anomalygen.detect.geometry import nearest

__all__ = ["near_reconstruction", "drift", "forward_offsets", "backward_distances", "smooth_maps", "point_level",
           "fuse", "top_mean"]


@torch.no_grad()
def near_reconstruction(points: torch.Tensor, recon: torch.Tensor, k: int) -> torch.Tensor:
    """(N, k) indices of the ``k`` nearest reconstructed points (R, 3) to each input point (N, 3),
    nearest first: what :func:`drift` and :func:`forward_offsets` both read (one query for both)."""
    _, idx = nearest(points, recon, k)
    return idx.view(len(points), -1)


@torch.no_grad()
def drift(points: torch.Tensor, recon: torch.Tensor, near: torch.Tensor) -> torch.Tensor:
    """Where the reconstruction puts each input point: mean of its nearest reconstructed points
    (R, 3) (``near`` (N, k), :func:`near_reconstruction`) minus the point (N, 3) -> (N, 3). On
    normal clouds its average at a place is the model's own bias there (a blurred template pulls
    every sample's surface the same way)."""
    return recon[near].mean(1) - points


@torch.no_grad()
def forward_offsets(points: torch.Tensor, normals: torch.Tensor, recon: torch.Tensor, near: torch.Tensor,
                    tangent_weight: float, expected: torch.Tensor | None = None) -> np.ndarray:
    """Input -> reconstruction: how far each input point (N, 3) lies off the reconstructed surface (R, 3) -> (N,).

    The offsets to the ``k`` nearest reconstructed points (``near`` (N, k),
    :func:`near_reconstruction`) are measured along the point's own
    unit normal (N, 3) and averaged with their sign (the offset to a local plane through them:
    the reconstruction's scatter about the surface cancels, a bump's lift does not), plus
    ``tangent_weight`` times the in-plane distance to the nearest one. The input and the
    reconstruction sample the same surface at different places, so the plain distance has a
    floor of about half the reconstruction's spacing even when the reconstruction is perfect.
    ``expected`` (N, 3), if given, is the :func:`drift` normal clouds show at each point; its
    normal part is taken off first, so what is scored is the departure from the model's usual error.
    """
    offset = points.unsqueeze(1) - recon[near]                                        # (N, k, 3)
    along = (offset * normals.unsqueeze(1)).sum(-1)                                   # (N, k) signed
    across = (offset[:, 0].pow(2).sum(-1) - along[:, 0].pow(2)).clamp_min(0).sqrt()
    mean_along = along.mean(1)
    if expected is not None:            # offset = -drift: adding the expected drift removes the usual part
        mean_along = mean_along + (expected * normals).sum(-1)
    return (mean_along.abs() + tangent_weight * across).cpu().numpy()


@torch.no_grad()
def backward_distances(recon: torch.Tensor, full: torch.Tensor, normals: torch.Tensor, xyz: torch.Tensor,
                       owner: torch.Tensor, k: int = 1) -> np.ndarray:
    """Reconstruction -> input: material the reconstruction has and the input lacks (holes, cracks, breaks) -> (N,).

    Each reconstructed point (R, 3) is measured to the nearest point of the full input cloud
    (N, 3, dense, so a normal surface leaves a small floor): its offset along that input
    point's unit normal (N, 3), averaged with its sign over the ``k`` nearest reconstructed
    points (so their scatter about the surface cancels), plus its in-plane distance in full
    (what a hole leaves: reconstructed points beside the input surface's rim). That value goes
    to the down-sampled point (M, 3) nearest the reconstructed point (the largest one
    received), and every input point takes its nearest down-sampled point's value (``owner``
    (N,) indices into ``xyz``): a hole's rim carries the size of the missing material it surrounds.
    """
    _, near_input = nearest(recon, full)                                               # (R,)
    offset = recon - full[near_input]                                                  # (R, 3)
    n = normals[near_input]
    along = (offset * n).sum(-1)
    across = (offset.pow(2).sum(-1) - along.pow(2)).clamp_min(0).sqrt()
    _, around = nearest(recon, recon, k)
    around = around.view(len(recon), -1)                                               # (R, k), itself first
    smooth = (offset[around] * n.unsqueeze(1)).sum(-1).mean(1).abs()                   # one normal per neighbourhood: one sign
    _, target = nearest(recon, xyz)
    sampled = torch.zeros(xyz.shape[0], device=xyz.device).scatter_reduce_(0, target, smooth + across, reduce="amax")
    return sampled[owner].cpu().numpy()


def smooth_maps(points: np.ndarray, maps: dict[str, np.ndarray], k: int) -> dict[str, np.ndarray]:
    """Each per-point map (N,) of ``maps`` averaged over every point's ``k`` nearest points of the
    cloud (N, 3), the point itself included; ``drift`` (N, 3) and anything else not (N,) is kept
    as it is, and k = 1 changes nothing. The maps' values vary from point to point more than
    anomalies do (the reconstruction's scatter); a neighbourhood mean keeps a region's level."""
    if k <= 1:
        return maps
    _, near = cKDTree(points).query(points, k=min(k, len(points)))
    near = near.reshape(len(points), -1)
    return {name: value[near].mean(1) if name != "drift" and np.ndim(value) == 1 else value
            for name, value in maps.items()}


def point_level(maps: dict[str, np.ndarray], directions: str) -> np.ndarray:
    """The point level (N,) float32 of raw maps: ``forward``, ``backward`` or ``both`` (their max)."""
    if directions == "both":
        return np.maximum(maps["forward"], maps["backward"]).astype(np.float32)
    return maps[directions].astype(np.float32)


def fuse(point: np.ndarray, feature: np.ndarray, stats: dict[str, float], point_weight: float,
         feature_weight: float) -> np.ndarray:
    """The point scores (N,) float32: the point and feature levels (N,) each z-scored with ``stats``
    (``point_mean``, ``point_std``, ``feature_mean``, ``feature_std`` of the training clouds), weighted, summed."""
    zp = (point - stats["point_mean"]) / stats["point_std"]
    zf = (feature - stats["feature_mean"]) / stats["feature_std"]
    return (point_weight * zp + feature_weight * zf).astype(np.float32)


def top_mean(scores: np.ndarray, fraction: float) -> float:
    """An object score: the mean of the top ``fraction`` of (N,) scores (at least one)."""
    top = max(1, int(math.ceil(fraction * len(scores))))
    return float(np.sort(scores)[-top:].mean())
