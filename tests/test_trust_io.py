"""Issue 12, input and output: nothing written outside DEST/OUT, imports that refuse contradictions
and leave nothing behind when they fail, an exact export -> import round trip, and one-line
errors (exit 2) instead of tracebacks."""

import json
import os

import h5py
import numpy as np
import pytest
import yaml
from click.testing import CliRunner

from anomalygen.cli import main
from anomalygen.formats import export_dataset, import_dataset
from anomalygen.formats.pcd import write_pcd
from anomalygen.shards import Sample, open_dataset, read_manifest, shard_path, write_shard

ROUND_TRIP = {
    "name": "round_trip", "version": 1, "seed": 11,
    "source": {"kind": "procedural", "remesh_edge": 0.04},
    "points": {"count": [2048, 2600]},
    "anomalies": {"per_sample": 2, "max_attempts": 12},   # two anomalies: index 2 is not in a 0/1 GT
    "splits": {"train": 1, "test": {"normal": 1, "bulge": 2, "concavity": 1}},
    "classes": {"cup0": None},
}


def cloud_sample(sample_id, n=300, anomalous=False, seed=0):
    rng = np.random.default_rng(seed)
    points = rng.normal(size=(n, 3)).astype(np.float32)
    index = np.zeros(n, np.uint8)
    if anomalous:
        index[:20], index[20:30] = 1, 2
    class_name, split, _ = sample_id.split("/")
    return Sample(sample_id, class_name, split, "bulge" if anomalous else "normal", points,
                  np.zeros((n, 3), np.float32), index, ["bulge", "bulge"] if anomalous else [],
                  [{"height": 0.1}, {"height": 0.2}] if anomalous else [], seed=seed)


def shard_folder(root, sample_ids):
    """A dataset folder with one shard holding ``sample_ids``; the ids are then rewritten by hand
    with h5py, as a crafted (or corrupted) file would hold them."""
    samples = [cloud_sample(f"vase3/test/bulge{i}", anomalous=True, seed=i) for i in range(len(sample_ids))]
    path = shard_path(root, "vase3/test-0000")
    write_shard(path, samples, {"class_name": "vase3", "split": "test", "shard_id": "vase3/test-0000"})
    with h5py.File(path, "r+") as f:
        del f["sample_id"]
        f.create_dataset("sample_id", data=list(sample_ids), dtype=h5py.string_dtype())
    return path


def release(root, classes=("vase3",), n=300):
    """A hand-made Anomaly-ShapeNet folder: per class one template, one positive, one bulge + GT."""
    for c in classes:
        for split, stem, anomalous in [("train", "template0", False), ("test", "positive0", False),
                                       ("test", "bulge0", True)]:
            s = cloud_sample(f"{c}/{split}/{stem}", n, anomalous, seed=len(stem))
            write_pcd(root / c / split / f"{c}_{stem}.pcd", {"x": s.points[:, 0], "y": s.points[:, 1], "z": s.points[:, 2]}, "ascii")
            if anomalous:
                (root / c / "GT").mkdir(exist_ok=True)
                np.savetxt(root / c / "GT" / f"{c}_{stem}.txt", np.column_stack([s.points, s.labels]), fmt="%.9g,%.9g,%.9g,%d")
    return root


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def assert_user_error(result, *fragments):
    """Exit 2, one line on stderr naming what is wrong, no traceback."""
    assert result.exit_code == 2, (result.output, result.exception)
    assert isinstance(result.exception, SystemExit)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert str(fragment) in lines[0]


# ----------------------------------------------------------------------- 3: no path leaves DEST/OUT

@pytest.mark.parametrize("bad_id", ["../../escape/bulge0", "/tmp/escape/test/bulge0", "vase3/../bulge0",
                                    "vase3/test/../../../escape0", "vase3/test", "vase3/test/bülge0"])
@pytest.mark.parametrize("fmt", ["anomaly-shapenet", "real3d-ad", "ply"])
def test_export_refuses_a_crafted_sample_id_before_writing(tmp_path, bad_id, fmt):
    src = tmp_path / "src"
    path = shard_folder(src, ["vase3/test/bulge0", bad_id])
    dest = tmp_path / "deep" / "dest"
    with pytest.raises(ValueError, match="sample id") as error:
        export_dataset(src, fmt, dest)
    assert str(path) in str(error.value)
    assert not dest.exists() and not (tmp_path / "escape").exists() and not os.path.exists("/tmp/escape")
    assert_user_error(invoke("export", src, "--format", fmt, dest), path, "sample id")


def test_import_of_dot_inside_a_class_folder_takes_the_folder_name(tmp_path, monkeypatch):
    release(tmp_path / "rel")
    monkeypatch.chdir(tmp_path / "rel" / "vase3")
    import_dataset(".", "anomaly-shapenet", tmp_path / "out", normals="zeros")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.h5")) == [
        "shards/vase3/test-0000.h5", "shards/vase3/train-0000.h5"]
    assert {s.class_name for s in open_dataset(tmp_path / "out")} == {"vase3"}


@pytest.mark.parametrize("name", ["vase 3", "väse3", "vase3;rm"])
def test_import_refuses_a_class_folder_name_that_is_no_name(tmp_path, name):
    release(tmp_path / "rel", classes=[name])
    with pytest.raises(ValueError, match="class folder name") as error:
        import_dataset(tmp_path / "rel", "anomaly-shapenet", tmp_path / "out")
    assert name in str(error.value)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("craft, error", [
    (lambda e: {"../../escape/bulge0": e}, "anomalygen.json: sample id '../../escape/bulge0'"),
    (lambda e: {"vase3/test/bulge0": {**e, "seed": "7"}}, "anomalygen.json: not a sidecar .* 'vase3/test/bulge0'"),
    (lambda e: {"vase3/test/bulge0": {**e, "later_anomalies": {"2": [-1]}}}, "anomalygen.json: not a sidecar"),
])
def test_import_refuses_a_crafted_sidecar(tmp_path, craft, error):
    src = tmp_path / "src"
    write_shard(shard_path(src, "vase3/test-0000"), [cloud_sample("vase3/test/bulge0", anomalous=True)],
                {"class_name": "vase3", "split": "test", "shard_id": "vase3/test-0000"})
    export_dataset(src, "anomaly-shapenet", tmp_path / "exp", normals=True)
    doc = json.loads((tmp_path / "exp" / "anomalygen.json").read_text())
    doc["samples"] = craft(doc["samples"]["vase3/test/bulge0"])
    (tmp_path / "exp" / "anomalygen.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match=error):
        import_dataset(tmp_path / "exp", "anomaly-shapenet", tmp_path / "out")
    assert not (tmp_path / "out").exists() and not (tmp_path / "escape").exists()


# ------------------------------------------------------------------ 9: import refuses contradictions

def test_inconsistent_files_are_failures_with_their_reason(tmp_path):
    root = release(tmp_path / "rel", classes=("vase3", "cup0"))
    pcd = root / "vase3" / "test" / "vase3_positive0.pcd"
    pcd.write_text(pcd.read_text().replace("POINTS 300", "POINTS 250").replace("WIDTH 300", "WIDTH 250"))  # undercounts
    gt = root / "cup0" / "GT" / "cup0_bulge0.txt"
    gt.write_text("".join(gt.read_text().splitlines(keepends=True)[:150]))         # half the rows
    result = invoke("import", root, "--format", "anomaly-shapenet", tmp_path / "out", "--normals", "zeros")
    assert result.exit_code == 0, result.output
    failed = read_manifest(tmp_path / "out")["failed"]
    assert set(failed) == {"vase3/test/positive0", "cup0/test/bulge0"}
    assert "more points than the 250" in failed["vase3/test/positive0"]
    assert "150 rows for the 300 points" in failed["cup0/test/bulge0"]
    assert "failed cup0/test/bulge0: ValueError: cup0_bulge0.txt has 150 rows" in result.stderr
    assert len(open_dataset(tmp_path / "out")) == 4
    # the GT may still be taken as the cloud on purpose
    import_dataset(root, "anomaly-shapenet", tmp_path / "gt", normals="zeros", points="gt")
    assert len(open_dataset(tmp_path / "gt")["cup0/test/bulge0"].points) == 150


def test_a_file_name_that_is_no_utf8_is_named_and_nothing_is_written(tmp_path):
    root = release(tmp_path / "rel")
    odd = root / "vase3" / "test" / os.fsdecode(b"vase3_bulge\xff1.pcd")
    odd.write_bytes((root / "vase3" / "test" / "vase3_bulge0.pcd").read_bytes())
    result = invoke("import", root, "--format", "anomaly-shapenet", tmp_path / "out")
    assert_user_error(result, "vase3_bulge\\udcff1.pcd", "not valid UTF-8")
    assert not (tmp_path / "out").exists()
    assert sorted(os.listdir(tmp_path)) == ["rel"]


def test_a_failed_import_leaves_nothing_and_keeps_the_old_dataset(tmp_path, monkeypatch):
    import anomalygen.formats.folders as folders

    root = release(tmp_path / "rel")
    import_dataset(root, "anomaly-shapenet", tmp_path / "old", normals="zeros")
    before = sorted(p.name for p in (tmp_path / "old").rglob("*"))

    def broken(out_dir, manifest):
        raise OSError(28, "No space left on device", str(out_dir))

    monkeypatch.setattr(folders, "write_manifest", broken)
    for out in (tmp_path / "new", tmp_path / "old"):
        with pytest.raises(OSError, match="No space"):
            import_dataset(root, "anomaly-shapenet", out, normals="zeros", overwrite=True)
    assert not (tmp_path / "new").exists()
    # (the writer lock's file is bookkeeping, left like synth leaves it)
    assert sorted(p.name for p in (tmp_path / "old").rglob("*") if p.name != ".anomalygen.lock") == before
    assert sorted(os.listdir(tmp_path)) == ["old", "rel"]     # no staging folder left beside OUT


def test_import_into_a_folder_another_run_writes_exits_2_naming_it(tmp_path):
    """One writer per folder: an import into a folder whose lock a synth holds exits 2 naming it."""
    from anomalygen.outlock import output_lock

    root = release(tmp_path / "rel")
    with output_lock(tmp_path / "out"):
        result = invoke("import", root, "--format", "anomaly-shapenet", tmp_path / "out", "--normals", "zeros")
    assert_user_error(result, "being written by another run", f"pid {os.getpid()}")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [".anomalygen.lock"]
    assert invoke("import", root, "--format", "anomaly-shapenet", tmp_path / "out", "--normals", "zeros").exit_code == 0


def test_overwrite_replaces_every_class(tmp_path):
    import_dataset(release(tmp_path / "a", classes=("vase3", "cup0")), "anomaly-shapenet", tmp_path / "out", normals="zeros")
    result = invoke("import", release(tmp_path / "b", classes=("bowl1",)), "--format", "anomaly-shapenet",
                    tmp_path / "out", "--normals", "zeros")
    assert_user_error(result, "already holds a dataset", "--overwrite")
    result = invoke("import", tmp_path / "b", "--format", "anomaly-shapenet", tmp_path / "out", "--normals", "zeros",
                    "--overwrite")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "out" / "shards").iterdir()) == ["bowl1"]
    assert set(read_manifest(tmp_path / "out")["counts"]) == {"bowl1"}


def test_overwrite_never_replaces_a_folder_that_holds_no_dataset(tmp_path):
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="holds no dataset"):
        import_dataset(release(tmp_path / "rel"), "anomaly-shapenet", tmp_path / "home", overwrite=True)
    assert (tmp_path / "home" / "notes.txt").read_text() == "mine"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("round_trip")
    (tmp / "recipe.yaml").write_text(yaml.safe_dump(ROUND_TRIP))
    result = invoke("synth", tmp / "recipe.yaml", "--out", tmp / "out", "--cache-dir", tmp / "cache", "--workers", 1, "--quiet")
    assert result.exit_code == 0, result.output
    return tmp / "out"


@pytest.mark.parametrize("fmt, encoding", [("anomaly-shapenet", "ascii"), ("real3d-ad", "binary_compressed")])
def test_export_then_import_is_exact(generated, tmp_path, fmt, encoding):
    exported, back = tmp_path / "exported", tmp_path / "back"
    assert invoke("export", generated, "--format", fmt, exported, "--encoding", encoding, "--normals").exit_code == 0
    result = invoke("import", exported, "--format", fmt, back)
    assert result.exit_code == 0, result.output
    assert "5 restored from anomalygen.json (5 exactly)" in result.output
    original = {s.sample_id: s for s in open_dataset(generated)}
    assert any(s.anomaly_index.max() == 2 for s in original.values())
    restored = {s.sample_id: s for s in open_dataset(back)}
    assert set(restored) == set(original)
    for sample_id, want in original.items():
        got = restored[sample_id]
        for name in ("class_name", "split", "kind", "types", "params", "seed", "mesh_ply", "checksum"):
            assert getattr(got, name) == getattr(want, name), (sample_id, name)
        for name in ("points", "normals", "anomaly_index"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name))
    want_manifest, got_manifest = read_manifest(generated), read_manifest(back)
    assert {k: v["checksum"] for k, v in got_manifest["samples"].items()} == \
           {k: v["checksum"] for k, v in want_manifest["samples"].items()}
    assert got_manifest["counts"] == want_manifest["counts"]


# ----------------------------------------------------------------- 10: one line and exit 2, never a traceback

def test_unwritable_output_folders_are_one_line_errors(generated, tmp_path):
    (tmp_path / "file").write_text("not a folder")
    blocked = tmp_path / "file" / "out"
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(ROUND_TRIP))
    assert_user_error(invoke("synth", tmp_path / "recipe.yaml", "--out", blocked, "--quiet"), blocked.parent)
    assert_user_error(invoke("export", generated, "--format", "ply", blocked), blocked.parent)
    assert_user_error(invoke("import", release(tmp_path / "rel"), "--format", "anomaly-shapenet", blocked), blocked.parent)


def test_a_manifest_that_is_no_json_is_a_one_line_error(tmp_path):
    (tmp_path / "recipe.yaml").write_text(yaml.safe_dump(ROUND_TRIP))
    for text in ("{not json", "[1, 2]"):
        (tmp_path / "manifest.json").write_text(text)
        assert_user_error(invoke("verify", tmp_path / "recipe.yaml", "--manifest", tmp_path / "manifest.json"),
                          tmp_path / "manifest.json", "not a manifest.json")


def test_a_garbage_scores_file_is_a_one_line_error(tmp_path):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "scores.h5").write_bytes(os.urandom(4096))
    assert_user_error(invoke("evaluate", "--run", tmp_path / "run"), tmp_path / "run" / "scores.h5")


def test_a_truncated_shard_is_a_one_line_error_naming_it(generated, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(generated, data)
    shard = sorted((data / "shards").rglob("*.h5"))[0]
    shard.write_bytes(shard.read_bytes()[: shard.stat().st_size // 2])
    result = invoke("inspect", data)  # summarises the rest, names the damaged shard, exit 1
    assert result.exit_code == 1 and f"{shard}: damaged shard" in result.output and "Traceback" not in result.output
    for args in (["export", data, "--format", "ply", tmp_path / "ply"],
                 ["show", data, "cup0/test/bulge0", "--out", tmp_path / "a.png"],
                 ["gallery", data, "--out", tmp_path / "g.html"]):
        assert_user_error(invoke(*args), shard, "damaged shard")


def test_inspect_and_gallery_of_a_folder_that_is_no_dataset(tmp_path):
    (tmp_path / "empty").mkdir()
    assert_user_error(invoke("inspect", tmp_path / "empty"), tmp_path / "empty", "no dataset")
    assert_user_error(invoke("gallery", tmp_path / "empty", "--out", tmp_path / "g.html"), tmp_path / "empty")
    assert not (tmp_path / "g_files").exists()


def test_export_texts_name_the_real_flag_and_ply_counts_anomalies(generated, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    assert_user_error(invoke("export", generated, "--format", "ply", tmp_path / "full"), "--overwrite")
    result = invoke("export", generated, "--format", "ply", tmp_path / "ply")
    assert result.exit_code == 0 and "5 samples (3 anomalous) as ply" in result.output


def test_a_bug_keeps_its_traceback(generated, monkeypatch):
    import anomalygen.summary

    def broken(out_dir):
        raise KeyError("a bug, not a user error")

    monkeypatch.setattr(anomalygen.summary, "summarize", broken)
    result = invoke("inspect", generated)
    assert result.exit_code == 1 and isinstance(result.exception, KeyError)
