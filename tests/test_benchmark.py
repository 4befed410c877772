"""`anomalygen benchmark` end to end on a tiny folder imported from a real Anomaly-ShapeNet layout."""

import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("torch", reason="anomalygen.detect needs torch")
pytest.importorskip("open3d", reason="the FPFH baselines need open3d")

from anomalygen.cli import main
from anomalygen.detect.evaluate import METRICS
from anomalygen.formats.pcd import write_pcd

METHODS = ["imrnet", "btf-raw", "btf-fpfh", "patchcore-fpfh", "patchcore-imrnet"]
TINY_IMRNET = ("num_points: 256\nnum_groups: 8\ngroup_size: 32\nwidth: 32\ndepth: 1\nheads: 2\ndecoder_depth: 1\n"
               "embed_hidden: 16\nsteps: 4\nbatch_size: 2\npool_size: 1\nval_copies: 1\neval_every: 2\nwarmup_steps: 1\n")


def ellipsoid(rng, n, axes, bump=None):
    """(n, 3) points on an ellipsoid; with ``bump`` (direction), a raised cap there and its labels."""
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    labels = np.zeros(n, np.int64)
    radius = np.ones(n)
    if bump is not None:
        along = d @ (np.asarray(bump) / np.linalg.norm(bump))
        labels[along > 0.9] = 1
        radius += 0.25 * np.clip((along - 0.9) / 0.1, 0, 1)
    return (d * radius[:, None] * np.asarray(axes)).astype(np.float32), labels


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """Two classes in the release's layout (pcd/<class>/{train,test,GT}), imported into shards."""
    root = tmp_path_factory.mktemp("release")
    rng = np.random.default_rng(0)
    pcd = root / "Anomaly-ShapeNet-v2" / "dataset" / "pcd"
    for name, axes in (("ashtray0", (1.0, 1.0, 0.5)), ("bottle0", (0.5, 0.5, 1.2))):
        for split in ("train", "test", "GT"):
            (pcd / name / split).mkdir(parents=True)
        files = [("train", f"{name}_template{i}", None) for i in range(2)]
        files += [("test", f"{name}_positive{i}", None) for i in range(2)]
        files += [("test", f"{name}_bulge{i}", rng.normal(size=3)) for i in range(2)]
        for split, stem, bump in files:
            points, labels = ellipsoid(rng, 1500, axes, bump)
            write_pcd(pcd / name / split / f"{stem}.pcd", {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2]}, "ascii")
            if bump is not None:
                np.savetxt(pcd / name / "GT" / f"{stem}.txt", np.column_stack([points, labels]), fmt="%.6f,%.6f,%.6f,%d")
    out = tmp_path_factory.mktemp("imported") / "shards"
    result = CliRunner().invoke(main, ["import", str(root / "Anomaly-ShapeNet-v2"), str(out), "--format", "anomaly-shapenet"])
    assert result.exit_code == 0, result.output
    config = root / "imrnet.yaml"
    config.write_text(TINY_IMRNET)
    return out, config


def run(data, out, config, *extra):
    return CliRunner().invoke(main, ["benchmark", "--data", str(data), "--out", str(out), "--methods", ",".join(METHODS),
                                     "--config", f"imrnet={config}", "--quiet", *extra])


def test_benchmark_writes_paper_style_tables_and_resumes(imported, tmp_path):
    data, config = imported
    out = tmp_path / "report"
    result = run(data, out, config)
    assert result.exit_code == 0, result.output
    assert "PatchCore (FPFH)" in result.output and "2 classes" in result.output

    report = json.loads((out / "benchmark.json").read_text())
    assert report["methods"] == METHODS and report["classes"] == ["ashtray0", "bottle0"]
    assert len(report["units"]) == 10 and not any(u["resumed"] for u in report["units"])
    # patchcore-imrnet reused the class's imrnet model rather than training its own encoder
    run_json = json.loads((out / "runs" / "patchcore-imrnet" / "ashtray0" / "run.json").read_text())
    assert run_json["config"]["encoder"].endswith("runs/imrnet/ashtray0/ashtray0/model.pt")

    for metric in METRICS:
        with open(out / "tables" / f"{metric}.csv") as f:
            rows = list(csv.reader(f))
        assert rows[0] == ["method", "ashtray0", "bottle0", "mean"]
        assert [r[0] for r in rows[1:]] == METHODS
        for row in rows[1:]:
            values = [float(v) for v in row[1:]]
            assert all(0.0 <= v <= 1.0 for v in values)
            assert values[-1] == pytest.approx(np.mean(values[:2]))        # Mean column = mean over classes
            assert values[-1] == pytest.approx(report["mean"][row[0]][metric])
        markdown = (out / "tables" / f"{metric}.md").read_text().splitlines()
        assert markdown[2] == "| Method | ashtray0 | bottle0 | Mean |"
        assert markdown[4].startswith("| IMRNet | ")
    assert (out / "means.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "## AUPRO" in (out / "report.md").read_text()
    # FPFH sees a 25% bump on a smooth ellipsoid: its point scores must rank the bump first
    assert report["mean"]["btf-fpfh"]["P-AUROC"] > 0.8

    # resumable per (method, class): a second run redoes nothing; a lost unit is redone alone
    tables = {m: (out / "tables" / f"{m}.csv").read_text() for m in METRICS}
    (out / "runs" / "btf-fpfh" / "bottle0" / "evaluation.json").unlink()
    # a unit done before the align key existed reads as its default, align: none, and is not redone
    old = out / "runs" / "btf-raw" / "ashtray0" / "run.json"
    old_run = json.loads(old.read_text())
    assert old_run["config"].pop("align") == "none"
    old.write_text(json.dumps(old_run))
    again = run(data, out, config)
    assert again.exit_code == 0, again.output
    units = json.loads((out / "benchmark.json").read_text())["units"]
    assert [(u["method"], u["class"]) for u in units if not u["resumed"]] == [("btf-fpfh", "bottle0")]
    assert {m: (out / "tables" / f"{m}.csv").read_text() for m in METRICS} == tables

    # a unit done before object_level and smooth_k existed scored otherwise (fused, unsmoothed): refused
    imrnet_run = out / "runs" / "imrnet" / "ashtray0" / "run.json"
    recorded = json.loads(imrnet_run.read_text())
    before = json.loads(json.dumps(recorded))
    del before["config"]["object_level"], before["config"]["smooth_k"]
    imrnet_run.write_text(json.dumps(before))
    stale = run(data, out, config)
    assert stale.exit_code != 0 and "another config" in stale.output and "imrnet/ashtray0" in stale.output
    imrnet_run.write_text(json.dumps(recorded))

    # resuming with another config would mix two experiments in one table: refused
    other = tmp_path / "other.yaml"
    other.write_text(TINY_IMRNET.replace("steps: 4", "steps: 5"))
    refused = run(data, out, other)
    assert refused.exit_code != 0 and "another config" in refused.output


def test_benchmark_rejects_unknown_methods_and_classes(imported, tmp_path):
    data, _ = imported
    result = CliRunner().invoke(main, ["benchmark", "--data", str(data), "--out", str(tmp_path / "r"), "--methods", "nope"])
    assert result.exit_code != 0 and "unknown method" in result.output
    result = CliRunner().invoke(main, ["benchmark", "--data", str(data), "--out", str(tmp_path / "r"),
                                       "--methods", "btf-raw", "--classes", "chair9"])
    assert result.exit_code != 0 and "chair9" in result.output


@pytest.mark.parametrize("command", ["benchmark", "train-detector"])
def test_a_bad_config_value_exits_2_naming_the_key(imported, tmp_path, command):
    data, _ = imported
    bad = tmp_path / "bad.yaml"
    bad.write_text(TINY_IMRNET.replace("width: 32", "width: -3"))
    args = (["benchmark", "--methods", "imrnet", "--config", f"imrnet={bad}"] if command == "benchmark"
            else ["train-detector", "--config", str(bad), "--quiet"])
    result = CliRunner().invoke(main, [*args, "--data", str(data), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == "error: imrnet config: width: got -3, expected an integer in [8, 2048]"
    assert not (tmp_path / "r" / "runs").exists()          # refused before any work


def test_a_bad_align_value_exits_2_naming_the_key(imported, tmp_path):
    data, _ = imported
    bad = tmp_path / "align.yaml"
    bad.write_text("align: sideways\n")
    result = CliRunner().invoke(main, ["benchmark", "--methods", "btf-fpfh", "--config", f"btf-fpfh={bad}",
                                       "--data", str(data), "--out", str(tmp_path / "r")])
    assert result.exit_code == 2
    assert result.output.strip().splitlines()[-1] == \
        "error: baseline config: align: got 'sideways', expected one of none, template"
    assert not (tmp_path / "r" / "runs").exists()


def test_benchmark_on_worker_processes_equals_serial(imported, tmp_path):
    """The classes run as jobs of anomalygen.execute.Execution, as synthesis does: the tables do not
    depend on where they ran (and --jobs still works, as the old name of --workers)."""
    data, _ = imported
    outputs = {}
    for name, options in (("serial", []), ("workers", ["--workers", "2"]), ("jobs", ["--jobs", "2"])):
        out = tmp_path / name
        result = CliRunner().invoke(main, ["benchmark", "--data", str(data), "--out", str(out),
                                           "--methods", "btf-raw,btf-fpfh", "--quiet", *options])
        assert result.exit_code == 0, result.output
        report = json.loads((out / "benchmark.json").read_text())
        assert report["execution"]["workers"] == (1 if name == "serial" else 2)
        metrics = [(u["method"], u["class"], u["metrics"]) for u in report["units"]]
        outputs[name] = metrics, report["mean"], {m: (out / "tables" / f"{m}.csv").read_text() for m in METRICS}
    assert outputs["workers"] == outputs["serial"] == outputs["jobs"]


def test_benchmark_execution_options_exclude_each_other(imported, tmp_path):
    data, _ = imported
    result = CliRunner().invoke(main, ["benchmark", "--data", str(data), "--out", str(tmp_path / "r"),
                                       "--methods", "btf-raw", "--workers", "2", "--dask-local", "2"])
    assert result.exit_code == 2 and "--workers and --dask-local exclude each other" in result.output
    assert not (tmp_path / "r").exists()


def test_methods_come_from_the_detector_registry(imported, tmp_path):
    from anomalygen.detect.registry import registered_methods

    assert registered_methods() == METHODS                 # the default --methods, in this order
    help_text = CliRunner().invoke(main, ["benchmark", "--help"]).output
    assert all(m in help_text for m in METHODS)
    data, _ = imported
    result = CliRunner().invoke(main, ["train-detector", "--data", str(data), "--out", str(tmp_path / "r"),
                                       "--method", "nope"])
    assert result.exit_code == 2 and "'nope' is not one of 'imrnet', 'btf-raw'" in result.output
