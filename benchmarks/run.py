"""Synthesis benchmark: samples per second at 1 and 2 workers, per-stage times, peak memory,
and the floor measured in the same run (the same number of points sampled and written from
the same prepared meshes with no edit at all). Run with ``make bench``.

    python benchmarks/run.py [--recipe RECIPE] [--classes a,b] [--workers 1,2]
"""

from __future__ import annotations

import argparse
import dataclasses
import resource
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from anomalygen.execute import Execution
from anomalygen.pipeline import default_cache_dir, synthesize
from anomalygen.recipe import load_recipe

ROOT = Path(__file__).resolve().parents[1]


def timed_run(recipe, workers: int, classes, cache_dir: Path) -> dict:
    """Synthesize into a temporary folder; wall seconds, samples and summed worker stage times."""
    stages: dict[str, float] = defaultdict(float)

    def collect(report, _shard):
        for stage, seconds in report.timings.items():
            stages[stage] += seconds

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        manifest = synthesize(recipe, Path(out), classes=classes, execution=Execution(workers), cache_dir=cache_dir,
                              on_shard_done=collect)
        wall = time.perf_counter() - started
    return {"wall": wall, "samples": len(manifest["samples"]), "failed": len(manifest["failed"]), "stages": dict(stages)}


def without_edits(recipe):
    """The same recipe with every anomalous test sample replaced by a normal one (the floor)."""
    classes = tuple(dataclasses.replace(c, test={"normal": sum(c.test.values())}) for c in recipe.classes)
    return dataclasses.replace(recipe, classes=classes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "anomaly_shapenet.yaml"))
    parser.add_argument("--classes", help="comma-separated subset of the recipe's classes")
    parser.add_argument("--workers", default="1,2", help="worker counts to measure, comma-separated")
    args = parser.parse_args()
    recipe = load_recipe(args.recipe)
    classes = args.classes.split(",") if args.classes else None
    cache_dir = default_cache_dir()

    started = time.perf_counter()  # warm the prepared-mesh cache, timed as the preparation stage
    timed_run(dataclasses.replace(recipe, classes=tuple(dataclasses.replace(c, train=1, test={}) for c in recipe.classes)),
              2, classes, cache_dir)
    preparation = time.perf_counter() - started

    rows = []
    for workers in [int(w) for w in args.workers.split(",")]:
        rows.append((f"synthesis, {workers} worker(s)", timed_run(recipe, workers, classes, cache_dir)))
    floor = timed_run(without_edits(recipe), max(int(w) for w in args.workers.split(",")), classes, cache_dir)
    rows.append((f"floor (no edit), {max(int(w) for w in args.workers.split(','))} worker(s)", floor))

    print(f"recipe {recipe.name} v{recipe.version}; mesh preparation (cache warm-up): {preparation:.1f} s")
    print(f"{'run':32s} {'wall s':>8s} {'samples':>8s} {'failed':>7s} {'samples/s':>10s}  stage seconds (summed over workers)")
    for name, r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in sorted(r["stages"].items()))
        print(f"{name:32s} {r['wall']:8.1f} {r['samples']:8d} {r['failed']:7d} {r['samples'] / r['wall']:10.2f}  {stages}")
    same_workers = rows[-2][1]
    print(f"synthesis / floor at the same worker count: {same_workers['wall'] / floor['wall']:.2f}x")
    peak_mb = max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss) / 1024
    print(f"peak resident memory of one process: {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
