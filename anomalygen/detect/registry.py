"""Detector methods by name: look up, create and load any registered detector.

Methods register themselves with :func:`anomalygen.detect.base.register` when their module is
imported; the built-in ones (IMRNet, the baselines) are imported here on the first look-up,
so ``import anomalygen.detect.registry`` stays cheap and no detector module imports this one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anomalygen.detect.base import Detector, registered

__all__ = ["available_methods", "registered_methods", "detector_class", "create_detector", "load_detector"]


def _import_builtin() -> None:
    # importing the modules registers their classes: IMRNet first, then the baselines (the table order)
    from anomalygen.detect import imrnet  # noqa: F401, I001
    from anomalygen.detect import baselines  # noqa: F401


def available_methods() -> list[str]:
    """The names of every registered method, built-in ones included, sorted."""
    _import_builtin()
    return sorted(registered())


def registered_methods() -> list[str]:
    """Every method, in the order registered: IMRNet, then the baselines (and any registered later)."""
    _import_builtin()
    return list(registered())


def detector_class(name: str) -> type[Detector]:
    """The class of method ``name``; KeyError naming the available ones."""
    _import_builtin()
    methods = registered()
    try:
        return methods[name]
    except KeyError:
        raise KeyError(f"unknown detector {name!r}; available: {sorted(methods)}") from None


def create_detector(name: str, config: Any = None) -> Detector:
    """A fresh detector of method ``name`` with ``config`` (dataclass, dict of overrides or None)."""
    return detector_class(name)(config)


def load_detector(path: str | Path, device: str | None = None) -> Detector:
    """Load any registered detector's checkpoint (see :meth:`Detector.load`)."""
    _import_builtin()
    return Detector.load(path, device=device)
