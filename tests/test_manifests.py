"""The committed benchmark manifests belong to the committed recipes (CI regenerates ci_small
and verifies every checksum; this catches a recipe edited without its manifest)."""

import json
from pathlib import Path

import pytest

from anomalygen.plan import sample_jobs
from anomalygen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]

SECOND_RELEASE = {"cabinet0", "cap1", "cap2", "chair0", "cup2", "desk0", "knife0", "knife1",
                  "microphone1", "screen0", "vase6", "vase10"}
"""The classes Anomaly-ShapeNet's second release adds (shared/reference/loaders.md)."""


@pytest.mark.parametrize("name", ["ci_small", "anomaly_shapenet", "anomaly_shapenet_v2", "real3d_like"])
def test_manifest_matches_its_recipe(name):
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    manifest = json.loads((ROOT / "recipes" / "manifests" / f"{name}.json").read_text())
    assert manifest["recipe"]["digest"] == recipe.digest(), f"regenerate recipes/manifests/{name}.json"
    assert manifest["recipe"]["version"] == recipe.version
    planned = {job.sample_id for job in sample_jobs(recipe)}
    assert set(manifest["samples"]) | set(manifest["failed"]) == planned
    assert manifest["failed"] == {}


@pytest.mark.parametrize("name", ["anomaly_shapenet", "anomaly_shapenet_v2"])
def test_anomaly_shapenet_recipe_has_the_real_per_class_composition(shared_data, name):
    """Counts from the real release's file list (shared/reference), token by token; the v2
    recipe's first-release classes too (its added classes are checked below)."""
    from collections import Counter

    listing = shared_data.parent / "reference" / "anomaly-shapenet-test-files.jsonl"
    real = Counter()
    for line in listing.read_text().splitlines():
        file_name = json.loads(line)["filename"].split("/")[-1]  # e.g. vase0_bulge3.pcd
        class_name, rest = file_name[: -len(".pcd")].split("_", 1)
        real[(class_name, rest.rstrip("0123456789"))] += 1
    tokens = {"normal": "positive", "crack": "crak", "break": "broken"}
    recipe = load_recipe(ROOT / "recipes" / f"{name}.yaml")
    listed = {c.name for c in recipe.classes} - SECOND_RELEASE
    assert listed == {class_name for class_name, _ in real}
    ours = Counter({(c.name, tokens.get(kind, kind)): n for c in recipe.classes for kind, n in c.test.items()
                    if c.name in listed})
    assert ours == real
    assert sum(c.train for c in recipe.classes if c.name in listed) == 160


def test_v2_recipe_is_the_first_release_plus_the_twelve_added_classes():
    """What is known is kept exactly: the 40 first-release classes with their real composition
    (the anomaly_shapenet recipe, checked against the release above), same seed and settings,
    so they come out sample for sample the same. What is inferred (the added classes' extra
    types) is only checked for its shape: the universal part of every real class, and anomaly
    types the recipe header names."""
    v1 = load_recipe(ROOT / "recipes" / "anomaly_shapenet.yaml")
    v2 = load_recipe(ROOT / "recipes" / "anomaly_shapenet_v2.yaml")
    first = {c.name: c for c in v1.classes}
    second = {c.name: c for c in v2.classes}
    assert len(second) == 52 and set(second) == set(first) | SECOND_RELEASE
    assert all(second[name] == cls for name, cls in first.items())
    same = ("seed", "source", "points", "anomalies")
    assert all(getattr(v2, key) == getattr(v1, key) for key in same)
    for name in SECOND_RELEASE:
        cls = second[name]
        assert cls.train == 4, name
        assert {k: cls.test[k] for k in ("normal", "bulge", "concavity")} == {
            "normal": 15, "bulge": 7, "concavity": 7}, name
    header = (ROOT / "recipes" / "anomaly_shapenet_v2.yaml").read_text().split("\nname:")[0]
    assert "INFERRED" in header and all(name in header for name in SECOND_RELEASE)


def test_validation_recipe_differs_from_the_benchmark_only_in_seed_and_name():
    """Detector settings are chosen on anomaly_shapenet_val: it must be the same benchmark drawn anew."""
    import dataclasses

    test = load_recipe(ROOT / "recipes" / "anomaly_shapenet.yaml")
    val = load_recipe(ROOT / "recipes" / "anomaly_shapenet_val.yaml")
    assert val.seed != test.seed
    same = ("source", "points", "anomalies", "classes")
    assert all(getattr(val, key) == getattr(test, key) for key in same)
    assert dataclasses.replace(val.output, dir=test.output.dir) == test.output


def test_v2_manifest_holds_the_first_release_samples_bit_for_bit():
    """CI regenerates anomaly_shapenet_v2 under three SIMD levels; this ties anomaly_shapenet's
    committed checksums to it, so that both manifests are checked by that one run."""
    first = json.loads((ROOT / "recipes" / "manifests" / "anomaly_shapenet.json").read_text())["samples"]
    second = json.loads((ROOT / "recipes" / "manifests" / "anomaly_shapenet_v2.json").read_text())["samples"]
    assert {sid: e["checksum"] for sid, e in first.items()} == {sid: second[sid]["checksum"] for sid in first}
