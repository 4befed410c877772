"""One sample job + its prepared mesh -> one labelled point cloud (:class:`anomalygen.shards.Sample`).

An anomalous sample draws its point count, then up to ``anomalies.max_attempts`` times draws
anomaly parameters, applies the operator(s), samples the edited surface and labels it; an
attempt is accepted when every anomaly owns at least one point and the anomalous fraction lies
in ``anomalies.anomalous_fraction``. With a sensor for the job's split (the recipe's ``sensor``
section), the points are those the scanner sees (:mod:`anomalygen.sensor`), labelled before noise
and pose, and the checks apply to that cloud: an anomaly the scan does not see is redrawn. All
randomness comes from the job's own seed, in order.
An operator that cannot edit the unedited mesh at all (:class:`MeshPreconditionFailed`) fails
the sample at once: no attempt could succeed.
"""

from __future__ import annotations

import time
from collections import defaultdict

import numpy as np
import trimesh

from anomalygen.labels import anomaly_index
from anomalygen.mesh_ply import encode_mesh
from anomalygen.ops import OPERATORS, MeshPreconditionFailed, OperatorNotApplicable
from anomalygen.ops.base import area_scale
from anomalygen.plan import NORMAL, SampleJob
from anomalygen.recipe import Recipe
from anomalygen.sample import edited_face_geometry, sample_surface
from anomalygen.sensor.capture import measure, observe
from anomalygen.shards import Sample


class SampleFailed(Exception):
    """No attempt produced an acceptable sample; the message lists why."""


class MeshUnusable(SampleFailed):
    """The sample's operator cannot edit its class's mesh at all, so neither can any other
    sample of that operator and class (see :class:`MeshPreconditionFailed`)."""


def make_sample(job: SampleJob, recipe: Recipe, base: trimesh.Trimesh, timings: dict | None = None) -> Sample:
    """Generate ``job`` on the prepared mesh ``base``. Adds seconds per stage to ``timings``."""
    timings = timings if timings is not None else defaultdict(float)
    rng = np.random.default_rng(job.seed)
    low, high = recipe.points.count
    count = int(rng.integers(low, high + 1))
    if job.kind == NORMAL:
        return _labelled(job, base, [], count, rng, recipe, timings)

    operator = OPERATORS[job.kind]
    ranges = recipe.anomalies.ranges.get(job.kind, {})
    lo_frac, hi_frac = recipe.anomalies.fraction
    scale = area_scale(base)
    reasons: list[str] = []
    fractions: list[float] = []
    for _attempt in range(recipe.anomalies.max_attempts):
        n_anomalies = int(rng.integers(recipe.anomalies.per_sample[0], recipe.anomalies.per_sample[1] + 1))
        mesh, edits = base, []
        started = time.perf_counter()
        try:
            for _ in range(n_anomalies):
                edit = operator.apply(mesh, operator.absolute(operator.draw(ranges, rng), scale), rng)
                edit.params = {**edit.params, "area_scale": round(scale, 6)}
                edits.append(edit)
                mesh = edit.mesh
        except OperatorNotApplicable as reason:
            if isinstance(reason, MeshPreconditionFailed) and mesh is base:
                raise MeshUnusable(f"{reason} (a property of the mesh: not retried)") from None
            reasons.append(str(reason))  # an edited mesh, or this location and these parameters
            continue
        finally:
            timings["operator"] += time.perf_counter() - started
        sample = _labelled(job, base, edits, count, rng, recipe, timings)
        owned = np.bincount(sample.anomaly_index, minlength=n_anomalies + 1)[1:]
        if not owned.all():
            reasons.append(f"anomaly {int(np.argmin(owned)) + 1} labelled no point")
        elif not lo_frac <= sample.anomalous_fraction <= hi_frac:
            fractions.append(sample.anomalous_fraction)
        else:
            return sample
    if fractions:
        reasons.append(f"anomalous fraction outside [{lo_frac}, {hi_frac}] (got {min(fractions):.4f}-{max(fractions):.4f})")
    summary = "; ".join(f"{r} (x{reasons.count(r)})" if reasons.count(r) > 1 else r for r in dict.fromkeys(reasons))
    raise SampleFailed(f"{job.kind}: no acceptable result in {recipe.anomalies.max_attempts} attempts: {summary}")


def _labelled(job: SampleJob, base: trimesh.Trimesh, edits: list, count: int, rng: np.random.Generator,
              recipe: Recipe, timings: dict) -> Sample:
    """Sample ``count`` points on the result of ``edits`` (``base`` if none) and label them; through
    the sensor of the job's split when the recipe has one."""
    mesh = edits[-1].mesh if edits else base
    sensor = recipe.sensor.for_split(job.split) if recipe.sensor else None
    started = time.perf_counter()
    if sensor is None:
        surface = sample_surface(mesh, count, rng, edited_face_geometry(base, edits))
        index = anomaly_index(base, edits, surface.face_index, surface.barycentric, recipe.points.label_threshold)
        cloud = {"points": surface.points.astype(np.float32), "normals": surface.normals.astype(np.float32),
                 "anomaly_index": index}
    else:                               # labels on the exact surface points seen, before noise and pose
        seen = observe(mesh, count, sensor, rng)
        index = anomaly_index(base, edits, seen.surface.face_index, seen.surface.barycentric,
                              recipe.points.label_threshold)
        cloud = vars(measure(seen, index, sensor.noise, rng))
    timings["sampling" if sensor is None else "scanning"] += time.perf_counter() - started
    return Sample(
        sample_id=job.sample_id,
        class_name=job.class_name,
        split=job.split,
        kind=job.kind,
        types=[job.kind] * len(edits),
        params=[edit.params for edit in edits],
        seed=job.seed,
        mesh_ply=encode_mesh(mesh) if recipe.output.keep_meshes else None,
        **cloud,
    )
