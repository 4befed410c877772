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
