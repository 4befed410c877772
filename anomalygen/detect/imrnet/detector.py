"""The IMRNet detector: trains the masked patch autoencoder on normal clouds, scores clouds by reconstruction.

Pipeline for one cloud (N, 3), lengths in RMS-radius units:

1. **Normalise** (centroid, RMS radius), local PCA normals and surface variation.
2. **GPS** down-samples to ``num_points`` (M), denser where the surface varies.
3. **Patches**: ``num_groups`` (G) FPS centres, each patch its ``group_size`` (K) nearest points.
4. **Training** on normal clouds only: random poses, scales and shifts (so a patch cannot be
   predicted from its centre's position alone), masked patches asked for at a query moved off
   their centre by ``query_noise`` (RMS) while the target stays the true surface (denoising);
   Chamfer-L2 loss.
5. **Iterative mask reconstruction** at test time: the G patches fall into ``ceil(1 /
   mask_ratio)`` disjoint mask sets, each rebuilt from the others, so every patch is masked
   once per pass. Pass t+1 asks for every patch again at its centre recomputed from pass t's
   reconstruction (the query projected on its rebuilt patch), so a centre that sat on a bump
   moves to the normal surface and its patch is rebuilt there; ``feedback`` says whether the
   context stays the input or becomes pass t's reconstruction (the paper's loop).
6. **Scores** (:mod:`.anomaly_map`): point level = input -> reconstruction offsets (normal
   part) and reconstruction -> input distances (missing material), their max; feature level =
   encoder feature distance between each input patch and its reconstruction. With
   ``reference="training"`` (:mod:`.reference`) each level is measured against what the
   training clouds give at the same place (the model's usual error there: its drift, backward
   and feature values). Each level is z-scored with statistics of the training clouds (each
   scored against the others' reference), weighted and summed: the point scores. Before that,
   every level's map is averaged over each point's ``smooth_k`` nearest points. Object score =
   mean of the top ``top_fraction`` of the map ``object_level`` names: ``point`` (the default:
   the point level, as ``point_directions`` says), ``forward`` (its forward direction alone) or
   ``fused`` (the point scores themselves). Chosen on validation data (12 classes): the point
   level ranks whole clouds best, the fused map ranks points best (README, IMRNet ablation).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from anomalygen.detect.base import Detector, register
from anomalygen.detect.geometry import augment, nearest, spread_to_points
from anomalygen.detect.gps import gps_indices, local_pca
from anomalygen.detect.imrnet.anomaly_map import (backward_distances, drift, forward_offsets, fuse,
                                                  near_reconstruction, point_level, smooth_maps, top_mean)
from anomalygen.detect.imrnet.config import IMRNetConfig
from anomalygen.detect.imrnet.model import MaskedPointAutoencoder, hidden_points
from anomalygen.detect.imrnet.pretrained import pretrained_weights
from anomalygen.detect.imrnet.reference import NormalReference, reference_part
from anomalygen.detect.pointops import chamfer_l2, farthest_point_sample, group, resolve_device, torch_settings

__all__ = ["IMRNet", "PatchFeatures", "Reconstruction"]

Prepared = tuple[np.ndarray, np.ndarray, np.ndarray]     # normalised points (N, 3), variation (N,), normals (N, 3)


@dataclass
class PatchFeatures:
    """One cloud's IMRNet patches: encoder ``features`` (G, C), ``member`` (G, K) indices into the
    down-sampled points ``xyz`` (M, 3), and the normalised input points ``full`` (N, 3)."""

    features: np.ndarray
    member: torch.Tensor
    xyz: torch.Tensor
    full: torch.Tensor


@dataclass
class Reconstruction:
    """One pass of the iterative reconstruction: patches (G, K, 3) in absolute (normalised)
    coordinates and the centres (G, 3) recomputed from them (each query projected on its patch)."""

    points: torch.Tensor
    centres: torch.Tensor


@register
class IMRNet(Detector):
    """IMRNet detector (see the module docstring). ``fit`` on normal clouds, ``score`` any cloud."""

    name = "imrnet"
    label = "IMRNet"
    config_class = IMRNetConfig

    def __init__(self, config: IMRNetConfig | dict | None = None):
        super().__init__(config)
        self.device = resolve_device(self.config.device)
        self.model: MaskedPointAutoencoder | None = None
        self.stats: dict[str, float] = {}
        self.reference: NormalReference | None = None
        self.seed = 0

    # ------------------------------------------------------------------ preparation
    def _subset(self, n: int) -> np.ndarray:
        """A fixed subset (sorted indices) of max(2M, N/4) of a cloud's N points, what PCA and GPS run on.

        Dense enough for both (the training pools sample subsets of the same size), and 4x
        cheaper on 10-30K-point clouds: scoring a cloud must fit in 0.2 s on a CPU.
        """
        size = min(n, max(2 * self.config.num_points, n // 4))
        return np.arange(n) if size == n else np.sort(np.random.default_rng(0).choice(n, size, replace=False))

    def _prepare(self, cloud: np.ndarray) -> Prepared:
        """Normalised cloud (N, 3) float32, its surface variation (N,) and local PCA normals (N, 3).

        The PCA runs on :meth:`_subset`; every point takes its nearest subset point's values.
        """
        pts = self.aligner.normalise(cloud)
        sub = self._subset(len(pts))
        variation, normals = local_pca(pts[sub], self.config.gps_k)
        if len(sub) < len(pts):
            _, owner = cKDTree(pts[sub]).query(pts)
            variation, normals = variation[owner], normals[owner]
        return pts, variation, normals

    def _gps(self, pts: np.ndarray, var: np.ndarray, start: int = 0) -> np.ndarray:
        """GPS indices (M,) of one prepared cloud, from :meth:`_subset`, deterministic for a given ``start``.

        A cloud of at most M points keeps all of them, repeated cyclically up to M so that every
        tensor keeps its configured shape.
        """
        c = self.config
        if len(pts) <= c.num_points:
            return np.resize(np.arange(len(pts)), c.num_points)
        sub = self._subset(len(pts))
        xyz = torch.from_numpy(pts[sub]).to(self.device).unsqueeze(0)
        v = torch.from_numpy(var[sub]).to(self.device).unsqueeze(0)
        return sub[gps_indices(xyz, v, c.num_points, c.gps_beta, c.gps_c, start=start % len(sub))[0].cpu().numpy()]

    def _patches(self, xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FPS centres and kNN patches of down-sampled clouds (B, M, 3) -> patches (B, G, K, 3), centres (B, G, 3), idx (B, G, K)."""
        centre_idx = farthest_point_sample(xyz, self.config.num_groups)
        centres = torch.gather(xyz, 1, centre_idx.unsqueeze(-1).expand(-1, -1, 3))
        patches, idx = group(xyz, centres, self.config.group_size)
        return patches, centres, idx

    # ------------------------------------------------------------------ training
    def _pool(self, prepared: list[Prepared], copies: int, rng: np.random.Generator) -> list[list[np.ndarray]]:
        """``copies`` GPS down-samplings (M, 3) per cloud, each from a random subset (max(2M, N/4) points) and a random start.

        The subset makes every copy a genuinely different sampling of the surface (not only a
        different FPS start) and keeps the batched FPS cheap on 10-30K-point clouds.
        """
        c = self.config
        pools = []
        for pts, var, _ in prepared:
            n = len(pts)
            if n <= c.num_points:
                pools.append([pts[self._gps(pts, var)] for _ in range(copies)])
                continue
            size = min(n, max(2 * c.num_points, n // 4))
            subsets = np.stack([np.sort(rng.choice(n, size, replace=False)) for _ in range(copies)])   # (P, size)
            xyz = torch.from_numpy(pts[subsets]).to(self.device)                                     # (P, size, 3)
            v = torch.from_numpy(var[subsets]).to(self.device)
            start = torch.from_numpy(rng.integers(0, size, copies)).to(self.device)
            idx = gps_indices(xyz, v, c.num_points, c.gps_beta, c.gps_c, start=start).cpu().numpy()
            pools.append([pts[subsets[p, idx[p]]] for p in range(copies)])
        return pools

    def _loss(self, xyz: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Masked-reconstruction Chamfer-L2 of a batch of down-sampled clouds (B, M, 3), queries moved by ``query_noise``."""
        c = self.config
        patches, centres, member = self._patches(xyz)
        B, G = centres.shape[:2]
        n = max(1, min(G - 1, int(round(c.mask_ratio * G))))
        order = torch.rand(B, G, generator=generator).argsort(dim=1)
        mask = torch.zeros(B, G, dtype=torch.bool)
        mask.scatter_(1, order[:, :n], True)
        mask = mask.to(xyz.device)
        # isotropic Gaussian of RMS length query_noise: moves the query along the normal and across it
        shift = (torch.randn(B, n, 3, generator=generator) * (c.query_noise / math.sqrt(3))).to(xyz.device)
        queries = centres[mask].view(B, n, 3) + shift
        pred = self.model(patches, centres, mask, queries, hidden_points(member, mask, xyz.shape[1]))   # relative to queries
        target = patches[mask].view(B, n, c.group_size, 3) - shift.unsqueeze(2)
        return chamfer_l2(pred.reshape(-1, c.group_size, 3), target.reshape(-1, c.group_size, 3))

    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0,
            progress: Callable[[dict], None] | None = None) -> "IMRNet":
        """Train on normal clouds (each (N_i, 3)), then measure the score statistics on them.

        ``progress``, if given, is called every ``eval_every`` steps with ``{"step", "steps",
        "train_loss", "val_loss", "seconds"}``. Deterministic for a fixed ``seed`` on the CPU.
        """
        c = self.config
        if not clouds:
            raise ValueError("fit needs at least one normal cloud")
        self.aligner.fit(clouds, seed)
        self.seed = int(seed)
        t0 = time.perf_counter()
        with torch_settings(c.threads, c.deterministic):
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            val_rng = np.random.default_rng([seed, 1])          # separate stream: val set independent of steps
            generator = torch.Generator().manual_seed(seed)
            self.model = MaskedPointAutoencoder(c).to(self.device)
            if c.init:
                self.model.load_state_dict(pretrained_weights(c))

            prepared = [self._prepare(cloud) for cloud in clouds]
            pools = self._pool(prepared, c.pool_size, rng)
            val_clouds = [augment(p, val_rng, c) for pool in self._pool(prepared, c.val_copies, val_rng) for p in pool]
            t_prep = time.perf_counter() - t0

            opt = torch.optim.AdamW(self.model.parameters(), lr=c.lr, weight_decay=c.weight_decay)

            def lr_at(step: int) -> float:      # linear warm-up, then cosine decay to 1% of lr
                if step < c.warmup_steps:
                    return (step + 1) / c.warmup_steps
                t = (step - c.warmup_steps) / max(1, c.steps - c.warmup_steps)
                return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))

            sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
            history: dict[str, list] = {"step": [], "train_loss": [], "val_loss": []}
            running: list[float] = []
            order: list[int] = []
            for step in range(c.steps):
                self.model.train()
                batch = []
                for _ in range(c.batch_size):
                    if not order:                   # cycle through the clouds in shuffled order
                        order = list(rng.permutation(len(clouds)))
                    i = order.pop()
                    batch.append(augment(pools[i][rng.integers(len(pools[i]))], rng, c))
                loss = self._loss(torch.from_numpy(np.stack(batch)).to(self.device), generator)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip > 0:
                    nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
                opt.step()
                sched.step()
                running.append(float(loss.detach()))
                if (step + 1) % c.eval_every == 0 or step + 1 == c.steps:
                    history["step"].append(step + 1)
                    history["train_loss"].append(float(np.mean(running)))
                    history["val_loss"].append(self._val_loss(val_clouds, seed))
                    running = []
                    if progress is not None:
                        progress({"step": step + 1, "steps": c.steps, "train_loss": history["train_loss"][-1],
                                  "val_loss": history["val_loss"][-1], "seconds": time.perf_counter() - t0})
            t_train = time.perf_counter() - t0 - t_prep
            self._calibrate(prepared)
        self.info = {
            "history": history, "seed": self.seed, "n_clouds": len(clouds), "n_points": [int(len(cl)) for cl in clouds],
            "seconds": {"prepare": t_prep, "train": t_train, "stats": time.perf_counter() - t0 - t_prep - t_train,
                        "total": time.perf_counter() - t0},
            "stats": dict(self.stats), "parameters": int(sum(p.numel() for p in self.model.parameters())),
        }
        return self

    @torch.no_grad()
    def _val_loss(self, val_clouds: list[np.ndarray], seed: int) -> float:
        """Mean masked-reconstruction loss on the fixed validation copies with fixed masks and queries."""
        self.model.eval()
        generator = torch.Generator().manual_seed(seed + 12345)
        xyz = torch.from_numpy(np.stack(val_clouds)).to(self.device)
        b = self.config.batch_size
        return float(np.mean([float(self._loss(xyz[i:i + b], generator)) for i in range(0, len(xyz), b)]))

    @torch.no_grad()
    def _calibrate(self, prepared: list[Prepared]) -> None:
        """The normal reference (built whatever ``reference`` says, so that a fitted model can score
        both ways), then mean and std of each raw level over every point of the training clouds,
        scored as test clouds are.

        The statistics only put the two levels on one scale for the fusion. Each training cloud
        is scored against the reference of the *other* training clouds (with one cloud: none),
        else its own values would cancel its levels and make the statistics far too narrow.
        """
        self.model.eval()
        self.reference = NormalReference([reference_part(self._maps, p, self.config.iterations,
                                                         self.config.reference_starts) for p in prepared])
        raw = np.concatenate([np.stack(self._levels(*p, reference=self._reference(i))[:2], axis=1)
                              for i, p in enumerate(prepared)])                          # (sum N_i, 2)
        self.stats = {"point_mean": float(raw[:, 0].mean()), "point_std": float(raw[:, 0].std()) or 1.0,
                      "feature_mean": float(raw[:, 1].mean()), "feature_std": float(raw[:, 1].std()) or 1.0}

    def _reference(self, leave_out: int | None = None) -> NormalReference | None:
        """The drift reference scoring uses (None with ``reference="none"``), without training cloud ``leave_out``."""
        if self.config.reference == "none" or self.reference is None:
            return None
        return self.reference if leave_out is None else self.reference.without(leave_out)

    def _reconstruction(self, prepared: Prepared, start: int = 0, passes: int | None = None):
        """GPS, patches and the iterative reconstruction of one prepared cloud: (passes, (xyz (M, 3),
        patches (1, G, K, 3), centres (1, G, 3), member (1, G, K)))."""
        pts, var, _ = prepared
        idx = torch.from_numpy(self._gps(pts, var, start=start)).to(self.device)
        xyz = torch.from_numpy(pts).to(self.device)[idx]                                # (M, 3)
        patches, centres, member = self._patches(xyz.unsqueeze(0))
        return self.reconstruct(patches[0], centres[0], member[0], passes), (xyz, patches, centres, member)

    # ------------------------------------------------------------------ scoring
    def _mask_sets(self) -> torch.Tensor:
        """(S, G) bool: S = ceil(1 / mask_ratio) disjoint masks covering every patch once (patch i in set i % S).

        FPS order makes consecutive centres far apart, so each set is spread over the object.
        """
        G = self.config.num_groups
        S = max(2, math.ceil(1.0 / self.config.mask_ratio))
        sets = torch.zeros(S, G, dtype=torch.bool)
        sets[torch.arange(G) % S, torch.arange(G)] = True
        return sets.to(self.device)

    @torch.no_grad()
    def reconstruct(self, patches: torch.Tensor, centres: torch.Tensor, member: torch.Tensor,
                    iterations: int | None = None) -> list[Reconstruction]:
        """Iterative mask reconstruction of one cloud's patches (G, K, 3) (relative), centres (G, 3), ``member`` (G, K).

        Returns one :class:`Reconstruction` per pass. Each pass rebuilds every mask set from the
        other patches, at the current centres; the next pass asks for every patch at the centre
        recomputed from its reconstruction (a centre on a bump moves to the normal surface), with
        ``feedback="centres"`` from the input patches as context, with ``"patches"`` from the
        rebuilt patches (the paper's loop; measured to drift: each pass adds the model's error
        to the context of the next). ``member`` (indices into the down-sampled points) tells
        which input points a masked patch shares with visible ones, kept out of its context
        while the context is the input.
        """
        sets = self._mask_sets()
        current, around, at = patches, centres, centres      # context patches, their centres, the queries
        passes = []
        for t in range(iterations or self.config.iterations):
            rebuilt = torch.empty_like(current)
            # sets differ in size by one when S does not divide G: run each size as its own batch
            for n in sorted({int(v) for v in sets.sum(1)}):
                chosen = sets[sets.sum(1) == n]                                          # (s, G)
                s = chosen.shape[0]
                queries = at.expand(s, -1, -1)[chosen].view(s, n, 3)
                from_input = t == 0 or self.config.feedback == "centres"
                hidden = hidden_points(member.expand(s, -1, -1), chosen, int(member.max()) + 1) if from_input else None
                pred = self.model(current.expand(s, -1, -1, -1), around.expand(s, -1, -1), chosen, queries, hidden)
                for j in range(s):
                    rebuilt[chosen[j]] = pred[j] + queries[j].unsqueeze(1)
            # the query projected on its reconstruction (the rebuilt point nearest it): a centre on
            # a bump drops to the normal surface; the patch's mean would drift sideways pass after pass
            pick = (rebuilt - at.unsqueeze(1)).pow(2).sum(-1).argmin(dim=1)              # (G,)
            at = rebuilt[torch.arange(len(pick)), pick]
            if self.config.feedback == "patches":
                current, around = rebuilt - at.unsqueeze(1), at
            passes.append(Reconstruction(rebuilt, at))
        return passes

    @torch.no_grad()
    def _maps(self, prepared: Prepared, passes: Sequence[int], reference: NormalReference | None = None,
              start: int = 0) -> dict[int, dict[str, np.ndarray]]:
        """Raw maps of one prepared cloud after each pass t in ``passes``: {t: {"forward", "backward", "feature"}}, each (N,).

        forward: input -> reconstruction offsets; backward: reconstruction -> input distances
        (see :mod:`.anomaly_map`); feature: L2 distance between the encoder features (nothing
        masked) of each input patch and of its reconstruction, spread to the points; drift (N,
        3): where the reconstruction puts each point. With a ``reference`` (made at the
        configured T, used for every t), forward is measured from the drift it expects and
        backward and feature have its expected values taken off. ``start``: the GPS start.
        """
        pts, _, normals = prepared
        done, (xyz, patches, centres, member) = self._reconstruction(prepared, start, max(passes))
        full = torch.from_numpy(pts).to(self.device)
        f_in = self.model.encode(patches, centres)
        normals_t = torch.from_numpy(normals).to(self.device)
        _, owner = nearest(full, xyz)                                                    # (N,) into xyz
        expected, levels = (None, np.zeros((len(pts), 2), np.float32)) if reference is None else \
            reference.expected(pts, self.config.reference_k)
        expected = None if expected is None else torch.from_numpy(expected)
        maps = {}
        for t in passes:
            rec = done[t - 1]
            # the rebuilt patch in its input patch's frame: the feature distance sees shape and displacement alike
            f_rec = self.model.encode((rec.points - centres[0].unsqueeze(1)).unsqueeze(0), centres)
            patch_score = (f_in - f_rec).norm(dim=-1)[0]                                 # (G,) L2, not squared: lighter tails
            recon = rec.points.reshape(-1, 3)
            near = near_reconstruction(full, recon, self.config.recon_k)
            maps[t] = {
                "forward": forward_offsets(full, normals_t, recon, near, self.config.tangent_weight, expected),
                "backward": backward_distances(recon, full, normals_t, xyz, owner, self.config.recon_k) - levels[:, 0],
                "feature": spread_to_points(patch_score[:, None, None].expand(-1, member.shape[2], 1),
                                            member[0], xyz, full, owner)[:, 0] - levels[:, 1],
                "drift": drift(full, recon, near).cpu().numpy(),
            }
        return maps

    def _levels(self, *prepared: np.ndarray, reference: NormalReference | None = None
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point level, feature level and forward point level (N,) each, of one prepared cloud, as the
        config asks: not yet z-scored, each map averaged over ``smooth_k`` neighbours."""
        c = self.config
        m = smooth_maps(prepared[0], self._maps(prepared, [c.iterations], reference)[c.iterations], c.smooth_k)
        return point_level(m, c.point_directions), m["feature"], m["forward"]

    @torch.no_grad()
    def patch_features(self, cloud: np.ndarray, start: int = 0) -> PatchFeatures:
        """Encoder features (nothing masked) of one cloud's patches, for feature-bank detectors.

        ``start`` picks the GPS start point: different starts give different samplings of the
        same surface (used to enlarge a memory bank of few training clouds).
        """
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        with torch_settings(self.config.threads, False):
            self.model.eval()
            pts, var, _ = self._prepare(cloud)
            full = torch.from_numpy(pts).to(self.device)
            xyz = full[torch.from_numpy(self._gps(pts, var, start=start)).to(self.device)]
            patches, centres, member = self._patches(xyz.unsqueeze(0))
            features = self.model.encode(patches, centres)[0]
        return PatchFeatures(features.cpu().numpy(), member[0], xyz, full)

    def maps(self, cloud: np.ndarray, passes: Sequence[int],
             leave_out: int | None = None) -> dict[int, dict[str, np.ndarray]]:
        """The raw maps of one cloud (N, 3) after each pass in ``passes`` (for diagnostics and ablations; see
        :meth:`_maps`); for training cloud i, ``leave_out=i`` scores it as calibration does."""
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        with torch_settings(self.config.threads, False):
            self.model.eval()
            return self._maps(self._prepare(cloud), passes, self._reference(leave_out))

    def score(self, cloud: np.ndarray) -> tuple[float, np.ndarray]:
        """(object score, (N,) float32 fused point scores) of one cloud (N, 3), in its point order."""
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        with torch_settings(self.config.threads, False):
            self.model.eval()
            point, feature, forward = self._levels(*self._prepare(cloud), reference=self._reference())
        fused = fuse(point, feature, self.stats, self.config.point_weight, self.config.feature_weight)
        ranked = {"forward": forward, "point": point, "fused": fused}[self.config.object_level]
        return top_mean(ranked, self.config.top_fraction), fused

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        parts = self.reference.parts if self.reference is not None else []
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "stats": dict(self.stats), "seed": self.seed,
                "reference": [[torch.from_numpy(a) for a in part] for part in parts]}

    def load_state_dict(self, state: dict) -> None:
        self.model = MaskedPointAutoencoder(self.config).to(self.device)
        self.model.load_state_dict(state["model"])
        self.model.eval()
        self.stats = {k: float(v) for k, v in state["stats"].items()}
        self.seed = int(state.get("seed", 0))
        parts = [tuple(a.numpy() for a in part) for part in state.get("reference", [])]
        self.reference = NormalReference(parts) if parts else None
