"""crack (file token ``crak``): a narrow, deep, sharp-walled fissure along a curve on the surface.

A meandering polyline of length ``length`` is walked along the surface from a random point
(both ways), with a slowly drifting heading plus small jitter, so it reads as a fracture line
rather than a geodesic. At every station the cutter's cross-section is a V (a wedge of opening
``width`` at the surface, nearly closed at ``depth`` below it; ``depth >= 3 * width``), both
tapering towards the crack's ends; the sections are joined by convex hulls and subtracted.
Where the wall is thinner than the depth the wedge goes through it (stopping halfway to
whatever lies behind). Labels: the crack's walls plus every point within ``band`` of its lips.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from anomalygen.ops._cut import crossings, hull_sweep, solid_of, subtract
from anomalygen.ops._surface import geodesic_distance, random_surface_point
from anomalygen.ops.base import EditResult, Operator, OperatorNotApplicable, Param, register

PARAMS = (
    Param("length", (0.6, 1.0), (0.05, 2.0), "length of the crack along the surface, area-scale units", extent=True),
    Param("width", (0.014, 0.024), (0.002, 0.1), "opening of the crack at the surface", extent=True),
    Param("depth", (0.08, 0.14), (0.01, 0.5), "depth of the fissure (raised to 3 x width if less)"),
    Param("band", (0.04, 0.07), (0.0, 0.2), "labelled band around the crack's lips", extent=True),
)

STEP = 0.02  # station spacing along the crack
JITTER = 0.2  # s.d. of the heading's deviation from its smooth course, radians: a crack zig-zags
ABOVE = 0.02  # the wedge starts this far outside the surface so it opens cleanly
TIP = 0.1  # half-width at the bottom of the V relative to the half-width at the surface
MAX_REMOVED = 0.2


def closest_points(point: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """(K, 3) barycentric weights of the point of each triangle (K, 3, 3) closest to ``point`` (3,).

    The Voronoi-region test of Ericson, Real-Time Collision Detection 5.1.5, vectorised over the
    triangles: the first region that holds the point decides (corner a, b, edge ab, corner c,
    edges ac, bc, else the interior).
    """
    a, b, c = triangles[:, 0], triangles[:, 1], triangles[:, 2]
    ab, ac = b - a, c - a
    ap, bp, cp = point - a, point - b, point - c
    d1, d2 = np.einsum("ij,ij->i", ab, ap), np.einsum("ij,ij->i", ac, ap)
    d3, d4 = np.einsum("ij,ij->i", ab, bp), np.einsum("ij,ij->i", ac, bp)
    d5, d6 = np.einsum("ij,ij->i", ab, cp), np.einsum("ij,ij->i", ac, cp)
    va, vb, vc = d3 * d6 - d5 * d4, d5 * d2 - d1 * d6, d1 * d4 - d3 * d2
    with np.errstate(divide="ignore", invalid="ignore"):
        on_ab, on_ac = d1 / (d1 - d3), d2 / (d2 - d6)
        on_bc = (d4 - d3) / ((d4 - d3) + (d5 - d6))
        inside_b, inside_c = vb / (va + vb + vc), vc / (va + vb + vc)
    regions = [
        (d1 <= 0) & (d2 <= 0),
        (d3 >= 0) & (d4 <= d3),
        (vc <= 0) & (d1 >= 0) & (d3 <= 0),
        (d6 >= 0) & (d5 <= d6),
        (vb <= 0) & (d2 >= 0) & (d6 <= 0),
        (va <= 0) & (d4 - d3 >= 0) & (d5 - d6 >= 0),
    ]
    wb = np.select(regions, [0.0, 1.0, on_ab, 0.0, 0.0, 1.0 - on_bc], inside_b)
    wc = np.select(regions, [0.0, 0.0, 0.0, 1.0, on_ac, on_bc], inside_c)
    weights = np.column_stack([1.0 - wb - wc, wb, wc])
    return np.where(np.isfinite(weights), weights, 1.0 / 3.0)  # a degenerate triangle: its centroid


def walk(mesh: trimesh.Trimesh, length: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """((S, 3) points, (S, 3) unit normals) of a meandering curve on the surface, S ~ length / STEP.

    The curve is walked both ways from a random point; every step moves STEP along the current
    heading and goes to the closest point of the surface. Only faces within geodesic reach of
    the start that face the same way as the walk are candidates, so it never jumps through a
    thin wall to the surface on its other side.
    """
    start, face = random_surface_point(mesh, rng)
    # the longest edge keeps whole faces of a coarse mesh within reach
    reach = geodesic_distance(mesh, start, face, limit=0.5 * length + 0.1 + mesh.edges_unique_length.max())
    faces = np.asarray(mesh.faces)
    region = np.union1d(np.flatnonzero(np.isfinite(reach)[faces].any(axis=1)), [face])
    triangles = np.asarray(mesh.vertices)[faces[region]]  # plain arrays: no cache checks in the loop
    face_normals = np.asarray(mesh.face_normals)[region]
    corner_normals = np.asarray(mesh.vertex_normals)[faces[region]]
    tree = cKDTree(triangles.mean(axis=1))
    candidates = min(8, len(region))

    def project(point: np.ndarray, facing: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(closest surface point, smoothed unit normal there, distance to it)."""
        near = np.atleast_1d(tree.query(point, k=candidates)[1])
        same_side = near[face_normals[near] @ facing > 0.0]
        near = same_side if len(same_side) else near
        weights = closest_points(point, triangles[near])
        closest = np.einsum("ij,ijk->ik", weights, triangles[near])
        gaps = np.linalg.norm(closest - point, axis=1)
        best = int(np.argmin(gaps))
        normal = weights[best] @ corner_normals[near[best]]
        return closest[best], normal / np.linalg.norm(normal), float(gaps[best])

    _, normal0, _ = project(start, face_normals[np.searchsorted(region, face)])
    heading0 = np.cross(normal0, rng.normal(size=3))
    heading0 /= np.linalg.norm(heading0)
    halves = []
    steps = max(1, int(round(0.5 * length / STEP)))
    for sign in (1.0, -1.0):
        point, normal, heading = start, normal0, sign * heading0
        bend = rng.uniform(-1.5, 1.5)  # mean turning, radians per unit length
        # the zig-zag is white noise on the heading's deviation, so it does not accumulate
        jitter = rng.normal(0.0, JITTER, size=steps + 1)
        points, point_normals = [], []
        for k in range(steps):
            angle = bend * STEP + jitter[k + 1] - jitter[k]
            heading = np.cos(angle) * heading + np.sin(angle) * np.cross(normal, heading)
            point, normal, gap = project(point + STEP * heading, normal)
            if gap > 2.0 * STEP:
                break  # the surface fell away under the step (a knife edge): end the crack here
            heading -= np.dot(heading, normal) * normal
            heading /= np.linalg.norm(heading)
            points.append(point)
            point_normals.append(normal)
        halves.append((points, point_normals))
    (fwd, fwd_n), (back, back_n) = halves
    points = np.array(back[::-1] + [start] + fwd)
    normals = np.array(back_n[::-1] + [normal0] + fwd_n)
    if (len(points) - 1) * STEP < 0.6 * length:
        raise OperatorNotApplicable(f"crack: a path of length {length:.2f} does not fit on the surface here")
    return points, normals


def apply(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    length, width, band = float(params["length"]), float(params["width"]), float(params["band"])
    depth = max(float(params["depth"]), 3.0 * width)
    solid = solid_of(mesh, "crack")
    points, normals = walk(mesh, length, rng)

    tangents = np.gradient(points, axis=0)
    sides = np.cross(normals, tangents)
    side_lengths = np.linalg.norm(sides, axis=1, keepdims=True)
    if np.any(side_lengths < 1e-9):  # the path stalled or runs along the normal: no crack plane
        raise OperatorNotApplicable("crack: the path folds over a sharp edge of the surface")
    sides /= side_lengths
    # cracks close towards their tips: over the outer quarter at each end the section shrinks
    # (square-root profile) to about a third of its size
    position = np.linspace(0.0, 1.0, len(points))
    taper = np.clip(np.minimum(position, 1.0 - position) / 0.25, 0.1, 1.0) ** 0.5
    depths = depth * taper
    for i, (point, normal) in enumerate(zip(points, normals)):
        probe = crossings(solid, (point + ABOVE * normal)[None], -normal, ABOVE + depths[i] + 1.0, -ABOVE)
        if probe.valid[0] and probe.exit[0] < depths[i]:  # a thin wall: go through, not into what is behind
            depths[i] = min(depths[i], 0.5 * (probe.exit[0] + probe.reentry[0]))
    half = 0.5 * width * taper
    slope = (1.0 - TIP) * half / depths  # the V narrows this much per unit depth
    top, bottom = half + slope * ABOVE, TIP * half
    sections = np.stack(
        [
            points + ABOVE * normals + top[:, None] * sides,
            points + ABOVE * normals - top[:, None] * sides,
            points - depths[:, None] * normals - bottom[:, None] * sides,
            points - depths[:, None] * normals + bottom[:, None] * sides,
        ],
        axis=1,
    )
    cut = subtract(mesh, hull_sweep(sections), "crack", rim_band=band, max_removed=MAX_REMOVED)
    return cut.result(
        {
            "length": length,
            "width": width,
            "depth": depth,
            "band": band,
            "center": points[len(points) // 2].round(6).tolist(),
            "curve": points.round(6).tolist(),
            "curve_depths": depths.round(6).tolist(),
        },
    )


register(Operator(name="crack", token="crak", params=PARAMS, apply=apply, doc=__doc__))
