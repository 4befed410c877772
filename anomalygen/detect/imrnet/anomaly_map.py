"""IMRNet's anomaly map: how far the input and its reconstruction are apart, both ways, and in feature space.

Lengths in RMS-radius units. ``N`` input points, ``M`` down-sampled points, ``R`` reconstructed
points, ``G`` patches of ``K`` points.
"""

from __future__ import annotations

import numpy as np
import torch

from anomalygen.detect.geometry import nearest

__all__ = ["forward_offsets", "backward_distances"]


@torch.no_grad()
def forward_offsets(points: torch.Tensor, normals: torch.Tensor, recon: torch.Tensor, tangent_weight: float) -> np.ndarray:
    """Input -> reconstruction: each input point's (N, 3) offset to the nearest reconstructed point (R, 3) -> (N,).

    Measured along the point's own unit normal (N, 3) plus ``tangent_weight`` times the in-plane
    part: the input and the reconstruction sample the same surface at different places, so the
    plain distance has a floor of about half the reconstruction's spacing even when the
    reconstruction is perfect; the normal part is what a bump or a dent changes.
    """
    _, idx = nearest(points, recon)
    offset = points - recon[idx]
    along = (offset * normals).sum(-1).abs()
    across = (offset.pow(2).sum(-1) - along.pow(2)).clamp_min(0).sqrt()
    return (along + tangent_weight * across).cpu().numpy()


@torch.no_grad()
def backward_distances(recon: torch.Tensor, full: torch.Tensor, xyz: torch.Tensor) -> np.ndarray:
    """Reconstruction -> input: material the reconstruction has and the input lacks (holes, cracks, breaks).

    Each reconstructed point (R, 3) is measured to the nearest input point of the full cloud
    (N, 3), dense enough that a normal surface leaves a small floor; that distance goes to the
    down-sampled point (M, 3) nearest the reconstructed point (the largest one received), and
    every input point takes its nearest down-sampled point's value -> (N,). A hole's rim thus
    carries the distance to the missing material it surrounds.
    """
    d, _ = nearest(recon, full)
    _, owner = nearest(recon, xyz)
    sampled = torch.zeros(xyz.shape[0], device=xyz.device).scatter_reduce_(0, owner, d, reduce="amax")
    _, near = nearest(full, xyz)
    return sampled[near].cpu().numpy()
