"""Anomaly-ShapeNet's release layout (CVPR 2024), both ways.

::

    <cls>/train/<cls>_template{i}.pcd
    <cls>/test/<cls>_positive{i}.pcd              normal test samples, no GT file
    <cls>/test/<cls>_<token>{k}.pcd               token: bulge concavity scratch crak hole broken bending
    <cls>/GT/<cls>_<token>{k}.txt                 "x,y,z,label" per point, in the pcd's order

Export flavours: ``layout`` v1 (the first release: class folders at DEST) or v2 (the second
release's ``Anomaly-ShapeNet-v2/dataset/{pcd,obj}`` trees, see :mod:`~anomalygen.formats.trees`),
and ``gt_delimiter`` comma (the releases) or space (PASDF parses GT rows split on spaces).
"""

from __future__ import annotations

import dataclasses

from anomalygen.formats import GT_DELIMITERS, LAYOUTS
from anomalygen.formats.folder_export import export_folder
from anomalygen.formats.folders import FolderLayout, import_folder
from anomalygen.formats.trees import LAYOUTS as TREES

LAYOUT = FolderLayout(name="anomaly-shapenet", stem="{cls}_{token}{index}", gt_dir="GT", gt_delimiter=",",
                      normal_test_token="positive")


def export(src_dir, dest, *, layout: str = "v1", gt_delimiter: str = "comma", **options) -> dict:
    """Shards -> Anomaly-ShapeNet folders in ``layout`` with ``gt_delimiter`` between GT columns;
    other options as :func:`~anomalygen.formats.folder_export.export_folder`."""
    if layout not in LAYOUTS:
        raise ValueError(f"unknown layout {layout!r}; use one of {', '.join(LAYOUTS)}")
    if gt_delimiter not in GT_DELIMITERS:
        raise ValueError(f"unknown GT delimiter {gt_delimiter!r}; use one of {', '.join(GT_DELIMITERS)}")
    flavour = dataclasses.replace(LAYOUT, gt_delimiter=GT_DELIMITERS[gt_delimiter])
    return export_folder(src_dir, dest, flavour, TREES[layout], **options)


def import_(src, out_dir, **options) -> dict:
    """Anomaly-ShapeNet folders (v1 or v2, any GT delimiter) -> shards; options as
    :func:`~anomalygen.formats.folders.import_folder`."""
    return import_folder(src, out_dir, LAYOUT, **options)
