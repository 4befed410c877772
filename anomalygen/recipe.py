"""Recipe YAML -> typed, validated :class:`Recipe`.

A recipe describes one benchmark: where the objects come from, how many samples of which kind
each class gets, how anomalies are drawn and where the output goes. The whole recipe is
checked before any work starts; the first problem found raises :class:`RecipeError`, whose
``str`` is one line naming the file, the key path, the value and what was expected::

    recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer

Recipe reference (defaults shown; only ``name``, ``version``, ``seed`` and ``classes`` are
required)::

    name: anomaly_shapenet          # required; letters, digits, '_', '.', '-'
    version: 1                      # required; integer >= 1 (bump it when the output changes)
    seed: 20240617                  # required; integer in [0, 2**63)
    source:
      kind: procedural              # procedural | shapenet | folder
      root: null                    # shapenet and folder only (and required there): a folder,
                                    #   relative to the recipe file's folder; must exist
      remesh_edge: 0.025            # number in [0.002, 0.2], unit-sphere units
      watertight: auto              # auto | always | never: replace the surface by a closed one
                                    #   with walls >= min_thickness (auto: only when preparation
                                    #   does not give a closed oriented manifold anyway)
      min_thickness: null           # number in [0.02, 0.3], unit-sphere units, at least
                                    #   remesh_edge; null means 2 x remesh_edge (at least 0.02)
    points:
      count: [8192, 30000]          # integer or [low, high], 64 <= low <= high <= 2000000
      label_threshold: 0.004        # number in (0, 0.1]
    anomalies:
      per_sample: 1                 # integer or [low, high], 1 <= low <= high <= 5
      anomalous_fraction: [0.01, 0.07]   # [low, high], 0 < low < high <= 0.5
      max_attempts: 12              # integer in [1, 100]
      bulge: {radius: [0.2, 0.35], height: [0.04, 0.08]}
                                    # per operator (bulge, concavity, scratch, crack, hole,
                                    #   break, bending): parameter -> number or [low, high],
                                    #   within the parameter's bounds; a number x means [x, x];
                                    #   operators and parameters left out use the registry's
                                    #   default ranges
    splits:                         # defaults for every class
      train: 4                      # integer in [0, 1000000]
      test: {normal: 15, bulge: 7, concavity: 7}
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
                                    #   quoted 8-digit id; the model folder must exist as
                                    #   <root>/<id>/<model>/models/model_normalized.obj (v2) or
                                    #   <root>/<id>/<model>/model.obj (v1)
    output:
      dir: out/<name>               # relative to the working directory
      shard_size: 32                # integer in [1, 100000]
      compression: gzip             # gzip | lzf | none
      keep_meshes: false            # true | false

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
  published (``source.watertight``, ``source.min_thickness``) are left out of the hash while
  they hold their default, so those recipes keep their digest.
"""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
import json
import numbers
import os
import re
import reprlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, NoReturn, Sequence

import yaml

ROOT_KEY = "<root>"

_short = reprlib.Repr()
_short.maxstring = _short.maxother = 120
_short.maxlist = _short.maxtuple = 8
_short.maxdict = 6
_short.maxlevel = 3


class RecipeError(ValueError):
    """A recipe that cannot be used. ``str(err)`` is one line:
    ``recipes/x.yaml: classes.vase3.test.bulge: got -1, expected a non-negative integer``.

    ``value`` is the offending value itself; the message shows a shortened repr of it."""

    def __init__(self, file: str | Path, key: str, value: object, expected: str):
        self.file, self.key, self.value, self.expected = str(file), key, value, expected
        super().__init__(f"{self.file}: {key}: got {_short.repr(value)}, expected {expected}")


@dataclass(frozen=True)
class SourceSpec:
    kind: str                      # "procedural" | "shapenet" | "folder"
    root: Path | None              # shapenet/folder root, resolved against the recipe's folder
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

    def canonical_json(self) -> str:
        """The validated recipe without ``path`` as canonical JSON (sorted keys, no spaces);
        keys of :data:`LATER_DEFAULTS` at their default are left out."""
        data = dataclasses.asdict(self)
        del data["path"]
        for section, key, default in LATER_DEFAULTS:
            if data[section][key] == default:
                del data[section][key]
        return json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"),
                          ensure_ascii=False, allow_nan=False)

    def digest(self) -> str:
        """sha256 hex of the canonical JSON of everything but ``path``."""
        return hashlib.sha256(self.canonical_json().encode("utf-8")).hexdigest()


LATER_DEFAULTS = (("source", "watertight", "auto"), ("source", "min_thickness", None))
"""(section, key, default) of keys added after recipes were published: at their default they
are not hashed, so adding them kept every earlier recipe's digest (and manifest) valid."""


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
    text = _read_text(path)
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)
    except yaml.MarkedYAMLError as err:
        raise RecipeError(path, ROOT_KEY, *_describe_yaml_error(err, text)) from None
    except (yaml.YAMLError, ValueError, RecursionError) as err:
        raise RecipeError(path, ROOT_KEY, None, f"valid YAML ({err})") from None
    return recipe_from_mapping(data, path)


def _describe_yaml_error(err: yaml.MarkedYAMLError, text: str) -> tuple[str | None, str]:
    """(the offending line, 'valid YAML (line L, column C: problem, context at ...)')."""
    def at(mark) -> str:
        return f"line {mark.line + 1}, column {mark.column + 1}"

    mark = err.problem_mark or err.context_mark
    lines = text.splitlines()
    line = lines[mark.line] if mark is not None and mark.line < len(lines) else None
    detail = err.problem or ""
    if err.context:
        context_mark = err.context_mark
        elsewhere = context_mark is not None and at(context_mark) != at(mark)
        context_at = f" at {at(context_mark)}" if elsewhere else ""
        detail = f"{detail}, {err.context}{context_at}" if detail else err.context
    return line, f"valid YAML ({at(mark) + ': ' if mark is not None else ''}{detail})"


def _read_text(path: str | Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        problem = "no such file"
    except IsADirectoryError:
        problem = "it is a directory"
    except PermissionError:
        problem = "permission denied"
    except UnicodeDecodeError as err:
        problem = f"not UTF-8 text, byte {err.start}"
    except OSError as err:
        problem = err.strerror or str(err)
    raise RecipeError(path, ROOT_KEY, str(path), f"a readable recipe file ({problem})")


class _UniqueKeyLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):
    """SafeLoader (libyaml's when available) that rejects duplicate keys in a mapping instead of
    keeping the last one."""


def _construct_unique_mapping(loader: yaml.SafeLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _ in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
            continue
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                "while constructing a mapping", node.start_mark,
                f"found duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                                 _construct_unique_mapping)


# --------------------------------------------------------------------------------------------
# Validation: small checkers that either return the clean value or raise RecipeError

NAME_RE = re.compile(r"[A-Za-z0-9_.-]+")
NAME_TEXT = "a name of letters, digits, '_', '.', '-'"
SOURCE_KINDS = ("procedural", "shapenet", "folder")
COMPRESSIONS = ("gzip", "lzf", "none")
MAX_THICKNESS = 0.3
TOP_KEYS = ("name", "version", "seed", "source", "points", "anomalies", "splits", "classes", "output")
ANOMALY_SETTINGS = ("per_sample", "anomalous_fraction", "max_attempts")
CLASS_KEYS = {"procedural": ("kind", "variant"), "folder": ("mesh",), "shapenet": ("synset", "model")}
DEFAULT_TEST = {"normal": 15, "bulge": 7, "concavity": 7}
MAX_COUNT = 1_000_000   # samples per class and (split, kind): a typo of a few zeros fails here,
                        # not hours later on a full disk


def _join(parent: str, key: object) -> str:
    return f"{parent}.{key}" if parent else str(key)


def _fmt(x: float, integer: bool = False) -> str:
    return str(int(x)) if integer and float(x).is_integer() else repr(x)


def _is_int(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike)) and bool(os.fspath(value))


def is_name(value: object) -> bool:
    """The rule for every name that becomes part of a path: recipe, class and sample names alike."""
    return isinstance(value, str) and bool(NAME_RE.fullmatch(value)) and value not in (".", "..")


class _Checker:
    """Type and range checks that name the recipe file and key path on failure."""

    def __init__(self, file: str):
        self.file = file

    def fail(self, key: str, value: object, expected: str) -> NoReturn:
        raise RecipeError(self.file, key, value, expected)

    def mapping(self, key: str, value: object, allowed: Sequence[str],
                misplaced: Callable[[str], str | None] = lambda k: None) -> dict:
        """A mapping with keys from ``allowed`` (None -> {}). Null values are dropped, so that a
        null value reads as an absent key. ``misplaced(k)`` may explain a rejected key."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.fail(key, value, f"a mapping with keys among {', '.join(allowed)}")
        for k, v in value.items():
            if k not in allowed:
                self.fail(_join(key, k), k, misplaced(k) or _one_of(k, allowed))
        return {k: v for k, v in value.items() if v is not None}

    def required(self, key: str, data: dict, name: str, expected: str) -> object:
        if name not in data:
            self.fail(_join(key, name), None, f"{expected} (required)")
        return data[name]

    def integer(self, key: str, value: object, low: int, high: int | None = None,
                expected: str | None = None) -> int:
        if expected is None:
            expected = (f"an integer in [{low}, {high}]" if high is not None
                        else "a non-negative integer" if low == 0 else f"an integer >= {low}")
        if not _is_int(value) or value < low or (high is not None and value > high):
            self.fail(key, value, expected)
        return int(value)

    def number(self, key: str, value: object, low: float, high: float, low_open: bool = False) -> float:
        ok = _is_number(value) and (low < value if low_open else low <= value) and value <= high
        if not ok:
            self.fail(key, value, f"a number in {'(' if low_open else '['}{low!r}, {high!r}]")
        return float(value)

    def range(self, key: str, value: object, low: float, high: float, *, integer: bool,
              scalar: bool = True, low_open: bool = False, strict: bool = False) -> tuple:
        """A number x (meaning [x, x]) or a [low, high] pair within bounds -> (low, high)."""
        unit = "integers" if integer else "numbers"
        head = f"{'an integer' if integer else 'a number'} or [low, high] {unit}" if scalar else f"[low, high] {unit}"
        expected = (f"{head} with {_fmt(low, integer)} {'<' if low_open else '<='} low "
                    f"{'<' if strict else '<='} high <= {_fmt(high, integer)}")
        pair = (value, value) if scalar and not isinstance(value, (list, tuple)) else value
        is_type = _is_int if integer else _is_number
        ok = (isinstance(pair, (list, tuple)) and len(pair) == 2 and all(is_type(x) for x in pair)
              and (low < pair[0] if low_open else low <= pair[0])
              and (pair[0] < pair[1] if strict else pair[0] <= pair[1]) and pair[1] <= high)
        if not ok:
            self.fail(key, value, expected)
        return (int(pair[0]), int(pair[1])) if integer else (float(pair[0]), float(pair[1]))

    def choice(self, key: str, value: object, choices: Sequence[str]) -> str:
        if not isinstance(value, str) or value not in choices:
            self.fail(key, value, _one_of(value, choices))
        return value

    def boolean(self, key: str, value: object) -> bool:
        if not isinstance(value, bool):
            self.fail(key, value, "true or false")
        return value

    def name(self, key: str, value: object) -> str:
        if not is_name(value):
            self.fail(key, value, NAME_TEXT)
        return value


def _one_of(given: object, allowed: Sequence[str]) -> str:
    text = f"one of {', '.join(allowed)}"
    close = difflib.get_close_matches(str(given), list(allowed), n=1)
    return f"{text} (did you mean {close[0]!r}?)" if close else text


def recipe_from_mapping(data: Mapping, path: str | Path = "<memory>") -> Recipe:
    """Validate an already parsed recipe. ``source.root`` is resolved against ``path``'s folder
    (the working directory for the default ``"<memory>"``)."""
    from anomalygen.ops import OPERATORS

    ops = dict(OPERATORS)                       # a snapshot, in the declared ORDER
    check = _Checker(str(path))
    if not isinstance(data, Mapping):
        check.fail(ROOT_KEY, data, f"a mapping with keys among {', '.join(TOP_KEYS)}")
    doc = check.mapping("", data, TOP_KEYS)
    name = check.name("name", check.required("", doc, "name", NAME_TEXT))
    version = check.integer("version", check.required("", doc, "version", "an integer >= 1"), 1)
    seed = check.integer("seed", check.required("", doc, "seed", "an integer in [0, 2**63)"),
                         0, 2**63 - 1, expected="an integer in [0, 2**63)")
    source = _source(check, doc.get("source"), Path(path).parent)
    points = _points(check, doc.get("points"))
    anomalies = _anomalies(check, doc.get("anomalies"), ops)
    train, test = _splits(check, doc.get("splits"), ops)
    if doc.get("classes") is None:
        check.fail("classes", None, "a non-empty mapping of class names (required)")
    classes = _classes(check, doc["classes"], source, ops, train, test)
    output = _output(check, doc.get("output"), name)
    return Recipe(Path(path), name, version, seed, source, points, anomalies, classes, output)


def _source(check: _Checker, data: object, base: Path) -> SourceSpec:
    d = check.mapping("source", data, ("kind", "root", "remesh_edge", "watertight", "min_thickness"))
    kind = check.choice("source.kind", d.get("kind", "procedural"), SOURCE_KINDS)
    remesh_edge = check.number("source.remesh_edge", d.get("remesh_edge", 0.025), 0.002, 0.2)
    modes, thinnest = _watertight_api()
    watertight = check.choice("source.watertight", d.get("watertight", "auto"), modes)
    min_thickness = d.get("min_thickness")
    low, high = max(thinnest, remesh_edge), MAX_THICKNESS
    if min_thickness is not None and not (_is_number(min_thickness) and low <= min_thickness <= high):
        check.fail("source.min_thickness", min_thickness,
                   f"a number in [{low!r}, {high!r}] (at least source.remesh_edge), or null for 2 x remesh_edge")
    min_thickness = None if min_thickness is None else float(min_thickness)
    settings = (remesh_edge, watertight, min_thickness)
    root = d.get("root")
    if kind == "procedural":
        if root is not None:
            check.fail("source.root", root, "no root (null) with source.kind procedural")
        return SourceSpec(kind, None, *settings)
    if root is None:
        check.fail("source.root", None, f"a folder (required with source.kind {kind})")
    if not _is_path(root):
        check.fail("source.root", root, "a folder path")
    resolved = _resolve(base, root)
    found = _kind_of(resolved)
    if found != "dir":
        check.fail("source.root", root, f"an existing directory ({resolved} {_PROBLEM[found]})")
    try:
        next(resolved.iterdir(), None)
    except OSError as err:
        check.fail("source.root", root, f"a readable directory ({resolved}: {err.strerror})")
    return SourceSpec(kind, resolved, *settings)


_PROBLEM = {"missing": "does not exist", "file": "is not a directory", "dir": "is not a file",
            "other": "is neither a file nor a directory"}


def _resolve(base: Path, text: str | os.PathLike) -> Path:
    """``text`` (a path, '~' expanded) resolved against ``base``, absolute; never raises."""
    try:
        return (base / Path(text).expanduser()).resolve()
    except (OSError, ValueError, RuntimeError):
        return Path(os.path.abspath(base / text))


def _kind_of(path: Path) -> str:
    """'dir', 'file', 'other' or 'missing' (also for paths the OS cannot look at)."""
    try:
        return "dir" if path.is_dir() else "file" if path.is_file() else "other" if path.exists() else "missing"
    except (OSError, ValueError):
        return "missing"


def _points(check: _Checker, data: object) -> PointsSpec:
    d = check.mapping("points", data, ("count", "label_threshold"))
    count = check.range("points.count", d.get("count", [8192, 30000]), 64, 2_000_000, integer=True)
    threshold = check.number("points.label_threshold", d.get("label_threshold", 0.004), 0, 0.1,
                             low_open=True)
    return PointsSpec(count, threshold)


def _anomalies(check: _Checker, data: object, ops: dict) -> AnomalySpec:
    d = check.mapping("anomalies", data, ANOMALY_SETTINGS + tuple(ops))
    per_sample = check.range("anomalies.per_sample", d.get("per_sample", 1), 1, 5, integer=True)
    fraction = check.range("anomalies.anomalous_fraction", d.get("anomalous_fraction", [0.01, 0.07]),
                           0, 0.5, integer=False, scalar=False, low_open=True, strict=True)
    max_attempts = check.integer("anomalies.max_attempts", d.get("max_attempts", 12), 1, 100)
    ranges = {name: _operator_ranges(check, f"anomalies.{name}", d.get(name), op)
              for name, op in ops.items()}
    return AnomalySpec(ranges, per_sample, fraction, max_attempts)


def _operator_ranges(check: _Checker, key: str, data: object, op) -> dict[str, tuple[float, float]]:
    d = check.mapping(key, data, tuple(p.name for p in op.params))
    ranges = {}
    for p in op.params:
        if p.name in d:
            low, high = check.range(_join(key, p.name), d[p.name], *p.bounds, integer=p.integer)
        else:
            low, high = p.default
        ranges[p.name] = (float(low), float(high))
    return ranges


def _splits(check: _Checker, data: object, ops: dict) -> tuple[int, dict[str, int]]:
    d = check.mapping("splits", data, ("train", "test"))
    train = check.integer("splits.train", d.get("train", 4), 0, MAX_COUNT)
    if "test" in d:
        test = _test_counts(check, "splits.test", d["test"], ops)
    else:
        test = {k: n for k, n in DEFAULT_TEST.items() if k == "normal" or k in ops}
    return train, test


def _test_counts(check: _Checker, key: str, data: object, ops: dict) -> dict[str, int]:
    d = check.mapping(key, data, ("normal",) + tuple(ops))
    return {k: check.integer(_join(key, k), n, 0, MAX_COUNT) for k, n in d.items()}


def _ordered_test(counts: dict[str, int], ops: dict) -> dict[str, int]:
    """'normal' first, then operators in the declared ORDER; zero counts dropped."""
    return {k: counts[k] for k in ("normal", *ops) if counts.get(k)}


def _classes(check: _Checker, data: object, source: SourceSpec, ops: dict,
             train: int, test: dict[str, int]) -> tuple[ClassSpec, ...]:
    if not isinstance(data, Mapping) or not data:
        check.fail("classes", data, "a non-empty mapping of class names (each to null or settings)")
    hook = {"procedural": _procedural_api, "shapenet": _synset_id_fn}.get(source.kind, lambda: None)()
    specs = []
    for name, value in data.items():
        key = _join("classes", name)
        check.name(key, name)
        specs.append(_class(check, key, name, value, source, ops, train, test, hook))
    return tuple(specs)


def _class(check: _Checker, key: str, name: str, value: object, source: SourceSpec,
           ops: dict, train: int, test: dict[str, int], hook: Any) -> ClassSpec:
    """One class; ``hook`` is (parse_class_name, kinds) for procedural, synset_id for shapenet."""
    own = CLASS_KEYS[source.kind]

    def misplaced(k: str) -> str | None:
        if any(k in keys for keys in CLASS_KEYS.values()):
            return (f"no {k!r} key with source.kind {source.kind} "
                    f"(a class here takes {', '.join(('train', 'test') + own)})")
        return None

    d = check.mapping(key, value, ("train", "test") + own, misplaced)
    train = check.integer(_join(key, "train"), d["train"], 0, MAX_COUNT) if "train" in d else train
    test = {**test, **_test_counts(check, _join(key, "test"), d.get("test"), ops)}
    spec = ClassSpec(name, train, _ordered_test(test, ops))
    if source.kind == "procedural":
        return _procedural_class(check, key, name, d, spec, *hook)
    if source.kind == "folder":
        return dataclasses.replace(spec, mesh=_folder_mesh(check, key, name, d, source.root))
    return _shapenet_class(check, key, d, spec, source.root, hook)


def _procedural_class(check: _Checker, key: str, name: str, d: dict, spec: ClassSpec,
                      parse: Callable[[str], tuple[str, int]], kinds: Sequence[str]) -> ClassSpec:
    expected_kind = f"one of {', '.join(kinds)}"
    if "kind" in d and d["kind"] not in kinds:
        check.fail(_join(key, "kind"), d["kind"], _one_of(d["kind"], kinds))
    if "variant" in d:
        check.integer(_join(key, "variant"), d["variant"], 0)
    try:
        parsed = parse(name)
    except ValueError:
        if "kind" not in d:
            check.fail(key, name, f"a class name <kind><variant> with kind {expected_kind}, "
                                  "or a 'kind' key")
        parsed = (d["kind"], 0)
    kind, variant = d.get("kind", parsed[0]), d.get("variant", parsed[1])
    if "kind" in d or "variant" in d:
        try:
            parse(f"{kind}{variant}")
        except ValueError as err:
            blame = "variant" if "variant" in d else "kind"
            check.fail(_join(key, blame), d[blame], f"a known procedural kind and variant ({err})")
    return dataclasses.replace(spec, kind=kind, variant=int(variant))


def _folder_mesh(check: _Checker, key: str, name: str, d: dict, root: Path) -> Path:
    if "mesh" not in d:
        found = sorted(p.name for p in root.iterdir()
                       if p.stem == name and p.suffix.lower() in _mesh_suffixes() and _kind_of(p) == "file")
        if len(found) != 1:
            check.fail(key, name, f"a 'mesh' key, or exactly one mesh file {name}.<ext> in {root} "
                                  f"(found {', '.join(found) or 'none'})")
        return _readable_file(check, key, found[0], root)
    mesh = d["mesh"]
    if not _is_path(mesh):
        check.fail(_join(key, "mesh"), mesh, "a mesh file path relative to source.root")
    path = _resolve(root, mesh)
    if not path.is_relative_to(root):  # resolved, so neither '..' nor a symlink leads out
        check.fail(_join(key, "mesh"), mesh, f"a mesh file inside source.root {root} (it resolves to {path})")
    path = _readable_file(check, _join(key, "mesh"), mesh, root)
    if path.suffix.lower() not in _mesh_suffixes():
        check.fail(_join(key, "mesh"), mesh, f"a mesh file ending in one of {', '.join(_mesh_suffixes())}")
    return path


def _readable_file(check: _Checker, key: str, relative: str | os.PathLike, root: Path) -> Path:
    path = _resolve(root, relative)
    found = _kind_of(path)
    if found != "file":
        check.fail(key, relative, f"an existing mesh file ({path} {_PROBLEM[found]})")
    if not os.access(path, os.R_OK):
        check.fail(key, relative, f"a readable mesh file ({path} is not readable)")
    return path


def _shapenet_class(check: _Checker, key: str, d: dict, spec: ClassSpec, root: Path,
                    synset_id_of: Callable[[str], str]) -> ClassSpec:
    synset_key, model_key = _join(key, "synset"), _join(key, "model")
    synset = check.required(key, d, "synset", "a ShapeNet synset name or 8-digit id")
    if not isinstance(synset, str):
        check.fail(synset_key, synset, "a ShapeNet synset name or 8-digit id, as a string "
                                       "(quote ids: YAML reads 03001627 as a number)")
    try:
        synset_id = synset_id_of(synset)
    except ValueError as err:
        check.fail(synset_key, synset, f"a ShapeNet synset name or 8-digit id ({err})")
    model = check.required(key, d, "model", "a ShapeNet model id")
    if not is_name(model):
        check.fail(model_key, model, "a ShapeNet model id, as a string (quote it if YAML reads "
                                     "it as a number)")
    folder = root / synset_id / model
    if "file" not in (_kind_of(folder / "models" / "model_normalized.obj"), _kind_of(folder / "model.obj")):
        check.fail(model_key, model, f"a model folder {folder} holding models/model_normalized.obj "
                                     "(ShapeNetCore v2) or model.obj (v1)")
    return dataclasses.replace(spec, synset=synset_id, model=model)


def _output(check: _Checker, data: object, name: str) -> OutputSpec:
    d = check.mapping("output", data, ("dir", "shard_size", "compression", "keep_meshes"))
    out_dir = d.get("dir", f"out/{name}")
    if not _is_path(out_dir):
        check.fail("output.dir", out_dir, "a folder path")
    return OutputSpec(
        dir=Path(out_dir),
        shard_size=check.integer("output.shard_size", d.get("shard_size", 32), 1, 100_000),
        compression=check.choice("output.compression", d.get("compression", "gzip"), COMPRESSIONS),
        keep_meshes=check.boolean("output.keep_meshes", d.get("keep_meshes", False)),
    )


# --------------------------------------------------------------------------------------------
# Hooks into the shape sources, imported lazily (the shape modules import heavier things)

def _procedural_api() -> tuple[Callable[[str], tuple[str, int]], tuple[str, ...]]:
    """(parse_class_name, known kinds) of the built-in procedural library."""
    from anomalygen.shapes.procedural import KINDS, parse_class_name

    return parse_class_name, tuple(KINDS)




def _watertight_api() -> tuple[tuple[str, ...], float]:
    """(source.watertight modes, smallest min_thickness) of anomalygen.shapes.watertight."""
    from anomalygen.shapes.watertight import MIN_THICKNESS, MODES

    return MODES, MIN_THICKNESS


def _mesh_suffixes() -> tuple[str, ...]:
    from anomalygen.shapes.load import MESH_SUFFIXES

    return MESH_SUFFIXES


def _synset_id_fn() -> Callable[[str], str]:
    """anomalygen.shapes.shapenet.synset_id (imported here: shapes imports this module)."""
    from anomalygen.shapes.shapenet import synset_id

    return synset_id
