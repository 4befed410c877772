"""The recipe's sensor section end to end: parsing and its errors, shards that record the pose and
the scan, old shards, the same bytes for the same seed on any worker count, and recipes without
it unchanged."""

import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalygen.checks import RecipeError
from anomalygen.cli import main
from anomalygen.execute import Execution
from anomalygen.formats import export_dataset, import_dataset
from anomalygen.pipeline import synthesize, verify
from anomalygen.recipe import DEFAULTS, load_recipe, recipe_from_mapping
from anomalygen.shards import Sample, open_dataset, shard_path, write_shard

ROOT = Path(__file__).resolve().parents[1]

SENSOR = {"test": {"pose": {"rotation": "up", "up_degrees": 90, "translation": 0.05},
                   "scan": {"placement": "ring", "viewpoints": 2, "elevation": 20, "oversample": 2},
                   "noise": {"range_std": 0.001, "outliers": 0.01, "quantisation": 0.0005}}}


def doc(sensor=None, **extra):
    d = {"name": "s", "version": 1, "seed": 3, "source": {"remesh_edge": 0.05},
         "points": {"count": [1500, 2000]}, "anomalies": {"anomalous_fraction": [0.01, 0.3]},
         "splits": {"train": 1, "test": {"normal": 1, "bulge": 1}}, "classes": {"cup0": None},
         "output": {"shard_size": 2}, **extra}
    if sensor is not None:
        d["sensor"] = sensor
    return d


def error_of(d) -> str:
    with pytest.raises(RecipeError) as info:
        recipe_from_mapping(d, "r.yaml")
    return str(info.value)


def test_defaults_fill_a_block_and_absent_parts_mean_no_scanner():
    recipe = recipe_from_mapping(doc({"test": {"scan": {}}, "train": {"pose": {"rotation": "any"}}}))
    test, train = recipe.sensor.test, recipe.sensor.train
    assert test.scan.placement == DEFAULTS["sensor"]["scan"]["placement"] and test.scan.viewpoints == 1
    assert test.pose.rotation == "none" and test.noise.range_std == 0.0
    assert train.scan is None and train.pose.rotation == "any"
    assert recipe_from_mapping(doc()).sensor is None
    assert recipe_from_mapping(doc({"test": None})).sensor.for_split("test") is None


def test_sensor_changes_the_digest_and_its_absence_does_not():
    plain, sensed = recipe_from_mapping(doc()), recipe_from_mapping(doc(SENSOR))
    assert plain.digest() != sensed.digest()
    assert "sensor" not in plain.canonical_json()
    assert recipe_from_mapping(doc(None)).digest() == plain.digest()


@pytest.mark.parametrize("sensor, message", [
    ({"tset": {}}, "sensor.tset: got 'tset', expected one of train, test (did you mean 'test'?)"),
    ({"test": {"posture": {}}}, "sensor.test.posture: got 'posture', expected one of pose, scan, noise (did you mean 'pose'?)"),
    ({"test": {"pose": {"rotation": "some"}}}, "sensor.test.pose.rotation: got 'some', expected one of none, up, any"),
    ({"test": {"pose": {"up_degrees": 270}}}, "sensor.test.pose.up_degrees: got 270, expected a number in [0, 180]"),
    ({"test": {"scan": {"placement": "ring", "viewpoints": 0}}},
     "sensor.test.scan.viewpoints: got 0, expected an integer in [1, 64]"),
    ({"test": {"scan": {"viewpoints": 3}}},
     "sensor.test.scan.viewpoints: got 3, expected 1 (placement single has one viewpoint)"),
    ({"test": {"scan": {"distance": 1}}}, "sensor.test.scan.distance: got 1, expected a number in [2, 20]"),
    ({"test": {"scan": {"oversample": 2.5}}}, "sensor.test.scan.oversample: got 2.5, expected an integer in [1, 16]"),
    ({"train": {"noise": {"range_std": "0.1"}}}, "sensor.train.noise.range_std: got '0.1', expected a number in [0, 0.05]"),
    ({"train": {"noise": {"jitter": 1}}},
     "sensor.train.noise.jitter: got 'jitter', expected one of range_std, outliers, quantisation"),
    ([1], "sensor: got [1], expected a mapping with keys among train, test"),
])
def test_bad_sensor_keys_are_one_line_errors_naming_the_key(sensor, message):
    assert error_of(doc(sensor)) == f"r.yaml: {message}"


NUMBERS = {("pose", "up_degrees"): (0, 180), ("pose", "translation"): (0, 0.2), ("scan", "distance"): (2, 20),
           ("scan", "elevation"): (-90, 90), ("scan", "grazing_angle"): (10, 89), ("noise", "range_std"): (0, 0.05),
           ("noise", "outliers"): (0, 0.2), ("noise", "quantisation"): (0, 0.01)}


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(sorted(NUMBERS)), value=st.floats(-1e3, 1e3, allow_nan=False), split=st.sampled_from(["train", "test"]))
def test_every_number_is_accepted_exactly_within_its_bounds(key, value, split):
    part, name = key
    low, high = NUMBERS[key]
    d = doc({split: {part: {name: value}}})
    if low <= value <= high:
        assert getattr(getattr(recipe_from_mapping(d).sensor.for_split(split), part), name) == value
    else:
        assert error_of(d).startswith(f"r.yaml: sensor.{split}.{part}.{name}: got {value!r}, expected a number in")


def test_cli_exits_2_with_the_one_line_error(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(yaml.safe_dump(doc({"test": {"pose": {"rotation": "tilt"}}})))
    result = CliRunner().invoke(main, ["synth", str(path), "--out", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 2 and not (tmp_path / "out").exists()
    assert f"{path}: sensor.test.pose.rotation: got 'tilt', expected one of none, up, any" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_old_shards_without_sensor_data_still_read(tmp_path):
    n = 10
    plain = Sample("cup0/test/positive0", "cup0", "test", "normal", np.zeros((n, 3), np.float32),
                   np.zeros((n, 3), np.float32), np.zeros(n, np.uint8))
    write_shard(shard_path(tmp_path, "cup0/test-0000"), [plain], {"class_name": "cup0", "split": "test"})
    with h5py.File(shard_path(tmp_path, "cup0/test-0000")) as f:
        assert f.attrs["schema_version"] == 1 and "pose" not in f and "scan" not in f
    read = next(iter(open_dataset(tmp_path)))
    assert (read.pose == np.eye(4)).all() and read.viewpoints.shape == (0, 3) and read.outliers == 0


@pytest.fixture(scope="module")
def sensed_run(tmp_path_factory):
    """A tiny sensor recipe synthesised with one worker."""
    base = tmp_path_factory.mktemp("sensed")
    recipe = recipe_from_mapping(doc(SENSOR), base / "r.yaml")
    manifest = synthesize(recipe, base / "one", execution=Execution(1), cache_dir=base / "cache")
    return recipe, base, manifest


def test_sensor_shards_record_pose_viewpoints_and_outliers(sensed_run):
    recipe, base, manifest = sensed_run
    assert manifest["failed"] == {} and manifest["schema_version"] == 2
    test = list(open_dataset(base / "one", split="test"))
    train = list(open_dataset(base / "one", split="train"))
    assert len(test) == 2 and len(train) == 1
    for sample in test:
        assert np.linalg.det(sample.pose[:3, :3]) == pytest.approx(1.0, abs=1e-6)
        assert sample.viewpoints.shape == (2, 3) and sample.outliers > 0
        assert (sample.anomaly_index[-sample.outliers:] == 0).all()
        assert len(sample.points) <= 2000 + sample.outliers
    anomalous = next(s for s in test if s.types)
    assert 0.01 <= anomalous.anomalous_fraction <= 0.3          # the acceptance window, after the scan
    with h5py.File(shard_path(base / "one", "cup0/test-0000")) as f:
        assert f.attrs["schema_version"] == 2 and f["pose"].shape == (2, 4, 4)
    with h5py.File(shard_path(base / "one", "cup0/train-0000")) as f:
        assert f.attrs["schema_version"] == 1 and "pose" not in f      # train has no sensor here
    assert (train[0].pose == np.eye(4)).all() and len(train[0].points) >= 1500


def test_same_seed_same_bytes_on_any_worker_count(sensed_run):
    recipe, base, manifest = sensed_run
    again = synthesize(recipe, base / "two", execution=Execution(2), cache_dir=base / "cache")
    assert json.dumps(again["shards"], sort_keys=True) == json.dumps(manifest["shards"], sort_keys=True)
    assert again["samples"] == manifest["samples"]
    assert verify(recipe, manifest, cache_dir=base / "cache") == {}


@pytest.mark.parametrize("fmt", ["real3d-ad", "anomaly-shapenet"])
def test_export_then_import_keeps_pose_viewpoints_and_outliers(sensed_run, tmp_path, fmt):
    _, base, _ = sensed_run
    export_dataset(base / "one", fmt, tmp_path / "exp", normals=True)
    report = import_dataset(tmp_path / "exp", fmt, tmp_path / "back")
    assert report["samples"] == 3 and report["restored_exactly"] == 3 and report["failed"] == 0
    want = {s.sample_id: s for s in open_dataset(base / "one")}
    got = {s.sample_id: s for s in open_dataset(tmp_path / "back")}
    assert set(got) == set(want)
    for sample_id, sample in want.items():
        for name in ("points", "normals", "anomaly_index", "pose", "viewpoints"):
            np.testing.assert_array_equal(getattr(got[sample_id], name), getattr(sample, name))
        assert got[sample_id].outliers == sample.outliers
    assert json.loads((tmp_path / "back" / "manifest.json").read_text())["schema_version"] == 2
    with h5py.File(shard_path(tmp_path / "back", "cup0/test-0000")) as f:
        assert f.attrs["schema_version"] == 2
    with h5py.File(shard_path(tmp_path / "back", "cup0/train-0000")) as f:
        assert f.attrs["schema_version"] == 1                 # the plain training scan stays plain


def test_a_sidecar_sensor_record_is_checked(sensed_run, tmp_path):
    _, base, _ = sensed_run
    export_dataset(base / "one", "real3d-ad", tmp_path / "exp")
    sidecar = tmp_path / "exp" / "anomalygen.json"
    doc = json.loads(sidecar.read_text())
    entry = next(e for e in doc["samples"].values() if "sensor" in e)
    assert "sensor" not in doc["samples"]["cup0/train/template0"]           # a plain sample needs none
    entry["sensor"]["pose"] = entry["sensor"]["pose"][:3]
    sidecar.write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="not a sidecar written by `anomalygen export`"):
        import_dataset(tmp_path / "exp", "real3d-ad", tmp_path / "back")


def test_recipes_without_sensor_still_make_their_committed_samples(tmp_path):
    """A few ci_small samples regenerated against the committed manifest (CI verifies all of them)."""
    recipe = load_recipe(ROOT / "recipes" / "ci_small.yaml")
    manifest = json.loads((ROOT / "recipes" / "manifests" / "ci_small.json").read_text())
    assert recipe.sensor is None and manifest["recipe"]["digest"] == recipe.digest()
    wanted = ["cup0/train/template0", "cup0/test/positive1", "cup0/test/bulge0"]
    assert verify(recipe, manifest, sample_ids=wanted, cache_dir=tmp_path) == {}
