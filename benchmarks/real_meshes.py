"""Real and hard meshes: how preparation makes them watertight, and how often each operator
then succeeds. Run with ``make bench-real``.

    python benchmarks/real_meshes.py [--samples 2] [--meshes a,b] [--operators a,b] [--compare]
                                     [--watertight auto|always|never] [--cache DIR]

Corpus: every mesh of ``../shared/data/meshes`` plus the hard meshes of
``benchmarks/corpus.py``. Prints

* with ``--compare``, per mesh and method (plain preparation, ``source.watertight: auto``, and
  point-cloud-utils' ``make_mesh_watertight`` at resolution 20000 when that package is
  importable): closed oriented manifold or not, Hausdorff distance to the source (UNIT) and
  seconds;
* per operator: samples made / tried on the prepared meshes (``--watertight``, default
  ``auto``), and every failure with
  its reason. A sample is one full ``make_sample`` (the recipe defaults: 12 attempts, fraction
  bounds), so a success here is a sample the generator would write.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import trimesh

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from anomalygen.generate import SampleFailed, make_sample  # noqa: E402
from anomalygen.ops import OPERATORS  # noqa: E402
from anomalygen.plan import SampleJob  # noqa: E402
from anomalygen.recipe import recipe_from_mapping  # noqa: E402
from anomalygen.shapes.load import load_mesh  # noqa: E402
from anomalygen.shapes.cache import PreparedMeshCache  # noqa: E402
from anomalygen.shapes.prepare import prepare_mesh  # noqa: E402
from anomalygen.shapes.watertight import is_closed_manifold  # noqa: E402
from benchmarks.corpus import HARD_MESHES, shared_meshes  # noqa: E402

EDGE = 0.025


def corpus(names: set[str] | None) -> dict[str, trimesh.Trimesh | str]:
    """name -> raw mesh, or the reason it could not be loaded."""
    meshes: dict[str, trimesh.Trimesh | str] = {f"hard/{name}": make() for name, make in HARD_MESHES.items()}
    for name, path in shared_meshes().items():
        try:
            meshes[name] = load_mesh(path)
        except Exception as error:  # a file the loader refuses is a result too
            meshes[name] = f"load failed: {error}"
    return {k: v for k, v in meshes.items() if names is None or k in names}


def compare(meshes: dict) -> None:
    """Method comparison table: watertight, Hausdorff (UNIT), seconds per mesh and method."""
    methods = {"plain": lambda m: prepare_mesh(m, EDGE, "never"), "auto": lambda m: prepare_mesh(m, EDGE, "auto")}
    try:
        import point_cloud_utils as pcu

        def pcu_method(mesh):
            v, f = pcu.make_mesh_watertight(np.asarray(mesh.vertices, np.float64), np.asarray(mesh.faces, np.int32),
                                            resolution=20000, seed=0)
            return prepare_mesh(trimesh.Trimesh(v, f, process=False), EDGE, "never")

        methods["pcu-20000"] = pcu_method
    except ImportError:
        print("(point-cloud-utils not importable: its column is left out)")
    totals = defaultdict(lambda: [0, 0, 0.0, []])
    print(f"{'mesh':40s}" + "".join(f"{m:>28s}" for m in methods))
    for name, mesh in meshes.items():
        if isinstance(mesh, str):
            continue
        cells = []
        for method, run in methods.items():
            started = time.perf_counter()
            try:
                prepared = run(mesh)
            except Exception as error:
                cells.append(f"error {type(error).__name__}")
                continue
            seconds = time.perf_counter() - started
            closed = is_closed_manifold(prepared.vertices, prepared.faces)
            if method == "plain":
                plain = prepared  # every method's deviation is measured from this one
            hausdorff = _hausdorff(prepared, plain)
            total = totals[method]
            total[0] += closed
            total[1] += 1
            total[2] += seconds
            total[3].append(hausdorff)
            cells.append(f"{'closed' if closed else 'OPEN':>6s} H={hausdorff:.4f} {seconds:5.1f}s")
        print(f"{name:40s}" + "".join(f"{c:>28s}" for c in cells), flush=True)
    for method, (closed, count, seconds, hausdorff) in totals.items():
        print(f"{method}: closed {closed}/{count}, Hausdorff median {np.median(hausdorff):.4f} "
              f"max {np.max(hausdorff):.4f}, {seconds / count:.1f} s per mesh")


def _hausdorff(prepared: trimesh.Trimesh, plain: trimesh.Trimesh) -> float:
    """Symmetric Hausdorff distance (UNIT) between a prepared mesh and the plainly prepared source."""
    from anomalygen.shapes.prepare import _one_sided_distance

    a = (np.asarray(plain.vertices), np.asarray(plain.faces))
    b = (np.asarray(prepared.vertices), np.asarray(prepared.faces))
    return max(_one_sided_distance(a, b)["max"], _one_sided_distance(b, a)["max"])


def operator_rates(meshes: dict, samples: int, cache: PreparedMeshCache, watertight: str = "auto",
                   operators: list[str] | None = None) -> bool:
    """Per-operator success on the meshes prepared with ``watertight`` (``operators``: all if None);
    True when every rate is >= 95%."""
    operators = list(OPERATORS) if operators is None else operators
    recipe = recipe_from_mapping({"name": "bench", "version": 1, "seed": 1, "classes": {"vase0": None},
                                  "points": {"count": 8192}})
    made, failures = defaultdict(int), defaultdict(list)
    for name, mesh in meshes.items():
        try:
            if isinstance(mesh, str):
                raise ValueError(mesh)
            base = cache.get(mesh, EDGE, watertight)
        except Exception as error:
            for operator in operators:
                failures[operator] += [(name, f"preparation: {error}")] * samples
            continue
        for operator in operators:
            for index in range(samples):
                job = SampleJob(f"{name}/test/{operator}{index}", name, "test", operator, index,
                                seed=1000 * index + sorted(OPERATORS).index(operator))
                try:
                    make_sample(job, recipe, base)
                    made[operator] += 1
                except SampleFailed as error:
                    failures[operator].append((name, str(error)))
        print(f"  {name}: done", file=sys.stderr, flush=True)
    tried = samples * len(meshes)
    ok = True
    print(f"\nper-operator success on {len(meshes)} meshes x {samples} samples:")
    for operator in operators:
        rate = made[operator] / tried
        ok &= rate >= 0.95
        print(f"  {operator:10s} {made[operator]:4d}/{tried}  {rate:6.1%}")
        for name, reason in failures[operator]:
            print(f"      {name}: {reason[:300]}")
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=2, help="samples per mesh and operator")
    parser.add_argument("--meshes", help="comma-separated corpus names (default: all)")
    parser.add_argument("--operators", help="comma-separated operators (default: all)")
    parser.add_argument("--compare", action="store_true", help="also print the method comparison")
    parser.add_argument("--watertight", default="auto", choices=("auto", "always", "never"),
                        help="how the meshes are prepared for the operators")
    parser.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "anomalygen" / "bench-real")
    args = parser.parse_args()
    meshes = corpus(set(args.meshes.split(",")) if args.meshes else None)
    if args.compare:
        compare(meshes)
    operators = args.operators.split(",") if args.operators else None
    if operators and set(operators) - set(OPERATORS):
        parser.error(f"unknown operators: {sorted(set(operators) - set(OPERATORS))}")
    return 0 if operator_rates(meshes, args.samples, PreparedMeshCache(args.cache), args.watertight, operators) else 1


if __name__ == "__main__":
    sys.exit(main())
