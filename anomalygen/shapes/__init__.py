"""Where meshes come from: the built-in procedural library, ShapeNet folders, any mesh folder."""

from __future__ import annotations

import trimesh

from anomalygen.recipe import ClassSpec, SourceSpec


def source_mesh(source: SourceSpec, cls: ClassSpec) -> trimesh.Trimesh:
    """The raw (unprepared) mesh of one recipe class.

    Raises :class:`anomalygen.shapes.load.MeshLoadError` (or ValueError/FileNotFoundError for
    a class that does not resolve) with a readable reason.
    """
    if source.kind == "procedural":
        from anomalygen.shapes import procedural

        kind, variant = (cls.kind, cls.variant) if cls.kind is not None else procedural.parse_class_name(cls.name)
        return procedural.build(kind, variant if variant is not None else 0)
    from anomalygen.shapes.load import load_mesh

    if source.kind == "folder":
        return load_mesh(source.root / cls.mesh)
    if source.kind == "shapenet":
        from anomalygen.shapes.shapenet import model_path

        return load_mesh(model_path(source.root, cls.synset, cls.model))
    raise ValueError(f"unknown source kind {source.kind!r}")
