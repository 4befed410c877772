"""IMRNet's options: one dataclass whose fields carry their bounds, checked on construction.

A bad value raises :class:`ConfigError` (a ``ValueError``) with a one-line message naming the
key, e.g. ``imrnet config: width: got -3, expected an integer in [8, 2048]``; the CLI prints it
and exits with status 2, as for a bad recipe. Lengths are in units of the object's RMS radius.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import ClassVar

from anomalygen.detect.align import ALIGN_CHOICES

__all__ = ["IMRNetConfig", "ConfigError", "ARCHITECTURE"]

# the fields that shape the network's weights: a checkpoint fine-tuned with ``init`` must agree on them
ARCHITECTURE = ("group_size", "width", "depth", "heads", "decoder_depth", "mlp_ratio", "embed_hidden", "context_points")


class ConfigError(ValueError):
    """A config value out of its bounds; ``str(err)`` is one line naming the key."""

    def __init__(self, key: str, value: object, expected: str):
        self.key, self.value, self.expected = key, value, expected
        super().__init__(f"imrnet config: {key}: got {value!r}, expected {expected}")


def _num(default, lo, hi):
    """A numeric field of the default's type, valid in [lo, hi]."""
    return field(default=default, metadata={"range": (lo, hi)})


def _choice(default, *choices):
    return field(default=default, metadata={"choices": choices})


@dataclass
class IMRNetConfig:
    """Every option of IMRNet; the defaults train one class (4 clouds) on a 2-core CPU in about a minute.

    Defaults were chosen on the validation benchmark (``recipes/anomaly_shapenet_val.yaml``);
    the README's IMRNet ablation table lists what was measured. ``BEFORE`` holds, for options
    added after models were first saved, the value that reproduces what a checkpoint or run
    record without them did (see :func:`anomalygen.detect.base.stored_config`).
    """

    BEFORE: ClassVar[dict] = {"object_level": "fused", "smooth_k": 1}

    # sampling and patches
    num_points: int = _num(2048, 16, 1 << 16)        # M: GPS down-sampling size
    num_groups: int = _num(64, 2, 4096)              # G: patches (FPS centres)
    group_size: int = _num(64, 4, 1024)              # K: points per patch
    gps_k: int = _num(16, 4, 256)                    # neighbours of GPS's local PCA (also the normals)
    gps_beta: float = _num(3.0, 0.0, 100.0)          # GPS variation weight (0 = plain FPS)
    gps_c: float = _num(4.0, 0.0, 100.0)             # GPS saturation, in multiples of the median variation
    # model
    width: int = _num(128, 8, 2048)                  # token width C (a multiple of heads)
    depth: int = _num(4, 1, 64)                      # encoder blocks
    heads: int = _num(4, 1, 64)
    decoder_depth: int = _num(2, 1, 64)
    mlp_ratio: float = _num(2.0, 0.25, 16.0)
    embed_hidden: int = _num(32, 4, 1024)            # mini-PointNet width (its layers are hidden, 2x, 4x)
    context_points: int = _num(64, 0, 4096)          # visible points nearest a masked query embedded as its start (0: none)
    mask_ratio: float = _num(0.6, 0.05, 0.95)
    # training
    init: str = ""                                   # a pretrained IMRNet checkpoint (or run folder) to fine-tune; "" = random weights
    steps: int = _num(1200, 1, 10**7)
    batch_size: int = _num(4, 1, 4096)
    lr: float = _num(1e-3, 1e-7, 1.0)
    weight_decay: float = _num(0.05, 0.0, 10.0)
    warmup_steps: int = _num(20, 0, 10**7)
    grad_clip: float = _num(10.0, 0.0, 1e6)          # 0: no clipping
    pool_size: int = _num(8, 1, 1024)                # GPS re-samplings per training cloud
    up_axis: int = _num(2, 0, 2)                     # 0/1/2 = x/y/z; the generator's procedural shapes are z-up
    rot_up_deg: float = _num(10.0, 0.0, 180.0)       # random rotation about the up axis, +-
    rot_tilt_deg: float = _num(3.0, 0.0, 180.0)      # then a tilt about a random horizontal axis, +-
    scale_jitter: float = _num(0.0, 0.0, 0.9)        # random scale in [1 - s, 1 + s]
    shift_jitter: float = _num(0.0, 0.0, 10.0)       # random translation, each axis in [-s, s]
    jitter_sigma: float = _num(0.003, 0.0, 1.0)      # Gaussian point jitter, clipped at jitter_clip
    jitter_clip: float = _num(0.01, 0.0, 1.0)
    query_noise: float = _num(0.1, 0.0, 2.0)         # RMS offset of a masked patch's query from its centre (denoising)
    val_copies: int = _num(2, 1, 1024)               # fixed augmented copies of each training cloud for the val loss
    eval_every: int = _num(50, 1, 10**7)
    threads: int = _num(1, 1, 1024)                  # torch intra-op threads; 1 is fastest on a shared 2-core CPU
    deterministic: bool = True                       # torch.use_deterministic_algorithms during fit
    device: str = "cpu"
    # scoring
    iterations: int = _num(1, 1, 100)                # T: passes, each fed the previous reconstruction
    feedback: str = _choice("centres", "centres", "patches")   # what pass t+1 takes from pass t (see detector.reconstruct)
    point_directions: str = _choice("both", "both", "forward", "backward")   # input->recon, recon->input, or the max
    recon_k: int = _num(8, 1, 256)                   # point level: signed normal offsets averaged over this many reconstructed points
    tangent_weight: float = _num(0.25, 0.0, 1.0)     # forward offset = normal part + this x tangential part
    reference: str = _choice("training", "training", "none")   # each level less what the training clouds show there
    reference_starts: int = _num(3, 1, 64)           # GPS draws per training cloud averaged into that reference
    reference_k: int = _num(16, 1, 256)              # training points averaged at a test point
    point_weight: float = _num(1.0, 0.0, 100.0)      # fusion weights of the two z-scored levels
    feature_weight: float = _num(1.0, 0.0, 100.0)
    smooth_k: int = _num(32, 1, 256)                 # every level's map averaged over each point's k nearest points (1: none)
    top_fraction: float = _num(0.01, 1e-6, 1.0)      # object score = mean of the top 1% of object_level's scores
    object_level: str = _choice("point", "point", "forward", "fused")   # map the object score reads (see detector)
    align: str = _choice("none", *ALIGN_CHOICES)     # "template": register clouds to the first training cloud (detect.align)

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if f.type in ("int", int):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise ConfigError(f.name, value, "an integer")
            elif f.type in ("float", float):
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f.name, value, "a number")
                setattr(self, f.name, float(value))
                value = float(value)
            elif f.type in ("bool", bool) and not isinstance(value, bool):
                raise ConfigError(f.name, value, "true or false")
            elif f.type in ("str", str) and not isinstance(value, str):
                raise ConfigError(f.name, value, "a string")
            if "range" in f.metadata:
                lo, hi = f.metadata["range"]
                if not lo <= value <= hi:
                    kind = "an integer" if f.type in ("int", int) else "a number"
                    raise ConfigError(f.name, value, f"{kind} in [{lo}, {hi}]")
            if "choices" in f.metadata and value not in f.metadata["choices"]:
                raise ConfigError(f.name, value, f"one of {', '.join(f.metadata['choices'])}")
        if self.width % self.heads:
            raise ConfigError("width", self.width, f"a multiple of heads ({self.heads})")
        if self.group_size > self.num_points or self.num_groups > self.num_points:
            raise ConfigError("group_size" if self.group_size > self.num_points else "num_groups",
                              max(self.group_size, self.num_groups), f"at most num_points ({self.num_points})")
