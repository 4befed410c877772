"""IMRNet: iterative mask reconstruction for point-cloud anomaly detection, in plain PyTorch.

IMRNet (the Anomaly-ShapeNet paper's detector) was never released; this is an open
implementation from its description, with Point-MAE defaults where the paper is silent and
sizes scaled down so that a class trains on a 2-core CPU in minutes.

Pipeline for one cloud (N, 3):

1. **Normalise**: subtract the centroid, divide by the RMS radius. (Not the max radius: a
   bulge on the farthest point would change a max-norm scale by its own height and shift
   every point by about as much as the anomaly.)
2. **GPS** (:mod:`gps`) down-samples to ``num_points`` (M) points, denser where the surface
   varies, so small anomalies survive.
3. **Patches**: ``num_groups`` (G) centres by FPS over the M points, each patch its
   ``group_size`` (K) nearest points, relative to the centre.
4. **Model** (Point-MAE style): a mini-PointNet embeds each patch into a token, an MLP of the
   centre gives its positional embedding; a Transformer encoder sees the visible tokens, a
   light Transformer decoder sees them plus a learned mask token at each masked centre, and a
   linear head predicts the K points (relative to the centre) of every masked patch. Loss:
   Chamfer-L2 between predicted and true masked patches. Trained on normal clouds only.
5. **Test time, iterative mask reconstruction**: the G patches are split into
   ``ceil(1 / mask_ratio)`` disjoint mask sets (patch i goes to set ``i % n_sets``; FPS order
   makes consecutive centres far apart, so each set is spread over the object). Each set is
   reconstructed from the other patches; together they give a reconstruction of every patch.
   That reconstruction is fed back as the input patches, ``iterations`` (T) times, so an
   anomaly that leaked into the visible context of the first pass is progressively replaced
   by what normal geometry predicts.
6. **Scores** for every input point:
   - point level: each input patch point is compared with the final reconstruction of ITS
     patch: the offset to the nearest reconstructed point, measured along the point's own
     surface normal (local PCA) plus ``tangent_weight`` (0.25) times its in-plane part
     (``point_metric="plane"``; ``"point"`` = plain Euclidean distance, which has a floor of
     about half the point spacing even for a perfect reconstruction);
   - feature level: L2 distance between the encoder features (all patches visible) of the
     input patch and of its reconstruction, given to every point of the patch;
   - spreading: each down-sampled point takes the mean over the patches that contain it (a
     point in no patch: its nearest covered point's values), every input point its nearest
     down-sampled point's values;
   - fusion: each level is standardised with statistics measured, after training, on the
     TRAINING clouds with exactly this procedure (never on test data): by default relative
     to the level expected at that place (mean over the ``baseline_k`` nearest training
     points) divided by the leave-one-cloud-out std of that residual; with ``baseline_k=0``
     (or one training cloud) by the global mean and std. The two z-scores are summed
     (weights ``point_weight``, ``feature_weight``);
   - object score: the mean of the top ``top_fraction`` (1%) of the fused point scores.

Known limits: the training clouds' statistics are slightly optimistic (the model has seen
those clouds), which shifts every score by the same amount and does not change rankings; a
patch centre that lies on an anomaly is reconstructed around that centre, so the feature
level, not the point level, has to catch the anomaly's middle.
"""

from __future__ import annotations

import math
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch
from scipy.spatial import cKDTree
from torch import nn

from anomalygen.detect.base import Detector, register
from anomalygen.detect.gps import gps_indices, local_pca
from anomalygen.detect.pointops import chamfer_l2, farthest_point_sample, group, knn, resolve_device, square_distance

__all__ = ["IMRNetConfig", "IMRNet", "MaskedPointAutoencoder", "PatchFeatures", "normalise", "spread_to_points"]


@dataclass
class IMRNetConfig:
    """Every option of IMRNet; the defaults train one class (4 clouds) on a 2-core CPU in minutes."""

    # sampling and patches
    num_points: int = 2048        # M: GPS down-sampling size
    num_groups: int = 64          # G: patches (FPS centres)
    group_size: int = 64          # K: points per patch (IMRNet's best patch size)
    gps_k: int = 16               # neighbours of GPS's local PCA
    gps_beta: float = 3.0         # GPS variation weight (0 = plain FPS)
    gps_c: float = 4.0            # GPS saturation, in multiples of the median variation
    # model
    width: int = 128              # token width C
    depth: int = 4                # encoder blocks
    heads: int = 4
    decoder_depth: int = 2
    mlp_ratio: float = 2.0
    embed_hidden: int = 32        # mini-PointNet width (its layers are hidden, 2x, 4x)
    mask_ratio: float = 0.6
    # training
    steps: int = 400
    batch_size: int = 4
    lr: float = 1e-3
    weight_decay: float = 0.05
    warmup_steps: int = 20
    grad_clip: float = 10.0
    pool_size: int = 8            # GPS re-samplings per training cloud, each from a random subset of the full cloud
    up_axis: int = 2              # 0/1/2 = x/y/z; the generator's procedural shapes are z-up
    rot_up_deg: float = 10.0      # uniform random rotation about the up axis, +-
    rot_tilt_deg: float = 3.0     # and a small tilt about a random horizontal axis, +-
    jitter_sigma: float = 0.003   # Gaussian jitter (RMS-normalised units), clipped
    jitter_clip: float = 0.01
    val_copies: int = 2           # fixed augmented copies of each training cloud used as validation
    eval_every: int = 50
    threads: int = 1              # torch intra-op threads during fit/score; 1 is fastest on a shared 2-core CPU (measured)
    deterministic: bool = True    # torch.use_deterministic_algorithms during fit
    device: str = "cpu"
    # scoring
    iterations: int = 3           # T: reconstruction fed back as input (paper's best: 3)
    point_metric: str = "plane"   # "plane": offset along the point's normal (+ tangent part), "point": Euclidean
    tangent_weight: float = 0.25
    point_weight: float = 1.0
    feature_weight: float = 1.0
    top_fraction: float = 0.01    # object score = mean of the top 1% point scores
    baseline_k: int = 8           # expected normal level = mean over this many nearest training points (0: global)
    reference_points: int = 32768 # training points kept for that reference map (all clouds together)


# ----------------------------------------------------------------------------- geometry helpers

def normalise(points: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Centre on the centroid and scale to unit RMS radius: (N, 3) -> (normalised (N, 3) float32, centre (3,), scale)."""
    pts = np.asarray(points, dtype=np.float64)
    centre = pts.mean(axis=0)
    scale = float(np.sqrt(((pts - centre) ** 2).sum(axis=1).mean())) or 1.0
    return ((pts - centre) / scale).astype(np.float32), centre, scale


def _rotation(axis: np.ndarray, angle: float) -> np.ndarray:
    axis = axis / np.linalg.norm(axis)
    k = np.array([[0, -axis[2], axis[1]], [axis[2], 0, -axis[0]], [-axis[1], axis[0], 0]])
    return np.eye(3) + math.sin(angle) * k + (1 - math.cos(angle)) * (k @ k)


def random_rotation(rng: np.random.Generator, config: IMRNetConfig) -> np.ndarray:
    """(3, 3): a rotation about the up axis by +-rot_up_deg, then a tilt by +-rot_tilt_deg about a random horizontal axis."""
    up = np.eye(3)[config.up_axis]
    r = _rotation(up, math.radians(rng.uniform(-config.rot_up_deg, config.rot_up_deg)))
    if config.rot_tilt_deg > 0:
        horizontal = np.cross(up, rng.normal(size=3))
        if np.linalg.norm(horizontal) > 1e-9:
            r = _rotation(horizontal, math.radians(rng.uniform(-config.rot_tilt_deg, config.rot_tilt_deg))) @ r
    return r


def _nearest(query: torch.Tensor, ref: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance (S,) and index (S,) of the nearest ``ref`` (R, 3) point to each ``query`` (S, 3) point.

    On the CPU a k-d tree: scoring asks this for 10-30K query points against a few thousand
    reference points, where the dense distance matrix of :func:`pointops.knn` (same result up
    to ties) was measured 20x slower. On CUDA the dense version is the fast one.
    """
    if query.device.type == "cpu":
        d, i = cKDTree(ref.numpy()).query(query.numpy(), k=1)
        return torch.from_numpy(d.astype(np.float32)), torch.from_numpy(i.astype(np.int64))
    d2, i = knn(query.unsqueeze(0), ref.unsqueeze(0), 1)
    return d2[0, :, 0].sqrt(), i[0, :, 0]


@torch.no_grad()
def spread_to_points(values: torch.Tensor, member: torch.Tensor, xyz: torch.Tensor, full: torch.Tensor) -> np.ndarray:
    """Values given per patch point (G, K, L) -> per input point (N, L) float32 numpy.

    ``member`` (G, K) indexes the down-sampled points ``xyz`` (M, 3); ``full`` (N, 3) are the
    input points. A down-sampled point takes the mean over the patches that contain it (one in
    no patch: its nearest covered point's values), every input point its nearest down-sampled
    point's.
    """
    M, L = xyz.shape[0], values.shape[-1]
    flat = member.reshape(-1)
    count = torch.zeros(M, device=xyz.device).index_add_(0, flat, torch.ones_like(flat, dtype=torch.float32))
    total = torch.zeros(M, L, device=xyz.device).index_add_(0, flat, values.reshape(-1, L).float())
    sampled = total / count.clamp_min(1)[:, None]
    covered = count > 0
    if not bool(covered.all()):
        _, nearest = _nearest(xyz[~covered], xyz[covered])
        sampled[~covered] = sampled[covered][nearest]
    _, nearest_sampled = _nearest(full, xyz)
    return sampled[nearest_sampled].cpu().numpy()


@dataclass
class PatchFeatures:
    """One cloud's IMRNet patches: encoder ``features`` (G, C), ``member`` (G, K) indices into the
    down-sampled points ``xyz`` (M, 3), and the normalised input points ``full`` (N, 3)."""

    features: np.ndarray
    member: torch.Tensor
    xyz: torch.Tensor
    full: torch.Tensor


# ----------------------------------------------------------------------------- the network

class MiniPointNet(nn.Module):
    """Patch embedding (Point-MAE's two-stage PointNet): (B, G, K, 3) -> (B, G, C).

    Stage 1 embeds each point, stage 2 sees each point beside its patch's max-pooled feature,
    a final max-pool makes the token invariant to the order of the K points. LayerNorm rather
    than BatchNorm: batches of a few clouds would make batch statistics noisy and train/eval
    behaviour different.
    """

    def __init__(self, width: int, hidden: int = 32):
        super().__init__()
        self.first = nn.Sequential(nn.Linear(3, hidden), nn.LayerNorm(hidden), nn.GELU(), nn.Linear(hidden, 2 * hidden))
        self.second = nn.Sequential(nn.Linear(4 * hidden, 4 * hidden), nn.LayerNorm(4 * hidden), nn.GELU(),
                                    nn.Linear(4 * hidden, width))

    def forward(self, patches: torch.Tensor) -> torch.Tensor:
        f = self.first(patches)                                          # (B, G, K, 2h)
        pooled = f.max(dim=2, keepdim=True).values.expand_as(f)
        f = self.second(torch.cat([pooled, f], dim=-1))                  # (B, G, K, C)
        return f.max(dim=2).values                                       # (B, G, C)


class Block(nn.Module):
    """Pre-norm Transformer block: x + MHSA(LN(x)), then x + MLP(LN(x)); (B, L, C) -> (B, L, C)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.norm2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(width, hidden), nn.GELU(), nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.norm1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Stack(nn.Module):
    """Blocks with the positional embedding added before each (as Point-MAE does)."""

    def __init__(self, width: int, depth: int, heads: int, mlp_ratio: float):
        super().__init__()
        self.blocks = nn.ModuleList(Block(width, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor, pos: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x + pos)
        return self.norm(x)


class MaskedPointAutoencoder(nn.Module):
    """Point-MAE-style masked patch autoencoder.

    ``forward(patches (B, G, K, 3), centres (B, G, 3), mask (B, G) bool with the same number
    n of True per row)`` -> predicted masked patches (B, n, K, 3), relative to their centres,
    in the order of the masked indices.
    """

    def __init__(self, c: IMRNetConfig):
        super().__init__()
        self.group_size = c.group_size
        self.embed = MiniPointNet(c.width, c.embed_hidden)
        self.pos = nn.Sequential(nn.Linear(3, 128), nn.GELU(), nn.Linear(128, c.width))
        self.encoder = Stack(c.width, c.depth, c.heads, c.mlp_ratio)
        self.decoder = Stack(c.width, c.decoder_depth, c.heads, c.mlp_ratio)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, c.width))
        self.head = nn.Linear(c.width, 3 * c.group_size)
        nn.init.trunc_normal_(self.mask_token, std=0.02)
        self.apply(self._init)

    @staticmethod
    def _init(m: nn.Module) -> None:
        if isinstance(m, nn.Linear):
            nn.init.trunc_normal_(m.weight, std=0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)

    def encode(self, patches: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """Encoder features of all patches, none masked: (B, G, K, 3), (B, G, 3) -> (B, G, C)."""
        return self.encoder(self.embed(patches), self.pos(centres))

    def forward(self, patches: torch.Tensor, centres: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, G, K, _ = patches.shape
        n = int(mask[0].sum())
        tokens = self.embed(patches[~mask].view(B, G - n, K, 3))        # embed only what is visible
        pos = self.pos(centres)                                          # (B, G, C)
        C = pos.shape[-1]
        pos_vis, pos_mask = pos[~mask].view(B, G - n, C), pos[mask].view(B, n, C)
        x = self.encoder(tokens, pos_vis)
        x = torch.cat([x, self.mask_token.expand(B, n, C)], dim=1)
        y = self.decoder(x, torch.cat([pos_vis, pos_mask], dim=1))[:, -n:]
        return self.head(y).view(B, n, K, 3)


# ----------------------------------------------------------------------------- the detector

@contextmanager
def _torch_settings(threads: int, deterministic: bool):
    """Set intra-op threads and deterministic algorithms for a block, then restore them."""
    threads_before = torch.get_num_threads()
    det_before = torch.are_deterministic_algorithms_enabled()
    torch.set_num_threads(max(1, threads))
    if deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        yield
    finally:
        torch.set_num_threads(threads_before)
        torch.use_deterministic_algorithms(det_before)


@register
class IMRNet(Detector):
    """IMRNet detector (see the module docstring). ``fit`` on normal clouds, ``score`` any cloud."""

    name = "imrnet"
    config_class = IMRNetConfig

    def __init__(self, config: IMRNetConfig | dict | None = None):
        super().__init__(config)
        self.device = resolve_device(self.config.device)
        self.model: MaskedPointAutoencoder | None = None
        self.stats: dict[str, float] = {}
        self.reference: dict[str, np.ndarray] | None = None   # training points and their raw levels
        self._tree: cKDTree | None = None
        self.seed = 0

    # ------------------------------------------------------------------ preparation
    def _prepare(self, cloud: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised cloud (N, 3) float32, its surface variation (N,) and local PCA normals (N, 3)."""
        pts, _, _ = normalise(cloud)
        variation, normals = local_pca(pts, self.config.gps_k)
        return pts, variation, normals

    def _gps(self, pts: np.ndarray, var: np.ndarray, start: int = 0) -> np.ndarray:
        """GPS indices (M,) of one prepared cloud, deterministic for a given ``start``.

        A cloud of at most M points keeps all of them, repeated cyclically up to M so that every
        tensor keeps its configured shape.
        """
        c = self.config
        n = len(pts)
        if n <= c.num_points:
            # too small a cloud: keep everything and repeat points to reach M (keeps shapes fixed)
            return np.resize(np.arange(n), c.num_points)
        xyz = torch.from_numpy(pts).to(self.device).unsqueeze(0)
        v = torch.from_numpy(var).to(self.device).unsqueeze(0)
        return gps_indices(xyz, v, c.num_points, c.gps_beta, c.gps_c, start=start)[0].cpu().numpy()

    def _patches(self, xyz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """FPS centres and kNN patches of down-sampled clouds (B, M, 3) -> patches (B, G, K, 3), centres (B, G, 3), idx (B, G, K)."""
        centre_idx = farthest_point_sample(xyz, self.config.num_groups)
        centres = torch.gather(xyz, 1, centre_idx.unsqueeze(-1).expand(-1, -1, 3))
        patches, idx = group(xyz, centres, self.config.group_size)
        return patches, centres, idx

    # ------------------------------------------------------------------ training
    def _pool(self, prepared: list[tuple[np.ndarray, np.ndarray, np.ndarray]], copies: int,
              rng: np.random.Generator) -> list[list[np.ndarray]]:
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

    def _augment(self, pts: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        c = self.config
        out = pts @ random_rotation(rng, c).T
        if c.jitter_sigma > 0:
            out = out + np.clip(rng.normal(0.0, c.jitter_sigma, out.shape), -c.jitter_clip, c.jitter_clip)
        return out.astype(np.float32)

    def _loss(self, xyz: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        """Masked-reconstruction Chamfer-L2 of a batch of down-sampled clouds (B, M, 3)."""
        c = self.config
        patches, centres, _ = self._patches(xyz)
        B, G = centres.shape[:2]
        n_mask = max(1, min(G - 1, int(round(c.mask_ratio * G))))
        order = torch.rand(B, G, generator=generator).argsort(dim=1)
        mask = torch.zeros(B, G, dtype=torch.bool)
        mask.scatter_(1, order[:, :n_mask], True)
        mask = mask.to(xyz.device)
        pred = self.model(patches, centres, mask)                                  # (B, n, K, 3)
        target = patches[mask].view(B, n_mask, c.group_size, 3)
        return chamfer_l2(pred.reshape(-1, c.group_size, 3), target.reshape(-1, c.group_size, 3))

    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0, progress: bool = False) -> "IMRNet":
        """Train on normal clouds (each (N_i, 3)), then measure the score statistics on them.

        Deterministic for a fixed ``seed`` on the CPU: torch's seed for the weights, a numpy
        Generator for sampling and augmentation, a torch Generator for masks.
        """
        c = self.config
        if not clouds:
            raise ValueError("fit needs at least one normal cloud")
        self.seed = int(seed)
        t0 = time.perf_counter()
        with _torch_settings(c.threads, c.deterministic):
            torch.manual_seed(seed)
            rng = np.random.default_rng(seed)
            val_rng = np.random.default_rng([seed, 1])          # separate stream: val set independent of steps
            generator = torch.Generator().manual_seed(seed)
            self.model = MaskedPointAutoencoder(c).to(self.device)

            prepared = [self._prepare(cloud) for cloud in clouds]
            pools = self._pool(prepared, c.pool_size, rng)
            val_clouds = [self._augment(p, val_rng) for pool in self._pool(prepared, c.val_copies, val_rng) for p in pool]
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
                    batch.append(self._augment(pools[i][rng.integers(len(pools[i]))], rng))
                xyz = torch.from_numpy(np.stack(batch)).to(self.device)
                loss = self._loss(xyz, generator)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                if c.grad_clip > 0:
                    nn.utils.clip_grad_norm_(self.model.parameters(), c.grad_clip)
                opt.step()
                sched.step()
                running.append(float(loss.detach()))
                if (step + 1) % c.eval_every == 0 or step + 1 == c.steps:
                    val = self._val_loss(val_clouds, seed)
                    history["step"].append(step + 1)
                    history["train_loss"].append(float(np.mean(running)))
                    history["val_loss"].append(val)
                    running = []
                    if progress:
                        print(f"  step {step + 1}/{c.steps}  train {history['train_loss'][-1]:.3e}  val {val:.3e}"
                              f"  ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
            t_train = time.perf_counter() - t0 - t_prep

            self._calibrate(prepared, rng)
        self.info = {
            "history": history,
            "seed": self.seed,
            "n_clouds": len(clouds),
            "n_points": [int(len(cl)) for cl in clouds],
            "seconds": {"prepare": t_prep, "train": t_train, "stats": time.perf_counter() - t0 - t_prep - t_train,
                        "total": time.perf_counter() - t0},
            "stats": dict(self.stats),
            "parameters": int(sum(p.numel() for p in self.model.parameters())),
        }
        return self

    @torch.no_grad()
    def _calibrate(self, prepared: list[tuple[np.ndarray, np.ndarray, np.ndarray]], rng: np.random.Generator) -> None:
        """Score statistics on the training clouds, with the test-time procedure itself.

        Global: mean and std of each raw level over all training points. Local (when
        ``baseline_k`` > 0 and there are at least 2 clouds): the raw levels of up to
        ``reference_points`` training points are kept as a reference map; at test time a point's
        expected normal level is the mean over its ``baseline_k`` nearest reference points, and
        the std of (level - expected) is measured leave-one-cloud-out, i.e. as for a normal
        cloud the reference has not seen. This removes places where reconstruction is always
        harder (sharp edges, rims, thin parts) that would otherwise top every normal cloud's
        score map. It assumes test clouds share the training clouds' pose, as generated
        datasets and Anomaly-ShapeNet do.
        """
        c = self.config
        self.model.eval()
        levels = [np.stack(self._levels(*p), axis=1) for p in prepared]               # [(N_i, 2)]
        raw = np.concatenate(levels)
        self.stats = {"point_mean": float(raw[:, 0].mean()), "point_std": float(raw[:, 0].std()) or 1.0,
                      "feature_mean": float(raw[:, 1].mean()), "feature_std": float(raw[:, 1].std()) or 1.0}
        self.reference = None
        if c.baseline_k <= 0 or len(prepared) < 2:
            return
        per_cloud = max(c.baseline_k, c.reference_points // len(prepared))
        picks = [rng.choice(len(p[0]), min(per_cloud, len(p[0])), replace=False) for p in prepared]
        ref_pts = [p[0][i] for p, i in zip(prepared, picks)]
        ref_lv = [lv[i] for lv, i in zip(levels, picks)]
        residuals = []
        for j, (pts, _, _) in enumerate(prepared):                                    # leave cloud j out
            others = [k for k in range(len(prepared)) if k != j]
            tree = cKDTree(np.concatenate([ref_pts[k] for k in others]))
            _, nbr = tree.query(pts, k=min(c.baseline_k, tree.n))
            residuals.append(levels[j] - np.concatenate([ref_lv[k] for k in others])[nbr.reshape(len(pts), -1)].mean(1))
        res = np.concatenate(residuals)
        self.stats.update({"point_residual_std": float(res[:, 0].std()) or 1.0,
                           "feature_residual_std": float(res[:, 1].std()) or 1.0})
        self.reference = {"points": np.concatenate(ref_pts).astype(np.float32),
                          "levels": np.concatenate(ref_lv).astype(np.float32)}
        self._tree = None

    def _fuse(self, point: np.ndarray, feature: np.ndarray, pts: np.ndarray) -> np.ndarray:
        """Fused (N,) float32 score from the raw levels of the prepared points ``pts`` (N, 3)."""
        c, s = self.config, self.stats
        if self.reference is None:
            zp = (point - s["point_mean"]) / s["point_std"]
            zf = (feature - s["feature_mean"]) / s["feature_std"]
        else:
            if self._tree is None:
                self._tree = cKDTree(self.reference["points"])
            _, nbr = self._tree.query(pts, k=min(c.baseline_k, self._tree.n))
            expected = self.reference["levels"][nbr.reshape(len(pts), -1)].mean(1)     # (N, 2)
            zp = (point - expected[:, 0]) / s["point_residual_std"]
            zf = (feature - expected[:, 1]) / s["feature_residual_std"]
        return (c.point_weight * zp + c.feature_weight * zf).astype(np.float32)

    @torch.no_grad()
    def _val_loss(self, val_clouds: list[np.ndarray], seed: int) -> float:
        """Mean masked-reconstruction loss on the fixed validation copies with fixed masks."""
        self.model.eval()
        generator = torch.Generator().manual_seed(seed + 12345)
        xyz = torch.from_numpy(np.stack(val_clouds)).to(self.device)
        losses = [float(self._loss(xyz[i:i + self.config.batch_size], generator))
                  for i in range(0, len(xyz), self.config.batch_size)]
        return float(np.mean(losses))

    # ------------------------------------------------------------------ scoring
    def _mask_sets(self) -> torch.Tensor:
        """(S, G) bool: S = ceil(1 / mask_ratio) disjoint masks covering every patch once (patch i in set i % S)."""
        G = self.config.num_groups
        S = max(2, math.ceil(1.0 / self.config.mask_ratio))
        sets = torch.zeros(S, G, dtype=torch.bool)
        sets[torch.arange(G) % S, torch.arange(G)] = True
        return sets.to(self.device)

    @torch.no_grad()
    def reconstruct(self, patches: torch.Tensor, centres: torch.Tensor) -> torch.Tensor:
        """Iterative mask reconstruction of one cloud's patches (G, K, 3), centres (G, 3) -> (G, K, 3).

        Every pass reconstructs each mask set from the remaining patches (all sets in one
        batch); the result is the next pass's input, ``iterations`` times.
        """
        sets = self._mask_sets()
        S, G = sets.shape
        current = patches
        for _ in range(self.config.iterations):
            out = torch.empty_like(current)
            # sets may differ in size by one when S does not divide G: run each size as its own batch
            for n in sorted({int(v) for v in sets.sum(1)}):
                chosen = sets[sets.sum(1) == n]                          # (s, G)
                s = chosen.shape[0]
                pred = self.model(current.expand(s, -1, -1, -1), centres.expand(s, -1, -1), chosen)
                for j in range(s):
                    out[chosen[j]] = pred[j]
            current = out
        return current

    @torch.no_grad()
    def _levels(self, pts: np.ndarray, var: np.ndarray, normals: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw point-level and feature-level scores (N,), (N,) of one prepared cloud (N, 3).

        Point level, ``point_metric="plane"`` (default): the offset from a patch point to the
        nearest reconstructed point of its patch, measured along the point's own surface normal
        (local PCA), plus ``tangent_weight`` times its in-plane part. A plain point-to-point
        distance ("point") has a floor of about half the reconstruction's point spacing even
        for a perfect reconstruction, because the input and the reconstruction sample the
        same surface at different places; the normal component is what an anomaly changes.

        Both levels are first computed per patch point, averaged over the patches that contain
        each down-sampled point, then given to every input point from its nearest down-sampled
        point. Comparing each input patch with ITS OWN reconstruction (rather than every input
        point with the union of all reconstructions) matters: FPS + kNN patches leave small
        holes between patches, and a global nearest-reconstruction distance lights those holes
        up on perfectly normal clouds.
        """
        c = self.config
        idx = self._gps(pts, var, start=0)
        full = torch.from_numpy(pts).to(self.device).unsqueeze(0)                   # (1, N, 3)
        xyz = full[:, torch.from_numpy(idx).to(self.device)]                        # (1, M, 3)
        patches, centres, member = self._patches(xyz)                               # (1,G,K,3), (1,G,3), (1,G,K)
        recon = self.reconstruct(patches[0], centres[0])                            # (G, K, 3)

        # point level: each input patch point's distance to the nearest point of its patch's reconstruction
        d2 = square_distance(patches[0], recon)                                     # (G, K, K)
        if c.point_metric == "point":
            point_in_patch = d2.min(dim=2).values.sqrt()                            # (G, K)
        else:
            nearest = torch.gather(recon, 1, d2.argmin(dim=2).unsqueeze(-1).expand(-1, -1, 3))
            offset = patches[0] - nearest                                           # (G, K, 3)
            n = torch.from_numpy(normals).to(self.device)[torch.from_numpy(idx).to(self.device)][member[0]]
            along = (offset * n).sum(-1).abs()
            across = (offset.pow(2).sum(-1) - along.pow(2)).clamp_min(0).sqrt()
            point_in_patch = along + c.tangent_weight * across

        # feature level: encoder features (nothing masked) of input vs reconstructed patches
        f_in = self.model.encode(patches, centres)
        f_rec = self.model.encode(recon.unsqueeze(0), centres)
        patch_score = (f_in - f_rec).norm(dim=-1)[0]                                # (G,) L2, not squared: lighter tails

        per_patch_point = torch.stack([point_in_patch, patch_score[:, None].expand_as(point_in_patch)], dim=-1)
        out = spread_to_points(per_patch_point, member[0], xyz[0], full[0])        # (N, 2)
        return out[:, 0].copy(), out[:, 1].copy()

    @torch.no_grad()
    def patch_features(self, cloud: np.ndarray, start: int = 0) -> PatchFeatures:
        """Encoder features (nothing masked) of one cloud's patches, for feature-bank detectors.

        ``start`` picks the GPS start point: different starts give different samplings of the
        same surface (used to enlarge a memory bank of few training clouds).
        """
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        with _torch_settings(self.config.threads, False):
            self.model.eval()
            pts, var, _ = self._prepare(cloud)
            full = torch.from_numpy(pts).to(self.device)
            xyz = full[torch.from_numpy(self._gps(pts, var, start=start)).to(self.device)]
            patches, centres, member = self._patches(xyz.unsqueeze(0))
            features = self.model.encode(patches, centres)[0]
        return PatchFeatures(features.cpu().numpy(), member[0], xyz, full)

    def score(self, cloud: np.ndarray) -> tuple[float, np.ndarray]:
        """(object score, (N,) float32 fused point scores) of one cloud (N, 3), in its point order."""
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        c = self.config
        with _torch_settings(c.threads, False):
            self.model.eval()
            prepared = self._prepare(cloud)
            point, feature = self._levels(*prepared)
        fused = self._fuse(point, feature, prepared[0])
        top = max(1, int(math.ceil(c.top_fraction * len(fused))))
        obj = float(np.sort(fused)[-top:].mean())
        return obj, fused

    # ------------------------------------------------------------------ persistence
    def state_dict(self) -> dict:
        if self.model is None:
            raise RuntimeError("IMRNet is not fitted")
        reference = None if self.reference is None else {k: torch.from_numpy(v) for k, v in self.reference.items()}
        return {"model": {k: v.detach().cpu() for k, v in self.model.state_dict().items()},
                "stats": dict(self.stats), "seed": self.seed, "reference": reference}

    def load_state_dict(self, state: dict) -> None:
        self.model = MaskedPointAutoencoder(self.config).to(self.device)
        self.model.load_state_dict(state["model"])
        self.model.eval()
        self.stats = {k: float(v) for k, v in state["stats"].items()}
        self.seed = int(state.get("seed", 0))
        reference = state.get("reference")
        self.reference = None if reference is None else {k: v.numpy() for k, v in reference.items()}
        self._tree = None
