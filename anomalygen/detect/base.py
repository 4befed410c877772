"""The one detector interface that IMRNet and the baselines share, and :func:`register`.

Methods register their class here when their module is imported; this module imports none of
them (:mod:`anomalygen.detect.registry` finds the built-in ones). scikit-learn style::

    det = create_detector("imrnet", {"steps": 300})
    det.fit([cloud0, cloud1, ...])           # normal (N_i, 3) float arrays only
    obj, per_point = det.score(test_cloud)   # float, (N,) float32 in the cloud's point order
    det.save("model.pt", data_digest="...")
    det = load_detector("model.pt")          # or IMRNet.load(...)

A checkpoint is one ``torch.save`` file holding plain data only (tensors, numbers, strings,
lists, dicts), so it loads with ``torch.load(weights_only=True)``::

    {"format_version": 1, "method": "imrnet", "config": {...every config field...},
     "state": {...method state, e.g. the model's state_dict...},
     "align": {"template": (T, 3), "centre": (3,), "scale", "seed"} with ``align: template``, else {},
     "data_digest": "<sha256 given by the caller>" or None, "info": {...history, timings...}}
"""

from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Any, Callable, ClassVar, Sequence

import numpy as np

from anomalygen.detect.align import TemplateAligner
from anomalygen.storage.atomic import atomic_path

__all__ = [
    "Detector",
    "register",
    "registered",
    "read_checkpoint",
    "read_config",
    "config_from_dict",
    "stored_config",
    "CHECKPOINT_VERSION",
]

CHECKPOINT_VERSION = 1
_REGISTRY: dict[str, type["Detector"]] = {}


def config_from_dict(config_class: type, values: dict | None) -> Any:
    """Build ``config_class`` from a (possibly partial) dict; unknown keys are an error."""
    values = dict(values or {})
    names = {f.name for f in dataclasses.fields(config_class)}
    unknown = sorted(set(values) - names)
    if unknown:
        raise ValueError(f"{config_class.__name__}: unknown option(s) {unknown}; known: {sorted(names)}")
    return config_class(**values)


def stored_config(config_class: type, values: dict) -> Any:
    """``config_class`` from a stored record (a checkpoint's or a run's config): an option the
    record lacks because it was added later takes the value that reproduces what the record's
    detector did (the class's ``BEFORE``, where it lists the option), else its default."""
    before = {k: v for k, v in getattr(config_class, "BEFORE", {}).items() if k not in values}
    return config_from_dict(config_class, {**before, **values})


class Detector(ABC):
    """Base class: a point-cloud anomaly detector fitted on normal clouds only.

    Subclasses set ``name`` and ``config_class`` (a dataclass), implement :meth:`fit`,
    :meth:`score`, :meth:`state_dict` and :meth:`load_state_dict`, and are registered with
    :func:`register`. ``label`` is the name tables show (default: ``name``); ``encoder_from``
    names the method whose trained model of the same class can serve as this one's ``encoder``
    config (a benchmark then trains that method first and hands its model on). ``aligner``
    (:mod:`anomalygen.detect.align`) is the config's ``align`` step: ``fit`` calls
    ``self.aligner.fit(clouds, seed)`` and every cloud is normalised by ``self.aligner.normalise``.
    """

    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    encoder_from: ClassVar[str | None] = None
    config_class: ClassVar[type] = object

    def __init__(self, config: Any = None):
        if config is None:
            config = self.config_class()
        elif isinstance(config, dict):
            config = config_from_dict(self.config_class, config)
        self.config = config
        # a config without the key (a detector registered from outside) never aligns
        self.aligner = TemplateAligner(getattr(config, "align", "none"))
        self.info: dict = {}          # history and timings recorded by fit, saved with the model

    @abstractmethod
    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0,
            progress: Callable[[dict], None] | None = None) -> "Detector":
        """Fit on normal clouds only, each (N_i, 3); deterministic for a fixed ``seed``; returns self.

        ``progress``, if given, receives a dict of the method's progress (e.g. step and losses);
        library code reports through it and never prints.
        """

    @abstractmethod
    def score(self, cloud: np.ndarray) -> tuple[float, np.ndarray]:
        """(object score, (N,) float32 point scores in the order of ``cloud`` (N, 3)); higher = more anomalous."""

    @abstractmethod
    def state_dict(self) -> dict:
        """Everything fitted, as tensors and plain Python values."""

    @abstractmethod
    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""

    def save(self, path: str | Path, data_digest: str | None = None) -> Path:
        """Write the checkpoint (see the module docstring) to ``path``; returns the path."""
        import torch

        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        payload = {
            "format_version": CHECKPOINT_VERSION,
            "method": self.name,
            "config": dataclasses.asdict(self.config),
            "state": self.state_dict(),
            "align": self.aligner.state(),
            "data_digest": data_digest,
            "info": self.info,
        }
        with atomic_path(path) as tmp:
            torch.save(payload, tmp)
        return path

    @classmethod
    def load(cls, path: str | Path, device: str | None = None) -> "Detector":
        """Load a checkpoint written by :meth:`save` of this class; from :class:`Detector`, of any
        registered method (:func:`anomalygen.detect.registry.load_detector` registers the
        built-in ones first)."""
        payload = read_checkpoint(path)
        target = _REGISTRY.get(payload["method"])
        if cls is not Detector and (target is None or not issubclass(target, cls)):
            raise TypeError(f"{path}: checkpoint of {payload['method']!r}, not {cls.name!r}")
        if target is None:
            raise KeyError(f"{path}: checkpoint of {payload['method']!r}, a detector not registered; "
                           f"registered: {sorted(_REGISTRY)}")
        config = stored_config(target.config_class, payload["config"])
        if device is not None and hasattr(config, "device"):
            config.device = device
        det = target(config)
        det.load_state_dict(payload["state"])
        det.aligner.load_state(payload.get("align") or {})
        det.info = payload.get("info") or {}
        det.data_digest = payload.get("data_digest")
        return det


def read_checkpoint(path: str | Path) -> dict:
    """The raw checkpoint dict; plain data only, so ``weights_only=True`` suffices."""
    import torch

    payload = torch.load(Path(path), map_location="cpu", weights_only=True)
    if payload.get("format_version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path}: checkpoint format {payload.get('format_version')!r}, expected {CHECKPOINT_VERSION}")
    return payload


def register(cls: type[Detector]) -> type[Detector]:
    """Class decorator: make ``cls`` available under ``cls.name``."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _REGISTRY[cls.name] = cls
    return cls


def registered() -> dict[str, type[Detector]]:
    """The methods registered so far, in the order registered: name -> class (a copy)."""
    return dict(_REGISTRY)


def read_config(path: str | Path) -> dict | None:
    """A YAML file of config overrides for one method (``steps: 200``, ...): a dict, or None
    for an empty file. Raises ValueError for anything else."""
    import yaml

    values = yaml.safe_load(Path(path).read_text())
    if values is not None and not isinstance(values, dict):
        raise ValueError(f"{path}: expected a mapping of config keys to values")
    return values
