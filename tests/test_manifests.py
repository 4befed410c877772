"""The committed benchmark manifests belong to the committed recipes (CI regenerates ci_small
and verifies every checksum; this catches a recipe edited without its manifest)."""

import json
from pathlib import Path

import pytest

from anomalygen.plan import sample_jobs
from anomalygen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["ci_small", "anomaly_shapenet"])
def test_manifest_matches_its_recipe(name):
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    manifest = json.loads((ROOT / "recipes" / "manifests" / f"{name}.json").read_text())
    assert manifest["recipe"]["digest"] == recipe.digest(), f"regenerate recipes/manifests/{name}.json"
    assert manifest["recipe"]["version"] == recipe.version
    planned = {job.sample_id for job in sample_jobs(recipe)}
    assert set(manifest["samples"]) | set(manifest["failed"]) == planned
    assert manifest["failed"] == {}


def test_anomaly_shapenet_recipe_has_the_real_per_class_composition(shared_data):
    """Counts from the real release's file list (shared/reference), token by token."""
    from collections import Counter

    listing = shared_data.parent / "reference" / "anomaly-shapenet-test-files.jsonl"
    real = Counter()
    for line in listing.read_text().splitlines():
        name = json.loads(line)["filename"].split("/")[-1]  # e.g. vase0_bulge3.pcd
        class_name, rest = name[: -len(".pcd")].split("_", 1)
        real[(class_name, rest.rstrip("0123456789"))] += 1
    tokens = {"normal": "positive", "crack": "crak", "break": "broken"}
    recipe = load_recipe(ROOT / "recipes" / "anomaly_shapenet.yaml")
    ours = Counter({(c.name, tokens.get(kind, kind)): n for c in recipe.classes for kind, n in c.test.items()})
    assert ours == real
    assert sum(c.train for c in recipe.classes) == 160


def test_validation_recipe_differs_from_the_benchmark_only_in_seed_and_name():
    """Detector settings are chosen on anomaly_shapenet_val: it must be the same benchmark drawn anew."""
    import dataclasses

    test = load_recipe(ROOT / "recipes" / "anomaly_shapenet.yaml")
    val = load_recipe(ROOT / "recipes" / "anomaly_shapenet_val.yaml")
    assert val.seed != test.seed
    same = ("source", "points", "anomalies", "classes")
    assert all(getattr(val, key) == getattr(test, key) for key in same)
    assert dataclasses.replace(val.output, dir=test.output.dir) == test.output
