"""Shards -> the field's per-class folder layouts (see :mod:`~anomalygen.formats.folders`).

An anomalous sample's GT rows are its pcd's points in the same order, printed with the same 9
significant digits (float32 round-trips), so loaders that read points from the GT txt and
loaders that read the pcd agree. Every export also writes the list files
(:mod:`~anomalygen.formats.lists`) and ``anomalygen.json`` (:mod:`~anomalygen.formats.sidecar`)
at the pcd root, and meshes into their own tree (:mod:`~anomalygen.formats.trees`).
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from anomalygen.formats import lists, sidecar
from anomalygen.formats.export_checks import check_dest, open_source
from anomalygen.formats.folders import FolderLayout, split_sample_id
from anomalygen.formats.meshes import MeshSource, mesh_to_obj
from anomalygen.formats.pcd import ENCODINGS, format_rows, write_pcd
from anomalygen.formats.ply import write_ply
from anomalygen.formats.trees import Tree
from anomalygen.shards import Sample


def write_gt(path: Path, points: np.ndarray, labels: np.ndarray, delimiter: str) -> None:
    """One ``x<d>y<d>z<d>label`` row per point, coordinates printed so float32 round-trips."""
    path.parent.mkdir(parents=True, exist_ok=True)
    points = np.asarray(points, np.float32)
    columns = [points[:, k].tolist() for k in range(3)] + [np.asarray(labels, np.int64).tolist()]
    path.write_text(format_rows(delimiter.join(["%.9g"] * 3 + ["%d"]), columns))


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def export_folder(src_dir, dest, layout: FolderLayout, tree: Tree = Tree(), *, encoding: str = "ascii",
                  normals: bool = False, meshes: bool = True, recipe=None, cache_dir=None,
                  overwrite: bool = False) -> dict:
    """Write the shards under ``src_dir`` as ``layout``'s folders arranged as ``tree`` under
    ``dest``; returns a summary.

    ``encoding``: PCD DATA (ascii like the releases, binary or binary_compressed);
    ``normals``: also write normal_x/y/z fields (the releases have x y z only);
    ``meshes``: write each sample's mesh into the mesh tree (kept by the shards, or regenerated
    from ``recipe``, a recipe file, with prepared meshes cached in ``cache_dir``); a tree that
    needs meshes (v2) refuses shards without them unless ``recipe`` is given.
    """
    if encoding not in ENCODINGS:
        raise ValueError(f"unknown PCD encoding {encoding!r}; use one of {', '.join(ENCODINGS)}")
    dataset = open_source(src_dir)
    if meshes and tree.needs_meshes and recipe is None and not all(s.has_meshes for s in dataset.shards):
        raise ValueError(f"{src_dir}: the shards kept no meshes, which this layout writes; pass --recipe "
                         "(the recipe that made them) to regenerate them, or --no-meshes")
    dest = Path(dest)
    check_dest(dest, overwrite)
    source = MeshSource(recipe, cache_dir)
    if meshes:
        source.probe(dataset)
    root = dest / tree.pcd
    root.mkdir(parents=True, exist_ok=True)
    summary = {"format": layout.name, "dest": str(dest), "root": str(root), "samples": 0, "anomalous": 0,
               "gt_files": 0, "meshes": 0, "points": 0, "classes": []}
    entries: dict[str, dict] = {}
    rows: dict[str, list[dict]] = defaultdict(list)
    numbers: dict[str, int] = defaultdict(int)       # next file number of a class (per-class numbering)
    templated: set[str] = set()                      # classes whose template mesh is written
    for sample in dataset:
        class_name, split, token, index = split_sample_id(sample.sample_id)
        if layout.numbered_per_class:
            index = numbers[class_name]
            numbers[class_name] += 1
        stem = layout.file_stem(class_name, split, token, index)
        pcd = f"{class_name}/{split}/{stem}.pcd"
        _write_cloud(root / pcd, sample, normals, encoding)
        entries[sample.sample_id] = sidecar.entry(sample, pcd)
        mask = f"{class_name}/{layout.gt_dir}/{stem}.txt" if sample.object_label else None
        if mask:
            write_gt(root / mask, sample.points, sample.labels, layout.gt_delimiter)
            summary["gt_files"] += 1
            summary["anomalous"] += 1
        rows[split].append(lists.row(pcd, class_name, mask))
        obj = _mesh_obj(sample, source, tree) if meshes else None
        if obj:
            _write(dest / tree.meshes / class_name / f"{stem}.obj", obj)
            summary["meshes"] += 1
            if tree.templates and split == "train" and class_name not in templated:
                _write(dest / tree.templates / class_name / f"{class_name}.obj", obj)
                templated.add(class_name)
        if tree.template_plys and split == "train":
            write_ply(dest / tree.template_plys / class_name / f"{stem}.ply", sample)
        summary["samples"] += 1
        summary["points"] += len(sample.points)
        if class_name not in summary["classes"]:
            summary["classes"].append(class_name)
    sidecar.write(root, layout.name, entries)
    lists.write(root, rows)
    summary["regenerated_meshes"] = source.regenerated
    return summary


def _write_cloud(path: Path, sample: Sample, normals: bool, encoding: str) -> None:
    """The sample's x y z (and normals) as a PCD file."""
    fields = {"x": sample.points[:, 0], "y": sample.points[:, 1], "z": sample.points[:, 2]}
    if normals:
        fields.update(normal_x=sample.normals[:, 0], normal_y=sample.normals[:, 1], normal_z=sample.normals[:, 2])
    write_pcd(path, {k: np.asarray(v, np.float32) for k, v in fields.items()}, encoding)


def _mesh_obj(sample: Sample, source: MeshSource, tree: Tree) -> str | None:
    """``sample``'s mesh as OBJ text; None without one, an error where ``tree`` needs it."""
    mesh_ply = source.mesh(sample)
    if not mesh_ply and tree.needs_meshes:
        raise ValueError(f"{sample.sample_id}: the shards kept no mesh of this sample, which this layout "
                         "writes; pass --recipe to regenerate it, or --no-meshes")
    return mesh_to_obj(mesh_ply) if mesh_ply else None
