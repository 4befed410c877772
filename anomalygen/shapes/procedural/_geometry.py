"""Geometric building blocks shared by every procedural family.

Solids are ``manifold3d.Manifold`` objects: its booleans are exact and always return oriented
2-manifolds, so a builder that only combines these blocks with :func:`union` /
:func:`subtract` yields a watertight, outward-oriented mesh without any hand-written CSG.
Conversion to ``trimesh`` happens once, in :func:`to_trimesh`.

Conventions: lengths are in object units (the objects are about one unit tall), +Z is up.
2D profiles are (N, 2) arrays of (r, z) points, r >= 0 the distance from the Z axis.
Every resolution is passed explicitly, never taken from manifold3d's global defaults, which
other code in the same process may change.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import trimesh
from manifold3d import CrossSection, Error, FillRule, JoinType, Manifold, Mesh64, OpType
from scipy.interpolate import PchipInterpolator

from anomalygen.geometry.canonical import row_norms, snap

SEGMENTS = 64
"""Default number of segments around a full turn (revolutions, tubes use fewer)."""

ROUND_SEGMENTS = 24
"""Segments per full turn of rounded 2D offset corners (rims are small, 24 is plenty)."""


# --------------------------------------------------------------------------- conversion


def to_trimesh(solid: Manifold) -> trimesh.Trimesh:
    """Convert a manifold3d solid to a ``trimesh.Trimesh`` (float64 vertices, int64 faces)."""
    mesh = solid.to_mesh64()
    vertices = snap(np.asarray(mesh.vert_properties)[:, :3])  # the same source bits on every CPU
    faces = np.asarray(mesh.tri_verts, dtype=np.int64)
    # manifold3d already shares vertices between faces; process=False keeps its arrays as is
    # so that builds are bit-for-bit reproducible.
    return trimesh.Trimesh(vertices=vertices, faces=faces.copy(), process=False)


def from_arrays(vertices: np.ndarray, faces: np.ndarray) -> Manifold:
    """Wrap (V, 3) float vertices and (F, 3) int faces of a closed mesh as a Manifold.

    The orientation is fixed here (flipped when the signed volume is negative), so callers
    only need consistent, not necessarily outward, winding.
    """
    v = np.ascontiguousarray(snap(vertices))  # booleans decide topology from these bits
    f = np.ascontiguousarray(faces, dtype=np.int64)
    tri = v[f]
    signed_volume = np.einsum("ij,ij->i", tri[:, 0], np.cross(tri[:, 1], tri[:, 2])).sum()
    if signed_volume < 0:
        f = np.ascontiguousarray(f[:, ::-1])
    solid = Manifold(Mesh64(vert_properties=v, tri_verts=f.astype(np.uint64)))
    if solid.status() != Error.NoError:
        raise ValueError(f"not a closed 2-manifold: {solid.status()}")
    return solid


# --------------------------------------------------------------------------- booleans


def union(parts: Sequence[Manifold]) -> Manifold:
    """Boolean union of all ``parts`` (one batched manifold3d call)."""
    return Manifold.batch_boolean(list(parts), OpType.Add)


def subtract(solid: Manifold, tools: Sequence[Manifold]) -> Manifold:
    """``solid`` minus every solid in ``tools``."""
    if not tools:
        return solid
    return Manifold.batch_boolean([solid, *tools], OpType.Subtract)


def largest_body(solid: Manifold) -> Manifold:
    """Keep only the largest connected component (drops specks a cut may leave behind)."""
    bodies = solid.decompose()
    if len(bodies) <= 1:
        return solid
    return max(bodies, key=lambda body: body.volume())


# --------------------------------------------------------------------------- transforms


def rotation(axis: Sequence[float], angle: float) -> np.ndarray:
    """(3, 3) rotation by ``angle`` radians about ``axis`` (Rodrigues)."""
    a = np.asarray(axis, dtype=float)
    a = a / np.linalg.norm(a)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    return np.eye(3) + np.sin(angle) * k + (1 - np.cos(angle)) * (k @ k)


def frame_z_to(direction: Sequence[float]) -> np.ndarray:
    """(3, 3) rotation taking +Z onto ``direction`` (any length > 0)."""
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    z = np.array([0.0, 0.0, 1.0])
    axis = np.cross(z, d)
    s = np.linalg.norm(axis)
    if s < 1e-12:
        return np.eye(3) if d[2] > 0 else np.diag([1.0, -1.0, -1.0])
    return rotation(axis, np.arctan2(s, d[2]))


def place(solid: Manifold, matrix: np.ndarray | None = None, offset=(0.0, 0.0, 0.0)) -> Manifold:
    """Apply the (3, 3) ``matrix`` then translate by ``offset``."""
    m = np.eye(3) if matrix is None else np.asarray(matrix, dtype=float)
    return solid.transform(snap(np.column_stack([m, np.asarray(offset, dtype=float)])))


# --------------------------------------------------------------------------- curves


def smooth_curve(points: np.ndarray, n: int) -> np.ndarray:
    """``n`` points of a smooth curve through the (K, d) control ``points``.

    Monotone cubic (PCHIP) interpolation of each coordinate against cumulative chord
    length: it never overshoots, so a profile stays within its control polygon (no
    negative radii, no ripples) and two close control points make a crisp shoulder.
    """
    p = np.asarray(points, dtype=float)
    t = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
    return PchipInterpolator(t, p, axis=0)(np.linspace(0.0, t[-1], n))


def bezier(control: np.ndarray, n: int) -> np.ndarray:
    """(n, d) points of the Bezier curve with (K, d) ``control`` points."""
    c = np.asarray(control, dtype=float)
    k = len(c) - 1
    t = np.linspace(0.0, 1.0, n)[:, None]
    binom = np.array([math.comb(k, i) for i in range(k + 1)], dtype=float)
    return (binom * t ** np.arange(k + 1) * (1 - t) ** (k - np.arange(k + 1))) @ c


# --------------------------------------------------------------------------- profile queries


def radius_at(curve: np.ndarray, z: float) -> float:
    """Largest radius of the (N, 2) (r, z) ``curve`` at height ``z`` (clamped to its range)."""
    r, h = curve[:, 0], curve[:, 1]
    z = float(np.clip(z, h.min(), h.max()))
    lo, hi = np.minimum(h[:-1], h[1:]), np.maximum(h[:-1], h[1:])
    crossing = np.flatnonzero((lo <= z) & (z <= hi))
    dz = h[crossing + 1] - h[crossing]
    w = np.where(np.abs(dz) > 1e-12, (z - h[crossing]) / np.where(dz == 0, 1, dz), 0.0)
    return float(np.max(r[crossing] + w * (r[crossing + 1] - r[crossing])))


def widest_between(curve: np.ndarray, z0: float, z1: float) -> float:
    """Largest radius of ``curve`` for heights in [z0, z1]."""
    inside = (curve[:, 1] >= min(z0, z1)) & (curve[:, 1] <= max(z0, z1))
    ends = [radius_at(curve, z0), radius_at(curve, z1)]
    return float(max(ends + list(curve[inside, 0])))


# --------------------------------------------------------------------------- 2D sections


def silhouette(curve: np.ndarray) -> CrossSection:
    """The region bounded by an (N, 2) (r, z) ``curve`` and its mirror image in r.

    ``curve`` runs bottom to top on the r >= 0 side. Working with the full, symmetric
    silhouette (rather than the half touching the axis) lets 2D offsets treat the axis as
    interior, so rounding never pinches the solid at r = 0; revolving keeps only r >= 0.
    """
    c = np.asarray(curve, dtype=float)
    mirrored = c[::-1] * np.array([-1.0, 1.0])
    ring = np.concatenate([c, mirrored])
    # drop consecutive duplicates (curve ends on the axis meet their own mirror image)
    ring = snap(ring)
    keep = row_norms(ring - np.roll(ring, 1, axis=0)) > 1e-9
    return CrossSection([ring[keep]])


def rectangle(r0: float, r1: float, z0: float, z1: float) -> CrossSection:
    """Axis-aligned rectangle [r0, r1] x [z0, z1] in the (r, z) plane."""
    return CrossSection([snap([[r0, z0], [r1, z0], [r1, z1], [r0, z1]])])


def extend_curve(curve: np.ndarray, length: float, start: bool, end: bool) -> np.ndarray:
    """Extend an (N, 2) (r, z) curve past its ends, away from the body, by ``length``.

    The extension follows the end tangent bent towards the outside (up past the top end,
    down past the bottom end), so that an inward offset of the extended silhouette cuts
    cleanly through the opening even when the rim flares out horizontally.
    """
    c = np.asarray(curve, dtype=float)
    pieces = [c]
    for flag, tip, prev, vertical in ((end, c[-1], c[-2], 1.0), (start, c[0], c[1], -1.0)):
        if not flag:
            continue
        d = tip - prev
        d = d / np.linalg.norm(d) + np.array([0.0, vertical])
        d = d / np.linalg.norm(d)
        steps = tip + np.outer(np.linspace(0.25, 1.0, 4), d * length)
        pieces = pieces + [steps] if vertical > 0 else [steps[::-1]] + pieces
    return np.concatenate(pieces)


def end_normal(curve: np.ndarray, end: bool) -> tuple[np.ndarray, np.ndarray]:
    """(unit tangent, unit outward normal) of an (N, 2) (r, z) curve at its last (``end``)
    or first point; the tangent points along the curve (bottom to top)."""
    d = curve[-1] - curve[-2] if end else curve[1] - curve[0]
    d = d / np.linalg.norm(d)
    return d, np.array([d[1], -d[0]])


def square_ends(curve: np.ndarray, depth: float, start: bool, end: bool) -> np.ndarray:
    """Add, before the first / after the last point, a point ``depth`` inside the wall along
    the end normal, where the wall flares outwards at that end.

    The outline of a shell then cuts a flaring end square to the wall: closing it straight
    to the axis would cut it at a slant into a knife edge. Only flaring ends get the point:
    it then lies beyond the curve's height range (above the top, below the bottom), so
    the closing line to the axis cannot clip the body (an in-curling rim, whose normal
    points the other way, needs no help: the cavity's extension ends it bluntly).
    """
    pieces = [curve]
    n_end, n_start = end_normal(curve, True)[1], end_normal(curve, False)[1]
    if end and n_end[1] < 0:
        pieces.append((curve[-1] - depth * n_end)[None])
    if start and n_start[1] > 0:
        pieces.insert(0, (curve[0] - depth * n_start)[None])
    return np.concatenate(pieces)


def shell_section(curve: np.ndarray, thickness: float, *, open_top: bool = True,
                  open_bottom: bool = False, floor: float | None = None,
                  rounding: float = 0.3) -> tuple[CrossSection, CrossSection]:
    """Wall and cavity cross-sections of a vessel or shell whose outside is ``curve``.

    curve:     (N, 2) (r, z) outer profile, bottom to top.
    thickness: wall thickness (object units), measured normal to the wall.
    open_top / open_bottom: cut the cavity through that end of the curve.
    floor:     if given, the cavity stops this far above the lowest point (a thick floor).
    rounding:  convex corners (rims) are rounded with radius ``rounding * thickness``.
    Returns (wall, cavity); revolve the cavity to trim parts (handles) poking inside.
    """
    outline = square_ends(curve, 1.5 * thickness, open_bottom, open_top)
    outside = silhouette(outline)
    reach = 4.0 * thickness + 0.05
    cavity = silhouette(extend_curve(curve, reach, open_bottom, open_top)).offset(
        -thickness, JoinType.Round, 2.0, ROUND_SEGMENTS)
    # clip the cavity just past the openings: it is also used to trim handles, which may
    # pass over an opening and must survive there
    z0, z1 = float(np.min(outline[:, 1])), float(np.max(outline[:, 1]))
    big = float(np.abs(curve).max()) + reach + 1.0
    bottom = z0 + floor if floor is not None else (z0 - thickness if open_bottom else z0 - big)
    top = z1 + thickness if open_top else z1 + big
    cavity = cavity ^ rectangle(-big, big, bottom, top)
    wall = outside - cavity
    if rounding > 0:
        # morphological opening: shrink then grow rounds the convex corners of the rim
        r = rounding * thickness
        wall = wall.offset(-r, JoinType.Round, 2.0, ROUND_SEGMENTS).offset(
            r, JoinType.Round, 2.0, ROUND_SEGMENTS)
    # offsets add a vertex per join; dropping the collinear ones keeps the revolution light
    eps = 0.02 * thickness
    return wall.simplify(eps), cavity.simplify(eps)


def trim_outside(parts: Sequence[Manifold], cavity: CrossSection, margin: float) -> list[Manifold]:
    """Cut from each part whatever lies in the revolved ``cavity`` grown by ``margin``.

    Handles and lugs are modelled with ends buried in a vessel wall; trimming them with a
    slightly *grown* cavity leaves their cut faces inside the wall material, so the later
    union never meets coincident surfaces (slow and fragile for exact booleans).
    """
    if not parts:
        return []
    tool = revolve(cavity.offset(margin, JoinType.Round, 2.0, ROUND_SEGMENTS))
    return [subtract(part, [tool]) for part in parts]


def revolve(section: CrossSection, segments: int = SEGMENTS) -> Manifold:
    """Solid of revolution of an (r, z) ``section`` about +Z (only its r >= 0 half is used)."""
    return Manifold.revolve(section, segments)


# --------------------------------------------------------------------------- solids


def tube(path: np.ndarray, radius, *, aspect: float = 1.0, sides: int = 20,
         up: Sequence[float] | None = None) -> Manifold:
    """A closed tube swept along an (N, 3) ``path`` with flat end caps.

    radius: scalar or (N,) radius along the path (object units).
    aspect: the cross-section is an ellipse with half-axes (radius, aspect * radius); the
            first half-axis lies along the frame normal, which starts perpendicular to
            ``up`` (default: a vector not parallel to the first tangent).
    The frame is carried along the path by parallel transport so the tube does not twist.
    Bends must stay gentler than the tube radius or the wall self-intersects.
    """
    p = np.asarray(path, dtype=float)
    n = len(p)
    r = np.broadcast_to(np.asarray(radius, dtype=float), (n,))
    tangent = np.gradient(p, axis=0)
    tangent /= np.linalg.norm(tangent, axis=1, keepdims=True)
    ref = np.asarray(up if up is not None else (0.0, 0.0, 1.0), dtype=float)
    if abs(np.dot(ref / np.linalg.norm(ref), tangent[0])) > 0.99:
        ref = np.array([1.0, 0.0, 0.0]) if abs(tangent[0, 0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    normals = np.empty_like(p)
    normals[0] = np.cross(ref, tangent[0])
    normals[0] /= np.linalg.norm(normals[0])
    # parallel transport is inherently sequential; paths have at most a few hundred points
    for i in range(1, n):
        m = normals[i - 1] - np.dot(normals[i - 1], tangent[i]) * tangent[i]
        normals[i] = m / np.linalg.norm(m)
    binormals = np.cross(tangent, normals)
    a = np.linspace(0.0, 2 * np.pi, sides, endpoint=False)
    ring = (p[:, None, :]
            + r[:, None, None] * (np.cos(a)[None, :, None] * normals[:, None, :]
                                  + aspect * np.sin(a)[None, :, None] * binormals[:, None, :]))
    vertices = np.concatenate([ring.reshape(-1, 3), p[[0, -1]]])
    i, j = np.meshgrid(np.arange(n - 1), np.arange(sides), indexing="ij")
    j1 = (j + 1) % sides
    v00, v01 = i * sides + j, i * sides + j1
    v10, v11 = v00 + sides, v01 + sides
    side_faces = np.concatenate([np.stack([v00, v10, v11], -1).reshape(-1, 3),
                                 np.stack([v00, v11, v01], -1).reshape(-1, 3)])
    c0, c1 = n * sides, n * sides + 1
    js = np.arange(sides)
    # cap windings mirror the side triangles along each end ring
    cap0 = np.column_stack([np.full(sides, c0), js, (js + 1) % sides])
    cap1 = np.column_stack([np.full(sides, c1), (n - 1) * sides + (js + 1) % sides,
                            (n - 1) * sides + js])
    return from_arrays(vertices, np.concatenate([side_faces, cap0, cap1]))


def sphere(radius: float, center=(0.0, 0.0, 0.0), segments: int = 32) -> Manifold:
    """Geodesic sphere."""
    return Manifold.sphere(radius, segments).translate(tuple(float(c) for c in center))


def ellipsoid(radii: Sequence[float], center=(0.0, 0.0, 0.0), segments: int = 32) -> Manifold:
    """Axis-aligned ellipsoid with half-axes ``radii``."""
    return place(Manifold.sphere(1.0, segments), np.diag(np.asarray(radii, float)), center)


def cylinder(p0: Sequence[float], p1: Sequence[float], radius: float, radius1: float | None = None,
             segments: int = 32) -> Manifold:
    """Cylinder (or cone frustum when ``radius1`` is given) from point p0 to point p1."""
    p0, p1 = np.asarray(p0, dtype=float), np.asarray(p1, dtype=float)
    length = float(np.linalg.norm(p1 - p0))
    top = radius if radius1 is None else radius1
    body = Manifold.cylinder(length, radius, top, segments)
    return place(body, frame_z_to(p1 - p0), p0)


def capsule(p0: Sequence[float], p1: Sequence[float], radius: float,
            segments: int = 24) -> Manifold:
    """Segment p0-p1 thickened by ``radius`` (convex hull of two spheres)."""
    return Manifold.batch_hull([sphere(radius, p0, segments), sphere(radius, p1, segments)])


def rounded_box(size: Sequence[float], radius: float, center=(0.0, 0.0, 0.0),
                segments: int = 16) -> Manifold:
    """Box of outer ``size`` (3,) with all edges rounded by ``radius`` (hull of 8 spheres)."""
    half = np.asarray(size, dtype=float) / 2 - radius
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
    balls = [sphere(radius, np.asarray(center) + c * half, segments) for c in corners]
    return Manifold.batch_hull(balls)


def prism(outline: np.ndarray, thickness: float) -> Manifold:
    """The (N, 2) (x, y) polygon ``outline`` (either winding, not closed) extruded by
    ``thickness`` along Z, centred on z = 0."""
    section = CrossSection([snap(np.asarray(outline, dtype=float))], FillRule.NonZero)
    return Manifold.extrude(section, thickness).translate((0.0, 0.0, -thickness / 2))


def box(size: Sequence[float], center=(0.0, 0.0, 0.0)) -> Manifold:
    """Axis-aligned box of ``size`` (3,) centred at ``center``."""
    return Manifold.cube(tuple(float(s) for s in size), True).translate(
        tuple(float(c) for c in center))


def torus(major: float, minor: float, *, sweep_degrees: float = 360.0, segments: int = SEGMENTS,
          minor_segments: int = 20) -> Manifold:
    """Torus about +Z (ring radius ``major``, tube radius ``minor``); a partial ring (capped)
    from angle 0 when ``sweep_degrees`` < 360."""
    section = CrossSection.circle(minor, minor_segments).translate((major, 0.0))
    return Manifold.revolve(section, segments, sweep_degrees)
