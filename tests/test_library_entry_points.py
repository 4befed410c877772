"""What the command line used to work out itself, now asked of the library (the CLI parses and prints)."""

from __future__ import annotations

import json

import pytest

from anomalygen.execute import Execution, ExecutionConflict
from anomalygen.pipeline import failures_by_reason, load_manifest_file, verify_against
from anomalygen.plan import class_of
from anomalygen.recipe import load_recipe, recipe_from_mapping

RECIPE = {"name": "n", "version": 1, "seed": 0, "splits": {"train": 2, "test": {"normal": 1, "bulge": 3}},
          "classes": {"cup0": None, "vase3": {"train": 1}}}


def test_recipe_counts_and_selects_classes(tmp_path):
    recipe = recipe_from_mapping(RECIPE, tmp_path / "r.yaml")
    assert recipe.sample_count() == 6 + 5 and recipe.sample_count(["vase3"]) == 5
    assert [c.name for c in recipe.select(["vase3", "cup0"])] == ["cup0", "vase3"]    # the recipe's order
    with pytest.raises(ValueError) as unknown:
        recipe.sample_count(["vase3", "chair1"])
    assert str(unknown.value) == f"chair1 not in {tmp_path / 'r.yaml'} (it has cup0, vase3)"


def test_failures_are_grouped_by_reason_for_the_classes_asked():
    manifest = {"failed": {"cup0/test/bulge1": "no room", "cup0/test/bulge0": "no room", "vase3/train/template0": "x"}}
    assert failures_by_reason(manifest) == {"no room": ["cup0/test/bulge0", "cup0/test/bulge1"],
                                            "x": ["vase3/train/template0"]}
    assert failures_by_reason(manifest, ["vase3"]) == {"x": ["vase3/train/template0"]}
    assert class_of("vase3/train/template0") == "vase3"


def test_a_manifest_file_that_is_not_one_is_named(tmp_path):
    path = tmp_path / "manifest.json"
    for text, why in (("{not json", "not a manifest.json (Expecting"), ("[1]", "not a manifest.json (no JSON object)")):
        path.write_text(text)
        with pytest.raises(ValueError) as info:
            load_manifest_file(path)
        assert str(info.value).startswith(f"{path}: {why}")


def test_verify_against_a_committed_manifest_reports_what_it_checked():
    recipe = load_recipe("recipes/ci_small.yaml")
    manifest = json.loads(open("recipes/manifests/ci_small.json").read())
    one = sorted(manifest["samples"])[0]
    result = verify_against(recipe, "recipes/manifests/ci_small.json", sample_ids=[one])
    assert (result.checked, result.differences, result.damaged, result.other_recipe) == (1, {}, {}, False)


def test_execution_names_the_options_that_conflict():
    with pytest.raises(ExecutionConflict) as conflict:
        Execution(workers=2, dask_local=2)
    assert conflict.value.options == ("workers", "dask_local")
    assert str(conflict.value).startswith("workers and dask_local exclude each other")
    spelled = ExecutionConflict(conflict.value.options, lambda name: "--" + name.replace("_", "-"))
    assert str(spelled).startswith("--workers and --dask-local exclude each other")


def test_detector_config_files(tmp_path):
    pytest.importorskip("torch")
    from anomalygen.detect.base import read_config
    from anomalygen.detect.benchmark import read_configs

    (tmp_path / "ok.yaml").write_text("steps: 3\n")
    (tmp_path / "list.yaml").write_text("- 1\n")
    (tmp_path / "empty.yaml").write_text("")
    assert read_config(tmp_path / "ok.yaml") == {"steps": 3} and read_config(tmp_path / "empty.yaml") is None
    assert read_configs([f"imrnet={tmp_path / 'ok.yaml'}"]) == {"imrnet": {"steps": 3}}
    for bad in (f"imrnet={tmp_path / 'list.yaml'}", f"imrnet={tmp_path / 'empty.yaml'}"):
        with pytest.raises(ValueError, match="expected a mapping of config keys to values"):
            read_configs([bad])
    with pytest.raises(ValueError, match="expected METHOD=FILE"):
        read_configs([str(tmp_path / "ok.yaml")])
