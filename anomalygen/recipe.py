"""Recipe YAML -> typed, validated :class:`Recipe`.

A recipe describes one benchmark: where the objects come from, how many samples of which kind
each class gets, how anomalies are drawn and where the output goes. The whole recipe is
checked before any work starts; the first problem found raises :class:`RecipeError`, whose
``str`` is one line naming the file, the key path, the value and what was expected::

    recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer

Recipe reference (defaults shown, filled in from :data:`DEFAULTS`; only ``name``, ``version``,
``seed`` and ``classes`` are required)::

    name: anomaly_shapenet          # required; letters, digits, '_', '.', '-'
    version: 1                      # required; integer >= 1 (bump it when the output changes)
    seed: 20240617                  # required; integer in [0, 2**63)
    source:
      kind: {source.kind}  # a registered source (anomalygen.shapes.SOURCES):
                                    #   procedural | shapenet | folder
      root: {source.root}  # shapenet and folder only (and required there): a folder,
                                    #   relative to the recipe file's folder; must exist
      remesh_edge: {source.remesh_edge}  # number in [0.002, 0.2], unit-sphere units
      watertight: {source.watertight}  # auto | always | never: replace the surface by a closed one
                                    #   with walls >= min_thickness (auto: only when preparation
                                    #   does not give a closed oriented manifold anyway)
      min_thickness: {source.min_thickness}  # number in [0.02, 0.3], unit-sphere units, at least
                                    #   remesh_edge; null means 2 x remesh_edge (at least 0.02)
    points:
      count: {points.count}  # integer or [low, high], 64 <= low <= high <= 2000000
      label_threshold: {points.label_threshold}  # number in (0, 0.1]
    anomalies:
      per_sample: {anomalies.per_sample}  # integer or [low, high], 1 <= low <= high <= 5
      anomalous_fraction: {anomalies.anomalous_fraction}  # [low, high], 0 < low < high <= 0.5
      max_attempts: {anomalies.max_attempts}  # integer in [1, 100]
      bulge: {radius: [0.2, 0.35], height: [0.04, 0.08]}
                                    # per operator (bulge, concavity, scratch, crack, hole,
                                    #   break, bending): parameter -> number or [low, high],
                                    #   within the parameter's bounds; a number x means [x, x];
                                    #   operators and parameters left out use the registry's
                                    #   default ranges
    splits:                         # defaults for every class
      train: {splits.train}  # integer in [0, 1000000]
      test: {splits.test}
                                    # keys: 'normal' or operator names; integers in
                                    #   [0, 1000000]. A test mapping given here replaces this
                                    #   default mapping
    classes:                        # required, non-empty, kept in this order; a value may be null
      ashtray0:                     # procedural: <kind><variant>, kind one of
                                    #   anomalygen.shapes.procedural.KINDS (ashtray, bag, ...)
      vase3: {test: {scratch: 2, crack: 2}}
                                    # 'train' and 'test' override splits; test counts are
                                    #   merged key by key over splits.test (0 removes one)
      mycup: {kind: cup, variant: 7}
                                    # procedural: explicit kind (and variant, default: from the
                                    #   name, else 0)
      mybunny: {mesh: bunny.obj}    # folder: mesh file inside source.root, relative to it,
                                    #   with a mesh suffix; without 'mesh', the one mesh file
                                    #   <root>/<class>.<ext> (obj, off, ply, stl, glb, gltf)
      chair1: {synset: chair, model: 1a2b3c}
                                    # shapenet: both required; synset is a taxonomy name or a
                                    #   quoted 8-digit id; the model folder <root>/<id>/<model>
                                    #   must hold the mesh file of a ShapeNetCore layout
                                    #   (anomalygen.shapes.shapenet.LAYOUTS: v2, else v1)
    sensor:                         # optional; absent (or null): every split is sampled as
                                    #   before (complete, noise-free, canonical pose)
      test:                         # train | test: the scanner of that split (null: none)
        pose:                       # a rigid transform drawn per sample
          rotation: {sensor.pose.rotation}  # none | up (about +z) | any (uniform over rotations)
          up_degrees: {sensor.pose.up_degrees}  # number in [0, 180]: rotation up within +-this
          translation: {sensor.pose.translation}  # number in [0, 0.2]: each coordinate within +-this
        scan:                       # null: the whole surface; a mapping ({} for the defaults):
                                    #   only surface visible from a viewpoint is sampled
          placement: {sensor.scan.placement}  # single | ring (turntable) | sphere (Fibonacci)
          viewpoints: {sensor.scan.viewpoints}  # integer in [1, 64] (1 for single)
          distance: {sensor.scan.distance}  # number in [2, 20]: to the centre, unit-sphere units
          elevation: {sensor.scan.elevation}  # number in [-90, 90], degrees (single, ring)
          oversample: {sensor.scan.oversample}  # integer in [1, 16]: surface candidates per point
                                    #   of points.count; a scan keeps at most points.count
          grazing_angle: {sensor.scan.grazing_angle}  # number in [10, 89], degrees: no return beyond
        noise:
          range_std: {sensor.noise.range_std}  # number in [0, 0.05]: Gaussian, along the view ray
          outliers: {sensor.noise.outliers}  # number in [0, 0.2]: outliers added per scanned point
          quantisation: {sensor.noise.quantisation}  # number in [0, 0.01]: coordinate step, 0: none
    output:
      dir: {output.dir}  # relative to the working directory
      shard_size: {output.shard_size}  # integer in [1, 100000]
      compression: {output.compression}  # gzip | lzf | none
      keep_meshes: {output.keep_meshes}  # true | false

Further rules:

* Unknown keys are rejected everywhere, with their full key path and the allowed keys. Class
  keys that belong to another source kind (``mesh`` in a procedural recipe, ...) are rejected.
  Duplicate keys in one mapping are a YAML error (PyYAML would silently keep the last one).
* A key whose value is null counts as absent (so a required key set to null is missing, and
  ``compression: null`` means the default gzip; write ``none`` for no compression).
* Types are strict: ``true`` is not an integer, ``"3"`` is not a number, ``4.0`` is not an
  integer; integers are accepted where numbers are.
* Each test mapping becomes ``normal`` first, then operators in the declared order
  :data:`anomalygen.ops.ORDER`; zero counts are dropped.
* Sample counts (``train`` and each ``test`` key) are at most ``MAX_COUNT`` (1,000,000) per
  class and split kind.
* ``source.root``, folder meshes and ShapeNet synsets are stored resolved (absolute paths,
  8-digit synset ids); procedural classes get their kind and variant filled in.
* ``anomalies`` ranges are filled in for every registered operator (registry defaults where
  the recipe says nothing), so the digest also changes when a default range changes.
* :meth:`Recipe.digest` hashes everything but the recipe's own path, so the same recipe at two
  paths has the same digest when its resolved roots are equal. Keys added after recipes were
  published (``source.watertight``, ``source.min_thickness``, ``sensor``) are left out of the
  hash while they hold their default (absent for ``sensor``), so those recipes keep their digest.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

from anomalygen.checks import (NAME_RE, NAME_TEXT, PATH_PROBLEM, Checker, RecipeError, is_name,  # noqa: F401
                               is_number, is_path, join_key, load_yaml, path_kind, resolve_path, show_defaults)
from anomalygen.sensor.spec import SensorSpec, sensor_from_mapping

ROOT_KEY = "<root>"

DEFAULTS: dict[str, dict[str, Any]] = {
    "source": {"kind": "procedural", "root": None, "remesh_edge": 0.025, "watertight": "auto", "min_thickness": None},
    "points": {"count": [8192, 30000], "label_threshold": 0.004},
    "anomalies": {"per_sample": 1, "anomalous_fraction": [0.01, 0.07], "max_attempts": 12},
    "splits": {"train": 4, "test": {"normal": 15, "bulge": 7, "concavity": 7}},
    "output": {"dir": "out/<name>", "shard_size": 32, "compression": "gzip", "keep_meshes": False},
    "sensor": {                                 # each split's block (sensor.train, sensor.test)
        "pose": {"rotation": "none", "up_degrees": 180, "translation": 0.0},
        "scan": {"placement": "single", "viewpoints": 1, "distance": 3.0, "elevation": 30,
                 "oversample": 1, "grazing_angle": 80},
        "noise": {"range_std": 0.0, "outliers": 0.0, "quantisation": 0.0},
    },
}
"""Every default of the recipe, stated once: validation reads them here, and the reference in
this module's docstring shows them from here (``out/<name>`` is the recipe's name)."""

@dataclass(frozen=True)
class SourceSpec:
    kind: str                      # a registered source: "procedural" | "shapenet" | "folder" | ...
    root: Path | None              # its folder (if it has one), resolved against the recipe's folder
    remesh_edge: float             # target edge length of isotropic remeshing, unit-sphere units
    watertight: str = "auto"       # "auto" | "always" | "never", see anomalygen.shapes.prepare
    min_thickness: float | None = None  # minimum wall thickness; None: 2 x remesh_edge


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
    options: dict = field(default_factory=dict)  # another registered source's own class settings


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
    sensor: SensorSpec | None = None   # None: no sensor section (the output of before it)

    def canonical_json(self) -> str:
        """The validated recipe without ``path`` as canonical JSON (sorted keys, no spaces);
        keys of :data:`LATER_DEFAULTS` at their default are left out."""
        data = dataclasses.asdict(self)
        del data["path"]
        for section, key, default in LATER_DEFAULTS:
            if data[section][key] == default:
                del data[section][key]
        if data["sensor"] is None:               # added later, like LATER_DEFAULTS
            del data["sensor"]
        for cls in data["classes"]:              # only classes of sources with options of their own
            if not cls["options"]:
                del cls["options"]
        return json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)

    def digest(self) -> str:
        """sha256 hex of the canonical JSON of everything but ``path``."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()

    def select(self, names: Sequence[str] | None = None) -> tuple[ClassSpec, ...]:
        """The classes named (all for None), in the recipe's order; ValueError naming any it lacks."""
        if names is None:
            return self.classes
        known = [c.name for c in self.classes]
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} not in {self.path} (it has {', '.join(known)})")
        return tuple(c for c in self.classes if c.name in names)

    def sample_count(self, names: Sequence[str] | None = None) -> int:
        """How many samples the recipe plans for the classes named (all for None)."""
        return sum(c.train + sum(c.test.values()) for c in self.select(names))


LATER_DEFAULTS = tuple((section, key, DEFAULTS[section][key])
                       for section, key in (("source", "watertight"), ("source", "min_thickness")))
"""(section, key, default) of keys added after recipes were published: at their default they
are not hashed, so adding them kept every earlier recipe's digest (and manifest) valid. (So is
a ClassSpec's ``options``, which only sources registered later fill in.)"""


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


# --------------------------------------------------------------------------------------------
# Loading

def load_recipe(path: str | Path) -> Recipe:
    """Read, parse and validate the recipe file at ``path``; raise :class:`RecipeError`."""
    return recipe_from_mapping(load_yaml(path, ROOT_KEY), path)


# --------------------------------------------------------------------------------------------
# Validation: small checkers that either return the clean value or raise RecipeError

COMPRESSIONS = ("gzip", "lzf", "none")
MAX_THICKNESS = 0.3
TOP_KEYS = ("name", "version", "seed", "source", "points", "anomalies", "splits", "classes", "output", "sensor")
ANOMALY_SETTINGS = ("per_sample", "anomalous_fraction", "max_attempts")
MAX_COUNT = 1_000_000   # samples per class and (split, kind): a typo of a few zeros fails here,
                        # not hours later on a full disk


def recipe_from_mapping(data: Mapping, path: str | Path = "<memory>") -> Recipe:
    """Validate an already parsed recipe. ``source.root`` is resolved against ``path``'s folder
    (the working directory for the default ``"<memory>"``)."""
    from anomalygen.ops import OPERATORS
    from anomalygen.shapes import SOURCES

    ops = dict(OPERATORS)                       # a snapshot, in the declared ORDER
    check = Checker(str(path))
    if not isinstance(data, Mapping):
        check.fail(ROOT_KEY, data, f"a mapping with keys among {', '.join(TOP_KEYS)}")
    doc = check.mapping("", data, TOP_KEYS)
    name = check.name("name", check.required("", doc, "name", NAME_TEXT))
    version = check.integer("version", check.required("", doc, "version", "an integer >= 1"), 1)
    seed = check.integer("seed", check.required("", doc, "seed", "an integer in [0, 2**63)"),
                         0, 2**63 - 1, expected="an integer in [0, 2**63)")
    source = _source(check, doc.get("source"), Path(path).parent, dict(SOURCES))
    points = _points(check, doc.get("points"))
    anomalies = _anomalies(check, doc.get("anomalies"), ops)
    train, test = _splits(check, doc.get("splits"), ops)
    if doc.get("classes") is None:
        check.fail("classes", None, "a non-empty mapping of class names (required)")
    classes = _classes(check, doc["classes"], source, dict(SOURCES), ops, train, test)
    output = _output(check, doc.get("output"), name)
    sensor = sensor_from_mapping(check, doc.get("sensor"), DEFAULTS["sensor"])
    return Recipe(Path(path), name, version, seed, source, points, anomalies, classes, output, sensor)


def _source(check: Checker, data: object, base: Path, sources: dict) -> SourceSpec:
    default = DEFAULTS["source"]
    d = check.mapping("source", data, tuple(default))
    kind = check.choice("source.kind", d.get("kind", default["kind"]), tuple(sources))
    remesh_edge = check.number("source.remesh_edge", d.get("remesh_edge", default["remesh_edge"]), 0.002, 0.2)
    from anomalygen.shapes.watertight import MIN_THICKNESS, MODES

    watertight = check.choice("source.watertight", d.get("watertight", default["watertight"]), MODES)
    min_thickness = d.get("min_thickness", default["min_thickness"])
    low, high = max(MIN_THICKNESS, remesh_edge), MAX_THICKNESS
    if min_thickness is not None and not (is_number(min_thickness) and low <= min_thickness <= high):
        check.fail("source.min_thickness", min_thickness,
                   f"a number in [{low!r}, {high!r}] (at least source.remesh_edge), or null for 2 x remesh_edge")
    min_thickness = None if min_thickness is None else float(min_thickness)
    settings = (remesh_edge, watertight, min_thickness)
    root = d.get("root", default["root"])
    if not sources[kind].needs_root:
        if root is not None:
            check.fail("source.root", root, f"no root (null) with source.kind {kind}")
        return SourceSpec(kind, None, *settings)
    if root is None:
        check.fail("source.root", None, f"a folder (required with source.kind {kind})")
    if not is_path(root):
        check.fail("source.root", root, "a folder path")
    resolved = resolve_path(base, root)
    found = path_kind(resolved)
    if found != "dir":
        check.fail("source.root", root, f"an existing directory ({resolved} {PATH_PROBLEM[found]})")
    try:
        next(resolved.iterdir(), None)
    except OSError as err:
        check.fail("source.root", root, f"a readable directory ({resolved}: {err.strerror})")
    return SourceSpec(kind, resolved, *settings)


def _points(check: Checker, data: object) -> PointsSpec:
    default = DEFAULTS["points"]
    d = check.mapping("points", data, tuple(default))
    count = check.range("points.count", d.get("count", default["count"]), 64, 2_000_000, integer=True)
    threshold = check.number("points.label_threshold", d.get("label_threshold", default["label_threshold"]), 0, 0.1,
                             low_open=True)
    return PointsSpec(count, threshold)


def _anomalies(check: Checker, data: object, ops: dict) -> AnomalySpec:
    default = DEFAULTS["anomalies"]
    d = check.mapping("anomalies", data, ANOMALY_SETTINGS + tuple(ops))
    per_sample = check.range("anomalies.per_sample", d.get("per_sample", default["per_sample"]), 1, 5, integer=True)
    fraction = check.range("anomalies.anomalous_fraction", d.get("anomalous_fraction", default["anomalous_fraction"]),
                           0, 0.5, integer=False, scalar=False, low_open=True, strict=True)
    max_attempts = check.integer("anomalies.max_attempts", d.get("max_attempts", default["max_attempts"]), 1, 100)
    ranges = {name: _operator_ranges(check, f"anomalies.{name}", d.get(name), op)
              for name, op in ops.items()}
    return AnomalySpec(ranges, per_sample, fraction, max_attempts)


def _operator_ranges(check: Checker, key: str, data: object, op) -> dict[str, tuple[float, float]]:
    d = check.mapping(key, data, tuple(p.name for p in op.params))
    ranges = {}
    for p in op.params:
        if p.name in d:
            low, high = check.range(join_key(key, p.name), d[p.name], *p.bounds, integer=p.integer)
        else:
            low, high = p.default
        ranges[p.name] = (float(low), float(high))
    return ranges


def _splits(check: Checker, data: object, ops: dict) -> tuple[int, dict[str, int]]:
    default = DEFAULTS["splits"]
    d = check.mapping("splits", data, tuple(default))
    train = check.integer("splits.train", d.get("train", default["train"]), 0, MAX_COUNT)
    if "test" in d:
        test = _test_counts(check, "splits.test", d["test"], ops)
    else:
        test = {k: n for k, n in default["test"].items() if k == "normal" or k in ops}
    return train, test


def _test_counts(check: Checker, key: str, data: object, ops: dict) -> dict[str, int]:
    d = check.mapping(key, data, ("normal",) + tuple(ops))
    return {k: check.integer(join_key(key, k), n, 0, MAX_COUNT) for k, n in d.items()}


def _ordered_test(counts: dict[str, int], ops: dict) -> dict[str, int]:
    """'normal' first, then operators in the declared ORDER; zero counts dropped."""
    return {k: counts[k] for k in ("normal", *ops) if counts.get(k)}


def _classes(check: Checker, data: object, source: SourceSpec, sources: dict, ops: dict,
             train: int, test: dict[str, int]) -> tuple[ClassSpec, ...]:
    if not isinstance(data, Mapping) or not data:
        check.fail("classes", data, "a non-empty mapping of class names (each to null or settings)")
    specs = []
    for name, value in data.items():
        key = join_key("classes", name)
        check.name(key, name)
        specs.append(_class(check, key, name, value, source, sources, ops, train, test))
    return tuple(specs)


CLASS_FIELDS = frozenset(f.name for f in dataclasses.fields(ClassSpec)) - {"name", "train", "test"}
"""The ClassSpec fields a source's ``check_class`` may fill in."""


def _class(check: Checker, key: str, name: str, value: object, source: SourceSpec, sources: dict,
           ops: dict, train: int, test: dict[str, int]) -> ClassSpec:
    """One class: train and test counts here, the rest by the registered source of source.kind."""
    own = sources[source.kind].class_keys

    def misplaced(k: str) -> str | None:
        if any(k in other.class_keys for other in sources.values()):
            return (f"no {k!r} key with source.kind {source.kind} "
                    f"(a class here takes {', '.join(('train', 'test') + own)})")
        return None

    d = check.mapping(key, value, ("train", "test") + own, misplaced)
    train = check.integer(join_key(key, "train"), d["train"], 0, MAX_COUNT) if "train" in d else train
    test = {**test, **_test_counts(check, join_key(key, "test"), d.get("test"), ops)}
    fields = sources[source.kind].check_class(check, key, name, {k: v for k, v in d.items() if k in own}, source.root)
    wrong = set(fields) - CLASS_FIELDS
    if wrong:
        raise TypeError(f"source {source.kind!r}: check_class returned {sorted(wrong)}, not fields of ClassSpec "
                        f"({', '.join(sorted(CLASS_FIELDS))})")
    return ClassSpec(name, train, _ordered_test(test, ops), **fields)


def _output(check: Checker, data: object, name: str) -> OutputSpec:
    default = DEFAULTS["output"]
    d = check.mapping("output", data, tuple(default))
    out_dir = d.get("dir", default["dir"].replace("<name>", name))
    if not is_path(out_dir):
        check.fail("output.dir", out_dir, "a folder path")
    return OutputSpec(
        dir=Path(out_dir),
        shard_size=check.integer("output.shard_size", d.get("shard_size", default["shard_size"]), 1, 100_000),
        compression=check.choice("output.compression", d.get("compression", default["compression"]), COMPRESSIONS),
        keep_meshes=check.boolean("output.keep_meshes", d.get("keep_meshes", default["keep_meshes"])),
    )


# --------------------------------------------------------------------------------------------
# The reference in the module docstring shows DEFAULTS

if __doc__:                                     # None under python -OO
    __doc__ = show_defaults(__doc__, DEFAULTS)
