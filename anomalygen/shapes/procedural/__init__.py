"""The built-in procedural shape library: Anomaly-ShapeNet's 20 object kinds, no downloads.

A class name is a kind followed by a variant number (``vase3``, ``microphone0``).
:func:`build` makes the mesh of any (kind, variant): the 52 canonical Anomaly-ShapeNet
classes (the first release's 40 and the 12 the second adds) are hand-tuned presets, every
other variant gets parameters derived deterministically from (kind, variant). Meshes are watertight, outward oriented, one body,
+Z up and about one unit in size (the pipeline re-centres and scales them later).

One module per family, sharing :mod:`._geometry` (profiles, sweeps, booleans):
:mod:`.revolved` (vessels, via :mod:`.vessels`), :mod:`.caps` (caps, helmets),
:mod:`.headsets`, :mod:`.taps`, :mod:`.boxes` (eraser, shelf, bag), :mod:`.microphone`,
:mod:`.furniture` (cabinet, chair, desk), :mod:`.blades` (knife), :mod:`.screens`.
"""

from __future__ import annotations

import operator
import re
from typing import Mapping

import trimesh

from anomalygen.checks import join_key, one_of
from anomalygen.shapes.source import Source, register

from . import blades, boxes, caps, furniture, headsets, microphone, revolved, screens, taps
from ._geometry import to_trimesh
from ._registry import Kind

REGISTRY: Mapping[str, Kind] = dict(sorted({
    **revolved.KINDS, **caps.KINDS, **headsets.KINDS, **taps.KINDS, **boxes.KINDS,
    **microphone.KINDS, **furniture.KINDS, **blades.KINDS, **screens.KINDS,
}.items()))
"""kind -> :class:`~._registry.Kind` (its builder, presets and variant sampler).
``sorted(REGISTRY[k].presets)`` are the canonical Anomaly-ShapeNet variants of kind k."""

KINDS: tuple[str, ...] = tuple(REGISTRY)
"""The 20 object kinds of Anomaly-ShapeNet (15 in the first release, 5 more in the second),
alphabetically."""

_NAME = re.compile(r"([a-z]+)([0-9]+)")


def parse_class_name(name: str) -> tuple[str, int]:
    """Split a class name into (kind, variant): ``"vase3" -> ("vase", 3)``.

    Raises ValueError for anything that is not a known kind followed by digits.
    """
    match = _NAME.fullmatch(name) if isinstance(name, str) else None
    if match is None or match.group(1) not in REGISTRY:
        raise ValueError(f"{name!r} is not a procedural class name: expected a kind followed "
                         f"by a variant number (e.g. 'vase3'); known kinds: {', '.join(KINDS)}")
    return match.group(1), int(match.group(2))


def build(kind: str, variant: int) -> trimesh.Trimesh:
    """The mesh of ``variant`` (a non-negative int) of ``kind``; same arguments, same arrays.

    Raises ValueError for an unknown kind or a negative / non-integer variant.
    """
    if kind not in REGISTRY:
        raise ValueError(f"unknown kind {kind!r}; known kinds: {', '.join(KINDS)}")
    try:
        number = operator.index(variant)  # ints and numpy integers, not floats
    except TypeError:
        number = -1
    if isinstance(variant, bool) or number < 0:
        raise ValueError(f"variant must be a non-negative integer, got {variant!r}")
    solid = REGISTRY[kind].build(number)
    if solid.is_empty():
        # a parameter combination the builder cannot handle; never hand on an empty mesh
        raise RuntimeError(f"{kind}{number}: the procedural builder produced an empty solid")
    return to_trimesh(solid)


__all__ = ["KINDS", "REGISTRY", "build", "parse_class_name"]


# --------------------------------------------------------------------------------------------
# The recipe's "procedural" source: a class is <kind><variant>, or names its kind (and variant)

def _check_class(check, key: str, name: str, entry: dict, root: None) -> dict:
    """The class's kind and variant: from ``entry``'s 'kind' and 'variant' keys, else from its name."""
    if "kind" in entry and entry["kind"] not in KINDS:
        check.fail(join_key(key, "kind"), entry["kind"], one_of(entry["kind"], KINDS))
    if "variant" in entry:
        check.integer(join_key(key, "variant"), entry["variant"], 0)
    try:
        parsed = parse_class_name(name)
    except ValueError:
        if "kind" not in entry:
            check.fail(key, name, f"a class name <kind><variant> with kind one of {', '.join(KINDS)}, "
                                  "or a 'kind' key")
        parsed = (entry["kind"], 0)
    kind, variant = entry.get("kind", parsed[0]), entry.get("variant", parsed[1])
    if "kind" in entry or "variant" in entry:
        try:
            parse_class_name(f"{kind}{variant}")
        except ValueError as err:
            blame = "variant" if "variant" in entry else "kind"
            check.fail(join_key(key, blame), entry[blame], f"a known procedural kind and variant ({err})")
    return {"kind": kind, "variant": int(variant)}


def _class_mesh(root: None, cls) -> trimesh.Trimesh:
    kind, variant = (cls.kind, cls.variant) if cls.kind is not None else parse_class_name(cls.name)
    return build(kind, variant if variant is not None else 0)


SOURCE = register(Source("procedural", ("kind", "variant"), _check_class, _class_mesh, needs_root=False))
