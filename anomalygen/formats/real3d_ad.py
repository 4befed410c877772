"""Real3D-AD's release layout (NeurIPS 2023), both ways.

::

    <cls>/train/{n}_template.pcd                  loaders glob "*template*"
    <cls>/test/{n}_good.pcd                       normal: "good" in the name; no GT file
    <cls>/test/{n}_<token>.pcd                    concavity is written "sink" as in Real3D-AD
    <cls>/gt/{n}_<token>.txt                      "x y z label" per point, in the pcd's order

As in the release, ``n`` numbers a class's files uniquely (not per type). Real3D-AD's loaders
take an anomalous sample's points and labels from its gt txt and read "good" samples from the
pcd with an all-zero mask, so, like Anomaly-ShapeNet, only anomalous samples get a GT file.
Test file names must not contain "temp" (the loaders drop those). ``ply_templates`` adds
``Real3D-AD-PLY/<cls>/{n}_template.ply`` (PO3AD trains on those). On import, ``482_bulge_cut``
style names are read as token ``bulge_cut`` -> kind bulge.
"""

from __future__ import annotations

from anomalygen.formats.folder_export import export_folder
from anomalygen.formats.folders import FolderLayout, import_folder
from anomalygen.formats.trees import REAL3D_AD, REAL3D_AD_PLY

LAYOUT = FolderLayout(name="real3d-ad", stem="{index}_{token}", gt_dir="gt", gt_delimiter=" ",
                      normal_test_token="good", export_tokens={"concavity": "sink"}, numbered_per_class=True)


def export(src_dir, dest, *, ply_templates: bool = False, **options) -> dict:
    """Shards -> Real3D-AD folders (and the template PLY tree with ``ply_templates``); other
    options as :func:`~anomalygen.formats.folder_export.export_folder`."""
    return export_folder(src_dir, dest, LAYOUT, REAL3D_AD_PLY if ply_templates else REAL3D_AD, **options)


def import_(src, out_dir, **options) -> dict:
    """Real3D-AD folders -> shards; options as :func:`~anomalygen.formats.folders.import_folder`."""
    return import_folder(src, out_dir, LAYOUT, **options)
