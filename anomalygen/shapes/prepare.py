"""Mesh preparation: clean, orient, close small holes, normalise to UNIT, remesh.

UNIT (the length unit of every prepared mesh, and of every length in a recipe or an operator):
a prepared mesh is centred on the centre of its axis-aligned bounding box (the box centre is the
origin) and uniformly scaled so that its farthest vertex lies at distance 1 from the origin, i.e.
the mesh fits the unit sphere and touches it; both exact up to the snap of every coordinate to
the canonical grid (:mod:`anomalygen.geometry.canonical`, 6e-8), which makes the result the same
on every CPU.

:func:`prepare_mesh` turns any triangle mesh into a clean, consistently oriented, isotropically
remeshed surface in UNIT:

1. drop faces that use non-finite vertices, merge vertices closer than ``MERGE_TOLERANCE``,
   drop faces that repeat a vertex, duplicate faces (same three vertices, either winding) and
   unreferenced vertices;
2. drop specks: vertex-connected parts whose bounding-box diagonal is below the target edge
   length (loose debris of ShapeNet models; no triangle of the target size fits them);
3. remove non-manifold edges (pymeshlab, only when there are any), orient faces coherently and
   outward (see :func:`orient_faces`), close holes whose rim is shorter than
   ``HOLE_MAX_PERIMETER`` (pymeshlab; open rims such as a bowl's stay open);
4. normalise to UNIT, remesh isotropically to the target edge length with pymeshlab, clean,
   normalise and orient again;
5. with ``watertight="always"``, or ``"auto"`` when step 4 gave no closed oriented manifold
   or one whose parts intersect:
   replace the surface of step 3 by the outer boundary of everything within half the minimum
   wall thickness of it (:mod:`anomalygen.shapes.watertight`), then step 4 on that.

Watertight manifold input gives watertight, manifold, outward-oriented output, as does any
input with step 5. Without it, anything else is prepared best-effort (never an exception other
than MeshPreparationError for an unusable mesh).

Determinism: identical input arrays and edge length give identical output arrays, also across
processes (``tests/test_prepare.py`` checks both). pymeshlab's filters are deterministic, with
one trap: a filter parameter left out of a call takes the value the previous call *anywhere in
the process* gave it, not its documented default. Every pymeshlab call here passes every
parameter of its filter.

:class:`anomalygen.shapes.cache.PreparedMeshCache` stores prepared meshes on disk, keyed by the
input's content (and :data:`PREPARE_VERSION`). Topology (components, compaction, rims) and face
orientation live in :mod:`anomalygen.geometry`; :func:`orient_faces` is imported here for callers.
"""

from __future__ import annotations

import math

import numpy as np
import pymeshlab
import trimesh

from anomalygen.geometry.canonical import row_norms, snap
from anomalygen.geometry.orientation import orient_faces
from anomalygen.geometry.topology import (boundary_edges, compact, edge_face_counts, group_rows, rim_loops,
                                          vertex_components)
from anomalygen.shapes.watertight import METHOD as WATERTIGHT_METHOD
from anomalygen.shapes.watertight import MIN_THICKNESS
from anomalygen.shapes.watertight import MODES as WATERTIGHT_MODES
from anomalygen.shapes.watertight import is_closed_manifold, make_watertight, parts_overlap

# Bump whenever prepare_mesh changes its output for some input: it is part of the cache key.
PREPARE_VERSION = 2

MERGE_TOLERANCE = 1e-9
"""Vertices whose coordinates agree to this (UNIT, per axis, after normalisation) are merged."""

HOLE_MAX_PERIMETER = 0.5
"""Holes whose boundary loop is shorter than this (UNIT) are closed; longer ones are left open.

0.5 closes scan holes and missing triangles (a hole up to ~0.16 across, 8% of the object) and
keeps real openings: the rim of a bowl or cup (> 2), the bunny's base (1.06), a hand's wrist
(1.5), the open bottom of a box (4.6)."""

FEATURE_ANGLE_DEG = 30.0
"""Edges whose faces' normals differ by more than this are sharp features the remesher keeps."""

REMESH_BASE_ITERATIONS = 4
"""Remeshing iterations for an input whose edges are all near the target length already."""

REMESH_MAX_ITERATIONS = 20


MIN_THICKNESS_PER_EDGE = 2.0
"""Default minimum wall thickness, in remesh edge lengths: a wall the remesher can give two
triangles across its rim (thinner walls come out as slivers)."""


class MeshPreparationError(Exception):
    """The mesh cannot be prepared (nothing usable left, or the result is degenerate)."""


# --------------------------------------------------------------------------- public API


def prepare_mesh(mesh: trimesh.Trimesh, edge_length: float, watertight: str = "never",
                 min_thickness: float | None = None) -> trimesh.Trimesh:
    """Clean, orient, normalise to UNIT and isotropically remesh ``mesh``.

    mesh:          any trimesh.Trimesh (V, 3) vertices, (F, 3) faces, in any units.
    edge_length:   target edge length in UNIT (absolute, e.g. 0.025).
    watertight:    "never"; "always": replace the surface by a closed one with walls at least
                   ``min_thickness`` thick (:mod:`anomalygen.shapes.watertight`); "auto": only
                   when the result would not be a closed oriented manifold or its parts would
                   intersect, so that a clean solid comes out exactly as with "never".
    min_thickness: UNIT; None means MIN_THICKNESS_PER_EDGE x ``edge_length``, at least MIN_THICKNESS.
    Returns a new Trimesh (vertices float64, faces int64) in UNIT whose median edge length is
    close to ``edge_length``; ``metadata["preparation"]`` is the :func:`_report` of what was
    done. Raises MeshPreparationError when nothing usable is left.
    """
    edge_length = _check_edge_length(edge_length)
    if watertight not in WATERTIGHT_MODES:
        raise ValueError(f"watertight must be one of {', '.join(WATERTIGHT_MODES)}, got {watertight!r}")
    min_thickness = resolved_min_thickness(edge_length, min_thickness)
    vertices, faces = _input_arrays(mesh)
    _require(vertices, faces, "the mesh has no triangles with finite vertices")
    vertices, faces = compact(vertices, faces)
    # normalise first so that MERGE_TOLERANCE means the same for every input scale
    vertices, faces = clean_arrays(normalise(vertices), faces)
    _require(vertices, faces, "the mesh has no non-degenerate triangles")
    vertices = normalise(vertices)

    vertices, faces = drop_specks(vertices, faces, edge_length)
    _require(vertices, faces, f"every part is smaller than the edge length {edge_length}")
    vertices = normalise(vertices)

    vertices, faces = _repair_non_manifold(vertices, faces)
    _require(vertices, faces, "nothing is left after removing non-manifold edges")
    faces = orient_faces(vertices, faces)
    vertices, faces = close_small_holes(vertices, faces, HOLE_MAX_PERIMETER)
    vertices = normalise(vertices)

    result = _remeshed(vertices, faces, edge_length)
    closed = is_closed_manifold(*result)
    overlap = closed and parts_overlap(*result)
    thickened = watertight == "always" or (watertight == "auto" and (overlap or not closed))
    if thickened:
        result = _remeshed(*make_watertight(vertices, faces, min_thickness), edge_length)
    report = _report((vertices, faces), result, closed, overlap, min_thickness if thickened else None)
    return trimesh.Trimesh(vertices=result[0], faces=result[1], process=False, validate=False,
                           metadata={"preparation": report})


def resolved_min_thickness(edge_length: float, min_thickness: float | None) -> float:
    """The minimum wall thickness (UNIT) that preparation applies: ``min_thickness``, or
    MIN_THICKNESS_PER_EDGE x ``edge_length`` (at least MIN_THICKNESS) when it is None."""
    if min_thickness is None:
        return max(MIN_THICKNESS_PER_EDGE * float(edge_length), MIN_THICKNESS)
    return float(min_thickness)


# --------------------------------------------------------------------------- building blocks


def normalise(vertices: np.ndarray) -> np.ndarray:
    """(V, 3) -> (V, 3) float64 in UNIT: bounding-box centre at the origin, max norm 1, snapped
    to :data:`~anomalygen.geometry.canonical.GRID` so that the remesher sees the same bits on every CPU."""
    vertices = np.asarray(vertices, dtype=np.float64)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0
    centred = vertices - centre
    radius = row_norms(centred).max()
    if not np.isfinite(radius) or radius <= 0.0:
        raise MeshPreparationError("the mesh has zero extent")
    return snap(centred / radius)


def clean_arrays(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge close vertices, drop faces repeating a vertex, duplicate faces, unused vertices.

    vertices (V, 3) float, faces (F, 3) int -> (V', 3) float64, (F', 3) int64. Close means equal
    after rounding to MERGE_TOLERANCE times the largest coordinate magnitude. Face order and
    winding of the kept faces are preserved (the first of a set of duplicates is kept).
    """
    vertices = np.asarray(vertices, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64).reshape(-1, 3)
    if len(faces) == 0:
        return np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)
    scale = max(float(np.abs(vertices).max()), 1e-300)
    keys = np.round(vertices / (scale * MERGE_TOLERANCE)).astype(np.int64)
    # the first occurrence of each rounded position represents it: stable and deterministic
    first, inverse, _ = group_rows(keys)
    faces = first[inverse][faces]

    repeated = (faces == np.roll(faces, 1, axis=1)).any(axis=1)
    faces = faces[~repeated]
    keep, _, _ = group_rows(np.sort(faces, axis=1))
    faces = faces[np.sort(keep)]
    return compact(vertices, faces)


def drop_specks(
    vertices: np.ndarray, faces: np.ndarray, min_diagonal: float
) -> tuple[np.ndarray, np.ndarray]:
    """Drop vertex-connected parts whose bounding-box diagonal is below ``min_diagonal``."""
    labels = vertex_components(len(vertices), faces)[1]
    count = labels.max() + 1 if len(labels) else 0
    if count <= 1:
        return vertices, faces
    lo = np.full((count, 3), np.inf)
    hi = np.full((count, 3), -np.inf)
    np.minimum.at(lo, labels, vertices)
    np.maximum.at(hi, labels, vertices)
    big = np.linalg.norm(hi - lo, axis=1) >= min_diagonal
    keep = big[labels[faces[:, 0]]]
    if keep.all():
        return vertices, faces
    return compact(vertices, faces[keep])


def close_small_holes(
    vertices: np.ndarray, faces: np.ndarray, max_perimeter: float
) -> tuple[np.ndarray, np.ndarray]:
    """Close boundary loops shorter than ``max_perimeter`` with pymeshlab's hole filler.

    Only simple loops (each rim vertex on exactly one rim edge in and out) are considered. The
    filler needs a two-manifold mesh; where pymeshlab refuses, the mesh is returned unchanged.
    New faces are wound like their neighbours (pymeshlab keeps the rim's orientation).
    """
    loops_faces, longest = _small_loop_faces(vertices, faces, max_perimeter)
    if len(loops_faces) == 0:
        return vertices, faces
    quality = np.zeros(len(faces))
    quality[loops_faces] = 1.0
    meshset = _meshset(vertices, faces, f_scalar_array=quality)
    try:
        # every parameter is given: pymeshlab remembers the last value of an omitted one
        meshset.compute_selection_by_condition_per_face(condselect="fq > 0.5")
        meshset.meshing_close_holes(
            maxholesize=int(longest) + 1,
            selected=True,
            newfaceselected=False,
            selfintersection=True,
            refinehole=False,
            refineholeedgelen=pymeshlab.PureValue(max_perimeter),
        )
    except pymeshlab.PyMeshLabException:
        return vertices, faces  # not two-manifold: leave the holes open
    return _arrays_of(meshset)


def remesh_isotropic(
    vertices: np.ndarray, faces: np.ndarray, edge_length: float
) -> tuple[np.ndarray, np.ndarray]:
    """pymeshlab isotropic explicit remeshing to ``edge_length`` (absolute, mesh units).

    The remesher splits edges longer than 4/3 and collapses edges shorter than 4/5 of the
    target, flips edges towards valence 6, smooths tangentially and reprojects onto the input.
    Each iteration splits a long edge at most once, so inputs with long edges get
    log2(longest / target) extra iterations on top of REMESH_BASE_ITERATIONS. Edges whose
    faces bend by more than FEATURE_ANGLE_DEG are kept as creases (and rims as borders).

    ``checksurfdist`` (refuse collapses and flips whose new faces lie farther than
    ``maxsurfdist`` from the input) is off: on clean meshes (bunny, a thin-walled cup, CAD
    parts) it refused nothing and gave identical output 20-35% slower, while on CAD-like
    soups (ShapeNet style) it refused most collapses whatever ``maxsurfdist`` was, leaving
    slivers (median edge 0.6 of the target) and running 3x longer. Reprojection still puts
    every vertex back on the input surface.
    """
    tri = vertices[faces]
    longest = float(np.linalg.norm(tri - np.roll(tri, 1, axis=1), axis=2).max())
    extra = max(0, math.ceil(math.log2(max(longest / (4.0 / 3.0 * edge_length), 1.0))))
    iterations = min(REMESH_BASE_ITERATIONS + extra, REMESH_MAX_ITERATIONS)
    meshset = _meshset(vertices, faces)
    try:
        # Every parameter is given on purpose: pymeshlab keeps the value an earlier call
        # (anywhere in the process) gave to a parameter and reuses it when it is omitted.
        meshset.meshing_isotropic_explicit_remeshing(
            iterations=iterations,
            adaptive=False,
            selectedonly=False,
            targetlen=pymeshlab.PureValue(edge_length),
            featuredeg=FEATURE_ANGLE_DEG,
            checksurfdist=False,
            maxsurfdist=pymeshlab.PureValue(edge_length / 4.0),
            splitflag=True,
            collapseflag=True,
            swapflag=True,
            smoothflag=True,
            reprojectflag=True,
        )
    except pymeshlab.PyMeshLabException as error:
        raise MeshPreparationError(f"isotropic remeshing failed: {error}") from error
    return _arrays_of(meshset)


# --------------------------------------------------------------------------- helpers


def _remeshed(vertices: np.ndarray, faces: np.ndarray, edge_length: float) -> tuple[np.ndarray, np.ndarray]:
    """The last stage: normalise, remesh, clean, normalise and orient again, check."""
    vertices, faces = remesh_isotropic(normalise(vertices), faces, edge_length)
    vertices, faces = clean_arrays(vertices, faces)
    _require(vertices, faces, "remeshing left no triangles")
    vertices = normalise(vertices)
    faces = orient_faces(vertices, faces)
    _check_result(vertices, faces)
    return vertices, faces


def _report(source: tuple[np.ndarray, np.ndarray], result: tuple[np.ndarray, np.ndarray],
            closed: bool, overlap: bool, min_thickness: float | None) -> dict:
    """What preparation did to a mesh, JSON-ready (recorded per class in the manifest).

    source is the cleaned input in UNIT, result the prepared mesh; ``closed``: whether plain
    preparation gave a closed oriented manifold, ``overlap``: one whose parts intersect; ``min_thickness``: set when the surface was
    made watertight. ``hausdorff`` is the symmetric Hausdorff distance between the two surfaces,
    each normalised to UNIT, from every vertex and edge midpoint of each to the other surface.
    """
    (source_v, source_f), (result_v, result_f) = source, result
    there, back = _one_sided_distance(result, source), _one_sided_distance(source, result)
    return {
        "watertight_before": bool(closed),
        "boundary_edges_before": boundary_edges(source_f),
        "parts_overlapped": bool(overlap),
        "parts_before": vertex_components(len(source_v), source_f)[0],
        "made_watertight": min_thickness is not None,
        "method": WATERTIGHT_METHOD if min_thickness is not None else None,
        "min_thickness": min_thickness,
        "watertight_after": is_closed_manifold(result_v, result_f),
        "boundary_edges_after": boundary_edges(result_f),
        "parts_kept": vertex_components(len(result_v), result_f)[0],
        "hausdorff": round(max(there["max"], back["max"]), 4),
        "mean_deviation": round((there["mean"] + back["mean"]) / 2.0, 4),
    }


def _one_sided_distance(sampled: tuple[np.ndarray, np.ndarray], target: tuple[np.ndarray, np.ndarray]) -> dict:
    """{"max", "mean"} distance from the vertices and edge points of ``sampled`` to the surface
    ``target`` (pymeshlab: exact point-to-triangle distances, no random samples)."""
    meshset = _meshset(*sampled)
    meshset.add_mesh(pymeshlab.Mesh(vertex_matrix=np.ascontiguousarray(snap(target[0])),
                                    face_matrix=np.ascontiguousarray(target[1], dtype=np.int32)))
    distance = meshset.get_hausdorff_distance(
        sampledmesh=0, targetmesh=1, savesample=False, samplevert=True, sampleedge=True,
        samplefauxedge=False, sampleface=False, samplenum=len(sampled[0]) * 2,
        maxdist=pymeshlab.PureValue(4.0))
    return {"max": float(distance["max"]), "mean": float(distance["mean"])}


def _check_edge_length(edge_length: float) -> float:
    value = float(edge_length)
    if not math.isfinite(value) or value <= 0.0:
        raise ValueError(f"edge_length must be a positive length in UNIT, got {edge_length!r}")
    return value


def _input_arrays(mesh: trimesh.Trimesh) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3) float64 vertices, (F, 3) int64 faces, without faces on non-finite vertices."""
    try:
        vertices = np.asarray(mesh.vertices, dtype=np.float64).reshape(-1, 3)
        faces = np.asarray(mesh.faces, dtype=np.int64).reshape(-1, 3)
    except (AttributeError, ValueError, TypeError) as error:
        raise MeshPreparationError(f"not a triangle mesh: {error}") from error
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise MeshPreparationError("face indices point outside the vertex array")
    finite = np.isfinite(vertices).all(axis=1)
    faces = faces[finite[faces].all(axis=1)]
    return vertices, faces


def _require(vertices: np.ndarray, faces: np.ndarray, reason: str) -> None:
    if len(faces) == 0 or len(vertices) < 3:
        raise MeshPreparationError(reason)


def _check_result(vertices: np.ndarray, faces: np.ndarray) -> None:
    if len(faces) < 4:
        raise MeshPreparationError(f"the prepared mesh is degenerate ({len(faces)} faces)")
    if not np.isfinite(vertices).all():
        raise MeshPreparationError("the prepared mesh has non-finite vertices")
    tri = vertices[faces]
    cross = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    area = 0.5 * np.linalg.norm(cross, axis=1).sum()
    if not area > 1e-9:
        raise MeshPreparationError("the prepared mesh has zero area")


def _meshset(vertices: np.ndarray, faces: np.ndarray, **attributes) -> pymeshlab.MeshSet:
    meshset = pymeshlab.MeshSet()
    meshset.add_mesh(
        pymeshlab.Mesh(
            vertex_matrix=np.ascontiguousarray(snap(vertices)),  # pymeshlab decides topology from these bits
            face_matrix=np.ascontiguousarray(faces, dtype=np.int32),
            **attributes,
        )
    )
    return meshset


def _arrays_of(meshset: pymeshlab.MeshSet) -> tuple[np.ndarray, np.ndarray]:
    mesh = meshset.current_mesh()
    mesh.compact()  # filters leave deleted elements behind; matrices need a compact mesh
    return (
        np.array(mesh.vertex_matrix(), dtype=np.float64),
        np.array(mesh.face_matrix(), dtype=np.int64).reshape(-1, 3),
    )


def _repair_non_manifold(vertices: np.ndarray, faces: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Remove faces around non-manifold edges and split non-manifold vertices (pymeshlab).

    Only runs when some edge has more than two faces: the hole filler and the remesher need a
    two-manifold mesh. Removing faces (rather than splitting vertices) is much faster on large
    soups; the small holes it leaves are closed afterwards.
    """
    if edge_face_counts(faces).max() <= 2:
        return vertices, faces
    meshset = _meshset(vertices, faces)
    meshset.meshing_repair_non_manifold_edges(method="Remove Faces")
    meshset.meshing_repair_non_manifold_vertices(vertdispratio=0.0)
    return clean_arrays(*_arrays_of(meshset))


def _small_loop_faces(vertices, faces, max_perimeter):
    """Faces on the rims of simple boundary loops shorter than ``max_perimeter``.

    Returns (K,) int64 face indices and the largest number of edges of those loops.
    """
    edges, owner, loop, bad = rim_loops(len(vertices), faces)
    if not len(edges):
        return np.zeros(0, dtype=np.int64), 0
    length = np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1)
    size = loop.max() + 1
    simple = np.bincount(loop, weights=bad, minlength=size) == 0
    perimeter = np.bincount(loop, weights=length, minlength=size)
    edge_count = np.bincount(loop, minlength=size)
    # A loop that is the whole rim of a tiny part (a lone triangle of a soup, a small flat
    # sheet) is not a hole: filling it would make a two-sided sliver. Holes sit in parts with
    # many more faces than rim edges.
    part = vertex_components(len(vertices), faces)[1]
    part_faces = np.bincount(part[faces[:, 0]], minlength=part.max() + 1)
    loop_part = np.zeros(size, dtype=np.int64)
    loop_part[loop] = part[edges[:, 0]]
    in_surface = part_faces[loop_part] > 2 * edge_count
    small = simple & in_surface & (perimeter <= max_perimeter) & (edge_count >= 3)
    chosen = small[loop]
    if not chosen.any():
        return np.zeros(0, dtype=np.int64), 0
    return np.unique(owner[chosen]), int(edge_count[small].max())
