"""Sources of shapes are a registry: a source registered here is usable from a recipe, end to end."""

from __future__ import annotations

import json

import pytest
import trimesh

from anomalygen.recipe import DEFAULTS, RecipeError, load_recipe, recipe_from_mapping
from anomalygen.shapes import SOURCES, Source, register, source_mesh


def _check_sphere(check, key, name, entry, root):
    subdivisions = check.integer(f"{key}.subdivisions", entry.get("subdivisions", 2), 1, 4)
    return {"options": {"subdivisions": subdivisions}}


def _sphere(root, cls):
    return trimesh.creation.icosphere(subdivisions=cls.options["subdivisions"])


@pytest.fixture
def sphere_source():
    source = register(Source("sphere", ("subdivisions",), _check_sphere, _sphere, needs_root=False))
    yield source
    del SOURCES["sphere"]


def sphere_recipe(**classes):
    return {"name": "spheres", "version": 1, "seed": 3, "source": {"kind": "sphere", "remesh_edge": 0.05},
            "points": {"count": 256}, "splits": {"train": 1, "test": {}}, "classes": classes,
            "output": {"shard_size": 1}}


def test_a_registered_source_is_usable_from_a_recipe(sphere_source, tmp_path):
    from anomalygen.pipeline import synthesize

    recipe = recipe_from_mapping(sphere_recipe(ball=None, fine={"subdivisions": 3}), tmp_path / "r.yaml")
    ball, fine = recipe.classes
    assert (ball.options, fine.options) == ({"subdivisions": 2}, {"subdivisions": 3})
    assert len(source_mesh(recipe.source, fine).faces) == 1280
    # the class settings are the recipe's: they reach its digest
    other = recipe_from_mapping(sphere_recipe(ball=None, fine={"subdivisions": 4}), tmp_path / "r.yaml")
    assert other.digest() != recipe.digest()

    manifest = synthesize(recipe, tmp_path / "out", cache_dir=tmp_path / "cache")
    assert sorted(manifest["samples"]) == ["ball/train/template0", "fine/train/template0"] and not manifest["failed"]


def test_a_registered_source_checks_its_class_entries(sphere_source, tmp_path):
    path = tmp_path / "r.yaml"
    with pytest.raises(RecipeError) as bad:
        recipe_from_mapping(sphere_recipe(ball={"subdivisions": 9}), path)
    assert str(bad.value) == f"{path}: classes.ball.subdivisions: got 9, expected an integer in [1, 4]"
    # a key of another registered source is named as misplaced, with this source's keys
    with pytest.raises(RecipeError) as misplaced:
        recipe_from_mapping(sphere_recipe(ball={"mesh": "ball.obj"}), path)
    assert str(misplaced.value) == (f"{path}: classes.ball.mesh: got 'mesh', expected no 'mesh' key with source.kind "
                                    "sphere (a class here takes train, test, subdivisions)")
    # no source.root for a source without one
    doc = sphere_recipe(ball=None)
    doc["source"]["root"] = str(tmp_path)
    with pytest.raises(RecipeError, match="source.root: .* expected no root \\(null\\) with source.kind sphere"):
        recipe_from_mapping(doc, path)


def test_an_unknown_source_kind_names_the_file_the_key_and_the_registered_kinds(sphere_source, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(json.dumps(sphere_recipe(ball=None) | {"source": {"kind": "spheer"}}))
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    assert str(info.value) == (f"{path}: source.kind: got 'spheer', expected one of procedural, shapenet, folder, "
                               "sphere (did you mean 'sphere'?)")
    assert (info.value.file, info.value.key) == (str(path), "source.kind")


def test_a_kind_registers_once():
    with pytest.raises(ValueError, match="registered twice"):
        register(SOURCES["folder"])


def test_procedural_classes_keep_their_canonical_json():
    """A ClassSpec's options are left out of the digest while empty, so every recipe of the
    built-in sources keeps its digest (and its committed manifest)."""
    recipe = recipe_from_mapping({"name": "n", "version": 1, "seed": 0, "classes": {"vase3": None}})
    assert '"options"' not in recipe.canonical_json()


def test_the_docstring_shows_the_defaults():
    import anomalygen.recipe

    if anomalygen.recipe.__doc__:               # None under python -OO
        assert f"      remesh_edge: {DEFAULTS['source']['remesh_edge']}  " in anomalygen.recipe.__doc__
        assert "{source." not in anomalygen.recipe.__doc__
