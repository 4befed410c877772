"""Anomaly-ShapeNet's release layout (CVPR 2024), both ways.

::

    <cls>/train/<cls>_template{i}.pcd
    <cls>/test/<cls>_positive{i}.pcd              normal test samples, no GT file
    <cls>/test/<cls>_<token>{k}.pcd               token: bulge concavity scratch crak hole broken bending
    <cls>/GT/<cls>_<token>{k}.txt                 "x,y,z,label" per point, in the pcd's order
    <cls>/{train,test}/<stem>.obj                 the edited mesh, when the shards kept meshes
"""

from __future__ import annotations

from anomalygen.formats.folders import FolderLayout, export_folder, import_folder

LAYOUT = FolderLayout(name="anomaly-shapenet", stem="{cls}_{token}{index}", gt_dir="GT", gt_delimiter=",",
                      normal_test_token="positive")


def export(src_dir, dest, **options) -> dict:
    """Shards -> Anomaly-ShapeNet folders; options as :func:`~anomalygen.formats.folders.export_folder`."""
    return export_folder(src_dir, dest, LAYOUT, **options)


def import_(src, out_dir, **options) -> dict:
    """Anomaly-ShapeNet folders -> shards; options as :func:`~anomalygen.formats.folders.import_folder`."""
    return import_folder(src, out_dir, LAYOUT, **options)
