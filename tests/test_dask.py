"""Dask execution: a running cluster (--scheduler) and a local one (--dask-local) give the serial
run's manifest, and Dask workers exit without heap corruption (see anomalygen/dask_cluster.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import dask
import pytest
from click.testing import CliRunner
from distributed import LocalCluster

from anomalygen.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECIPE = ROOT / "recipes" / "ci_small.yaml"
CLASSES = "vase3,helmet0"  # 21 of ci_small's 37 samples, every anomaly type
HEAP_ERRORS = ("malloc", "corrupt", "double free")


def synth(out, cache, *options):
    result = CliRunner().invoke(main, ["synth", str(RECIPE), "--classes", CLASSES, "--out", str(out),
                                       "--cache-dir", str(cache), "--quiet", *options])
    assert result.exit_code == 0, result.output
    return json.loads((out / "manifest.json").read_text())


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("prepared")


@pytest.fixture(scope="module")
def serial_manifest(tmp_path_factory, cache):
    return synth(tmp_path_factory.mktemp("serial") / "out", cache, "--workers", "1")


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        yield cluster


def test_two_local_workers_give_the_serial_manifest(serial_manifest, cache, tmp_path):
    # before the cluster fixture starts: a process pool must not fork the cluster's threads
    assert synth(tmp_path / "out", cache, "--workers", "2") == serial_manifest


def test_scheduler_gives_the_serial_manifest_and_verifies(cluster, serial_manifest, cache, tmp_path):
    address = cluster.scheduler_address
    assert synth(tmp_path / "out", cache, "--scheduler", address) == serial_manifest
    assert len(serial_manifest["samples"]) == 21 and serial_manifest["failed"] == {}
    result = CliRunner().invoke(main, ["verify", str(RECIPE), "--manifest", str(tmp_path / "out" / "manifest.json"),
                                       "--cache-dir", str(cache), "--scheduler", address,
                                       "--sample", "vase3/test/crak0", "--sample", "helmet0/test/bending0"])
    assert result.exit_code == 0, result.output
    assert "2 samples match" in result.output


def test_dask_local_in_a_fresh_process_matches_and_exits_cleanly(serial_manifest, tmp_path):
    """A cold cache, so pymeshlab also remeshes on the workers' threads."""
    out = tmp_path / "out"
    command = [sys.executable, "-m", "anomalygen.cli", "synth", str(RECIPE), "--classes", CLASSES, "--out", str(out),
               "--cache-dir", str(tmp_path / "prepared"), "--dask-local", "2", "--quiet"]
    # the workers are new processes: they must import this checkout's anomalygen too
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == 0, result.stderr
    # the workers' stderr is this process's: glibc reports a corrupted heap there as they exit
    assert not [text for text in HEAP_ERRORS if text in result.stderr.lower()], result.stderr
    assert json.loads((out / "manifest.json").read_text()) == serial_manifest


@pytest.mark.parametrize("options, named", [
    (["--workers", "2", "--dask-local", "2"], "--workers and --dask-local"),
    (["--scheduler", "tcp://127.0.0.1:9", "--dask-local", "2"], "--scheduler and --dask-local"),
])
def test_execution_options_exclude_each_other(options, named):
    result = CliRunner().invoke(main, ["verify", str(RECIPE), "--manifest",
                                       str(ROOT / "recipes" / "manifests" / "ci_small.json"), *options])
    assert result.exit_code == 2
    assert f"{named} exclude each other" in result.output


def test_unreachable_scheduler_is_a_one_line_error(tmp_path):
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        result = CliRunner().invoke(main, ["synth", str(RECIPE), "--classes", "cup0", "--out", str(tmp_path / "out"),
                                           "--scheduler", "tcp://127.0.0.1:9", "--quiet"])
    assert result.exit_code == 2
    assert result.output.startswith("error: cannot reach the Dask scheduler at tcp://127.0.0.1:9")
