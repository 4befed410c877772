"""End to end through the command line: synth, inspect, and the errors a user sees."""

import json
import shutil

import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from anomalygen import open_dataset
from anomalygen.cli import main

TINY = {
    "name": "tiny",
    "version": 1,
    "seed": 5,
    "source": {"kind": "procedural", "remesh_edge": 0.04},
    "points": {"count": [2048, 3000]},
    "anomalies": {"max_attempts": 12},
    "splits": {"train": 1, "test": {"normal": 1, "bulge": 2, "concavity": 2}},
    "classes": {"cup0": None, "vase3": None},
    "output": {"shard_size": 3},
}


def write(tmp_path, recipe, name="recipe.yaml"):
    path = tmp_path / name
    path.write_text(yaml.safe_dump(recipe, sort_keys=False))
    return path


def synth(path, out, cache, *extra):
    result = CliRunner().invoke(main, ["synth", str(path), "--out", str(out), "--cache-dir", str(cache), "--quiet", *extra])
    return result


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("prepared")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, cache):
    tmp = tmp_path_factory.mktemp("tiny")
    out = tmp / "out"
    result = synth(write(tmp, TINY), out, cache, "--workers", "1")
    assert result.exit_code == 0, result.output
    return tmp, out


def test_synth_then_inspect(tiny_run):
    _, out = tiny_run
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == {}
    assert len(manifest["samples"]) == 2 * 6
    result = CliRunner().invoke(main, ["inspect", str(out)])
    assert result.exit_code == 0
    assert "classes: 2   train: 2   test: 10 (2 normal, 8 anomalous)" in result.output
    assert "normal samples with a labelled point: 0" in result.output
    for sample in open_dataset(out):
        assert 2048 <= len(sample.points) <= 3000
        if sample.kind == "normal":
            assert not sample.labels.any()
        else:
            assert 0.01 <= sample.anomalous_fraction <= 0.07
            assert sample.types == [sample.kind] and sample.params[0]["radius"] > 0


def test_same_result_with_two_workers_and_after_resume(tiny_run, cache):
    tmp, out = tiny_run
    reference = json.loads((out / "manifest.json").read_text())
    parallel = tmp / "parallel"
    assert synth(tmp / "recipe.yaml", parallel, cache, "--workers", "2").exit_code == 0
    assert json.loads((parallel / "manifest.json").read_text()) == reference
    # delete one shard and run again: only it is rebuilt, identically
    victim = next((parallel / "shards").rglob("*.h5"))
    victim.unlink()
    assert synth(tmp / "recipe.yaml", parallel, cache, "--workers", "1").exit_code == 0
    assert json.loads((parallel / "manifest.json").read_text()) == reference
    assert victim.exists()


def test_one_sample_regenerates_alone(tiny_run, cache):
    tmp, out = tiny_run
    alone = tmp / "alone"
    assert synth(tmp / "recipe.yaml", alone, cache, "--classes", "vase3").exit_code == 0
    full = {s.sample_id: s for s in open_dataset(out, classes=["vase3"])}
    for sample in open_dataset(alone):
        np.testing.assert_array_equal(sample.points, full[sample.sample_id].points)
        np.testing.assert_array_equal(sample.anomaly_index, full[sample.sample_id].anomaly_index)


@pytest.mark.parametrize(
    "change, key",
    [
        (lambda r: r.update(colour="red"), "colour"),
        (lambda r: r["anomalies"].update(bulge={"radius": [-0.2, 0.3]}), "anomalies.bulge.radius"),
        (lambda r: r["classes"].update(teapot0=None), "classes.teapot0"),
        (lambda r: r["splits"]["test"].update(bulge=-1), "splits.test.bulge"),
    ],
)
def test_bad_recipe_exits_2_naming_the_key(tmp_path, cache, change, key):
    recipe = json.loads(json.dumps(TINY))
    change(recipe)
    path = write(tmp_path, recipe)
    out = tmp_path / "out"
    result = synth(path, out, cache)
    assert result.exit_code == 2
    message = result.output.strip()
    assert len(message.splitlines()) == 1
    assert str(path) in message and f"{key}:" in message
    assert not out.exists()


def test_unreadable_mesh_path_exits_2(tmp_path, cache, shared_data):
    recipe = dict(TINY, source={"kind": "folder", "root": str(shared_data / "meshes/odedstein")},
                  classes={"bunny": {"mesh": "no_such_mesh.obj"}})
    result = synth(write(tmp_path, recipe), tmp_path / "out", cache)
    assert result.exit_code == 2 and "classes.bunny.mesh" in result.output
    assert not (tmp_path / "out").exists()


def test_real_mesh_through_the_folder_source(tmp_path, cache, shared_data):
    root = tmp_path / "meshes"
    root.mkdir()
    shutil.copy(shared_data / "meshes/odedstein/spot_low_resolution.obj", root / "spot.obj")
    shutil.copy(shared_data / "meshes/odedstein/bunny.obj", root / "bunny.obj")
    (root / "broken.obj").write_text("v 0 0 0\nf 1 2 3\nthis is not a mesh\n")
    recipe = dict(TINY, source={"kind": "folder", "root": str(root), "remesh_edge": 0.04},
                  classes={"spot": None, "bunny": None, "broken": None})
    out = tmp_path / "out"
    result = synth(write(tmp_path, recipe), out, cache)
    assert result.exit_code == 1, result.output  # some samples failed; the others are written
    manifest = json.loads((out / "manifest.json").read_text())
    assert {s.split("/")[0] for s in manifest["samples"]} == {"spot", "bunny"}
    assert all(k.startswith("broken/") for k in manifest["failed"])  # reported, skipped
    assert len(manifest["failed"]) == 6 and "broken" in result.output
    assert len(open_dataset(out, classes=["spot"])) == 6


@pytest.fixture(scope="module")
def scored_run(tiny_run, tmp_path_factory):
    """A tiny IMRNet trained on the tiny run and scored, through the CLI."""
    pytest.importorskip("torch")
    _, out = tiny_run
    tmp = tmp_path_factory.mktemp("detector")
    config = tmp / "tiny.yaml"
    config.write_text(yaml.safe_dump({"num_points": 256, "num_groups": 8, "group_size": 32, "width": 32,
                                      "depth": 1, "heads": 2, "decoder_depth": 1, "steps": 4, "eval_every": 2}))
    run = tmp / "run"
    runner = CliRunner()
    result = runner.invoke(main, ["train-detector", "--data", str(out), "--out", str(run), "--config", str(config),
                                  "--quiet"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["score", "--run", str(run), "--data", str(out)])
    assert result.exit_code == 0, result.output
    return out, run


def test_train_detector_then_score(scored_run):
    from anomalygen.detect.train import read_scores

    out, run = scored_run
    scores = {s.sample_id: s for s in read_scores(run / "scores.h5")}
    tests = {s.sample_id: s for s in open_dataset(out, split="test")}
    assert set(scores) == set(tests)
    for sample_id, scored in scores.items():
        assert len(scored.point_scores) == len(tests[sample_id].points)
        np.testing.assert_array_equal(scored.labels, tests[sample_id].labels)


def test_pretrain_then_train_detector_from_it(tiny_run, tmp_path):
    pytest.importorskip("torch")
    _, out = tiny_run
    config = tmp_path / "tiny.yaml"
    config.write_text(yaml.safe_dump({"num_points": 256, "num_groups": 8, "group_size": 32, "width": 32,
                                      "depth": 1, "heads": 2, "decoder_depth": 1, "steps": 2, "eval_every": 2}))
    runner = CliRunner()
    result = runner.invoke(main, ["pretrain", "--data", str(out), "--out", str(tmp_path / "pre"), "--config", str(config),
                                  "--quiet"])
    assert result.exit_code == 0, result.output
    assert "pretrained:" in result.output and (tmp_path / "pre" / "shared" / "model.pt").is_file()
    args = ["train-detector", "--data", str(out), "--classes", "vase3", "--config", str(config), "--quiet",
            "--init", str(tmp_path / "pre")]
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "tuned")])
    assert result.exit_code == 0, result.output
    run = json.loads((tmp_path / "tuned" / "run.json").read_text())
    assert run["config"]["init"] == str((tmp_path / "pre").resolve())
    result = runner.invoke(main, [*args, "--out", str(tmp_path / "other"), "--method", "btf-fpfh"])
    assert result.exit_code == 2 and "--init: only for --method imrnet" in result.output


def test_show_and_gallery(tiny_run, tmp_path):
    _, out = tiny_run
    runner = CliRunner()
    png = tmp_path / "bulge.png"
    result = runner.invoke(main, ["show", str(out), "vase3/test/bulge0", "--out", str(png)])
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    result = runner.invoke(main, ["show", str(out), "vase3/test/nothing9", "--out", str(png)])
    assert result.exit_code == 2 and "no sample" in result.output
    html = tmp_path / "gallery.html"
    assert runner.invoke(main, ["gallery", str(out), "--out", str(html)]).exit_code == 0
    assert html.read_text().count("<img") == 2 * 3  # 2 classes x (normal, bulge, concavity)


@pytest.mark.parametrize("fmt", ["anomaly-shapenet", "real3d-ad"])
def test_export_then_import_round_trips_a_generated_run(tiny_run, tmp_path, fmt):
    _, out = tiny_run
    runner = CliRunner()
    exported, imported = tmp_path / "exported", tmp_path / "imported"
    assert runner.invoke(main, ["export", str(out), "--format", fmt, str(exported)]).exit_code == 0
    result = runner.invoke(main, ["import", str(exported), "--format", fmt, str(imported)])
    assert result.exit_code == 0, result.output
    original = list(open_dataset(out))
    back = list(open_dataset(imported))
    assert len(back) == len(original)

    def key(s):  # ids are renumbered per layout; compare by class, split, kind and content
        return (s.class_name, s.split, s.kind, s.points.tobytes())

    for a, b in zip(sorted(original, key=key), sorted(back, key=key)):
        assert (a.class_name, a.split, a.kind) == (b.class_name, b.split, b.kind)
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.labels, b.labels)


def test_verify_passes_then_names_the_samples_a_change_breaks(tiny_run, cache):
    tmp, out = tiny_run
    runner = CliRunner()
    manifest = out / "manifest.json"
    args = ["verify", str(tmp / "recipe.yaml"), "--manifest", str(manifest), "--cache-dir", str(cache)]
    result = runner.invoke(main, args + ["--workers", "1"])
    assert result.exit_code == 0, result.output
    assert "12 samples match" in result.output
    changed = json.loads(json.dumps(TINY))
    changed["anomalies"]["bulge"] = {"height": [0.05, 0.05]}  # one parameter of one operator
    path = write(tmp, changed, "changed.yaml")
    result = runner.invoke(main, ["verify", str(path), "--manifest", str(manifest), "--cache-dir", str(cache),
                                  "--workers", "2"])
    assert result.exit_code == 1
    differing = sorted(line.split()[1].rstrip(":") for line in result.output.splitlines() if line.startswith("differs"))
    assert differing == ["cup0/test/bulge0", "cup0/test/bulge1", "vase3/test/bulge0", "vase3/test/bulge1"]
    subset = runner.invoke(main, args + ["--sample", "vase3/test/concavity1"])
    assert subset.exit_code == 0 and "1 samples match" in subset.output


def test_evaluate_prints_and_writes_the_table(scored_run):
    _, run = scored_run
    runner = CliRunner()
    result = runner.invoke(main, ["evaluate", "--run", str(run)])
    assert result.exit_code == 0, result.output
    assert "I-AUROC" in result.output and "cup0" in result.output and "vase3" in result.output
    table = json.loads((run / "evaluation.json").read_text())
    assert set(table["classes"]) == {"cup0", "vase3"}
    assert 0.0 <= table["mean"]["I-AUROC"] <= 1.0
    assert (run / "evaluation.csv").read_text().splitlines()[0].startswith("class")


@pytest.fixture(scope="module")
def one_per_shard(tiny_run, cache):
    """TINY in 12 shards of one sample, run by two workers without interruption: (recipe, manifest bytes)."""
    tmp, _ = tiny_run
    recipe = write(tmp, dict(TINY, output={"shard_size": 1}), "one_per_shard.yaml")  # room to stop midway
    out = tmp / "one_per_shard"
    assert synth(recipe, out, cache, "--workers", "2").exit_code == 0
    return recipe, (out / "manifest.json").read_bytes()


@pytest.mark.parametrize("how, status", [("SIGKILL parent", -9), ("SIGTERM parent", 128 + 15), ("SIGINT group", 128 + 2)])
def test_interrupted_run_leaves_no_process_and_resumes_to_the_same_manifest(one_per_shard, cache, tmp_path, how, status):
    import os
    import signal
    import subprocess
    import sys
    import time

    import psutil

    recipe, reference = one_per_shard
    signal_name, target = how.split()
    # on a loaded machine the run can finish between seeing 3 shards and the signal landing:
    # that attempt says nothing about interruption, so it is made again (at most 3 times)
    for attempt in range(3):
        killed = tmp_path / f"killed{attempt}"
        manifest = killed / "manifest.json"
        command = [sys.executable, "-m", "anomalygen.cli", "synth", str(recipe), "--out", str(killed),
                   "--cache-dir", str(cache), "--workers", "2", "--quiet"]
        process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.PIPE, text=True)
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if manifest.exists() and len(json.loads(manifest.read_text())["shards"]) >= 3:
                break
            time.sleep(0.05)
        assert process.poll() is None, "the run finished before it could be stopped"
        workers = psutil.Process(process.pid).children(recursive=True)
        assert len(workers) >= 2
        if target == "group":  # Ctrl-C in a terminal signals the whole process group
            os.killpg(process.pid, getattr(signal, signal_name))
        else:                  # the parent alone: its workers must not outlive it
            os.kill(process.pid, getattr(signal, signal_name))
        returncode = process.wait(timeout=60)
        if not (returncode == 0 and manifest.read_bytes() == reference):
            break
    assert returncode == status, process.stderr.read()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, f"{len(alive)} worker processes survived"
    written = sorted((p, p.stat().st_mtime_ns) for p in killed.rglob("*.h5"))
    time.sleep(0.5)
    assert sorted((p, p.stat().st_mtime_ns) for p in killed.rglob("*.h5")) == written
    assert 3 <= len(json.loads(manifest.read_text())["shards"]) < 12

    result = subprocess.run(command, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert manifest.read_bytes() == reference
    assert not list(killed.rglob("*.tmp"))
    ids = [s.sample_id for s in open_dataset(killed)]
    assert sorted(ids) == sorted(json.loads(reference)["samples"])  # every sample once, none twice
