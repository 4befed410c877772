"""hole: a round or irregular opening of radius r cut into the surface at a random point.

The cutter is a prism along the local inward normal whose cross-section is a circle of radius
``radius`` perturbed by up to ``irregularity * radius`` (a smooth star-shaped outline). Where
the wall along the axis is at most 1.5 x ``depth`` thick the prism passes through it (a tunnel
through the wall, stopping in the air behind it); elsewhere it is a blind hole of depth
``depth``. Labels: the new walls (and floor) of the hole, plus every point within ``band`` of
its rim(s).
"""

from __future__ import annotations

from typing import Mapping

import numpy as np
import trimesh

from anomalygen.geometry.frames import tangent_frame
from anomalygen.ops._cut import crossings, prism, smooth_noise, solid_of, subtract
from anomalygen.ops._surface import random_surface_point
from anomalygen.ops.base import EditResult, Operator, OperatorNotApplicable, Param, register

PARAMS = (
    Param("radius", (0.12, 0.2), (0.01, 0.5), "mean radius of the opening, area-scale units", extent=True),
    Param("depth", (0.12, 0.2), (0.01, 1.0), "depth of a blind hole; walls up to 1.5 x this thick are pierced"),
    Param("irregularity", (0.0, 0.3), (0.0, 0.6), "largest relative deviation of the outline from a circle"),
    Param("band", (0.06, 0.1), (0.0, 0.3), "labelled band around the rim, area-scale units", extent=True),
)

RINGS = 12  # probe rays on the outline, besides the one on the axis
OUTLINE_STEP = 0.008  # outline vertex spacing: finer than the mesh, so a round hole looks round
WALL_STEP = 0.025  # split of the walls along the axis, about the prepared edge length
MAX_REMOVED = 0.25
PIERCE = 1.5  # walls up to this multiple of ``depth`` thick are pierced rather than drilled


def surface_normal(mesh: trimesh.Trimesh, point: np.ndarray, face: int, radius: float) -> np.ndarray:
    """(3,) unit outward normal of the surface patch within ``radius`` of ``point``: the
    area-weighted mean of face normals there, leaving out faces that turn away from the picked
    face (the other side of a thin wall is closer than ``radius``)."""
    normals = mesh.face_normals
    near = np.linalg.norm(mesh.triangles_center - point, axis=1) < radius
    near &= normals @ normals[face] > 0.0
    near[face] = True
    mean = (normals[near] * mesh.area_faces[near, None]).sum(axis=0)
    length = np.linalg.norm(mean)
    if not length > 1e-12:
        raise OperatorNotApplicable("hole: the surface has no defined normal at the picked point")
    return mean / length


def outline(radius: float, irregularity: float, rng: np.random.Generator) -> np.ndarray:
    """(K, 2) CCW star-shaped outline: radius * (1 + irregularity * g(angle)), max |g| = 1."""
    count = int(np.clip(np.ceil(2 * np.pi * radius / OUTLINE_STEP), 24, 256))
    angle = np.linspace(0.0, 2 * np.pi, count, endpoint=False)
    circle = np.column_stack([np.cos(angle), np.sin(angle), np.zeros(count)])
    noise = smooth_noise(circle, rng, wavelength=0.8)  # periodic because it is sampled on a circle
    rho = radius * (1.0 + irregularity * noise / np.abs(noise).max())
    return rho[:, None] * circle[:, :2]


def apply(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    radius, depth = float(params["radius"]), float(params["depth"])
    irregularity, band = float(params["irregularity"]), float(params["band"])
    solid = solid_of(mesh, "hole")
    center, face = random_surface_point(mesh, rng)
    axis = -surface_normal(mesh, center, face, radius)  # inward
    axes = tangent_frame(axis)
    shape = outline(radius, irregularity, rng)

    # Probe the wall along the axis and on the outline: where it starts, ends, what lies behind.
    offsets = np.vstack([[0.0, 0.0], shape[:: int(np.ceil(len(shape) / RINGS))]])
    above = 0.5 * radius + 0.05
    starts = center + offsets @ axes[:, :2].T - above * axis
    probe = crossings(solid, starts, axis, above + 2.5, -above)
    if not probe.valid.all():
        raise OperatorNotApplicable(f"hole: the surface does not extend a radius {radius:.3f} around the centre")
    if np.ptp(probe.entry) > 0.8 * radius:
        raise OperatorNotApplicable(f"hole: the surface is too curved for a hole of radius {radius:.3f}")
    top = probe.entry.min() - (0.02 + 0.1 * radius)
    if probe.exit.max() <= PIERCE * depth:  # a wall: pierce it, stop halfway to what lies behind
        gap = probe.reentry.min() - probe.exit.max()
        if gap < 0.01:
            raise OperatorNotApplicable("hole: no room behind the wall for the hole to open into")
        bottom = probe.exit.max() + min(0.5 * gap, 0.02 + 0.25 * radius)
    elif probe.exit.min() >= depth + 0.02:  # solid enough for a blind hole with a floor
        bottom = depth
    else:
        raise OperatorNotApplicable(f"hole: the wall thickness varies too much around depth {depth:.3f}")

    cutter = prism(shape, axes, center + top * axis, bottom - top, WALL_STEP)
    cut = subtract(mesh, cutter, "hole", rim_band=band, max_removed=MAX_REMOVED)
    new_depths = (cut.new_centroids() - center) @ axis
    if np.any(np.abs(new_depths - top) < 1e-6):
        raise OperatorNotApplicable("hole: the cutter's top is inside material, the hole would be roofed over")
    through = not np.any(np.abs(new_depths - bottom) < 1e-6)  # no floor left: the hole is open at the back
    return cut.result(
        {
            "radius": radius,
            "depth": depth,
            "irregularity": irregularity,
            "band": band,
            "center": center.round(6).tolist(),
            "axis": axis.round(6).tolist(),
            "through": bool(through),
            "cut_depth": round(float(bottom), 6),
            "min_radius": round(float(np.linalg.norm(shape, axis=1).min()), 6),
        },
    )


register(Operator(name="hole", token="hole", params=PARAMS, apply=apply, doc=__doc__))
