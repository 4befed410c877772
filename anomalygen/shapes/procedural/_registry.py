"""What a procedural object kind is, and how a variant number becomes parameters.

A :class:`Kind` couples a builder (parameters -> solid) with hand-tuned presets for the
canonical Anomaly-ShapeNet variants (``vase3`` is preset 3 of ``vase``) and a sampler that
derives parameters for every other variant from a generator seeded by (kind, variant).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable, Generic, Mapping, TypeVar

import numpy as np
from manifold3d import Manifold

P = TypeVar("P")


def variant_rng(kind: str, variant: int) -> np.random.Generator:
    """Generator seeded from a stable hash of (kind, variant).

    SHA-256 rather than Python's ``hash()``, which is salted per process for strings.
    """
    digest = hashlib.sha256(f"anomalygen.procedural/{kind}/{variant}".encode()).digest()
    return np.random.default_rng(np.random.SeedSequence(int.from_bytes(digest[:16], "little")))


@dataclass(frozen=True)
class Kind(Generic[P]):
    """One object kind.

    name:    the kind's name, e.g. ``"vase"``.
    make:    parameters -> solid (manifold3d), +Z up, about one unit in size.
    presets: variant -> hand-tuned parameters (the canonical classes of the benchmark).
    sample:  generator -> parameters, for variants without a preset; it is only ever called
             with :func:`variant_rng` of (name, variant), so it must use nothing else random.
    """

    name: str
    make: Callable[[P], Manifold]
    presets: Mapping[int, P]
    sample: Callable[[np.random.Generator], P]

    def params(self, variant: int) -> P:
        """The parameters of ``variant`` (a preset, else sampled deterministically)."""
        if variant in self.presets:
            return self.presets[variant]
        return self.sample(variant_rng(self.name, variant))

    def build(self, variant: int) -> Manifold:
        """The solid of ``variant``."""
        return self.make(self.params(variant))


def pick_preset(presets: Mapping[int, P], rng: np.random.Generator) -> P:
    """One of ``presets`` chosen with ``rng`` (in sorted key order, so stable)."""
    keys = sorted(presets)
    return presets[keys[int(rng.integers(len(keys)))]]


def jitter(rng: np.random.Generator, value: float, spread: float) -> float:
    """``value`` scaled by a factor drawn uniformly from [1 - spread, 1 + spread]."""
    return float(value * rng.uniform(1.0 - spread, 1.0 + spread))
