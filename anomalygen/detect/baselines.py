"""The paper's baselines, with IMRNet's fit/score interface: BTF and PatchCore.

All four are memory-bank detectors: local features of the normal training clouds are stored;
a test point's score is the distance from its feature to the nearest stored one.

============================  =============================================  ===================
method                        local feature                                   object score
============================  =============================================  ===================
``btf-raw``                   raw coordinates of the ``raw_k`` nearest         max point score
                              neighbours, relative to the point (centred
                              patch, neighbours ordered by distance)
``btf-fpfh``                  FPFH (open3d), 33 values                         max point score
``patchcore-fpfh``            FPFH averaged over the ``patch_k`` nearest       PatchCore's
                              points (PatchCore's local neighbourhood          reweighted max
                              aggregation); greedy coreset of the bank
``patchcore-imrnet``          the IMRNet encoder's patch tokens (the analogue  PatchCore's
                              of the paper's PatchCore (PointMAE) row)         reweighted max
============================  =============================================  ===================

Clouds are first centred and scaled to unit RMS radius (as IMRNet does), so every length
below is in units of the object's RMS radius and the peers' parameters apply to objects of
any size: voxel down-sampling of ``voxel`` (0.07: about 4,000 points of a 20K-point cloud,
which keeps the brute-force bank search under a second per cloud), normals from radius 2 x voxel (at most 30 neighbours), FPFH radius 5 x voxel (at most
100 neighbours). Normals are oriented away from the centroid so FPFH sees one consistent side
of the surface on every cloud. Scores of the down-sampled points are spread back to every
input point by 1-NN (IMRNet patch scores through the patches that contain each point).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree
from scipy.special import logsumexp

from anomalygen.detect.align import check_align
from anomalygen.detect.base import Detector, register, stored_config
from anomalygen.detect.fpfh import fpfh, voxel_points
from anomalygen.detect.geometry import spread_to_points
from anomalygen.detect.imrnet import IMRNet, IMRNetConfig

__all__ = ["BTFRaw", "BTFFPFH", "PatchCoreFPFH", "PatchCoreIMRNet", "fpfh", "greedy_coreset", "nearest_bank",
           "reweighted_max"]


# ----------------------------------------------------------------------------- features and banks

def centred_patches(points: np.ndarray, k: int) -> np.ndarray:
    """Each point's ``k`` nearest other points relative to it, nearest first: (S, 3) -> (S, 3k) float32."""
    k = min(k, len(points) - 1)
    _, idx = cKDTree(points).query(points, k=k + 1)
    return (points[idx[:, 1:]] - points[:, None, :]).reshape(len(points), -1).astype(np.float32)


def neighbourhood_mean(points: np.ndarray, features: np.ndarray, k: int) -> np.ndarray:
    """PatchCore's local aggregation: each point's feature averaged over its ``k`` nearest points (itself included)."""
    _, idx = cKDTree(points).query(points, k=min(k, len(points)))
    return features[idx.reshape(len(points), -1)].mean(axis=1).astype(np.float32)


def nearest_bank(queries: np.ndarray, bank: np.ndarray, k: int = 1, chunk: int = 256) -> tuple[np.ndarray, np.ndarray]:
    """Euclidean distances (Q, k) and indices (Q, k) of the ``k`` nearest bank rows (B, D) to each query (Q, D).

    Brute force (the features are 24-128-dimensional, where a k-d tree was measured 30x slower):
    one fused float32 matrix product per chunk of queries finds the neighbours, then their
    distances are recomputed exactly in float64 (the expanded form loses digits when the
    features are large and the distances small).
    """
    queries = np.asarray(queries, np.float32)
    bank32 = torch.from_numpy(np.asarray(bank, np.float32))
    bank_t, bank_sq = bank32.T.contiguous(), (bank32 * bank32).sum(1)
    k = min(k, len(bank))
    found = []
    for start in range(0, len(queries), chunk):
        d2 = torch.addmm(bank_sq, torch.from_numpy(queries[start:start + chunk]), bank_t, alpha=-2)
        found.append((d2.argmin(1, keepdim=True) if k == 1 else d2.topk(k, dim=1, largest=False).indices).numpy())
    idx = np.concatenate(found)
    dist = np.linalg.norm(np.asarray(bank, np.float64)[idx] - queries.astype(np.float64)[:, None, :], axis=2)
    return dist, idx


def greedy_coreset(features: np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """PatchCore's greedy (k-center) coreset: indices of ``ceil(fraction * B)`` rows of ``features`` (B, D).

    Starts from a seeded random row, then repeatedly adds the row farthest from everything chosen,
    so the coreset covers the bank's feature space with the smallest largest gap.
    """
    n = len(features)
    size = max(1, min(n, int(math.ceil(fraction * n))))
    if size >= n:
        return np.arange(n)
    x = torch.from_numpy(np.asarray(features, np.float64))
    sq = (x * x).sum(1)
    chosen = [int(np.random.default_rng(seed).integers(n))]
    gap = torch.full((n,), float("inf"), dtype=torch.float64)
    for _ in range(size - 1):
        last = x[chosen[-1]]
        gap = torch.minimum(gap, (sq - 2 * x @ last + last @ last).clamp_min(0))
        chosen.append(int(gap.argmax()))
    return np.asarray(chosen)


def reweighted_max(patch_scores: np.ndarray, nearest_index: np.ndarray, queries: np.ndarray, bank: np.ndarray,
                   neighbours: int) -> float:
    """PatchCore's object score: the largest patch score s* reweighted by how isolated its bank match is.

    With m_test the patch of largest score, m* its nearest bank feature and N_b(m*) the ``neighbours``
    bank features nearest m*: ``s = (1 - exp|m_test - m*| / sum_{m in N_b(m*)} exp|m_test - m|) * s*``
    (Roth et al. 2022, eq. 7), computed in a form that cannot overflow.
    """
    worst = int(np.argmax(patch_scores))
    s_star = float(patch_scores[worst])
    if neighbours < 1 or len(bank) < 2:
        return s_star
    _, around = nearest_bank(bank[nearest_index[worst]][None], bank, k=neighbours)
    d = np.linalg.norm(bank[around[0]].astype(np.float64) - queries[worst].astype(np.float64), axis=1)
    weight = 1.0 - np.exp(-logsumexp(d - s_star))           # exp(s*) / sum(exp(d)), without overflow
    return float(weight * s_star)


# ----------------------------------------------------------------------------- detectors

@dataclass
class MemoryBankConfig:
    """Options shared by the point-feature baselines (lengths in units of the RMS radius)."""

    voxel: float = 0.07             # voxel down-sampling size; normals 2x, FPFH 5x this radius
    raw_k: int = 16                 # btf-raw: neighbours per centred patch
    patch_k: int = 8                # patchcore-fpfh: neighbours averaged into a patch feature
    coreset_fraction: float = 1.0   # share of the bank kept by the greedy coreset (1: all, BTF)
    reweight_neighbours: int = 0    # PatchCore's b (0: plain max, BTF)
    align: str = "none"             # "template": register clouds to the first training cloud (detect.align)

    def __post_init__(self):
        check_align(self.align, "baseline")


class _BankDetector(Detector):
    """A memory bank of normal features: stored (thinned by the greedy coreset) and searched."""

    def __init__(self, config=None):
        super().__init__(config)
        self.bank: np.ndarray | None = None

    def _store(self, bank: np.ndarray, seed: int, n_clouds: int, **info) -> None:
        """Keep the coreset of ``bank`` (B, D) and record what was kept in ``info``."""
        keep = greedy_coreset(bank, self.config.coreset_fraction, seed)
        self.bank = bank[keep]
        self.info = {"seed": int(seed), "n_clouds": n_clouds, "bank_full": int(len(bank)), "bank": int(len(keep)),
                     **info}

    def _match(self, queries: np.ndarray) -> tuple[float, np.ndarray]:
        """(object score, (Q,) distances to the nearest bank feature) of the query features (Q, D)."""
        if self.bank is None:
            raise RuntimeError(f"{self.name} is not fitted")
        dist, nearest = nearest_bank(queries, self.bank)
        obj = reweighted_max(dist[:, 0], nearest[:, 0], queries, self.bank, self.config.reweight_neighbours)
        return obj, dist[:, 0]


class _PointBankDetector(_BankDetector):
    """Memory bank of per-point features of the voxel-down-sampled, RMS-normalised cloud."""

    config_class = MemoryBankConfig

    def features(self, points: np.ndarray) -> np.ndarray:
        """(S, D) float32 features of the down-sampled, normalised points (S, 3)."""
        raise NotImplementedError

    def _sampled(self, cloud: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Normalised input points (N, 3) and their voxel down-sampling (S, 3)."""
        pts = self.aligner.normalise(cloud).astype(np.float64)
        return pts, voxel_points(pts, self.config.voxel)

    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0,
            progress: Callable[[dict], None] | None = None) -> "_PointBankDetector":
        if not clouds:
            raise ValueError("fit needs at least one normal cloud")
        self.aligner.fit(clouds, seed)
        self._store(np.concatenate([self.features(self._sampled(cloud)[1]) for cloud in clouds]), seed, len(clouds))
        return self

    def score(self, cloud: np.ndarray) -> tuple[float, np.ndarray]:
        pts, sampled = self._sampled(cloud)
        obj, sampled_scores = self._match(self.features(sampled))
        _, owner = cKDTree(sampled).query(pts, k=1)
        return obj, sampled_scores[owner].astype(np.float32)

    def state_dict(self) -> dict:
        if self.bank is None:
            raise RuntimeError(f"{self.name} is not fitted")
        return {"bank": torch.from_numpy(self.bank)}

    def load_state_dict(self, state: dict) -> None:
        self.bank = state["bank"].numpy()


@register
class BTFRaw(_PointBankDetector):
    """BTF (Raw): kNN distance in the space of raw centred local patches."""

    name = "btf-raw"
    label = "BTF (Raw)"

    def features(self, points: np.ndarray) -> np.ndarray:
        return centred_patches(points, self.config.raw_k)


@register
class BTFFPFH(_PointBankDetector):
    """BTF (FPFH): kNN distance in FPFH space."""

    name = "btf-fpfh"
    label = "BTF (FPFH)"

    def features(self, points: np.ndarray) -> np.ndarray:
        return fpfh(points, self.config.voxel)


@dataclass
class PatchCoreFPFHConfig(MemoryBankConfig):
    coreset_fraction: float = 0.1
    reweight_neighbours: int = 3


@register
class PatchCoreFPFH(_PointBankDetector):
    """PatchCore on FPFH patch features: aggregated FPFH, 10% greedy coreset, reweighted max."""

    name = "patchcore-fpfh"
    label = "PatchCore (FPFH)"
    config_class = PatchCoreFPFHConfig

    def features(self, points: np.ndarray) -> np.ndarray:
        return neighbourhood_mean(points, fpfh(points, self.config.voxel), self.config.patch_k)


@dataclass
class PatchCoreIMRNetConfig:
    """PatchCore on IMRNet encoder patch features."""

    encoder: str | None = None       # trained IMRNet checkpoint to take the encoder from (None: train one in fit)
    imrnet: dict = field(default_factory=dict)   # IMRNet config overrides when fit trains the encoder
    bank_copies: int = 8             # GPS samplings (different start points) of each training cloud
    coreset_fraction: float = 0.1
    reweight_neighbours: int = 3
    align: str = "none"              # "template": register clouds to the first training cloud (detect.align)

    def __post_init__(self):
        check_align(self.align, "patchcore-imrnet")


@register
class PatchCoreIMRNet(_BankDetector):
    """PatchCore whose memory bank holds the IMRNet encoder's patch tokens (all patches visible)."""

    name = "patchcore-imrnet"
    label = "PatchCore (IMRNet)"
    encoder_from = "imrnet"
    config_class = PatchCoreIMRNetConfig

    def __init__(self, config=None):
        super().__init__(config)
        self.encoder: IMRNet | None = None

    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0,
            progress: Callable[[dict], None] | None = None) -> "PatchCoreIMRNet":
        c = self.config
        if not clouds:
            raise ValueError("fit needs at least one normal cloud")
        self.aligner.fit(clouds, seed)
        if c.encoder:
            self.encoder = IMRNet.load(c.encoder)
        else:
            self.encoder = IMRNet(c.imrnet).fit(clouds, seed=seed, progress=progress)
        self.encoder.aligner = self.aligner      # its patches are then taken in this detector's frame
        starts = np.random.default_rng(seed).integers(0, 1 << 30, size=(len(clouds), c.bank_copies))
        bank = np.concatenate([self.encoder.patch_features(cloud, start=int(s % len(cloud))).features
                               for cloud, row in zip(clouds, starts) for s in row])
        self._store(bank, seed, len(clouds), encoder=c.encoder or "trained in fit")
        return self

    def score(self, cloud: np.ndarray) -> tuple[float, np.ndarray]:
        if self.encoder is None:
            raise RuntimeError("patchcore-imrnet is not fitted")
        patches = self.encoder.patch_features(cloud)
        obj, patch_scores = self._match(patches.features)
        per_patch_point = torch.from_numpy(patch_scores.astype(np.float32))[:, None, None].expand(
            -1, patches.member.shape[1], 1)
        points = spread_to_points(per_patch_point, patches.member, patches.xyz, patches.full)[:, 0]
        return obj, points.astype(np.float32)

    def state_dict(self) -> dict:
        if self.bank is None:
            raise RuntimeError("patchcore-imrnet is not fitted")
        return {"bank": torch.from_numpy(self.bank), "imrnet_config": dataclasses.asdict(self.encoder.config),
                "imrnet_state": self.encoder.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        self.encoder = IMRNet(stored_config(IMRNetConfig, state["imrnet_config"]))
        self.encoder.load_state_dict(state["imrnet_state"])
        self.encoder.aligner = self.aligner      # filled in by Detector.load after this
        self.bank = state["bank"].numpy()
