"""Cloud-level geometry shared by the detectors: normalisation, random poses, nearest points, spreading.

Lengths are in the units of the cloud they are given; after :func:`normalise`, in units of the
object's RMS radius.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from scipy.spatial import cKDTree

from anomalygen.detect.pointops import knn

__all__ = ["normalise", "rotation", "random_pose", "augment", "nearest", "spread_to_points"]


def normalise(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre on the centroid and scale to unit RMS radius: (N, 3) -> (normalised (N, 3) float32, centre (3,), scale).

    RMS rather than max radius: a bulge on the farthest point would change a max-norm scale by
    its own height and shift every point by about as much as the anomaly.
    """
    pts = np.asarray(points, dtype=np.float64)
    centre = pts.mean(axis=0)
    scale = float(np.sqrt(((pts - centre) ** 2).sum(axis=1).mean())) or 1.0
    return ((pts - centre) / scale).astype(np.float32), centre, scale


def rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` radians about ``axis`` (3,) (Rodrigues)."""
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def random_pose(rng: np.random.Generator, up_axis: int, up_deg: float, tilt_deg: float) -> np.ndarray:
    """(3, 3): a rotation about the up axis (0/1/2) by U(-up_deg, up_deg) degrees, then a tilt by
    U(-tilt_deg, tilt_deg) about a random horizontal axis (tilt 180 with up 180 reaches every pose)."""
    up = np.eye(3)[up_axis]
    r = rotation(up, math.radians(rng.uniform(-up_deg, up_deg)))
    if tilt_deg > 0:
        horizontal = np.cross(up, rng.normal(size=3))
        if np.linalg.norm(horizontal) > 1e-9:
            r = rotation(horizontal, math.radians(rng.uniform(-tilt_deg, tilt_deg))) @ r
    return r


def augment(points: np.ndarray, rng: np.random.Generator, c) -> np.ndarray:
    """A random pose, scale and shift of a cloud (M, 3), plus clipped point jitter -> (M, 3) float32.

    ``c`` carries the ranges (an IMRNet config): ``up_axis``, ``rot_up_deg``, ``rot_tilt_deg``,
    ``scale_jitter``, ``shift_jitter``, ``jitter_sigma``, ``jitter_clip``.
    """
    out = points @ random_pose(rng, c.up_axis, c.rot_up_deg, c.rot_tilt_deg).T
    out = out * rng.uniform(1 - c.scale_jitter, 1 + c.scale_jitter) + rng.uniform(-c.shift_jitter, c.shift_jitter, 3)
    if c.jitter_sigma > 0:
        out = out + np.clip(rng.normal(0.0, c.jitter_sigma, out.shape), -c.jitter_clip, c.jitter_clip)
    return out.astype(np.float32)


def nearest(query: torch.Tensor, ref: torch.Tensor, k: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    """Distances and indices of the ``k`` nearest ``ref`` (R, 3) points to each ``query`` (S, 3) point:
    (S,) and (S,) for k = 1, else (S, k) and (S, k), nearest first.

    On the CPU a k-d tree: scoring asks this for 10-30K query points against a few thousand
    reference points, where the dense distance matrix of :func:`pointops.knn` (same result up
    to ties) was measured 20x slower. On CUDA the dense version is the fast one.
    """
    k = min(k, ref.shape[0])
    if query.device.type == "cpu":
        d, i = cKDTree(ref.numpy()).query(query.numpy(), k=k)
        return torch.from_numpy(d.astype(np.float32)), torch.from_numpy(i.astype(np.int64))
    d2, i = knn(query.unsqueeze(0), ref.unsqueeze(0), k)
    d, i = d2[0].sqrt(), i[0]
    return (d[:, 0], i[:, 0]) if k == 1 else (d, i)


@torch.no_grad()
def spread_to_points(values: torch.Tensor, member: torch.Tensor, xyz: torch.Tensor, full: torch.Tensor,
                     owner: torch.Tensor | None = None) -> np.ndarray:
    """Values given per patch point (G, K, L) -> per input point (N, L) float32 numpy.

    ``member`` (G, K) indexes the down-sampled points ``xyz`` (M, 3); ``full`` (N, 3) are the
    input points. A down-sampled point takes the mean over the patches that contain it (one in
    no patch: its nearest covered point's values), every input point its nearest down-sampled
    point's (``owner`` (N,), when the caller already knows it).
    """
    M, L = xyz.shape[0], values.shape[-1]
    flat = member.reshape(-1)
    count = torch.zeros(M, device=xyz.device).index_add_(0, flat, torch.ones_like(flat, dtype=torch.float32))
    total = torch.zeros(M, L, device=xyz.device).index_add_(0, flat, values.reshape(-1, L).float())
    sampled = total / count.clamp_min(1)[:, None]
    covered = count > 0
    if not bool(covered.all()):
        _, near = nearest(xyz[~covered], xyz[covered])
        sampled[~covered] = sampled[covered][near]
    if owner is None:
        _, owner = nearest(full, xyz)
    return sampled[owner].cpu().numpy()
