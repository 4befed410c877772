"""A static HTML gallery of a generated dataset: one thumbnail per (class, kind).

:func:`write_gallery` renders the first sample of every kind ("normal", "bulge", ...) of every
class with :func:`anomalygen.render.render_thumbnail` into a folder next to the page
(``<page stem>_files/``) and writes a table with classes as rows and kinds as columns. The
page uses relative image paths and no script, so the folder can be moved or zipped as is.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from anomalygen.shards import SHARD_DIR, Sample, open_dataset

THUMBNAIL_PX = 200


def first_samples(data_dir: str | Path) -> dict[tuple[str, str], Sample]:
    """(class, kind) -> the first sample of that kind in the class's shards (all splits).

    Only the per-sample tables are scanned; point arrays are read for the chosen samples alone.
    """
    chosen: dict[tuple[str, str], tuple] = {}
    for shard in open_dataset(data_dir).shards:
        for i, kind in enumerate(shard.kinds):
            chosen.setdefault((str(shard.attrs["class_name"]), kind), (shard, i))
    return {key: shard.read(i) for key, (shard, i) in chosen.items()}


def kind_order(kinds) -> list[str]:
    """``normal`` first, then registered operators in registry order, then any others sorted."""
    from anomalygen.ops import OPERATORS

    kinds = set(kinds)
    ordered = [k for k in ("normal", *OPERATORS) if k in kinds]
    return ordered + sorted(kinds - set(ordered))


def _file_name(class_name: str, kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", f"{class_name}__{kind}") + ".png"


def _cell(sample: Sample | None, src: str | None) -> str:
    """One table cell: the thumbnail and the sample id under it (or a dash)."""
    if sample is None:
        return '<td class="empty">&ndash;</td>'
    sid = html.escape(sample.sample_id)
    alt = html.escape(f"{sample.class_name}, {sample.kind}: {sample.sample_id}, "
                      f"{100 * sample.anomalous_fraction:.2f}% of points anomalous")
    return (f'<td><figure><img src="{html.escape(src)}" alt="{alt}" width="{THUMBNAIL_PX}" '
            f'height="{THUMBNAIL_PX}"><figcaption>{sid}</figcaption></figure></td>')


STYLE = """body { font-family: sans-serif; margin: 1.5em; }
table { border-collapse: collapse; }
th, td { border: 1px solid #ddd; padding: 4px; text-align: center; vertical-align: middle; }
th { background: #f4f4f4; }
figure { margin: 0; }
figcaption { font-size: 11px; color: #444; font-family: monospace; }
td.empty { color: #aaa; }"""


def write_gallery(data_dir: str | Path, path: str | Path) -> Path:
    """Write an HTML page of thumbnails of the dataset in ``data_dir`` to ``path``.

    Thumbnails (PNG, THUMBNAIL_PX square, labelled points seen from the anomaly's side) go to
    ``<path stem>_files/`` beside the page. Returns the page's path.
    """
    from anomalygen.render import render_thumbnail

    path = Path(path)
    samples = first_samples(data_dir)
    if not samples:
        raise ValueError(f"{data_dir}: no samples to show (no shards under {Path(data_dir) / SHARD_DIR})")
    folder = path.with_name(f"{path.stem}_files")
    folder.mkdir(parents=True, exist_ok=True)
    classes = sorted({c for c, _ in samples})
    kinds = kind_order(k for _, k in samples)
    sources = {}
    for key, sample in samples.items():
        render_thumbnail(sample, folder / _file_name(*key), size_px=THUMBNAIL_PX)
        sources[key] = f"{folder.name}/{_file_name(*key)}"
    header = "".join(f"<th>{html.escape(k)}</th>" for k in kinds)
    rows = "\n".join(
        f"<tr><th>{html.escape(c)}</th>"
        + "".join(_cell(samples.get((c, k)), sources.get((c, k))) for k in kinds) + "</tr>"
        for c in classes)
    title = html.escape(f"anomalygen gallery: {Path(data_dir).resolve().name}")
    path.write_text(f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
{STYLE}
</style>
</head>
<body>
<h1>{title}</h1>
<p>The first sample of each kind per class: normal points grey, anomalous points coloured
by anomaly (red: the first), seen from the side of the anomaly.</p>
<table>
<tr><th>class</th>{header}</tr>
{rows}
</table>
</body>
</html>
""")
    return path
