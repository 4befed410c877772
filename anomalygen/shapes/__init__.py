"""Where meshes come from: one registered :class:`~anomalygen.shapes.source.Source` per recipe
``source.kind``. Importing this package registers the built-in ones: the procedural library,
ShapeNetCore folders and any folder of mesh files (in that order)."""

from __future__ import annotations

import trimesh

from anomalygen.shapes import procedural, shapenet, folder  # noqa: F401, I001  (they register, in this order)
from anomalygen.shapes.source import SOURCES, Source, register, source_of

__all__ = ["SOURCES", "Source", "register", "source_mesh", "source_of"]


def source_mesh(source, cls) -> trimesh.Trimesh:
    """The raw (unprepared) mesh of one recipe class (``source``: the recipe's SourceSpec,
    ``cls``: its ClassSpec), made by the registered source of ``source.kind``.

    Raises :class:`anomalygen.shapes.load.MeshLoadError` (or ValueError/FileNotFoundError for
    a class that does not resolve) with a readable reason.
    """
    return source_of(source.kind).mesh(source.root, cls)
