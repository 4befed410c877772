"""The recipe's optional ``sensor:`` section -> :class:`SensorSpec` (validated, typed).

Per split (``train``, ``test``) a block of three parts; a split without a block (or a recipe
without the section) gets complete, noise-free clouds in the canonical pose, as before::

    sensor:
      test:
        pose: {rotation: up, up_degrees: 180, translation: 0.05}
        scan: {placement: single, distance: 3.0, elevation: 30, grazing_angle: 80}
        noise: {range_std: 0.002, outliers: 0.005, quantisation: 0.0005}

The keys, bounds and defaults are documented in :mod:`anomalygen.recipe` (defaults in its
``DEFAULTS["sensor"]``). Imports nothing of anomalygen but :mod:`anomalygen.checks`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from anomalygen.checks import Checker, join_key

SPLITS = ("train", "test")
ROTATIONS = ("none", "up", "any")
PLACEMENTS = ("single", "ring", "sphere")
PARTS = ("pose", "scan", "noise")


@dataclass(frozen=True)
class PoseSpec:
    rotation: str                  # "none" | "up" (about +z, within +-up_degrees) | "any" (uniform)
    up_degrees: float              # degrees, rotation "up" only
    translation: float             # each coordinate shifted uniformly within +-translation, unit-sphere units


@dataclass(frozen=True)
class ScanSpec:
    placement: str                 # "single" | "ring" (turntable) | "sphere"
    viewpoints: int                # how many (1 for single)
    distance: float                # viewpoint to the object's centre, unit-sphere units
    elevation: float               # degrees above the horizontal plane (single, ring)
    oversample: int                # candidate surface points per point of points.count
    grazing_angle: float           # degrees: no return where the incidence angle is larger


@dataclass(frozen=True)
class NoiseSpec:
    range_std: float               # Gaussian noise along the view ray, unit-sphere units
    outliers: float                # outlier points added, as a fraction of the scanned points
    quantisation: float            # coordinate grid step, unit-sphere units (0: none)


@dataclass(frozen=True)
class SplitSensor:
    pose: PoseSpec
    scan: ScanSpec | None          # None: the whole surface, area-uniformly (no scanner)
    noise: NoiseSpec


@dataclass(frozen=True)
class SensorSpec:
    train: SplitSensor | None
    test: SplitSensor | None

    def for_split(self, split: str) -> SplitSensor | None:
        return getattr(self, split)


def sensor_from_mapping(check: Checker, data: object, defaults: Mapping) -> SensorSpec | None:
    """The ``sensor`` section (``defaults``: the per-split block's defaults, part -> key -> value)."""
    if data is None:
        return None
    d = check.mapping("sensor", data, SPLITS)
    return SensorSpec(*(_split(check, f"sensor.{split}", d.get(split), defaults) for split in SPLITS))


def _split(check: Checker, key: str, data: object, defaults: Mapping) -> SplitSensor | None:
    if data is None:
        return None
    d = check.mapping(key, data, PARTS)

    def part(name: str) -> dict:
        return {**defaults[name], **check.mapping(join_key(key, name), d.get(name), tuple(defaults[name]))}

    pose, noise = part("pose"), part("noise")
    return SplitSensor(
        PoseSpec(check.choice(f"{key}.pose.rotation", pose["rotation"], ROTATIONS),
                 check.number(f"{key}.pose.up_degrees", pose["up_degrees"], 0, 180),
                 check.number(f"{key}.pose.translation", pose["translation"], 0, 0.2)),
        None if d.get("scan") is None else _scan(check, f"{key}.scan", part("scan")),
        NoiseSpec(check.number(f"{key}.noise.range_std", noise["range_std"], 0, 0.05),
                  check.number(f"{key}.noise.outliers", noise["outliers"], 0, 0.2),
                  check.number(f"{key}.noise.quantisation", noise["quantisation"], 0, 0.01)),
    )


def _scan(check: Checker, key: str, s: dict) -> ScanSpec:
    placement = check.choice(f"{key}.placement", s["placement"], PLACEMENTS)
    if placement == "single":
        viewpoints = check.integer(f"{key}.viewpoints", s["viewpoints"], 1, 1,
                                   expected="1 (placement single has one viewpoint)")
    else:
        viewpoints = check.integer(f"{key}.viewpoints", s["viewpoints"], 1, 64)
    return ScanSpec(placement, viewpoints,
                    check.number(f"{key}.distance", s["distance"], 2, 20),
                    check.number(f"{key}.elevation", s["elevation"], -90, 90),
                    check.integer(f"{key}.oversample", s["oversample"], 1, 16),
                    check.number(f"{key}.grazing_angle", s["grazing_angle"], 10, 89))
