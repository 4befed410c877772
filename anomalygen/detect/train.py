"""Train detectors on a generated dataset and score its test split.

Data comes only through :func:`anomalygen.shards.open_dataset` (never the generator).

A **run folder** (``out_dir``) after :func:`train_detector`::

    run.json                  what was trained, on what, how long it took (see below)
    <class>/model.pt          one checkpoint per class (default), or
    shared/model.pt           one checkpoint for all classes (shared=True)
    scores.h5                 after score_run

``run.json`` keys: ``format_version``, ``method``, ``shared``, ``classes``, ``seed``,
``device``, ``config`` (every field, after overrides), ``data_dir``, ``manifest_digest``
(sha256 of the dataset's manifest.json content, None without one), ``data_digest``
({class or "shared": sha256 of the manifest digest and the training samples' ids and
checksums}, also stored in each checkpoint), ``models`` ({class or "shared": relative
path}), ``train_seconds`` ({model key: seconds}), ``fit`` ({model key: the detector's info:
loss history, phase timings, ...}), ``versions``, and after scoring ``scoring`` (scores file,
seconds per class, mean seconds per sample).

**scores.h5** schema (version 1), ragged like the shards (:mod:`anomalygen.storage.ragged`),
readable with h5py alone:

======================  ===============  ================================================
dataset                 shape, dtype     meaning
======================  ===============  ================================================
point_scores            (P,) float32     per-point anomaly scores, samples back to back,
                                         each in its cloud's point order; higher = worse
labels                  (P,) uint8       1 where the point is anomalous (ground truth)
offsets                 (n+1,) int64     sample i is rows offsets[i]:offsets[i+1]
sample_id               (n,) str         "<class>/test/<token><index>"
class_name              (n,) str
kind                    (n,) str         "normal" or the anomaly type
object_score            (n,) float32     the sample's anomaly score
object_label            (n,) uint8       1 for an anomalous sample
seconds                 (n,) float32     wall time to score the sample
======================  ===============  ================================================

File attributes: ``schema_version``, ``method``, ``run_dir``, ``data_dir``,
``manifest_digest``, ``classes`` (JSON list), ``seconds_per_class`` (JSON object),
``created``. :func:`read_scores` reads it back.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import h5py
import numpy as np

from anomalygen.detect.base import config_from_dict
from anomalygen.detect.registry import create_detector, detector_class, load_detector
from anomalygen.shards import MANIFEST, open_dataset
from anomalygen.storage import atomic, ragged
from anomalygen.storage.atomic import atomic_path

__all__ = ["train_detector", "pretrain", "PRETRAIN_DEFAULTS", "score_run", "read_scores", "SampleScores", "RUN_FILE", "SCORES_FILE", "SCORES_SCHEMA_VERSION"]

RUN_FILE = "run.json"
SCORES_FILE = "scores.h5"
SCORES_SCHEMA_VERSION = 1
RUN_FORMAT_VERSION = 1
SHARED = "shared"


def _manifest_digest(data_dir: Path) -> str | None:
    path = Path(data_dir) / MANIFEST
    if not path.is_file():
        return None
    content = json.loads(path.read_text())
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()


def _training_digest(manifest_digest: str | None, samples: Sequence) -> str:
    """sha256 over the manifest digest and "<sample_id> <checksum>" of each training sample (sorted)."""
    h = hashlib.sha256((manifest_digest or "no-manifest").encode())
    for sample_id, checksum in sorted((s.sample_id, s.checksum) for s in samples):
        h.update(f"\n{sample_id} {checksum}".encode())
    return h.hexdigest()


def _versions() -> dict:
    import platform

    import torch

    import anomalygen

    return {"anomalygen": getattr(anomalygen, "__version__", "unknown"), "torch": torch.__version__,
            "numpy": np.__version__, "python": platform.python_version()}


def _write_json(path: Path, content: dict) -> None:
    atomic.write_text(path, json.dumps(content, indent=1, sort_keys=True) + "\n")


def train_detector(data_dir: str | Path, out_dir: str | Path, classes: Sequence[str] | None = None,
                   method: str = "imrnet", shared: bool = False, config=None, device: str = "cpu",
                   seed: int = 0, progress: Callable[[dict], None] | None = None) -> Path:
    """Fit ``method`` on the normal training samples of ``data_dir``; returns ``out_dir/run.json``.

    progress: called with ``{"event": "start", "model", "clouds"}`` before each model,
        the detector's own events (``{"event": "fit", "model", ...}``) while it trains, and
        ``{"event": "trained", "model", "seconds"}`` after it.

    classes: the classes to train (default: every class with a training split).
    shared: one model on all classes' training clouds instead of one model per class.
    config: the method's config dataclass, a dict of overrides, or None for the defaults;
        ``device`` overrides its device.
    """
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    train_set = open_dataset(data_dir, classes=classes, split="train")
    names = list(classes) if classes else train_set.class_names
    missing = sorted(set(names) - set(train_set.class_names))
    if missing:
        raise ValueError(f"{data_dir}: no training samples for class(es) {missing}")
    if not names:
        raise ValueError(f"{data_dir}: no training samples")
    cls = detector_class(method)
    if config is None or isinstance(config, dict):
        config = config_from_dict(cls.config_class, config)
    if hasattr(config, "device"):
        config = dataclasses.replace(config, device=device)
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_digest = _manifest_digest(data_dir)

    groups = {SHARED: names} if shared else {name: [name] for name in names}
    run = {
        "format_version": RUN_FORMAT_VERSION, "method": method, "shared": bool(shared), "classes": names,
        "seed": int(seed), "device": device, "config": dataclasses.asdict(config),
        "data_dir": str(data_dir.resolve()), "manifest_digest": manifest_digest,
        "data_digest": {}, "models": {}, "train_seconds": {}, "fit": {}, "versions": _versions(),
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    for key, members in groups.items():
        samples = list(open_dataset(data_dir, classes=members, split="train"))
        digest = _training_digest(manifest_digest, samples)
        if progress:
            progress({"event": "start", "model": key, "clouds": len(samples)})
        t0 = time.perf_counter()
        detector = create_detector(method, config)
        detector.fit([s.points for s in samples], seed=seed,
                     progress=(lambda e, key=key: progress({"event": "fit", "model": key, **e})) if progress else None)
        seconds = time.perf_counter() - t0
        model_path = detector.save(out_dir / key / "model.pt", data_digest=digest)
        run["data_digest"][key] = digest
        run["models"][key] = str(model_path.relative_to(out_dir))
        run["train_seconds"][key] = seconds
        run["fit"][key] = detector.info
        _write_json(out_dir / RUN_FILE, run)        # after each model, so a crash keeps what is done
        if progress:
            progress({"event": "trained", "model": key, "seconds": seconds})
    _write_json(out_dir / RUN_FILE, run)
    return out_dir / RUN_FILE


# what pretraining changes in IMRNet's defaults: many clouds, so more steps and fewer GPS copies of each
PRETRAIN_DEFAULTS = {"steps": 6000, "pool_size": 4}


def pretrain(data_dir: str | Path, out_dir: str | Path, classes: Sequence[str] | None = None, config: dict | None = None,
             device: str = "cpu", seed: int = 0, progress: Callable[[dict], None] | None = None) -> Path:
    """Train one IMRNet on the normal training samples of every class (or ``classes``) of ``data_dir``.

    A shared ``train_detector`` run with :data:`PRETRAIN_DEFAULTS` under the ``config``
    overrides; returns the checkpoint path (``out_dir/shared/model.pt``), which ``init`` (``anomalygen
    train-detector --init``) fine-tunes per class. The architecture keys of the config used for
    fine-tuning must equal the ones given here.
    """
    run = train_detector(data_dir, out_dir, classes=classes, method="imrnet", shared=True,
                         config={**PRETRAIN_DEFAULTS, **(config or {})}, device=device, seed=seed, progress=progress)
    return Path(out_dir) / json.loads(run.read_text())["models"][SHARED]


def score_run(run_dir: str | Path, data_dir: str | Path, out_path: str | Path | None = None,
              progress: Callable[[dict], None] | None = None) -> Path:
    """Score every test sample of the run's classes in ``data_dir``; writes and returns ``scores.h5``.

    ``out_path`` defaults to ``run_dir/scores.h5``. The run.json gets a ``scoring`` entry
    with the timings. A dataset whose manifest differs from the training one is allowed
    (scoring a new benchmark with old models is legitimate) and recorded as such. ``progress``
    is called with ``{"event": "scored", "sample", "score", "seconds"}`` after each sample.
    """
    run_dir, data_dir = Path(run_dir), Path(data_dir)
    run = json.loads((run_dir / RUN_FILE).read_text())
    out_path = Path(out_path) if out_path else run_dir / SCORES_FILE
    manifest_digest = _manifest_digest(data_dir)
    detectors = {}

    def model_for(class_name: str):
        key = SHARED if run["shared"] else class_name
        if key not in detectors:
            detectors[key] = load_detector(run_dir / run["models"][key], device=run.get("device"))
        return detectors[key]

    ids, classes, kinds, objects, object_labels, seconds = [], [], [], [], [], []
    point_scores, labels = [], []
    per_class: dict[str, float] = {}
    for class_name in run["classes"]:
        detector = model_for(class_name)
        t_class = time.perf_counter()
        for sample in open_dataset(data_dir, classes=[class_name], split="test"):
            t0 = time.perf_counter()
            obj, scores = detector.score(sample.points)
            seconds.append(time.perf_counter() - t0)
            if scores.shape != (len(sample.points),):
                raise RuntimeError(f"{sample.sample_id}: {scores.shape} point scores for {len(sample.points)} points")
            ids.append(sample.sample_id)
            classes.append(sample.class_name)
            kinds.append(sample.kind)
            objects.append(obj)
            object_labels.append(sample.object_label)
            point_scores.append(np.asarray(scores, np.float32))
            labels.append(sample.labels)
            if progress:
                progress({"event": "scored", "sample": sample.sample_id, "score": obj, "seconds": seconds[-1]})
        per_class[class_name] = time.perf_counter() - t_class

    string = h5py.string_dtype()
    out_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out_path) as tmp, h5py.File(tmp, "w", track_order=True) as f:
        f.attrs.update({
            "schema_version": SCORES_SCHEMA_VERSION, "method": run["method"], "run_dir": str(run_dir.resolve()),
            "data_dir": str(data_dir.resolve()), "manifest_digest": manifest_digest or "",
            "classes": json.dumps(run["classes"]), "seconds_per_class": json.dumps(per_class),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        })
        gz = {"compression": "gzip", "compression_opts": 4, "shuffle": True}
        ragged.write_column(f, "point_scores", point_scores, np.float32, **gz)
        ragged.write_column(f, "labels", labels, np.uint8, **gz)
        ragged.write_offsets(f, [len(s) for s in point_scores])
        f.create_dataset("sample_id", data=ids, dtype=string)
        f.create_dataset("class_name", data=classes, dtype=string)
        f.create_dataset("kind", data=kinds, dtype=string)
        f.create_dataset("object_score", data=np.asarray(objects, np.float32))
        f.create_dataset("object_label", data=np.asarray(object_labels, np.uint8))
        f.create_dataset("seconds", data=np.asarray(seconds, np.float32))

    run["scoring"] = {
        "scores": os.path.relpath(out_path, run_dir), "data_dir": str(data_dir.resolve()),
        "manifest_digest": manifest_digest, "same_manifest_as_training": manifest_digest == run.get("manifest_digest"),
        "seconds_per_class": per_class, "samples": len(ids),
        "seconds_per_sample_mean": float(np.mean(seconds)) if seconds else None,
    }
    _write_json(run_dir / RUN_FILE, run)
    return out_path


@dataclass
class SampleScores:
    """One scored test sample, as read back from scores.h5."""

    sample_id: str
    class_name: str
    kind: str
    object_score: float
    object_label: int
    point_scores: np.ndarray      # (N,) float32
    labels: np.ndarray            # (N,) uint8
    seconds: float


def read_scores(path: str | Path, classes: Sequence[str] | None = None) -> Iterator[SampleScores]:
    """Yield the samples of a scores.h5 (optionally only some classes), in file order."""
    wanted = set(classes) if classes else None
    with h5py.File(path, "r") as f:
        if int(f.attrs.get("schema_version", -1)) != SCORES_SCHEMA_VERSION:
            raise ValueError(f"{path}: scores schema {f.attrs.get('schema_version')!r}, expected {SCORES_SCHEMA_VERSION}")
        text = lambda name: [v.decode() if isinstance(v, bytes) else str(v) for v in f[name][:]]  # noqa: E731
        ids, names, kinds = text("sample_id"), text("class_name"), text("kind")
        objects, object_labels, seconds = f["object_score"][:], f["object_label"][:], f["seconds"][:]
        offsets = ragged.read_offsets(f)
        points, labels = ragged.read_all(f, "point_scores", offsets), ragged.read_all(f, "labels", offsets)
    for i, sample_id in enumerate(ids):
        if wanted is not None and names[i] not in wanted:
            continue
        yield SampleScores(sample_id, names[i], kinds[i], float(objects[i]), int(object_labels[i]),
                           points[i], labels[i], float(seconds[i]))


def sample_point_scores(path: str | Path, sample_id: str) -> np.ndarray:
    """The point scores of one sample in a scores.h5; ValueError if it holds none for it."""
    for sample in read_scores(path):
        if sample.sample_id == sample_id:
            return sample.point_scores
    raise ValueError(f"{path}: no scores for {sample_id!r}")


def describe_training(event: dict) -> str:
    """One line for a progress event of :func:`train_detector`."""
    if event["event"] == "start":
        return f"{event['model']}: {event['clouds']} training clouds"
    if event["event"] == "trained":
        return f"{event['model']}: trained in {event['seconds']:.1f} s"
    return "  " + "  ".join(f"{k} {v:.3g}" if isinstance(v, float) else f"{k} {v}"
                            for k, v in event.items() if k not in ("event", "model"))


def describe_scoring(event: dict) -> str:
    """One line for a progress event of :func:`score_run` (a scored sample)."""
    return f"  {event['sample']}: {event['score']:.3f} ({event['seconds']:.1f} s)"
