"""Downstream anomaly detectors, fed only through :func:`anomalygen.shards.open_dataset`.

- :mod:`~anomalygen.detect.pointops`: FPS, kNN, grouping, Chamfer distance in plain torch.
- :mod:`~anomalygen.detect.gps`: Geometry-aware Point-cloud Sampling.
- :mod:`~anomalygen.detect.geometry`: normalisation, random poses, nearest points, spreading patch values to points.
- :mod:`~anomalygen.detect.base`: the shared detector interface; methods register here.
- :mod:`~anomalygen.detect.registry`: methods by name (look up, create, load a checkpoint).
- :mod:`~anomalygen.detect.imrnet`: IMRNet package (config, model, anomaly map, detector).
- :mod:`~anomalygen.detect.baselines`: BTF (Raw, FPFH) and PatchCore (FPFH, IMRNet features).
- :mod:`~anomalygen.detect.train`: ``train_detector`` / ``score_run`` over a generated dataset.
- :mod:`~anomalygen.detect.metrics`, :mod:`~anomalygen.detect.evaluate`: metric functions, per-class evaluation.
- :mod:`~anomalygen.detect.benchmark`: every method on every class, paper-style tables.

Attributes are imported lazily, so ``import anomalygen.detect`` does not import torch.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Detector": "base", "register": "base", "available_methods": "registry", "create_detector": "registry",
    "load_detector": "registry", "detector_class": "registry",
    "IMRNet": "imrnet", "IMRNetConfig": "imrnet",
    "train_detector": "train", "score_run": "train", "read_scores": "train", "SampleScores": "train",
    "run_benchmark": "benchmark",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"anomalygen.detect.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'anomalygen.detect' has no attribute {name!r}")
