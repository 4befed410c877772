"""Synthesis benchmark: samples per second at 1 and 2 workers, per-stage times, peak memory.
At each worker count it also measures the floor (the same number of points sampled and
written from the same prepared meshes with no edit at all) and the scan case (the floor
again with a sensor on every split, :data:`SCAN`), and prints synthesis / floor (wall) and
scanning / sampling (per sample) at that worker count. Each run starts in a new process, with
the prepared meshes on disk and nothing in memory. Run with ``make bench``.

    python benchmarks/run.py [--recipe RECIPE] [--classes a,b] [--workers 1,2] [--repeat 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from collections import defaultdict
from pathlib import Path

from anomalygen.execute import Execution
from anomalygen.pipeline import default_cache_dir, synthesize
from anomalygen.checks import Checker
from anomalygen.recipe import DEFAULTS, load_recipe
from anomalygen.sensor.spec import sensor_from_mapping

ROOT = Path(__file__).resolve().parents[1]


def _process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (from /proc; Linux only)."""
    children: dict[int, list[int]] = defaultdict(list)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:  # the command name may hold spaces; the parent pid is the 2nd field after it
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children[parent].append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        tree.append(pid)
        todo.extend(children[pid])
    return tree


def _memory_kb(pid: int) -> tuple[int, int]:
    """(Rss, Pss) of one process in kB; Pss splits shared pages between their sharers."""
    try:
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines()[1:])
        return int(fields["Rss"].split()[0]), int(fields["Pss"].split()[0])
    except (OSError, KeyError, ValueError):
        return 0, 0                              # the process ended while being read


class PeakMemory:
    """Samples the memory of this process and all its children every ``interval`` s.

    ``pss_mb`` is the peak of the summed proportional set size, the memory the run really
    holds (shared library pages counted once); ``rss_mb`` the peak summed resident size, an
    upper bound that counts shared pages once per process.
    """

    def __init__(self, interval: float = 0.2):
        self.interval, self.rss_mb, self.pss_mb = interval, 0.0, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            rss, pss = map(sum, zip(*(_memory_kb(pid) for pid in _process_tree(os.getpid()))))
            self.rss_mb, self.pss_mb = max(self.rss_mb, rss / 1024), max(self.pss_mb, pss / 1024)
            self._stop.wait(self.interval)

    def __enter__(self) -> "PeakMemory":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def timed_run(recipe, workers: int, classes, cache_dir: Path) -> dict:
    """Synthesize into a temporary folder; wall seconds, samples and summed worker stage times."""
    stages: dict[str, float] = defaultdict(float)

    def collect(report, _shard):
        for stage, seconds in report.timings.items():
            stages[stage] += seconds

    with tempfile.TemporaryDirectory() as out, PeakMemory() as memory:
        started = time.perf_counter()
        manifest = synthesize(recipe, Path(out), classes=classes, execution=Execution(workers), cache_dir=cache_dir,
                              on_shard_done=collect)
        wall = time.perf_counter() - started
    return {"wall": wall, "samples": len(manifest["samples"]), "failed": len(manifest["failed"]), "stages": dict(stages),
            "pss_mb": memory.pss_mb, "rss_mb": memory.rss_mb}


def fresh_run(recipe, workers: int, classes, cache_dir: Path) -> dict:
    """:func:`timed_run` in a new process forked from this one, which never generates anything:
    every run starts as a new ``anomalygen synth`` would (prepared meshes on disk, none in
    memory), so no run profits from what an earlier run left in memory."""
    receiver, sender = multiprocessing.get_context("fork").Pipe(duplex=False)

    def child() -> None:
        sender.send(timed_run(recipe, workers, classes, cache_dir))

    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
    sender.close()                      # so that a child that dies before sending ends recv()
    try:
        result = receiver.recv()
    except EOFError:
        raise RuntimeError(f"the benchmark run ({workers} worker(s)) died; its error is printed above") from None
    finally:
        process.join()
    return result


def without_edits(recipe):
    """The same recipe with every anomalous test sample replaced by a normal one (the floor)."""
    classes = tuple(dataclasses.replace(c, test={"normal": sum(c.test.values())}) for c in recipe.classes)
    return dataclasses.replace(recipe, classes=classes)


SCAN = {"pose": {"rotation": "any"}, "scan": {"placement": "single"}}
"""The scan case's sensor block (on both splits): a random pose, one viewpoint, the defaults."""


def with_sensor(recipe, block: dict = SCAN):
    """The same recipe with ``block`` as the sensor of every split."""
    sensor = sensor_from_mapping(Checker("benchmarks/run.py"), {"train": block, "test": block}, DEFAULTS["sensor"])
    return dataclasses.replace(recipe, sensor=sensor)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "anomaly_shapenet.yaml"))
    parser.add_argument("--classes", help="comma-separated subset of the recipe's classes")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure synthesis, floor and scan this many times at each worker count and print the "
                             "median ratios too (a shared machine's speed drifts by 10-30%% between runs)")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    classes = args.classes.split(",") if args.classes else None
    cache_dir = default_cache_dir()

    started = time.perf_counter()  # warm the prepared-mesh cache, timed as the preparation stage
    timed_run(dataclasses.replace(recipe, classes=tuple(dataclasses.replace(c, train=1, test={}) for c in recipe.classes)),
              2, classes, cache_dir)
    preparation = time.perf_counter() - started

    rows, ratios = [], []
    for workers in [int(w) for w in args.workers.split(",")]:
        synthesis_ratios, scanning_ratios = [], []
        for repeat in range(args.repeat):     # the three runs in turn, so that a busy spell slows all alike
            synthesis = fresh_run(recipe, workers, classes, cache_dir)
            floor = fresh_run(without_edits(recipe), workers, classes, cache_dir)
            scanned = fresh_run(with_sensor(without_edits(recipe)), workers, classes, cache_dir)
            tag = f"{workers} worker(s)" + (f" #{repeat + 1}" if args.repeat > 1 else "")
            rows += [(f"synthesis, {tag}", synthesis), (f"floor (no edit), {tag}", floor), (f"floor scanned, {tag}", scanned)]
            synthesis_ratios.append(synthesis["wall"] / floor["wall"])
            sampling = floor["stages"]["sampling"] / floor["samples"]
            scanning = scanned["stages"]["scanning"] / scanned["samples"]
            scanning_ratios.append(scanning / sampling)
            ratios.append(f"{tag}: synthesis / floor {synthesis_ratios[-1]:.2f}x; scanning {scanning * 1000:.1f} ms "
                          f"per sample against sampling {sampling * 1000:.1f} ms: {scanning_ratios[-1]:.2f}x")
        if args.repeat > 1:
            ratios.append(f"{workers} worker(s), median of {args.repeat}: synthesis / floor "
                          f"{statistics.median(synthesis_ratios):.2f}x; scanning / sampling "
                          f"{statistics.median(scanning_ratios):.2f}x")

    print(f"recipe {recipe.name} v{recipe.version}; mesh preparation (cache warm-up): {preparation:.1f} s")
    print(f"{'run':32s} {'wall s':>8s} {'samples':>8s} {'failed':>7s} {'samples/s':>10s} {'peak MB':>8s} "
          f"{'(rss)':>7s}  stage seconds (summed over workers)")
    for name, r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stages"].items()))
        print(f"{name:32s} {r['wall']:8.1f} {r['samples']:8d} {r['failed']:7d} {r['samples'] / r['wall']:10.2f} "
              f"{r['pss_mb']:8.0f} {r['rss_mb']:7.0f}  {stages}")
    print("\n".join(ratios))
    print(f"floor scanned: sensor {SCAN} on every sample; the two ratios compare runs at the same worker count")
    print("peak MB: the run's processes together (main + workers), proportional set size, sampled every 0.2 s; "
          "(rss): summed resident size, an upper bound that counts shared pages per process")


if __name__ == "__main__":
    main()
