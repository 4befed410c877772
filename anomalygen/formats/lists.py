"""``train.json`` and ``test.json``: the file lists some loaders (MC3D-AD) read instead of globbing.

One JSON object a line, keys in the published order: ``filename``, ``label`` (0/1),
``label_name`` (good/defective), ``maskname`` (anomalous samples only) and ``clsname``; paths
are relative to the folder holding the lists, which is the one holding the class folders.
"""

from __future__ import annotations

import json
from pathlib import Path

SPLITS = ("train", "test")


def row(filename: str, class_name: str, maskname: str | None) -> dict:
    """The list entry of one sample; ``maskname`` (its GT file) marks it anomalous."""
    entry = {"filename": filename, "label": int(maskname is not None),
             "label_name": "defective" if maskname else "good"}
    if maskname:
        entry["maskname"] = maskname
    entry["clsname"] = class_name
    return entry


def write(root: Path, rows: dict[str, list[dict]]) -> None:
    """``root/<split>.json`` for both splits (an empty file where a split has no sample)."""
    for split in SPLITS:
        (Path(root) / f"{split}.json").write_text("".join(json.dumps(r) + "\n" for r in rows.get(split, [])))
