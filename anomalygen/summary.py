"""A text summary of a generated folder, computed from the shards themselves."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import numpy as np

from anomalygen.shards import MANIFEST, SHARD_DIR, ShardError, open_dataset, read_manifest


def collect(out_dir: Path) -> dict:
    """Per-class counts by (split, kind), point counts and anomalous fractions of every sample."""
    dataset = open_dataset(out_dir)
    has_manifest = (Path(out_dir) / MANIFEST).exists()
    if not dataset.shards and not has_manifest:
        raise ValueError(f"{out_dir}: no dataset here (no {MANIFEST}, no shards under {Path(out_dir) / SHARD_DIR})")
    counts: dict[str, Counter] = defaultdict(Counter)
    points, fractions, labelled_normals, damaged = [], [], [], []
    for shard in dataset.shards:
        try:
            rows = list(zip(shard.sample_ids, shard.kinds, shard.column("anomaly_index")))
        except ShardError as error:  # reported; the other shards are still summarised
            damaged.append(str(error))
            continue
        for sample_id, kind, index in rows:
            class_name, split, _ = sample_id.split("/")
            counts[class_name][(split, kind)] += 1
            points.append(len(index))
            fraction = np.count_nonzero(index) / max(len(index), 1)
            if kind == "normal":
                if fraction > 0:
                    labelled_normals.append(sample_id)
            else:
                fractions.append(fraction)
    manifest = read_manifest(out_dir) if has_manifest else {}
    return {"counts": counts, "points": np.array(points), "fractions": np.array(fractions),
            "labelled_normals": labelled_normals, "failed": manifest.get("failed", {}), "damaged": damaged,
            "preparation": manifest.get("preparation", {})}


def summarize(stats: dict) -> str:
    """The text ``inspect`` prints for the result of :func:`collect`."""
    counts = stats["counts"]
    columns = sorted({key for c in counts.values() for key in c}, key=lambda k: (k[0] != "train", k[1] != "normal", k[1]))
    header = ["class"] + [f"{split}:{kind}" for split, kind in columns] + ["total"]
    rows = [[name] + [str(counts[name][key]) for key in columns] + [str(sum(counts[name].values()))] for name in sorted(counts)]
    totals = [sum(counts[name][key] for name in counts) for key in columns]
    rows.append(["all"] + [str(t) for t in totals] + [str(sum(totals))])
    lines = _table(header, rows)

    n_train = sum(c[k] for c in counts.values() for k in c if k[0] == "train")
    n_test_normal = sum(c[k] for c in counts.values() for k in c if k == ("test", "normal"))
    n_test_anomalous = sum(c[k] for c in counts.values() for k in c if k[0] == "test" and k[1] != "normal")
    points, fractions = stats["points"], stats["fractions"]
    lines += [
        "",
        f"classes: {len(counts)}   train: {n_train}   test: {n_test_normal + n_test_anomalous} "
        f"({n_test_normal} normal, {n_test_anomalous} anomalous)",
    ]
    if len(points):
        lines.append(f"points per sample: min {points.min()}  median {int(np.median(points))}  max {points.max()}")
    if len(fractions):
        lines.append(
            f"anomalous fraction of anomalous samples: min {fractions.min():.2%}  median {np.median(fractions):.2%}  "
            f"max {fractions.max():.2%}"
        )
    lines.append(f"normal samples with a labelled point: {len(stats['labelled_normals'])}")
    lines += _preparation_lines(stats.get("preparation", {}))
    lines.append(f"failed samples: {len(stats['failed'])}")
    lines += [f"  {sample_id}: {reason}" for sample_id, reason in sorted(stats["failed"].items())]
    if stats["damaged"]:
        lines.append(f"damaged shards: {len(stats['damaged'])}")
        lines += [f"  {error}" for error in stats["damaged"]]
    return "\n".join(lines)


PREPARATION_COLUMNS = (
    ("watertight", lambda r: f"{_yes(r['watertight_before'])}->{_yes(r['watertight_after'])}"),
    ("boundary edges", lambda r: f"{r['boundary_edges_before']}->{r['boundary_edges_after']}"),
    ("parts", lambda r: f"{r['parts_before']}->{r['parts_kept']}"),
    ("min wall", lambda r: "-" if r["min_thickness"] is None else f"{r['min_thickness']:.3f}"),
    ("hausdorff", lambda r: f"{r['hausdorff']:.4f}"),
)
"""Columns of the per-class preparation table: (header, cell of a manifest report)."""


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _preparation_lines(reports: dict[str, dict]) -> list[str]:
    """The per-class table of what preparation did (unit-sphere units), or nothing."""
    if not reports:
        return []
    header = ["class"] + [name for name, _ in PREPARATION_COLUMNS]
    rows = [[name] + [cell(report) for _, cell in PREPARATION_COLUMNS] for name, report in sorted(reports.items())]
    table = _table(header, rows)
    made = sum(report["made_watertight"] for report in reports.values())
    return ["", f"preparation ({made} of {len(reports)} classes made watertight; lengths in unit-sphere units):"] + [
        f"  {line}" for line in table]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """Text lines of a table: first column left-aligned, the others right-aligned."""
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    return ["  ".join(cell.rjust(w) if i else cell.ljust(w) for i, (cell, w) in enumerate(zip(row, widths)))
            for row in [header] + rows]
