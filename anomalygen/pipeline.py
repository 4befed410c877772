"""Runs a recipe's shard jobs (serially, on a process pool or on Dask) and keeps the manifest.

Each shard is one unit of work: its samples are generated in one process and written to a
temporary file that is renamed into place when complete, then the manifest records it. A run
started again with the same recipe skips the shards the manifest already lists, so an
interrupted run finishes the rest without partial or duplicate shards.
"""

from __future__ import annotations

import dataclasses
import os
import platform
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import trimesh

from anomalygen import __version__
from anomalygen.execute import Execution
from anomalygen.generate import SampleFailed, make_sample
from anomalygen.plan import ShardJob, shard_jobs
from anomalygen.recipe import Recipe
from anomalygen.shards import MANIFEST, SCHEMA_VERSION, SHARD_DIR, count_samples, read_manifest, shard_path, write_manifest, write_shard


class RunConflict(Exception):
    """The output folder holds a run of a different recipe."""


@dataclass
class ShardReport:
    shard_id: str
    samples: dict[str, dict]                       # sample id -> its manifest entry
    failed: dict[str, str]                         # sample id -> reason
    timings: dict[str, float] = field(default_factory=dict)


def default_cache_dir() -> Path:
    """Prepared meshes are kept here across runs: $ANOMALYGEN_CACHE, else ~/.cache/anomalygen."""
    env = os.environ.get("ANOMALYGEN_CACHE")
    base = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "anomalygen"
    return base / "prepared"


def job_cache_dir(cache_dir: Path | None) -> Path:
    """The cache folder jobs are given: absolute, as they may run where the working directory differs."""
    return Path(cache_dir or default_cache_dir()).absolute()


_PREPARED: dict[tuple, trimesh.Trimesh] = {}


def prepared_mesh(recipe: Recipe, class_name: str, cache_dir: Path) -> trimesh.Trimesh:
    """The prepared mesh of a class, memoised in this process and cached on disk by content."""
    from anomalygen.shapes import source_mesh
    from anomalygen.shapes.prepare import PreparedMeshCache

    cls = next(c for c in recipe.classes if c.name == class_name)
    key = (recipe.source, cls.name, cls.kind, cls.variant, cls.mesh, cls.synset, cls.model, str(cache_dir))
    if key not in _PREPARED:
        raw = source_mesh(recipe.source, cls)
        _PREPARED[key] = PreparedMeshCache(cache_dir).get(raw, recipe.source.remesh_edge)
    return _PREPARED[key]


def warm_cache(recipe: Recipe, class_name: str, cache_dir: Path) -> str | None:
    """Prepare one class's mesh into the disk cache; returns the failure reason, if any."""
    try:
        prepared_mesh(recipe, class_name, cache_dir)
    except Exception as error:  # reported again, per sample, by run_shard
        return f"{type(error).__name__}: {error}"
    return None


def run_shard(shard: ShardJob, recipe: Recipe, out_dir: Path, cache_dir: Path) -> ShardReport:
    """Generate and write one shard; a sample (or a whole class) that fails is reported, not raised."""
    timings: dict[str, float] = defaultdict(float)
    report = ShardReport(shard.shard_id, {}, {}, timings)
    started = time.perf_counter()
    try:
        base = prepared_mesh(recipe, shard.class_name, cache_dir)
    except Exception as error:  # a broken source mesh must not stop the other classes
        reason = f"mesh preparation failed: {type(error).__name__}: {error}"
        report.failed = {job.sample_id: reason for job in shard.samples}
        base = None
    timings["preparation"] += time.perf_counter() - started
    samples = []
    if base is not None:
        for job in shard.samples:
            try:
                samples.append(make_sample(job, recipe, base, timings))
            except SampleFailed as error:
                report.failed[job.sample_id] = str(error)
    started = time.perf_counter()
    attrs = {
        "anomalygen_version": __version__,
        "recipe_name": recipe.name,
        "recipe_digest": recipe.digest(),
        "class_name": shard.class_name,
        "split": shard.split,
        "shard_id": shard.shard_id,
    }
    write_shard(shard_path(out_dir, shard.shard_id), samples, attrs, recipe.output.compression)
    timings["writing"] += time.perf_counter() - started
    for s in samples:
        report.samples[s.sample_id] = {
            "shard": shard.shard_id,
            "kind": s.kind,
            "types": s.types,
            "points": len(s.points),
            "anomalous_fraction": round(s.anomalous_fraction, 6),
            "checksum": s.checksum,
        }
    return report


def sample_checksums(shard: ShardJob, recipe: Recipe, cache_dir: Path) -> dict[str, str]:
    """Regenerate a shard's samples in memory: sample id -> checksum, or "failed: <reason>"."""
    from anomalygen.generate import make_sample

    try:
        base = prepared_mesh(recipe, shard.class_name, cache_dir)
    except Exception as error:  # as in run_shard: a broken source is a result, not a crash
        return {job.sample_id: f"failed: mesh preparation failed: {type(error).__name__}: {error}" for job in shard.samples}
    checksums = {}
    for job in shard.samples:
        try:
            checksums[job.sample_id] = make_sample(job, recipe, base).checksum
        except SampleFailed as error:
            checksums[job.sample_id] = f"failed: {error}"
    return checksums


def verify(recipe: Recipe, manifest: dict, sample_ids: Iterable[str] | None = None,
           execution: Execution = Execution(), cache_dir: Path | None = None) -> dict[str, tuple[str, str]]:
    """Regenerate samples and compare their checksums with ``manifest``.

    Returns sample id -> (expected, got) for every sample that differs (a missing entry on
    either side counts as a difference); an empty dict means the benchmark reproduces.
    """
    cache_dir = job_cache_dir(cache_dir)
    wanted = set(sample_ids) if sample_ids is not None else None
    shards = []
    for shard in shard_jobs(recipe):
        jobs = tuple(j for j in shard.samples if wanted is None or j.sample_id in wanted)
        if jobs:
            shards.append(dataclasses.replace(shard, samples=jobs))
    expected = {sid: e["checksum"] for sid, e in manifest.get("samples", {}).items()}
    expected.update({sid: f"failed: {reason}" for sid, reason in manifest.get("failed", {}).items()})
    got: dict[str, str] = {}
    with execution.start() as map_jobs:
        for result in map_jobs(sample_checksums, shards, [recipe] * len(shards), [cache_dir] * len(shards)):
            got.update(result)
    planned = set(got) if wanted is None else wanted
    missing = "absent"
    return {sid: (expected.get(sid, missing), got.get(sid, missing)) for sid in sorted(planned | (set(expected) if wanted is None else set()))
            if expected.get(sid, missing) != got.get(sid, missing)}


def new_manifest(recipe: Recipe) -> dict:
    import h5py
    import numpy
    import scipy

    return {
        "schema_version": SCHEMA_VERSION,
        "recipe": {"name": recipe.name, "version": recipe.version, "seed": recipe.seed, "digest": recipe.digest()},
        "versions": {
            "anomalygen": __version__,
            "python": platform.python_version(),
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "trimesh": trimesh.__version__,
            "h5py": h5py.__version__,
        },
        "shards": {},
        "samples": {},
        "failed": {},
    }


def record(manifest: dict, report: ShardReport, n_planned: int) -> None:
    manifest["shards"][report.shard_id] = {"samples": len(report.samples), "failed": len(report.failed), "planned": n_planned}
    manifest["samples"].update(report.samples)
    manifest["failed"].update(report.failed)
    manifest["counts"] = count_samples(manifest["samples"])


def synthesize(
    recipe: Recipe,
    out_dir: Path,
    classes: Iterable[str] | None = None,
    execution: Execution = Execution(),
    cache_dir: Path | None = None,
    on_shard_done: Callable[[ShardReport, ShardJob], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> dict:
    """Generate every pending shard of ``recipe`` into ``out_dir``; returns the manifest.

    ``on_start(n)`` is told how many planned samples earlier runs already finished;
    ``on_shard_done(report, shard)`` is called as each shard is written.
    """
    out_dir = Path(out_dir).absolute()  # for jobs that run where the working directory differs
    cache_dir = job_cache_dir(cache_dir)
    shards = shard_jobs(recipe)
    if classes is not None:
        wanted = set(classes)
        shards = [s for s in shards if s.class_name in wanted]
    manifest = new_manifest(recipe)
    if (out_dir / MANIFEST).exists():
        previous = read_manifest(out_dir)
        if previous.get("recipe", {}).get("digest") != manifest["recipe"]["digest"]:
            raise RunConflict(f"{out_dir} holds a run of another recipe ({previous.get('recipe', {}).get('name')!r}); use another --out")
        manifest.update({k: previous[k] for k in ("shards", "samples", "failed", "counts") if k in previous})
    done = {sid for sid in manifest["shards"] if shard_path(out_dir, sid).exists()}
    pending = [s for s in shards if s.shard_id not in done]
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in (out_dir / SHARD_DIR).glob("*/.*.tmp"):  # left by a run that was killed mid-write
        stale.unlink()
    write_manifest(out_dir, manifest)
    by_id = {s.shard_id: s for s in pending}
    if on_start:
        on_start(sum(len(s.samples) for s in shards if s.shard_id in done))

    def finish(report: ShardReport) -> None:
        record(manifest, report, len(by_id[report.shard_id].samples))
        write_manifest(out_dir, manifest)
        if on_shard_done:
            on_shard_done(report, by_id[report.shard_id])

    if not pending:  # then there is no pool or cluster to start
        return manifest
    with execution.start() as map_jobs:
        if execution.parallel:
            # prepare each class once, into the disk cache, before its shards run side by side
            names = list(dict.fromkeys(s.class_name for s in pending))
            list(map_jobs(warm_cache, [recipe] * len(names), names, [cache_dir] * len(names)))
        n = len(pending)
        for report in map_jobs(run_shard, pending, [recipe] * n, [out_dir] * n, [cache_dir] * n):
            finish(report)
    return manifest
