"""Fine-tuning from a pretrained IMRNet: find the checkpoint ``init`` names and check that it fits."""

from __future__ import annotations

import json
from pathlib import Path

from anomalygen.detect.base import read_checkpoint
from anomalygen.detect.imrnet.config import ARCHITECTURE, IMRNetConfig

__all__ = ["pretrained_weights"]


def pretrained_weights(config: IMRNetConfig) -> dict:
    """The network weights of the checkpoint ``config.init`` names, after checking it fits ``config``.

    ``init`` is a checkpoint file or a run folder of one shared model (what ``anomalygen
    pretrain`` writes). Raises ``ValueError`` naming the path and, for a mismatch, the
    architecture key that differs.
    """
    path = Path(config.init)
    if path.is_dir():
        run = path / "run.json"
        if not run.is_file():
            raise ValueError(f"init: {path} is a folder without run.json")
        models = json.loads(run.read_text())["models"]
        if len(models) != 1:
            raise ValueError(f"init: {path} holds {len(models)} models; give one checkpoint file")
        path = path / next(iter(models.values()))
    if not path.is_file():
        raise ValueError(f"init: {path}: no such checkpoint")
    payload = read_checkpoint(path)
    if payload["method"] != "imrnet":
        raise ValueError(f"init: {path} is a {payload['method']!r} checkpoint, not imrnet")
    for key in ARCHITECTURE:
        if payload["config"].get(key) != getattr(config, key):
            raise ValueError(f"init: {path} has {key} {payload['config'].get(key)!r}, the config asks for "
                             f"{getattr(config, key)!r}")
    return payload["state"]["model"]
