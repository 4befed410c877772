"""Runs a recipe's shard jobs (serially, on a process pool or on Dask) and keeps the manifest.

Each shard is one unit of work: its samples are generated in one process and written to a
temporary file that is renamed into place when complete, then the manifest records it with the
file's sha256. A run started again with the same recipe skips the shards the manifest lists
whose file is intact and which have no failed sample, so an interrupted run finishes the rest
without partial or duplicate shards, a damaged or deleted shard is made again, and a sample that
failed for a passing reason is tried again. The plan is streamed, so a run starts writing at
once however many samples the recipe asks for. One run at a time writes into a folder
(:mod:`anomalygen.outlock`).
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import chain, repeat
from pathlib import Path
from typing import Callable, Iterable, Iterator

import trimesh

from anomalygen import __version__
from anomalygen.execute import Execution, exit_if_orphaned
from anomalygen.generate import MeshUnusable, SampleFailed, make_sample
from anomalygen.outlock import output_lock
from anomalygen.plan import SampleJob, ShardJob, class_of, class_shard_ids, shard_jobs
from anomalygen.recipe import Recipe
from anomalygen.shards import (MANIFEST, PLAIN_SCHEMA_VERSION, SCHEMA_VERSION, SHARD_DIR, Sample, count_samples,
                               file_sha256, read_manifest, shard_path, write_manifest, write_shard)
from anomalygen.storage.atomic import temporary_owner


class RunConflict(Exception):
    """The output folder holds a run of a different recipe."""


@dataclass
class ShardReport:
    shard_id: str
    samples: dict[str, dict]                       # sample id -> its manifest entry
    failed: dict[str, str]                         # sample id -> reason
    timings: dict[str, float] = field(default_factory=dict)
    sha256: str = ""                               # of the shard file written
    preparation: dict | None = None                # what preparation did to the class's mesh


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
    from anomalygen.shapes.cache import PreparedMeshCache

    key = _prepared_key(recipe, class_name, cache_dir)
    if key not in _PREPARED:
        source = recipe.source
        raw = source_mesh(source, next(c for c in recipe.classes if c.name == class_name))
        _PREPARED[key] = PreparedMeshCache(cache_dir).get(raw, source.remesh_edge, source.watertight,
                                                          source.min_thickness)
    return _PREPARED[key]


def _prepared_key(recipe: Recipe, class_name: str, cache_dir: Path) -> tuple:
    cls = next(c for c in recipe.classes if c.name == class_name)
    return (recipe.source, cls.name, cls.kind, cls.variant, cls.mesh, cls.synset, cls.model,
            json.dumps(cls.options, sort_keys=True), str(cache_dir))


def preparation_report(recipe: Recipe, class_name: str, cache_dir: Path) -> dict | None:
    """What preparation did to a class's mesh, if this process prepared it (None otherwise)."""
    prepared = _PREPARED.get(_prepared_key(recipe, class_name, cache_dir))
    return None if prepared is None else prepared.metadata.get("preparation")


def warm_cache(recipe: Recipe, class_name: str, cache_dir: Path) -> str | None:
    """Prepare one class's mesh into the disk cache; returns the failure reason, if any."""
    try:
        prepared_mesh(recipe, class_name, cache_dir)
    except Exception as error:  # reported again, per sample, by run_shard
        return f"{type(error).__name__}: {error}"
    return None


def generate_shard(shard: ShardJob, recipe: Recipe, cache_dir: Path,
                   timings: dict | None = None) -> Iterator[tuple[SampleJob, Sample | str]]:
    """(job, sample or failure reason) for each sample of ``shard``, in order.

    A sample failure, or a whole class's (its mesh cannot be prepared), is a result, not an
    error; an operator that cannot edit the mesh at all fails its other samples without trying.
    """
    timings = timings if timings is not None else defaultdict(float)
    started = time.perf_counter()
    try:
        base, broken = prepared_mesh(recipe, shard.class_name, cache_dir), None
    except Exception as error:  # a broken source mesh must not stop the other classes
        base, broken = None, f"mesh preparation failed: {type(error).__name__}: {error}"
    timings["preparation"] += time.perf_counter() - started
    unusable: dict[str, str] = {}                  # operator -> why it cannot edit this mesh
    for job in shard.samples:
        exit_if_orphaned()
        if broken or job.kind in unusable:
            yield job, broken or unusable[job.kind]
            continue
        try:
            yield job, make_sample(job, recipe, base, timings)
        except MeshUnusable as error:
            unusable[job.kind] = str(error)
            yield job, str(error)
        except SampleFailed as error:
            yield job, str(error)


def run_shard(shard: ShardJob, recipe: Recipe, out_dir: Path, cache_dir: Path) -> ShardReport:
    """Generate and write one shard; failed samples are reported, the others written."""
    timings: dict[str, float] = defaultdict(float)
    report = ShardReport(shard.shard_id, {}, {}, timings)
    samples = []
    for job, result in generate_shard(shard, recipe, cache_dir, timings):
        if isinstance(result, str):
            report.failed[job.sample_id] = result
        else:
            samples.append(result)
    report.preparation = preparation_report(recipe, shard.class_name, cache_dir)
    started = time.perf_counter()
    attrs = {
        "anomalygen_version": __version__,
        "recipe_name": recipe.name,
        "recipe_digest": recipe.digest(),
        "class_name": shard.class_name,
        "split": shard.split,
        "shard_id": shard.shard_id,
    }
    report.sha256 = write_shard(shard_path(out_dir, shard.shard_id), samples, attrs, recipe.output.compression,
                                before_rename=exit_if_orphaned)
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
    return {job.sample_id: f"failed: {result}" if isinstance(result, str) else result.checksum
            for job, result in generate_shard(shard, recipe, cache_dir)}


def verify(recipe: Recipe, manifest: dict, sample_ids: Iterable[str] | None = None,
           execution: Execution = Execution(), cache_dir: Path | None = None) -> dict[str, tuple[str, str]]:
    """Regenerate samples and compare their checksums with ``manifest``.

    Returns sample id -> (expected, got) for every sample that differs (a missing entry on
    either side counts as a difference); an empty dict means the benchmark reproduces.
    """
    cache_dir = job_cache_dir(cache_dir)
    wanted = set(sample_ids) if sample_ids is not None else None
    shards = (s if wanted is None else ShardJob(s.shard_id, s.class_name, s.split,
                                                 tuple(j for j in s.samples if j.sample_id in wanted))
              for s in shard_jobs(recipe))
    expected = {sid: e["checksum"] for sid, e in manifest.get("samples", {}).items()}
    expected.update({sid: f"failed: {reason}" for sid, reason in manifest.get("failed", {}).items()})
    got: dict[str, str] = {}
    with execution.start() as map_jobs:
        for result in map_jobs(sample_checksums, (s for s in shards if s.samples), repeat(recipe), repeat(cache_dir)):
            got.update(result)
    planned = set(got) if wanted is None else wanted
    missing = "absent"
    return {sid: (expected.get(sid, missing), got.get(sid, missing)) for sid in sorted(planned | (set(expected) if wanted is None else set()))
            if expected.get(sid, missing) != got.get(sid, missing)}


@dataclass
class Verification:
    """What :func:`verify_against` found; nothing differs when ``differences`` and ``damaged`` are empty."""
    checked: int                                   # samples compared
    differences: dict[str, tuple[str, str]]        # sample id -> (expected, got) checksum
    damaged: dict[str, str]                        # shard id -> problem of its file (with data_dir)
    other_recipe: bool                             # the manifest was made from another version of the recipe


def load_manifest_file(path: str | Path) -> dict:
    """A manifest.json file's content; ValueError naming the file if it is not one."""
    try:
        manifest = json.loads(Path(path).read_text())
    except ValueError as error:
        raise ValueError(f"{path}: not a manifest.json ({error})") from None
    if not isinstance(manifest, dict):
        raise ValueError(f"{path}: not a manifest.json (no JSON object)")
    return manifest


def verify_against(recipe: Recipe, manifest_path: str | Path, sample_ids: Iterable[str] | None = None,
                   data_dir: Path | None = None, execution: Execution = Execution(),
                   cache_dir: Path | None = None) -> Verification:
    """Regenerate ``recipe``'s samples (or only ``sample_ids``) and compare them with the manifest
    file at ``manifest_path``; with ``data_dir``, also check the shard files there against it."""
    manifest = load_manifest_file(manifest_path)
    sample_ids = list(sample_ids) if sample_ids else None
    damaged = check_files(data_dir, manifest) if data_dir else {}
    differences = verify(recipe, manifest, sample_ids=sample_ids, execution=execution, cache_dir=cache_dir)
    checked = len(sample_ids) if sample_ids else len(manifest.get("samples", {})) + len(manifest.get("failed", {}))
    return Verification(checked, differences, damaged, manifest.get("recipe", {}).get("digest") != recipe.digest())


def failures_by_reason(manifest: dict, classes: Iterable[str] | None = None) -> dict[str, list[str]]:
    """reason -> the sorted ids of the failed samples (of ``classes`` only, if given) it failed."""
    wanted = None if classes is None else set(classes)
    by_reason: dict[str, list[str]] = defaultdict(list)
    for sample_id, reason in sorted(manifest["failed"].items()):
        if wanted is None or class_of(sample_id) in wanted:
            by_reason[reason].append(sample_id)
    return dict(by_reason)


def shard_problem(out_dir: Path, shard_id: str, entry: dict) -> str | None:
    """Why the file of a shard the manifest lists does not hold what it recorded (None if it does)."""
    path = shard_path(out_dir, shard_id)
    if "sha256" not in entry:
        return "the manifest records no sha256 for it"
    if not path.is_file():
        return f"{path} is missing"
    if file_sha256(path) != entry["sha256"]:
        return f"{path} is damaged (its sha256 differs from the manifest's)"
    return None


def check_files(out_dir: Path, manifest: dict) -> dict[str, str]:
    """shard id -> problem, for every listed shard whose file is missing or damaged and every
    shard file the manifest does not list."""
    out_dir = Path(out_dir)
    problems = {sid: why for sid, entry in sorted(manifest.get("shards", {}).items())
                if (why := shard_problem(out_dir, sid, entry))}
    for path in sorted((out_dir / SHARD_DIR).glob("*/*.h5")):
        sid = path.relative_to(out_dir / SHARD_DIR).with_suffix("").as_posix()
        if sid not in manifest.get("shards", {}):
            problems[sid] = f"{path} is not in the manifest"
    return problems


def new_manifest(recipe: Recipe) -> dict:
    import h5py
    import numpy
    import scipy

    return {
        "schema_version": SCHEMA_VERSION if recipe.sensor else PLAIN_SCHEMA_VERSION,
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


def record(manifest: dict, report: ShardReport, shard: ShardJob) -> None:
    """Put a finished shard into the manifest, replacing what an earlier run recorded for it."""
    for job in shard.samples:
        manifest["samples"].pop(job.sample_id, None)
        manifest["failed"].pop(job.sample_id, None)
    manifest["shards"][report.shard_id] = {"samples": len(report.samples), "failed": len(report.failed),
                                           "planned": len(shard.samples), "sha256": report.sha256}
    manifest["samples"].update(report.samples)
    manifest["failed"].update(report.failed)
    if report.preparation is not None:
        manifest.setdefault("preparation", {})[shard.class_name] = report.preparation
    manifest["counts"] = count_samples(manifest["samples"])


def synthesize(
    recipe: Recipe,
    out_dir: Path,
    classes: Iterable[str] | None = None,
    execution: Execution = Execution(),
    cache_dir: Path | None = None,
    on_shard_done: Callable[[ShardReport, ShardJob], None] | None = None,
    on_skip: Callable[[ShardJob], None] | None = None,
) -> dict:
    """Generate every pending shard of ``recipe`` into ``out_dir``; returns the manifest.

    A shard is pending unless the manifest lists it with an intact file and no failed sample.
    ``on_skip(shard)`` is called for each shard found done, ``on_shard_done(report, shard)`` as
    each shard is written. Raises :class:`RunConflict` for a folder of another recipe and
    :class:`anomalygen.outlock.FolderLocked` while another run writes there.
    """
    out_dir = Path(out_dir).absolute()  # for jobs that run where the working directory differs
    cache_dir = job_cache_dir(cache_dir)
    wanted = None if classes is None else set(classes)
    selected = [c for c in recipe.classes if wanted is None or c.name in wanted]
    with output_lock(out_dir):
        manifest = _resumed_manifest(recipe, out_dir)
        _remove_dead_temporaries(out_dir)
        write_manifest(out_dir, manifest)
        done = {sid for sid, entry in manifest["shards"].items()
                if entry.get("failed") == 0 and shard_problem(out_dir, sid, entry) is None}
        in_flight: dict[str, ShardJob] = {}

        def pending() -> Iterator[ShardJob]:
            for shard in shard_jobs(recipe):
                if wanted is not None and shard.class_name not in wanted:
                    continue
                if shard.shard_id in done:
                    if on_skip:
                        on_skip(shard)
                    continue
                in_flight[shard.shard_id] = shard
                yield shard

        jobs = pending()
        first = next(jobs, None)
        if first is None:  # then there is no pool or cluster to start
            return manifest
        with execution.start() as map_jobs:
            if execution.parallel:
                # prepare each class once, into the disk cache, before its shards run side by side
                todo = [c.name for c in selected if not done.issuperset(class_shard_ids(recipe, c))]
                list(map_jobs(warm_cache, repeat(recipe), todo, repeat(cache_dir)))
            for report in map_jobs(run_shard, chain([first], jobs), repeat(recipe), repeat(out_dir), repeat(cache_dir)):
                shard = in_flight.pop(report.shard_id)
                record(manifest, report, shard)
                write_manifest(out_dir, manifest)
                if on_shard_done:
                    on_shard_done(report, shard)
    return manifest


def _resumed_manifest(recipe: Recipe, out_dir: Path) -> dict:
    """A new manifest, holding what an earlier run of the same recipe in ``out_dir`` recorded."""
    manifest = new_manifest(recipe)
    if (out_dir / MANIFEST).exists():
        previous = read_manifest(out_dir)
        if previous.get("recipe", {}).get("digest") != manifest["recipe"]["digest"]:
            raise RunConflict(f"{out_dir} holds a run of another recipe ({previous.get('recipe', {}).get('name')!r}); use another --out")
        manifest.update({k: previous[k] for k in ("shards", "samples", "failed", "counts", "preparation")
                         if k in previous})
    return manifest


def _remove_dead_temporaries(out_dir: Path) -> None:
    """Delete the temporary files of writers that died mid-write (called with the folder's lock
    held, so no other run writes here; a live process's files are left alone all the same)."""
    for tmp in chain(out_dir.glob(".*.tmp"), (out_dir / SHARD_DIR).glob("*/.*.tmp")):
        owner = temporary_owner(tmp)
        if owner is not None and not _alive(owner):
            tmp.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True
