"""Issue 12, the run side: declared operator order, integrity, one writer, failures, limits (the
interruption tests extend the SIGKILL one in tests/test_cli.py)."""

import json

import pytest

from anomalygen.ops import base
from tests.test_cli import TINY, synth, write


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("prepared")


def test_operator_order_is_declared_not_taken_from_import_order(monkeypatch):
    registered = list(base.OPERATORS.values())
    monkeypatch.setattr(base, "OPERATORS", {})
    for operator in reversed(registered):  # as if the modules were imported the other way round
        base.register(operator)
    assert tuple(base.OPERATORS) == base.ORDER == ("bending", "break", "bulge", "concavity", "crack", "hole", "scratch")
    with pytest.raises(ValueError, match="not declared"):
        base.register(base.Operator("teapot", "teapot", (), registered[0].apply))


# ------------------------------------------------------------------------------------ item 7

def test_a_mesh_wide_precondition_fails_the_operator_once_with_its_reason(monkeypatch):
    import dataclasses

    import trimesh

    from anomalygen import pipeline
    from anomalygen.ops import OPERATORS
    from anomalygen.plan import SampleJob, ShardJob
    from anomalygen.recipe import recipe_from_mapping

    sphere = trimesh.creation.icosphere(subdivisions=3)
    open_mesh = trimesh.Trimesh(sphere.vertices, sphere.faces[10:], process=False)  # not watertight
    monkeypatch.setattr(pipeline, "prepared_mesh", lambda recipe, class_name, cache_dir: open_mesh)
    calls = []
    hole = OPERATORS["hole"]
    monkeypatch.setitem(OPERATORS, "hole", dataclasses.replace(hole, apply=lambda *a: calls.append(1) or hole.apply(*a)))
    recipe = recipe_from_mapping({"name": "t", "version": 1, "seed": 1, "points": {"count": 2048},
                                  "anomalies": {"max_attempts": 12}, "classes": {"cup0": None}})
    jobs = tuple(SampleJob(f"cup0/test/hole{i}", "cup0", "test", "hole", i, i) for i in range(3))
    results = dict((job.sample_id, result) for job, result in
                   pipeline.generate_shard(ShardJob("cup0/test-0000", "cup0", "test", jobs), recipe, None))
    assert len(calls) == 1  # not 12 attempts for each of 3 samples
    assert set(results.values()) == {"hole: input mesh is not a closed oriented manifold (manifold3d: NotManifold); "
                                     "boolean cuts need a watertight mesh (a property of the mesh: not retried)"}


def test_synth_exits_1_on_failures_and_a_rerun_retries_them(tmp_path, cache):
    import trimesh

    meshes = tmp_path / "meshes"
    meshes.mkdir()
    (meshes / "ball.obj").write_text("this is not a mesh\n")
    recipe = write(tmp_path, {"name": "balls", "version": 1, "seed": 3,
                              "source": {"kind": "folder", "root": "meshes", "remesh_edge": 0.04},
                              "points": {"count": 2048}, "splits": {"train": 2, "test": {"normal": 1}},
                              "classes": {"ball": None}})
    out = tmp_path / "out"
    failed = synth(recipe, out, cache)
    assert failed.exit_code == 1
    assert "failed ball/test/positive0, ball/train/template0, ball/train/template1: mesh preparation failed" in failed.output
    assert "3 of 3 planned samples failed" in failed.output and "--allow-failures" in failed.output
    assert synth(recipe, out, cache, "--allow-failures").exit_code == 0  # tried again, failed again, accepted

    trimesh.creation.icosphere(subdivisions=3).export(meshes / "ball.obj")  # the mesh is fixed
    fixed = synth(recipe, out, cache)
    assert fixed.exit_code == 0, fixed.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == {} and len(manifest["samples"]) == 3


# ------------------------------------------------------------------------------------ items 4 and 5

@pytest.fixture(scope="module")
def run(tmp_path_factory, cache):
    """TINY generated once: (recipe path, output folder); tests work on copies."""
    tmp = tmp_path_factory.mktemp("tiny")
    recipe = write(tmp, TINY)
    assert synth(recipe, tmp / "out", cache, "--workers", "1").exit_code == 0
    return recipe, tmp / "out"


def test_a_damaged_shard_is_named_by_readers_and_verify_and_made_again(run, cache, tmp_path):
    import shutil

    from click.testing import CliRunner

    from anomalygen.cli import main
    from anomalygen.summary import collect, summarize
    from anomalygen.shards import ShardError, file_sha256, open_dataset, shard_path

    recipe, out = run
    data = tmp_path / "data"
    shutil.copytree(out, data)
    manifest = data / "manifest.json"
    original = manifest.read_bytes()
    shards = json.loads(original)["shards"]
    assert all(entry["sha256"] == file_sha256(shard_path(data, sid)) for sid, entry in shards.items())

    victim = shard_path(data, "cup0/test-0000")
    victim.write_bytes(victim.read_bytes()[: victim.stat().st_size // 2])
    verify = ["verify", str(recipe), "--manifest", str(manifest), "--data", str(data), "--cache-dir", str(cache),
              "--workers", "1", "--sample", "vase3/test/bulge0"]
    result = CliRunner().invoke(main, verify)
    assert result.exit_code == 1
    assert f"shard cup0/test-0000: {victim} is damaged" in result.output

    with pytest.raises(ShardError) as error:
        list(open_dataset(data, classes=["cup0"]))
    assert str(error.value).startswith(f"{victim}: damaged shard") and "\n" not in str(error.value)
    assert len(list(open_dataset(data, classes=["vase3"]))) == 6           # other classes still read
    assert open_dataset(data)["vase3/test/bulge0"].kind == "bulge"         # as `show` looks samples up
    assert f"damaged shards: 1\n  {victim}: damaged shard" in summarize(collect(data))

    assert synth(recipe, data, cache).exit_code == 0                        # the rerun notices and remakes it
    assert manifest.read_bytes() == original
    result = CliRunner().invoke(main, verify)
    assert result.exit_code == 0 and "shard files" in result.output and "intact" in result.output


def test_one_writer_per_folder_and_live_temporaries_are_kept(run, cache, tmp_path):
    import os
    import shutil
    import socket
    import subprocess

    from anomalygen.outlock import output_lock

    recipe, out = run
    data = tmp_path / "data"
    shutil.copytree(out, data)
    with output_lock(data):
        second = synth(recipe, data, cache)
    assert second.exit_code == 2
    assert f"is being written by another run (pid {os.getpid()} on {socket.gethostname()}:" in second.output

    dead = subprocess.Popen(["true"])
    dead.wait()
    live_tmp = data / "shards" / "cup0" / f".test-0000.h5.{os.getpid()}.tmp"
    dead_tmp = data / "shards" / "cup0" / f".test-0001.h5.{dead.pid}.tmp"
    live_tmp.write_text("being written")
    dead_tmp.write_text("left by a killed run")
    assert synth(recipe, data, cache).exit_code == 0
    assert live_tmp.exists() and not dead_tmp.exists()


# ------------------------------------------------------------------------------------ item 8

def test_a_recipe_at_the_count_limit_starts_writing_at_once(tmp_path, cache, monkeypatch):
    from anomalygen import plan
    from anomalygen.pipeline import synthesize
    from anomalygen.recipe import MAX_COUNT, load_recipe

    recipe = load_recipe(write(tmp_path, dict(TINY, splits={"train": MAX_COUNT, "test": {}}, classes={"cup0": None},
                                              output={"shard_size": 2})))
    planned = []
    derive_seed = plan.derive_seed
    monkeypatch.setattr(plan, "derive_seed", lambda *args: planned.append(args) or derive_seed(*args))

    class Enough(Exception):
        pass

    def stop(report, shard):
        raise Enough

    with pytest.raises(Enough):
        synthesize(recipe, tmp_path / "out", cache_dir=cache, on_shard_done=stop)
    assert len(planned) < 100  # not a million jobs planned before the first shard
    assert list(json.loads((tmp_path / "out" / "manifest.json").read_text())["shards"]) == ["cup0/train-0000"]
