"""Watertight, thick-walled surfaces from any triangle mesh: the outer level set of the unsigned
distance at half the minimum wall thickness.

A real model (ShapeNet style) has open rims, single-sheet walls, several intersecting parts and
tiny gaps; boolean cuts need a closed oriented manifold, and one-sided edits of a wall thinner
than their depth push one side through the other. :func:`make_watertight` replaces the surface
with the boundary of the set of points within ``r = min_thickness / 2`` of it, seen from outside:

1. unsigned distance ``d`` to the surface on a grid of spacing ``min_thickness / 2`` (nearest
   of dense surface points, see :func:`unsigned_distance`);
2. *outside* is the part of ``{d > r}`` connected to the grid's border; everything else
   (the walls and any cavity they enclose) is solid, so closed regions are filled;
3. the boundary of the solid is extracted by marching tetrahedra (:func:`marching_tetrahedra`),
   which is closed, manifold and outward oriented by construction.

So a single sheet becomes a wall ``min_thickness`` thick, an open rim gets a rounded lip,
parts closer than ``min_thickness`` merge, and a solid's surface moves outward by ``r`` (the
deviation recorded in the manifest). The result is finely tessellated; the caller remeshes it.
"""

from __future__ import annotations

import math

import manifold3d as m3
import numpy as np
import trimesh
from scipy import ndimage
from scipy.spatial import cKDTree

from anomalygen.geometry.canonical import snap
from anomalygen.geometry.topology import boundary_edges  # noqa: F401  (part of this module's interface)

MODES = ("auto", "always", "never")
"""When preparation makes a surface watertight (``source.watertight`` in a recipe, see
:func:`anomalygen.shapes.prepare.prepare_mesh`)."""

METHOD = "udf-offset-1"
"""Names the algorithm and its version in cache keys and manifests (bump when output changes)."""

MIN_THICKNESS = 0.02
"""Smallest minimum wall thickness (UNIT) accepted: the grid (cell min_thickness / 2) of a
unit-sphere object then holds about 12 million points (~0.3 GB while it is processed)."""

OVERLAP_TOLERANCE = 1e-6
"""Relative excess of the parts' summed volume over their union's that counts as overlap."""

GRID_PER_THICKNESS = 2
"""Grid cells across ``min_thickness`` (one across the half-thickness the level is taken at):
enough for a closed wall; finer grids cost 8x per halving and the remesher smooths anyway."""

SURFACE_SPACING_PER_CELL = 0.5
"""Spacing of the surface points the distance is measured to, as a fraction of the grid cell.
Near the level (distance r, spacing s = r / 2) the nearest point overestimates the distance by
at most sqrt(r^2 + s^2 / 2) - r, 6% of r."""


def is_closed_manifold(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Whether (V, 3), (F, 3) is a closed oriented manifold enclosing volume (as cuts need)."""
    solid = _solid(vertices, faces)
    return solid is not None


def parts_overlap(vertices: np.ndarray, faces: np.ndarray) -> bool:
    """Whether a closed mesh's parts intersect (a handle sunk into its body): the parts' volumes
    add up to more than their union's. Cuts and labels then see walls inside the solid."""
    solid = _solid(vertices, faces)
    if solid is None:
        return False
    parts = solid.decompose()
    if len(parts) < 2:
        return False
    union = m3.Manifold.batch_boolean(parts, m3.OpType.Add).volume()
    return sum(part.volume() for part in parts) > union * (1.0 + OVERLAP_TOLERANCE)


def _solid(vertices: np.ndarray, faces: np.ndarray) -> m3.Manifold | None:
    """The manifold3d solid of a closed oriented manifold enclosing volume, else None."""
    if len(faces) < 4:
        return None
    solid = m3.Manifold(m3.Mesh64(vert_properties=np.ascontiguousarray(snap(vertices)),
                                  tri_verts=np.ascontiguousarray(faces, dtype=np.uint64)))
    ok = solid.status() == m3.Error.NoError and not solid.is_empty() and solid.volume() > 0.0
    return solid if ok else None


def surface_points(vertices: np.ndarray, faces: np.ndarray, spacing: float) -> np.ndarray:
    """(N, 3) points on the surface, no two neighbours farther apart than ``spacing``: the
    vertices of the mesh split until every edge is at most ``spacing`` (deterministic)."""
    points, _ = trimesh.remesh.subdivide_to_size(vertices, faces, max_edge=spacing, max_iter=64)
    return points


def unsigned_distance(axes: list[np.ndarray], points: np.ndarray, cap: float) -> np.ndarray:
    """(X, Y, Z) distance from each point of the grid ``axes`` (3 coordinate arrays) to the
    nearest of ``points`` (N, 3), capped at ``cap`` (the k-d tree stops searching beyond it,
    which keeps far points cheap); computed one x slab at a time to bound memory."""
    tree = cKDTree(points)
    y, z = np.meshgrid(axes[1], axes[2], indexing="ij")
    distance = np.empty((len(axes[0]), len(axes[1]), len(axes[2])))
    for i, x in enumerate(axes[0]):
        slab = np.stack([np.full(y.size, x), y.ravel(), z.ravel()], axis=1)
        distance[i] = tree.query(slab, distance_upper_bound=cap)[0].reshape(y.shape)
    return snap(np.minimum(distance, cap))


def make_watertight(vertices: np.ndarray, faces: np.ndarray,
                    min_thickness: float) -> tuple[np.ndarray, np.ndarray]:
    """(V, 3), (F, 3) surface in UNIT -> closed outward-oriented manifold (V', 3) float64,
    (F', 3) int64 whose walls are at least ``min_thickness`` (UNIT) thick."""
    radius = min_thickness / 2.0
    cell = min_thickness / GRID_PER_THICKNESS
    points = surface_points(vertices, faces, cell * SURFACE_SPACING_PER_CELL)
    margin = radius + 2.0 * cell
    low = points.min(axis=0) - margin
    shape = np.ceil((points.max(axis=0) + margin - low) / cell).astype(int) + 1
    axes = [low[i] + cell * np.arange(shape[i]) for i in range(3)]
    distance = unsigned_distance(axes, points, radius + 2.0 * cell)

    # 26-connected, so that no solid grid point is even diagonally next to an outside one
    # across a wall: the tetrahedra below use cube diagonals.
    labels, _ = ndimage.label(distance > radius, structure=np.ones((3, 3, 3)))
    border = np.unique(np.concatenate([labels[[0, -1]].ravel(), labels[:, [0, -1]].ravel(),
                                       labels[:, :, [0, -1]].ravel()]))
    outside = np.isin(labels, border[border > 0])
    # positive outside, negative (never zero, so no vertex falls on a grid point) in the solid
    value = np.where(outside, distance - radius, np.minimum(distance - radius, -1e-3 * cell))
    return marching_tetrahedra(value, low, cell)


# Kuhn's six tetrahedra of the unit cube: paths from corner 0 to corner 7 along the axes in
# every order. Neighbouring cubes split their shared face along the same diagonal, so the
# surface pieces of all tetrahedra join into a closed manifold.
_CORNERS = np.array([[(c >> 2) & 1, (c >> 1) & 1, c & 1] for c in range(8)])
_TETS = np.array([[0, a, a | b, 7] for a, b in ((4, 2), (4, 1), (2, 4), (2, 1), (1, 4), (1, 2))])


def marching_tetrahedra(value: np.ndarray, origin: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Zero level set of a grid field (X, Y, Z), no value zero, grid point (i, j, k) at
    ``origin + cell * (i, j, k)`` -> (V, 3) float64 vertices, (F, 3) int64 faces, oriented
    with normals towards positive values."""
    shape = np.array(value.shape)
    negative = value < 0
    # cubes whose corners disagree in sign: the only ones the surface crosses
    corners_neg = [negative[tuple(slice(c[i], c[i] + n - 1) for i, n in enumerate(shape))] for c in _CORNERS]
    mixed = np.any(corners_neg, axis=0) & ~np.all(corners_neg, axis=0)
    cubes = np.argwhere(mixed)
    index = (cubes[:, None, :] + _CORNERS[None]) @ np.array([shape[1] * shape[2], shape[2], 1])  # (C, 8) flat ids
    tets = index[:, _TETS].reshape(-1, 4)                                                       # (T, 4)
    flat = value.reshape(-1)
    signs = flat[tets] < 0
    count = signs.sum(axis=1)
    triangles = []
    # one triangle where one corner differs from the other three
    for lonely in (1, 3):
        rows = np.flatnonzero(count == lonely)
        odd = signs[rows] if lonely == 1 else ~signs[rows]
        apex = np.argmax(odd, axis=1)
        others = np.sort((apex[:, None] + np.arange(1, 4)) % 4, axis=1)
        a = tets[rows, apex]
        b = np.take_along_axis(tets[rows], others, axis=1)
        triangles.append(np.stack([np.stack([a, b[:, k]], axis=1) for k in range(3)], axis=1))
    # two triangles (a quad) where two corners differ from the other two
    rows = np.flatnonzero(count == 2)
    order = np.argsort(~signs[rows], axis=1, kind="stable")  # negative corners first
    n0, n1, p0, p1 = (tets[rows, order[:, k]] for k in range(4))
    quad = [np.stack(e, axis=1) for e in ((n0, p0), (n0, p1), (n1, p1), (n1, p0))]
    triangles.append(np.stack([quad[0], quad[1], quad[2]], axis=1))
    triangles.append(np.stack([quad[0], quad[2], quad[3]], axis=1))
    edges = np.sort(np.concatenate(triangles), axis=2)                                  # (F, 3, 2)
    # one vertex per grid edge the surface crosses, shared by the triangles on either side
    keys, inverse = np.unique(edges[..., 0] * flat.size + edges[..., 1], return_inverse=True)
    unique = np.stack([keys // flat.size, keys % flat.size], axis=1)
    faces = inverse.reshape(-1, 3).astype(np.int64)
    v0, v1 = flat[unique[:, 0]], flat[unique[:, 1]]
    # keep vertices off the grid points: two crossings never coincide, edges never vanish
    t = np.clip(v0 / (v0 - v1), 0.01, 0.99)[:, None]
    start, end = _grid_points(unique[:, 0], value.shape), _grid_points(unique[:, 1], value.shape)
    vertices = snap(origin + cell * (start * (1.0 - t) + end * t))
    # orient: the normal must point from the negative corners to the positive ones
    tri = vertices[faces]
    normal = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    ends = unique[faces]                                                                 # (F, 3, 2)
    sign = np.where(flat[ends] < 0, -1.0, 1.0)[..., None]
    direction = (sign * _grid_points(ends.reshape(-1), value.shape).reshape(ends.shape + (3,))).sum(axis=(1, 2))
    flip = np.einsum("ij,ij->i", normal, direction) < 0
    faces[flip] = faces[flip][:, ::-1]
    return vertices, faces


def _grid_points(ids: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """(N,) flat grid indices -> (N, 3) float64 grid coordinates (i, j, k)."""
    return np.stack(np.unravel_index(ids, shape), axis=1).astype(np.float64)
