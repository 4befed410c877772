"""Evaluate a scores file: per-class I-AUROC, I-AP, P-AUROC, P-AP, AUPRO and their class means.

::

    result = evaluate_scores("runs/imrnet/scores.h5")     # also writes evaluation.json/.csv
    print(format_table(result))

The scores file (see :mod:`anomalygen.detect.train`) holds labels and scores but no
coordinates; AUPRO needs the coordinates to find the anomalous regions, so they are read from
the test split of the dataset the file was scored on (its ``data_dir`` attribute, or the
``data_dir`` argument). Every scored sample's point count and labels are checked against that
dataset, so a scores file is never evaluated against regions of another dataset. Without the
dataset, AUPRO is nan and the result says why in ``notes``; the other metrics need only the
scores file.

``evaluation.json`` holds the returned dict (nan written as null); ``evaluation.csv`` one row
per class plus a ``mean`` row (columns: class, the metrics, the counts; undefined = empty).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import h5py
import numpy as np

from anomalygen.detect.metrics import DEFAULT_FPR_LIMIT, DEFAULT_K, anomaly_regions, object_metrics, point_metrics
from anomalygen.detect.train import SCORES_FILE, read_scores
from anomalygen.storage import atomic
from anomalygen.storage.atomic import atomic_path

__all__ = ["evaluate_scores", "evaluate_run", "format_table", "METRICS", "EVALUATION_JSON", "EVALUATION_CSV"]

METRICS = ("I-AUROC", "I-AP", "P-AUROC", "P-AP", "AUPRO")
COUNTS = ("n_normal", "n_anomalous", "n_points", "n_anomalous_points", "n_regions")
EVALUATION_JSON = "evaluation.json"
EVALUATION_CSV = "evaluation.csv"
EVALUATION_VERSION = 1


def _test_points(data_dir: Path, class_name: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """sample_id -> (points (N, 3) float32, labels (N,) uint8) of one class's test split.

    Reads only the two per-point columns, not whole samples (which may carry meshes).
    """
    from anomalygen.shards import open_dataset

    found = {}
    for shard in open_dataset(data_dir, classes=[class_name], split="test").shards:
        points, index = shard.column("points"), shard.column("anomaly_index")
        for sample_id, p, a in zip(shard.sample_ids, points, index):
            found[sample_id] = (p, (a > 0).astype(np.uint8))
    return found


def _mean(values: list[float]) -> tuple[float, int]:
    """Mean over the finite values and how many there were (nan, 0 if none)."""
    finite = [v for v in values if not math.isnan(v)]
    return (float(np.mean(finite)) if finite else float("nan")), len(finite)


def jsonable(value):
    """Replace nan/inf by None so the file is strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value


def evaluate_scores(scores_path: str | Path, out_dir: str | Path | None = None, data_dir: str | Path | None = None,
                    fpr_limit: float = DEFAULT_FPR_LIMIT, k: int = DEFAULT_K, radius: float | None = None,
                    write: bool = True) -> dict:
    """Compute the benchmark metrics of a scores.h5 per class; write evaluation.json and .csv.

    scores_path: a file written by ``anomalygen score``.
    out_dir: where the two files go (default: beside the scores file).
    data_dir: the dataset the scores belong to, for AUPRO's point coordinates (default: the
        scores file's ``data_dir`` attribute). Given explicitly, it must exist; taken from the
        attribute, a missing folder only makes AUPRO nan (with a note).
    fpr_limit, k, radius: AUPRO's integration limit and region graph (see
        :func:`anomalygen.detect.metrics.aupro`).

    Returns ``{"version", "scores", "method", "data_dir", "metrics": [...], "aupro": {...},
    "classes": {class: {metric: float, n_normal, n_anomalous, n_points, n_anomalous_points,
    n_regions}}, "mean": {metric: float}, "mean_over": {metric: classes averaged}, "notes"}``.
    A class mean is over the classes where the metric is defined (``mean_over`` says how
    many); nan where undefined (e.g. I-AUROC of a class without normal test samples).
    """
    scores_path = Path(scores_path)
    try:
        with h5py.File(scores_path, "r") as f:
            attrs = {key: (v.decode() if isinstance(v, bytes) else v) for key, v in f.attrs.items()}
    except OSError as error:   # h5py's message names no file
        raise ValueError(f"{scores_path}: not a scores file written by `anomalygen score` ({error})") from None
    samples = list(read_scores(scores_path))
    # Class order: as the run listed them, then any other class in file order.
    listed = json.loads(attrs["classes"]) if attrs.get("classes") else []
    order = [c for c in listed if any(s.class_name == c for s in samples)]
    order += [c for c in dict.fromkeys(s.class_name for s in samples) if c not in order]

    notes: list[str] = []
    data_path = Path(data_dir) if data_dir is not None else (Path(attrs["data_dir"]) if attrs.get("data_dir") else None)
    if data_dir is not None and not data_path.exists():
        raise FileNotFoundError(f"{data_path}: no such dataset folder")
    have_points = data_path is not None and data_path.exists()
    if not have_points:
        notes.append(f"AUPRO not computed: dataset {str(data_path) if data_path else '(unknown)'} not found "
                     "(pass data_dir=...)")

    per_class: dict[str, dict] = {}
    for class_name in order:
        members = [s for s in samples if s.class_name == class_name]
        points = None
        if have_points:
            reference = _test_points(data_path, class_name)
            points = []
            for s in members:
                if s.sample_id not in reference:
                    raise ValueError(f"{scores_path}: {s.sample_id} is not a test sample of {data_path}")
                p, labels = reference[s.sample_id]
                if len(p) != len(s.labels) or not np.array_equal(labels, s.labels):
                    raise ValueError(f"{scores_path}: {s.sample_id} has other points/labels than in {data_path}; "
                                     "the scores belong to another dataset")
                points.append(p)
        row = object_metrics([s.object_label for s in members], [s.object_score for s in members])
        row.update(point_metrics([s.labels for s in members], [s.point_scores for s in members], points,
                                 fpr_limit=fpr_limit, k=k, radius=radius))
        n_regions = None
        if points is not None:
            n_regions = sum(int(anomaly_regions(p, s.labels, k=k, radius=radius).max() + 1)
                            for p, s in zip(points, members) if s.labels.any())
        row.update({
            "n_normal": sum(1 for s in members if s.object_label == 0),
            "n_anomalous": sum(1 for s in members if s.object_label == 1),
            "n_points": int(sum(len(s.labels) for s in members)),
            "n_anomalous_points": int(sum(int(s.labels.sum()) for s in members)),
            "n_regions": n_regions,
        })
        per_class[class_name] = row
        undefined = [m for m in METRICS if math.isnan(row[m]) and not (m == "AUPRO" and not have_points)]
        if undefined:
            notes.append(f"{class_name}: {', '.join(undefined)} undefined (n_normal={row['n_normal']}, "
                         f"n_anomalous={row['n_anomalous']}, n_anomalous_points={row['n_anomalous_points']})")

    mean, mean_over = {}, {}
    for metric in METRICS:
        mean[metric], mean_over[metric] = _mean([per_class[c][metric] for c in order])
    result = {
        "version": EVALUATION_VERSION,
        "scores": str(scores_path.resolve()),
        "method": attrs.get("method"),
        "data_dir": str(data_path) if data_path else None,
        "metrics": list(METRICS),
        "aupro": {"fpr_limit": fpr_limit, "k": None if radius is not None else k, "radius": radius,
                  "regions": "connected components of anomalous points, " + (
                      f"radius graph r={radius}" if radius is not None else
                      f"kNN graph of the whole cloud (k={k}, union-symmetrised) restricted to anomalous points")},
        "classes": per_class,
        "mean": mean,
        "mean_over": mean_over,
        "n_classes": len(order),
        "notes": notes,
    }
    if write:
        target = Path(out_dir) if out_dir is not None else scores_path.parent
        target.mkdir(parents=True, exist_ok=True)
        _write_json(target / EVALUATION_JSON, result)
        _write_csv(target / EVALUATION_CSV, result)
    return result


def _write_json(path: Path, result: dict) -> None:
    atomic.write_text(path, json.dumps(jsonable(result), indent=1, allow_nan=False) + "\n")


def _write_csv(path: Path, result: dict) -> None:
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["class", *METRICS, *COUNTS])
        def cell(v):   # full precision (repr); undefined (nan/None) as an empty cell, like null in the JSON
            if v is None or (isinstance(v, float) and not math.isfinite(v)):
                return ""
            return repr(v) if isinstance(v, float) else v

        for name, row in result["classes"].items():
            writer.writerow([name, *(cell(row[m]) for m in METRICS), *(cell(row[c]) for c in COUNTS)])
        writer.writerow(["mean", *(cell(result["mean"][m]) for m in METRICS), *([""] * len(COUNTS))])


def evaluate_run(run_dir: str | Path, **kwargs) -> dict:
    """:func:`evaluate_scores` on ``run_dir/scores.h5`` (files written into ``run_dir``)."""
    path = Path(run_dir) / SCORES_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no scores file; run `anomalygen score` first")
    return evaluate_scores(path, **kwargs)


def format_table(result: dict, digits: int = 3) -> str:
    """A plain-text table: one row per class, one column per metric, a mean row, then notes."""
    def fmt(v) -> str:
        return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{digits}f}"

    names = list(result["classes"])
    n = result.get("n_classes", len(names))
    mean_label = "mean"
    if any(result["mean_over"][m] < n for m in METRICS):
        mean_label = "mean*"
    rows = [[name, *(fmt(result["classes"][name][m]) for m in METRICS),
             str(result["classes"][name]["n_normal"]), str(result["classes"][name]["n_anomalous"])]
            for name in names]
    header = ["class", *METRICS, "normal", "anom."]
    mean_row = [mean_label, *(fmt(result["mean"][m]) for m in METRICS),
                str(sum(result["classes"][c]["n_normal"] for c in names)),
                str(sum(result["classes"][c]["n_anomalous"] for c in names))]
    widths = [max(len(r[i]) for r in [header, *rows, mean_row]) for i in range(len(header))]

    def line(cells):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    rule = "-" * len(line(header))
    out = [f"method: {result.get('method')}  scores: {result.get('scores')}", line(header), rule,
           *(line(r) for r in rows), rule, line(mean_row)]
    aupro = result.get("aupro", {})
    out.append(f"AUPRO: FPR limit {aupro.get('fpr_limit')}, regions = {aupro.get('regions')}")
    if mean_label == "mean*":
        out.append("* mean over the classes where the metric is defined: "
                   + ", ".join(f"{m} {result['mean_over'][m]}/{n}" for m in METRICS))
    out.extend(f"note: {note}" for note in result.get("notes", []))
    return "\n".join(out)
