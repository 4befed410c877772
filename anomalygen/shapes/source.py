"""The one protocol every source of shapes follows, and the registry the recipe asks.

A source is a recipe's ``source.kind``: where a class's raw mesh comes from (the procedural
library, a ShapeNetCore folder, a folder of mesh files, ...). Like the operators
(:mod:`anomalygen.ops.base`) each source registers one :class:`Source`; the recipe
(:mod:`anomalygen.recipe`) validates a class entry by asking the registered source of its
``source.kind``, and the pipeline gets a class's mesh from the same source, so neither
depends on which sources exist::

    register(Source("sphere", class_keys=("subdivisions",), needs_root=False,
                    check_class=lambda check, key, name, entry, root: {"options": entry},
                    mesh=lambda root, cls: trimesh.creation.icosphere(cls.options["subdivisions"])))

Imports nothing of anomalygen: sources import this module, :mod:`anomalygen.shapes` imports
the built-in ones (so that they register), and the recipe imports :mod:`anomalygen.shapes`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import trimesh

CheckClassFn = Callable[[Any, str, str, dict, "Path | None"], dict]
"""``check_class(check, key, name, entry, root) -> fields``: validate one class entry.

check: an :class:`anomalygen.checks.Checker` of the recipe file (``check.fail(key, value,
       expected)`` raises the RecipeError naming file, key and value);
key:   the entry's key path (``classes.vase3``); name: the class name (``vase3``);
entry: the entry's own keys (``class_keys`` only: train, test and null values are taken out);
root:  ``source.root`` resolved (an existing folder), or None for a source without a root.
Returns the :class:`anomalygen.recipe.ClassSpec` fields this source fills in, resolved (paths
absolute, names canonical): e.g. ``{"kind": "vase", "variant": 3}``; a source of its own
keeps its settings under ``"options"`` (a mapping of JSON values)."""

MeshFn = Callable[["Path | None", Any], trimesh.Trimesh]
"""``mesh(root, cls) -> raw mesh``: ``cls`` is the validated ClassSpec; raises
:class:`anomalygen.shapes.load.MeshLoadError`, ValueError or FileNotFoundError with a reason."""


@dataclass(frozen=True)
class Source:
    """A registered kind of source.

    kind:        the recipe's ``source.kind``.
    class_keys:  the keys a class entry of this kind may hold besides ``train`` and ``test``.
    check_class: validates one class entry, see :data:`CheckClassFn`.
    mesh:        the raw (unprepared) mesh of one validated class, see :data:`MeshFn`.
    needs_root:  True: ``source.root`` names a folder (required, must exist and be readable);
                 False: the recipe must not give one.
    """

    kind: str
    class_keys: tuple[str, ...]
    check_class: CheckClassFn
    mesh: MeshFn
    needs_root: bool = True


SOURCES: dict[str, Source] = {}
"""kind -> source, in registration order (the built-in ones: procedural, shapenet, folder)."""


def register(source: Source) -> Source:
    if source.kind in SOURCES:
        raise ValueError(f"source kind {source.kind!r} registered twice")
    SOURCES[source.kind] = source
    return source


def source_of(kind: str) -> Source:
    try:
        return SOURCES[kind]
    except KeyError:
        raise ValueError(f"unknown source kind {kind!r}; registered: {', '.join(SOURCES)}") from None
