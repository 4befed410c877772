"""Recipe loading and validation: types, defaults, one-line errors naming the key path, digest."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import anomalygen.ops  # noqa: F401  (fills the real registry before the fixture snapshots it)
from anomalygen.ops.base import OPERATORS, Operator, OperatorNotApplicable, Param
from anomalygen.recipe import (ClassSpec, Recipe, RecipeError, load_recipe, recipe_from_mapping)


def _not_applicable(mesh, params, rng):
    raise OperatorNotApplicable("test operator")


def _op(name, *params):
    return Operator(name=name, token=name, params=tuple(params), apply=_not_applicable)


TEST_OPERATORS = [
    _op("bulge", Param("radius", (0.2, 0.35), (0.05, 0.6), "r"), Param("height", (0.04, 0.08), (0.005, 0.2), "h")),
    _op("concavity", Param("radius", (0.2, 0.35), (0.05, 0.6), "r"), Param("depth", (0.04, 0.08), (0.005, 0.2), "d")),
    _op("scratch", Param("length", (0.3, 0.6), (0.05, 1.5), "l"), Param("depth", (0.01, 0.03), (0.002, 0.1), "d")),
    _op("crack", Param("length", (0.2, 0.5), (0.05, 1.5), "l")),
    _op("hole", Param("radius", (0.05, 0.12), (0.01, 0.3), "r")),
    _op("break", Param("offset", (0.5, 0.8), (0.1, 0.95), "o")),
    _op("bending", Param("angle", (10.0, 30.0), (1.0, 90.0), "a"),
        Param("segments", (2.0, 4.0), (1.0, 8.0), "s", integer=True)),
]
OP_NAMES = [op.name for op in TEST_OPERATORS]


@pytest.fixture(autouse=True, scope="module")
def test_registry():
    """Replace the registry's content by the test operators (in a known order), then restore."""
    saved = dict(OPERATORS)
    OPERATORS.clear()
    OPERATORS.update({op.name: op for op in TEST_OPERATORS})
    yield OPERATORS
    OPERATORS.clear()
    OPERATORS.update(saved)


FULL_YAML = """\
name: anomaly_shapenet
version: 1
seed: 20240617
source:
  kind: procedural
  remesh_edge: 0.025
points:
  count: [8192, 30000]
  label_threshold: 0.004
anomalies:
  per_sample: [1, 2]
  anomalous_fraction: [0.01, 0.07]
  max_attempts: 12
  bulge: {radius: [0.2, 0.35], height: 0.05}
  bending: {segments: [2, 3]}
splits:
  train: 4
  test: {normal: 15, bulge: 7, concavity: 7}
classes:
  vase3: {test: {scratch: 2, crack: 2, bulge: 0}}
  ashtray0:
  mycup: {kind: cup, variant: 7, train: 2}
output:
  dir: out/asn
  shard_size: 16
  compression: lzf
  keep_meshes: true
"""


FAST_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
FAST_DUMPER = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_FULL = yaml.load(FULL_YAML, Loader=FAST_LOADER)


def full_doc() -> dict:
    return copy.deepcopy(_FULL)


def error_of(doc, path="r.yaml") -> str:
    with pytest.raises(RecipeError) as info:
        recipe_from_mapping(doc, path)
    return str(info.value)


def write(path: Path, doc_or_text) -> Path:
    path.write_text(doc_or_text if isinstance(doc_or_text, str) else yaml.dump(doc_or_text, Dumper=FAST_DUMPER, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """recipes/ beside meshes/ (a folder source) and shapenet/ (v2 and v1 layouts)."""
    base = tmp_path_factory.mktemp("recipe")
    (base / "recipes").mkdir()
    meshes = base / "meshes"
    (meshes / "sub").mkdir(parents=True)
    for name in ("bunny.obj", "bunny.mtl", "teapot.ply", "sub/duck.stl", "twin.obj", "twin.off"):
        (meshes / name).write_text("# mesh\n")
    v2 = base / "shapenet" / "03001627" / "1a2b3c" / "models"
    v2.mkdir(parents=True)
    (v2 / "model_normalized.obj").write_text("# v2\n")
    v1 = base / "shapenet" / "03797390" / "9f8e7d"
    v1.mkdir(parents=True)
    (v1 / "model.obj").write_text("# v1\n")
    return base


def folder_doc() -> dict:
    return {"name": "mine", "version": 2, "seed": 0,
            "source": {"kind": "folder", "root": "../meshes"},
            "classes": {"mybunny": {"mesh": "bunny.obj"}, "teapot": None, "duck": {"mesh": "sub/duck.stl"}}}


def shapenet_doc() -> dict:
    return {"name": "sn", "version": 1, "seed": 5,
            "source": {"kind": "shapenet", "root": "../shapenet"},
            "splits": {"test": {"normal": 3, "hole": 1}},
            "classes": {"chair1": {"synset": "chair", "model": "1a2b3c"},
                        "mug0": {"synset": "03797390", "model": "9f8e7d", "train": 1}}}


# --- valid recipes ----------------------------------------------------------------------------

def test_full_recipe_loads_with_types_and_defaults(tmp_path):
    recipe = load_recipe(write(tmp_path / "asn.yaml", FULL_YAML))
    assert isinstance(recipe, Recipe) and recipe.path == tmp_path / "asn.yaml"
    assert (recipe.name, recipe.version, recipe.seed) == ("anomaly_shapenet", 1, 20240617)
    assert recipe.source.kind == "procedural" and recipe.source.root is None
    assert recipe.source.remesh_edge == 0.025
    assert recipe.points.count == (8192, 30000) and recipe.points.label_threshold == 0.004
    a = recipe.anomalies
    assert (a.per_sample, a.fraction, a.max_attempts) == ((1, 2), (0.01, 0.07), 12)
    assert list(a.ranges) == OP_NAMES                    # every operator, registry order
    assert a.ranges["bulge"] == {"radius": (0.2, 0.35), "height": (0.05, 0.05)}
    assert a.ranges["bending"] == {"angle": (10.0, 30.0), "segments": (2.0, 3.0)}
    assert a.ranges["hole"] == {"radius": (0.05, 0.12)}  # registry default
    assert all(isinstance(x, float) for r in a.ranges.values() for pair in r.values() for x in pair)
    assert [c.name for c in recipe.classes] == ["vase3", "ashtray0", "mycup"]   # YAML order
    vase3, ashtray0, mycup = recipe.classes
    assert vase3 == ClassSpec("vase3", 4, {"normal": 15, "concavity": 7, "scratch": 2, "crack": 2},
                              kind="vase", variant=3)
    assert list(vase3.test) == ["normal", "concavity", "scratch", "crack"]      # registry order
    assert ashtray0 == ClassSpec("ashtray0", 4, {"normal": 15, "bulge": 7, "concavity": 7},
                                 kind="ashtray", variant=0)
    assert mycup == ClassSpec("mycup", 2, {"normal": 15, "bulge": 7, "concavity": 7}, kind="cup", variant=7)
    o = recipe.output
    assert (o.dir, o.shard_size, o.compression, o.keep_meshes) == (Path("out/asn"), 16, "lzf", True)
    assert re.fullmatch(r"[0-9a-f]{64}", recipe.digest())


def test_minimal_recipe_takes_documented_defaults():
    recipe = recipe_from_mapping({"name": "m", "version": 1, "seed": 0, "classes": {"bowl2": None}})
    assert recipe.path == Path("<memory>")
    assert recipe.source.kind == "procedural" and recipe.source.remesh_edge == 0.025
    assert recipe.points.count == (8192, 30000) and recipe.points.label_threshold == 0.004
    a = recipe.anomalies
    assert (a.per_sample, a.fraction, a.max_attempts) == ((1, 1), (0.01, 0.07), 12)
    assert a.ranges == {op.name: {p.name: p.default for p in op.params} for op in TEST_OPERATORS}
    assert recipe.classes == (ClassSpec("bowl2", 4, {"normal": 15, "bulge": 7, "concavity": 7},
                                        kind="bowl", variant=2),)
    assert recipe.output.dir == Path("out/m") and recipe.output.shard_size == 32
    assert recipe.output.compression == "gzip" and recipe.output.keep_meshes is False


def test_null_values_read_as_absent_and_splits_test_replaces_default():
    doc = {"name": "m", "version": 1, "seed": 0, "source": None, "points": {"count": None},
           "splits": {"test": {"normal": 2, "scratch": 1}}, "classes": {"cap3": {"test": {"bending": 1}}}}
    recipe = recipe_from_mapping(doc)
    assert recipe.points.count == (8192, 30000)
    assert recipe.classes[0].test == {"normal": 2, "scratch": 1, "bending": 1}


def test_folder_source_resolves_meshes(tree):
    recipe = recipe_from_mapping(folder_doc(), tree / "recipes" / "r.yaml")
    meshes = (tree / "meshes").resolve()
    assert recipe.source.root == meshes
    assert [(c.name, c.mesh) for c in recipe.classes] == [
        ("mybunny", meshes / "bunny.obj"), ("teapot", meshes / "teapot.ply"),
        ("duck", meshes / "sub" / "duck.stl")]
    assert all(c.kind is None and c.synset is None for c in recipe.classes)


def test_paths_may_be_path_objects_from_python(tree):
    doc = folder_doc()
    doc["source"]["root"] = tree / "meshes"              # absolute, so the recipe path is unused
    doc["output"] = {"dir": Path("elsewhere")}
    recipe = recipe_from_mapping(doc)
    assert recipe.source.root == (tree / "meshes").resolve() and recipe.output.dir == Path("elsewhere")


def test_folder_auto_mesh_ignores_non_mesh_files(tree):
    doc = folder_doc()
    doc["classes"] = {"bunny": None}                     # bunny.obj and bunny.mtl: one mesh
    recipe = recipe_from_mapping(doc, tree / "recipes" / "r.yaml")
    assert recipe.classes[0].mesh == (tree / "meshes" / "bunny.obj").resolve()


def test_shapenet_source_resolves_synsets(tree):
    recipe = recipe_from_mapping(shapenet_doc(), tree / "recipes" / "r.yaml")
    assert recipe.source.root == (tree / "shapenet").resolve()
    chair, mug = recipe.classes
    assert (chair.synset, chair.model, chair.train, chair.test) == ("03001627", "1a2b3c", 4, {"normal": 3, "hole": 1})
    assert (mug.synset, mug.model, mug.train) == ("03797390", "9f8e7d", 1)


# --- errors: exact messages --------------------------------------------------------------------

def _set(doc, dotted, value):
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        if node.get(key) is None:
            node[key] = {}
        node = node[key]
    node[last] = value
    return doc


def _drop(doc, dotted):
    *parents, last = dotted.split(".")
    node = doc
    for key in parents:
        node = node[key]
    del node[last]
    return doc


PROCEDURAL_ERRORS = [
    (lambda d: _set(d, "anomalies.bulge.radiuss", [0.2, 0.3]),
     "anomalies.bulge.radiuss: got 'radiuss', expected one of radius, height (did you mean 'radius'?)"),
    (lambda d: _set(d, "seeed", 1),
     "seeed: got 'seeed', expected one of name, version, seed, source, points, anomalies, splits, "
     "classes, output, sensor (did you mean 'seed'?)"),
    (lambda d: _set(d, "anomalies.dent", {}),
     "anomalies.dent: got 'dent', expected one of per_sample, anomalous_fraction, max_attempts, bulge, "
     "concavity, scratch, crack, hole, break, bending"),
    (lambda d: _drop(d, "name"),
     "name: got None, expected a name of letters, digits, '_', '.', '-' (required)"),
    (lambda d: _set(d, "seed", None), "seed: got None, expected an integer in [0, 2**63) (required)"),
    (lambda d: _drop(d, "classes"),
     "classes: got None, expected a non-empty mapping of class names (required)"),
    (lambda d: _set(d, "classes", {}),
     "classes: got {}, expected a non-empty mapping of class names (each to null or settings)"),
    (lambda d: _set(d, "classes", ["vase3"]),
     "classes: got ['vase3'], expected a non-empty mapping of class names (each to null or settings)"),
    (lambda d: _set(d, "name", "my bench"), "name: got 'my bench', expected a name of letters, digits, '_', '.', '-'"),
    (lambda d: _set(d, "version", True), "version: got True, expected an integer >= 1"),
    (lambda d: _set(d, "version", 1.0), "version: got 1.0, expected an integer >= 1"),
    (lambda d: _set(d, "seed", -1), "seed: got -1, expected an integer in [0, 2**63)"),
    (lambda d: _set(d, "seed", 2**63), "seed: got 9223372036854775808, expected an integer in [0, 2**63)"),
    (lambda d: _set(d, "source.kind", "shapenett"),
     "source.kind: got 'shapenett', expected one of procedural, shapenet, folder (did you mean 'shapenet'?)"),
    (lambda d: _set(d, "source.root", "meshes"),
     "source.root: got 'meshes', expected no root (null) with source.kind procedural"),
    (lambda d: _set(d, "source.remesh_edge", 0.5), "source.remesh_edge: got 0.5, expected a number in [0.002, 0.2]"),
    (lambda d: _set(d, "points.label_threshold", "0.004"),
     "points.label_threshold: got '0.004', expected a number in (0, 0.1]"),
    (lambda d: _set(d, "points.label_threshold", 0),
     "points.label_threshold: got 0, expected a number in (0, 0.1]"),
    (lambda d: _set(d, "points.count", [30000, 8192]),
     "points.count: got [30000, 8192], expected an integer or [low, high] integers with "
     "64 <= low <= high <= 2000000"),
    (lambda d: _set(d, "points.count", [8192, 30000, 5]),
     "points.count: got [8192, 30000, 5], expected an integer or [low, high] integers with "
     "64 <= low <= high <= 2000000"),
    (lambda d: _set(d, "anomalies.per_sample", 6),
     "anomalies.per_sample: got 6, expected an integer or [low, high] integers with 1 <= low <= high <= 5"),
    (lambda d: _set(d, "anomalies.anomalous_fraction", [0.07, 0.07]),
     "anomalies.anomalous_fraction: got [0.07, 0.07], expected [low, high] numbers with "
     "0 < low < high <= 0.5"),
    (lambda d: _set(d, "anomalies.anomalous_fraction", 0.05),
     "anomalies.anomalous_fraction: got 0.05, expected [low, high] numbers with 0 < low < high <= 0.5"),
    (lambda d: _set(d, "anomalies.max_attempts", 0), "anomalies.max_attempts: got 0, expected an integer in [1, 100]"),
    (lambda d: _set(d, "anomalies.bulge.radius", [0.2, 0.9]),
     "anomalies.bulge.radius: got [0.2, 0.9], expected a number or [low, high] numbers with "
     "0.05 <= low <= high <= 0.6"),
    (lambda d: _set(d, "anomalies.bending.segments", 2.5),
     "anomalies.bending.segments: got 2.5, expected an integer or [low, high] integers with "
     "1 <= low <= high <= 8"),
    (lambda d: _set(d, "anomalies.bulge", [0.2, 0.3]),
     "anomalies.bulge: got [0.2, 0.3], expected a mapping with keys among radius, height"),
    (lambda d: _set(d, "splits.train", -2), "splits.train: got -2, expected an integer in [0, 1000000]"),
    (lambda d: _set(d, "splits.test.dent", 3),
     "splits.test.dent: got 'dent', expected one of normal, bulge, concavity, scratch, crack, hole, "
     "break, bending"),
    (lambda d: _set(d, "classes.vase3.test.bulge", -1),
     "classes.vase3.test.bulge: got -1, expected an integer in [0, 1000000]"),
    (lambda d: _set(d, "splits.train", 10_000_000), "splits.train: got 10000000, expected an integer in [0, 1000000]"),
    (lambda d: _set(d, "classes.vase3.test.bulge", 10**12),
     "classes.vase3.test.bulge: got 1000000000000, expected an integer in [0, 1000000]"),
    (lambda d: _set(d, "classes.vase3.train", "4"), "classes.vase3.train: got '4', expected an integer in [0, 1000000]"),
    (lambda d: _set(d, "classes.vase3.mesh", "vase.obj"),
     "classes.vase3.mesh: got 'mesh', expected no 'mesh' key with source.kind procedural "
     "(a class here takes train, test, kind, variant)"),
    (lambda d: _set(d, "classes.vase3.synset", "vase"),
     "classes.vase3.synset: got 'synset', expected no 'synset' key with source.kind procedural "
     "(a class here takes train, test, kind, variant)"),
    (lambda d: _set(d, "classes.vase3.colour", "red"),
     "classes.vase3.colour: got 'colour', expected one of train, test, kind, variant"),
    (lambda d: _set(d, "classes.mycup.kind", "mug"),
     "classes.mycup.kind: got 'mug', expected one of ashtray, bag, bottle, bowl, bucket, cabinet, cap, "
     "chair, cup, desk, eraser, headset, helmet, jar, knife, microphone, screen, shelf, tap, vase"),
    (lambda d: _set(d, "classes.mycup.variant", -7), "classes.mycup.variant: got -7, expected a non-negative integer"),
    (lambda d: _set(d, "classes.vase 3", None), "classes.vase 3: got 'vase 3', expected a name of letters, digits, '_', '.', '-'"),
    (lambda d: _set(d, "output.shard_size", 0), "output.shard_size: got 0, expected an integer in [1, 100000]"),
    (lambda d: _set(d, "output.compression", "zstd"), "output.compression: got 'zstd', expected one of gzip, lzf, none"),
    (lambda d: _set(d, "output.keep_meshes", "no"), "output.keep_meshes: got 'no', expected true or false"),
    (lambda d: _set(d, "output.dir", 3), "output.dir: got 3, expected a folder path"),
]


@pytest.mark.parametrize("mutate, message", PROCEDURAL_ERRORS, ids=[m.split(":")[0] for _, m in PROCEDURAL_ERRORS])
def test_error_messages(mutate, message):
    assert error_of(mutate(full_doc())) == f"r.yaml: {message}"


def test_unknown_procedural_kind_lists_the_kinds():
    doc = full_doc()
    doc["classes"]["teapot0"] = None
    message = error_of(doc)
    assert message.startswith("r.yaml: classes.teapot0: got 'teapot0', expected a class name "
                              "<kind><variant> with kind one of ashtray, bag, ")
    assert message.endswith(", or a 'kind' key")


def test_error_fields():
    doc = _set(full_doc(), "classes.vase3.test.bulge", -1)
    with pytest.raises(RecipeError) as info:
        recipe_from_mapping(doc, "recipes/x.yaml")
    err = info.value
    assert (err.file, err.key, err.value, err.expected) == (
        "recipes/x.yaml", "classes.vase3.test.bulge", -1, "an integer in [0, 1000000]")
    assert isinstance(err, ValueError)


def test_long_values_are_shortened_in_the_message():
    message = error_of(_set(full_doc(), "classes", list(range(1000))))
    assert len(message) < 300 and "..." in message and "\n" not in message


FOLDER_ERRORS = [
    (lambda d: _drop(d, "source.root"), "source.root: got None, expected a folder (required with source.kind folder)"),
    (lambda d: _set(d, "source.root", "../nowhere"), "source.root: got '../nowhere', expected an existing directory "
                                                     "({base}/nowhere does not exist)"),
    (lambda d: _set(d, "source.root", "../meshes/bunny.obj"),
     "source.root: got '../meshes/bunny.obj', expected an existing directory ({base}/meshes/bunny.obj is not a directory)"),
    (lambda d: _set(d, "classes.mybunny.mesh", "bunny2.obj"),
     "classes.mybunny.mesh: got 'bunny2.obj', expected an existing mesh file ({base}/meshes/bunny2.obj does not exist)"),
    (lambda d: _set(d, "classes.mybunny.mesh", "sub"),
     "classes.mybunny.mesh: got 'sub', expected an existing mesh file ({base}/meshes/sub is not a file)"),
    (lambda d: _set(d, "classes.mybunny.mesh", ["bunny.obj"]),
     "classes.mybunny.mesh: got ['bunny.obj'], expected a mesh file path relative to source.root"),
    (lambda d: _set(d, "classes.mybunny.mesh", "../shapenet/03797390/9f8e7d/model.obj"),
     "classes.mybunny.mesh: got '../shapenet/03797390/9f8e7d/model.obj', expected a mesh file inside source.root "
     "{base}/meshes (it resolves to {base}/shapenet/03797390/9f8e7d/model.obj)"),
    (lambda d: _set(d, "classes.mybunny.mesh", "/etc/passwd"),
     "classes.mybunny.mesh: got '/etc/passwd', expected a mesh file inside source.root {base}/meshes "
     "(it resolves to /etc/passwd)"),
    (lambda d: _set(d, "classes.mybunny.mesh", "bunny.mtl"),
     "classes.mybunny.mesh: got 'bunny.mtl', expected a mesh file ending in one of .obj, .ply, .stl, .off, .glb, "
     ".gltf"),
    (lambda d: _set(d, "classes.horse", None),
     "classes.horse: got 'horse', expected a 'mesh' key, or exactly one mesh file horse.<ext> in {base}/meshes "
     "(found none)"),
    (lambda d: _set(d, "classes.twin", {}),
     "classes.twin: got 'twin', expected a 'mesh' key, or exactly one mesh file twin.<ext> in {base}/meshes "
     "(found twin.obj, twin.off)"),
    (lambda d: _set(d, "classes.mybunny.kind", "vase"),
     "classes.mybunny.kind: got 'kind', expected no 'kind' key with source.kind folder "
     "(a class here takes train, test, mesh)"),
    (lambda d: _set(d, "classes.mybunny.model", "x"),
     "classes.mybunny.model: got 'model', expected no 'model' key with source.kind folder "
     "(a class here takes train, test, mesh)"),
]


@pytest.mark.parametrize("mutate, message", FOLDER_ERRORS, ids=[m.split(":")[0] for _, m in FOLDER_ERRORS])
def test_folder_error_messages(tree, mutate, message):
    path = tree / "recipes" / "r.yaml"
    base = tree.resolve()
    assert error_of(mutate(folder_doc()), path) == f"{path}: " + message.format(base=base)


def test_folder_mesh_must_be_readable(tree, monkeypatch):
    import os

    bunny = (tree / "meshes" / "bunny.obj").resolve()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != bunny and real_access(p, mode))
    path = tree / "recipes" / "r.yaml"
    assert error_of(folder_doc(), path) == (
        f"{path}: classes.mybunny.mesh: got 'bunny.obj', expected a readable mesh file ({bunny} is not readable)")


@pytest.mark.parametrize("key, value", [
    ("source.root", "a\0b"), ("source.root", "x" * 5000), ("source.root", "/".join(["d"] * 3000)),
    ("source.root", "~no_such_user_xyz/m"), ("classes.mybunny.mesh", "a\0b.obj"),
    ("classes.mybunny.mesh", "y" * 5000), ("classes.mybunny.mesh", "~no_such_user_xyz/m.obj"),
])
def test_hostile_paths_give_recipe_errors(tree, key, value):
    with pytest.raises(RecipeError) as info:
        recipe_from_mapping(_set(folder_doc(), key, value), tree / "recipes" / "r.yaml")
    assert info.value.key == key


def test_hostile_shapenet_model_gives_recipe_error(tree):
    with pytest.raises(RecipeError) as info:
        recipe_from_mapping(_set(shapenet_doc(), "classes.chair1.model", "m" * 5000), tree / "recipes" / "r.yaml")
    assert info.value.key == "classes.chair1.model"


SHAPENET_ERRORS = [
    (lambda d: _drop(d, "classes.chair1.synset"),
     "classes.chair1.synset: got None, expected a ShapeNet synset name or 8-digit id (required)"),
    (lambda d: _drop(d, "classes.chair1.model"), "classes.chair1.model: got None, expected a ShapeNet model id (required)"),
    (lambda d: _set(d, "classes.chair1.synset", 3001627),
     "classes.chair1.synset: got 3001627, expected a ShapeNet synset name or 8-digit id, as a string "
     "(quote ids: YAML reads 03001627 as a number)"),
    (lambda d: _set(d, "classes.chair1.model", 12345),
     "classes.chair1.model: got 12345, expected a ShapeNet model id, as a string (quote it if YAML reads it "
     "as a number)"),
    (lambda d: _set(d, "classes.chair1.model", "ffff"),
     "classes.chair1.model: got 'ffff', expected a model folder {base}/shapenet/03001627/ffff holding "
     "models/model_normalized.obj (ShapeNetCore v2) or model.obj (v1)"),
    (lambda d: _set(d, "classes.chair1.mesh", "a.obj"),
     "classes.chair1.mesh: got 'mesh', expected no 'mesh' key with source.kind shapenet "
     "(a class here takes train, test, synset, model)"),
]


@pytest.mark.parametrize("mutate, message", SHAPENET_ERRORS, ids=[m.split(":")[0] for _, m in SHAPENET_ERRORS])
def test_shapenet_error_messages(tree, mutate, message):
    path = tree / "recipes" / "r.yaml"
    assert error_of(mutate(shapenet_doc()), path) == f"{path}: " + message.format(base=tree.resolve())


def test_unknown_synset_names_the_key(tree):
    doc = _set(shapenet_doc(), "classes.chair1.synset", "chiar")
    path = tree / "recipes" / "r.yaml"
    message = error_of(doc, path)
    assert message.startswith(f"{path}: classes.chair1.synset: got 'chiar', expected a ShapeNet synset name "
                              "or 8-digit id (")


def test_yaml_syntax_error_names_line_and_column(tmp_path):
    path = write(tmp_path / "bad.yaml", "name: x\nversion: 1\nseed: [1, 2\nclasses: {a0: null}\n")
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert info.value.key == "<root>"
    assert re.fullmatch(rf"{re.escape(str(path))}: <root>: got '.*', expected valid YAML \(line \d+, column \d+: .+\)",
                        str(info.value))


def test_yaml_mapping_values_error(tmp_path):
    path = write(tmp_path / "bad.yaml", "name: x\nseed: 1: 2\n")
    message = str(pytest.raises(RecipeError, load_recipe, path).value)
    assert re.fullmatch(re.escape(f"{path}: <root>: got 'seed: 1: 2', expected valid YAML (line 2, column 8: ")
                        + r"mapping values are not allowed (here|in this context)\)", message)  # PyYAML | libyaml


def test_duplicate_keys_are_rejected(tmp_path):
    path = write(tmp_path / "dup.yaml", "name: x\nversion: 1\nseed: 1\nclasses:\n  vase3:\n  vase3: {train: 1}\n")
    assert str(pytest.raises(RecipeError, load_recipe, path).value) == (
        f"{path}: <root>: got '  vase3: {{train: 1}}', expected valid YAML (line 6, column 3: "
        "found duplicate key 'vase3', while constructing a mapping at line 5, column 3)")


@pytest.mark.parametrize("text, shown", [("- a\n- b\n", "['a', 'b']"), ("", "None"), ("just text\n", "'just text'")])
def test_recipe_that_is_not_a_mapping(tmp_path, text, shown):
    path = write(tmp_path / "list.yaml", text)
    assert str(pytest.raises(RecipeError, load_recipe, path).value) == (
        f"{path}: <root>: got {shown}, expected a mapping with keys among name, version, seed, source, points, "
        "anomalies, splits, classes, output, sensor")


def test_missing_or_unreadable_recipe_file(tmp_path):
    missing = tmp_path / "none.yaml"
    assert str(pytest.raises(RecipeError, load_recipe, missing).value) == (
        f"{missing}: <root>: got '{missing}', expected a readable recipe file (no such file)")
    assert str(pytest.raises(RecipeError, load_recipe, tmp_path).value) == (
        f"{tmp_path}: <root>: got '{tmp_path}', expected a readable recipe file (it is a directory)")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"name: \xff\xfe\n")
    assert "expected a readable recipe file (not UTF-8 text, byte 6)" in str(
        pytest.raises(RecipeError, load_recipe, binary).value)


# --- hypothesis: mutations always give a RecipeError that names an existing key path -------------

def _walk(node, prefix=()):
    """Every (path, value) below node; list items get their index as path element."""
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield prefix + (key,), value
        yield from _walk(value, prefix + (key,))


def _get(doc, path):
    for key in path:
        doc = doc[key]
    return doc


def _resolves(doc, dotted: str) -> bool:
    node = doc
    for key in dotted.split("."):
        if isinstance(node, dict) and key in node:
            node = node[key]
        elif isinstance(node, list) and key.isdigit() and int(key) < len(node):
            node = node[int(key)]
        else:
            return False
    return True


def _dotted(path) -> str:
    return ".".join(str(k) for k in path)


REQUIRED = {("name",), ("version",), ("seed",), ("classes",), ("source", "root"),
            ("classes", "chair1", "synset"), ("classes", "chair1", "model"),
            ("classes", "mug0", "synset"), ("classes", "mug0", "model")}
UNBOUNDED = {"version", "train", "test", "variant"}     # integer >= 0 or >= 1, no upper bound


def _base_docs():
    return {"procedural": full_doc(), "folder": folder_doc(), "shapenet": shapenet_doc()}


junk_values = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                        st.text(max_size=8), st.lists(st.integers(), max_size=3),
                        st.dictionaries(st.text("abc", min_size=1, max_size=3), st.integers(), max_size=2))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), which=st.sampled_from(["procedural", "folder", "shapenet"]),
       mutation=st.sampled_from(["drop", "insert", "string", "negative", "huge"]))
def test_mutations_give_recipe_errors_naming_existing_keys(tree, data, which, mutation):
    doc = _base_docs()[which]
    path = tree / "recipes" / "mutated.yaml"
    recipe_from_mapping(copy.deepcopy(doc), path)        # the unmutated document is valid
    paths = list(_walk(doc))
    if mutation == "drop":
        target, _ = data.draw(st.sampled_from([(p, v) for p, v in paths if isinstance(p[-1], str)]))
        del _get(doc, target[:-1])[target[-1]]
    elif mutation == "insert":
        containers = [()] + [p for p, v in paths if isinstance(v, dict)]
        parent = data.draw(st.sampled_from(containers))
        key = "zz_" + data.draw(st.from_regex(r"[a-z_]{1,8}", fullmatch=True))
        target = parent + (key,)
        _get(doc, parent)[key] = data.draw(junk_values)
    else:
        numbers = [(p, v) for p, v in paths if isinstance(v, (int, float)) and not isinstance(v, bool)]
        target, value = data.draw(st.sampled_from(numbers))
        new = {"string": str(value), "negative": -abs(value) - 1,
               "huge": 10**30 if isinstance(value, int) else 1e30}[mutation]
        _get(doc, target[:-1])[target[-1]] = new

    write(path, doc)
    try:
        load_recipe(path)
    except RecipeError as err:
        assert "\n" not in str(err) and str(err).startswith(f"{path}: {err.key}: got ")
        # the named key exists in the mutated document, or is a missing key in an existing mapping
        assert _resolves(doc, err.key) or (err.value is None and (
            "." not in err.key or _resolves(doc, err.key.rsplit(".", 1)[0])))
        # an inserted or replaced key is named itself, or its parent (a [low, high] pair) or its
        # child (a key inside an inserted class); a dropped optional key can fail elsewhere
        # (no source.kind: a folder recipe reads as procedural)
        dotted = _dotted(target)
        if mutation != "drop":
            assert err.key == dotted or dotted.startswith(err.key + ".") or err.key.startswith(dotted + "."), (
                err.key, dotted)
    else:
        # only a dropped optional key, or a huge count where counts have no upper bound, is valid
        assert (mutation == "drop" and target not in REQUIRED) or (
            mutation == "huge" and UNBOUNDED & set(map(str, target))), (mutation, target)
    if mutation == "drop" and target in REQUIRED:
        assert pytest.raises(RecipeError, load_recipe, path).value.key == _dotted(target)


# --- round trips and digest ------------------------------------------------------------------

@st.composite
def param_ranges(draw):
    op = draw(st.sampled_from(TEST_OPERATORS))
    param = draw(st.sampled_from(op.params))
    low_bound, high_bound = param.bounds
    if param.integer:
        values = st.integers(int(low_bound), int(high_bound))
    else:
        values = st.floats(low_bound, high_bound, allow_nan=False)
    low, high = sorted([draw(values), draw(values)])
    scalar = draw(st.booleans())
    return op.name, param.name, (low if scalar else [low, high]), ((low, low) if scalar else (low, high))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(case=param_ranges(),
       count=st.tuples(st.integers(64, 2_000_000), st.integers(64, 2_000_000)).map(sorted),
       fraction=st.tuples(st.floats(1e-6, 0.5), st.floats(1e-6, 0.5)).filter(lambda t: t[0] != t[1]).map(sorted))
def test_numeric_ranges_round_trip_through_yaml(tmp_path, case, count, fraction):
    op, param, given_value, expected = case
    doc = full_doc()
    doc["anomalies"][op] = {param: given_value}
    doc["points"]["count"] = list(count)
    doc["anomalies"]["anomalous_fraction"] = list(fraction)
    recipe = load_recipe(write(tmp_path / "rt.yaml", doc))
    assert recipe.anomalies.ranges[op][param] == tuple(float(x) for x in expected)
    assert recipe.points.count == tuple(count)
    assert recipe.anomalies.fraction == tuple(fraction)


def test_numpy_numbers_are_accepted_from_python():
    doc = full_doc()
    doc["seed"] = np.int64(7)
    doc["points"]["count"] = [np.int32(100), 200]
    doc["points"]["label_threshold"] = np.float64(0.01)
    recipe = recipe_from_mapping(doc)
    assert recipe.seed == 7 and type(recipe.seed) is int and recipe.points.count == (100, 200)


def test_digest_is_stable_across_paths_and_key_order(tree, tmp_path):
    first = load_recipe(write(tmp_path / "a.yaml", FULL_YAML))
    (tmp_path / "other").mkdir()
    reordered = dict(reversed(list(full_doc().items())))             # classes keep their order
    second = load_recipe(write(tmp_path / "other" / "b.yaml", reordered))
    assert first.digest() == second.digest() == recipe_from_mapping(full_doc()).digest()
    # equal content: a number x and [x, x]; an int and the same float
    doc = full_doc()
    doc["anomalies"]["bulge"]["height"] = [0.05, 0.05]
    doc["source"]["remesh_edge"] = 0.025
    doc["points"]["label_threshold"] = 0.004
    assert recipe_from_mapping(doc).digest() == first.digest()
    # the same folder source reached from two recipe folders
    (tree / "recipes" / "deeper").mkdir(exist_ok=True)
    doc_a, doc_b = folder_doc(), folder_doc()
    doc_b["source"]["root"] = "../../meshes"
    a = recipe_from_mapping(doc_a, tree / "recipes" / "a.yaml")
    b = recipe_from_mapping(doc_b, tree / "recipes" / "deeper" / "b.yaml")
    assert a.digest() == b.digest()
    assert a.canonical_json() == b.canonical_json() and '"path"' not in a.canonical_json()


DIGEST_CHANGES = [
    ("name", "other"), ("version", 2), ("seed", 20240618), ("source.remesh_edge", 0.03),
    ("points.count", [8192, 30001]), ("points.label_threshold", 0.005), ("anomalies.per_sample", 2),
    ("anomalies.anomalous_fraction", [0.01, 0.08]), ("anomalies.max_attempts", 13),
    ("anomalies.bulge.radius", [0.2, 0.36]), ("anomalies.hole.radius", [0.05, 0.12000001]),
    ("splits.train", 5), ("splits.test.normal", 14), ("classes.vase3.test.hole", 1),
    ("classes.mycup.variant", 8), ("classes.mycup.kind", "bowl"), ("classes.vase4", None),
    ("output.dir", "out/b"), ("output.shard_size", 17), ("output.compression", "none"),
    ("output.keep_meshes", False),
]


@pytest.mark.parametrize("key, value", DIGEST_CHANGES, ids=[k for k, _ in DIGEST_CHANGES])
def test_digest_changes_with_any_value(key, value):
    base = recipe_from_mapping(full_doc()).digest()
    assert recipe_from_mapping(_set(full_doc(), key, value)).digest() != base


def test_digest_changes_with_class_order_and_root(tree):
    doc = full_doc()
    doc["classes"] = dict(reversed(list(doc["classes"].items())))
    assert recipe_from_mapping(doc).digest() != recipe_from_mapping(full_doc()).digest()
    other = tree / "meshes_copy"
    other.mkdir(exist_ok=True)
    (other / "teapot.ply").write_text("")
    doc_a = {**folder_doc(), "classes": {"teapot": None}}
    doc_b = {**doc_a, "source": {"kind": "folder", "root": "../meshes_copy"}}
    path = tree / "recipes" / "r.yaml"
    assert recipe_from_mapping(doc_a, path).digest() != recipe_from_mapping(doc_b, path).digest()


def test_digest_sees_registry_defaults(monkeypatch):
    base = recipe_from_mapping(full_doc()).digest()
    hole = OPERATORS["hole"]
    monkeypatch.setitem(OPERATORS, "hole", Operator("hole", "hole", (Param("radius", (0.05, 0.2), (0.01, 0.3), "r"),),
                                                    hole.apply))
    assert recipe_from_mapping(full_doc()).digest() != base
