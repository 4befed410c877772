"""Real3D-AD's release layout (NeurIPS 2023), both ways.

::

    <cls>/train/{i}_template.pcd                  loaders glob "*template*"
    <cls>/test/{i}_good.pcd                       normal: "good" in the name; no GT file
    <cls>/test/{k}_<token>.pcd                    concavity is written "sink" as in Real3D-AD
    <cls>/gt/{k}_<token>.txt                      "x y z label" per point, in the pcd's order

Real3D-AD's loaders take an anomalous sample's points and labels from its gt txt and read
"good" samples from the pcd with an all-zero mask, so, like Anomaly-ShapeNet, only anomalous
samples get a GT file. Test file names must not contain "temp" (the loaders drop those).
On import, ``482_bulge_cut`` style names are read as token ``bulge_cut`` -> kind bulge.
"""

from __future__ import annotations

from anomalygen.formats.folders import FolderLayout, export_folder, import_folder

LAYOUT = FolderLayout(name="real3d-ad", stem="{index}_{token}", gt_dir="gt", gt_delimiter=" ",
                      normal_test_token="good", export_tokens={"concavity": "sink"})


def export(src_dir, dest, **options) -> dict:
    """Shards -> Real3D-AD folders; options as :func:`~anomalygen.formats.folders.export_folder`."""
    return export_folder(src_dir, dest, LAYOUT, **options)


def import_(src, out_dir, **options) -> dict:
    """Real3D-AD folders -> shards; options as :func:`~anomalygen.formats.folders.import_folder`."""
    return import_folder(src, out_dir, LAYOUT, **options)
