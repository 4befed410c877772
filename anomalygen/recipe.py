"""Recipe YAML -> typed, validated :class:`Recipe`.

Every error names the file, the key path, the offending value and what was expected, and is
raised before any work starts (see :class:`RecipeError`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class RecipeError(ValueError):
    """A recipe that cannot be used. ``str(err)`` is one line:
    ``recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer``."""

    def __init__(self, file: str | Path, key: str, value: object, expected: str):
        self.file, self.key, self.value, self.expected = str(file), key, value, expected
        super().__init__(f"{self.file}: {key}: got {value!r}, expected {expected}")


@dataclass(frozen=True)
class SourceSpec:
    kind: str                      # "procedural" | "shapenet" | "folder"
    root: Path | None              # shapenet/folder root, resolved against the recipe's folder
    remesh_edge: float             # target edge length of isotropic remeshing, unit-sphere units


@dataclass(frozen=True)
class PointsSpec:
    count: tuple[int, int]         # points per sample, drawn uniformly per sample (inclusive)
    label_threshold: float         # a point is anomalous where the edit moved it further than this


@dataclass(frozen=True)
class AnomalySpec:
    ranges: dict[str, dict[str, tuple[float, float]]]   # operator -> parameter -> (low, high)
    per_sample: tuple[int, int]    # anomalies per anomalous sample, drawn uniformly (inclusive)
    fraction: tuple[float, float]  # accepted anomalous-point fraction of an anomalous sample
    max_attempts: int              # fresh draws per sample before it is recorded as failed


@dataclass(frozen=True)
class ClassSpec:
    name: str                      # e.g. "vase3"
    train: int                     # normal training samples
    test: dict[str, int]           # "normal" and operator names -> test sample counts
    kind: str | None = None        # procedural kind ("vase"); derived from the name if omitted
    variant: int | None = None     # procedural variant (3 for "vase3")
    mesh: Path | None = None       # folder source: mesh file, resolved against source.root
    synset: str | None = None      # shapenet source: synset id or taxonomy name
    model: str | None = None       # shapenet source: model id


@dataclass(frozen=True)
class OutputSpec:
    dir: Path                      # relative to the working directory
    shard_size: int                # samples per shard at most
    compression: str               # "gzip" | "lzf" | "none"
    keep_meshes: bool              # also store each edited mesh (PLY bytes) in the shards


@dataclass(frozen=True)
class Recipe:
    path: Path
    name: str
    version: int
    seed: int
    source: SourceSpec
    points: PointsSpec
    anomalies: AnomalySpec
    classes: tuple[ClassSpec, ...]
    output: OutputSpec

    def digest(self) -> str:
        """sha256 hex of the canonical JSON of everything but ``path``."""
        raise NotImplementedError


def load_recipe(path: str | Path) -> Recipe:
    raise NotImplementedError
