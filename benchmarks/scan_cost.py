"""Scanning against sampling, sample by sample in one process: every ``--every``-th normal job of a
recipe is made twice in turn, once plain and once with ``run.SCAN`` as its sensor, so that a busy
spell of a shared machine slows both alike (each mesh is used once, untimed, first). Prints the mean stage time per sample of each and
their ratio (``make bench`` measures the same ratio over whole runs)::

    python benchmarks/scan_cost.py [--recipe RECIPE] [--every 4]

To compare two versions of the code, run it alternately in their checkouts.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from run import ROOT, with_sensor, without_edits

from anomalygen.generate import make_sample
from anomalygen.pipeline import default_cache_dir, prepared_mesh
from anomalygen.plan import sample_jobs
from anomalygen.recipe import load_recipe


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipe", default=str(ROOT / "recipes" / "anomaly_shapenet.yaml"))
    parser.add_argument("--every", type=int, default=4, help="take every N-th job of the recipe")
    args = parser.parse_args()
    plain = without_edits(load_recipe(args.recipe))
    scanned = with_sensor(plain)
    jobs = list(sample_jobs(plain))[::args.every]
    bases = {c.name: prepared_mesh(plain, c.name, default_cache_dir()) for c in plain.classes}
    for job in {job.class_name: job for job in jobs}.values():   # untimed: each mesh's first use fills caches
        make_sample(job, plain, bases[job.class_name])
        make_sample(job, scanned, bases[job.class_name])
    timings = {"plain": defaultdict(float), "scanned": defaultdict(float)}
    for job in jobs:
        make_sample(job, plain, bases[job.class_name], timings["plain"])
        make_sample(job, scanned, bases[job.class_name], timings["scanned"])
    sampling = timings["plain"]["sampling"] / len(jobs)
    scanning = timings["scanned"]["scanning"] / len(jobs)
    print(f"{len(jobs)} samples: scanning {scanning * 1000:.2f} ms, sampling {sampling * 1000:.2f} ms per sample: "
          f"{scanning / sampling:.2f}x")


if __name__ == "__main__":
    main()
