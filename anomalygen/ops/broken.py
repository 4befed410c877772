"""break (file token ``broken``): a chunk missing at an extremity, with a rough fracture surface.

The location favours protruding parts: a vertex is picked with probability growing steeply with
its distance from the centroid (rims, tips, handles), skipping spots so slender that the break's
edge would be short (a snapped wire handle leaves too little to label). The cutter is a blob of
radius ``radius`` whose surface is displaced by smooth multi-scale noise (s.d. ``roughness``),
placed outside the object along the blend of the outward direction and the normal there, so
that it bites ``depth`` into it. Labels: the fracture surface plus every point within ``band``
of its edge."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import trimesh

from anomalygen.ops._cut import smooth_noise, solid_from_arrays, solid_of, subtract, unit_sphere
from anomalygen.ops.base import EditResult, Operator, OperatorNotApplicable, Param, register

PARAMS = (
    Param("depth", (0.15, 0.28), (0.01, 1.0), "how far the break reaches into the object, area-scale units", extent=True),
    Param("radius", (0.25, 0.45), (0.05, 2.0), "radius of the cutter: larger gives a flatter fracture", extent=True),
    Param("roughness", (0.008, 0.018), (0.0, 0.1), "s.d. of the fracture surface's relief"),
    Param("band", (0.07, 0.1), (0.0, 0.3), "labelled band around the fracture's edge", extent=True),
)

PROTRUSION = (20.0, 8.0, 3.0)  # selection weight ~ (distance from centroid / largest) ** p
RELIEF_WAVELENGTH = 0.05  # shortest wavelength of the fracture relief
CUTTER_EDGE = 0.03  # target edge length of the cutter's tessellation
MAX_REMOVED = 0.3
CANDIDATES = 12  # vertices tried per exponent in PROTRUSION
PROBE = 0.05  # width of the shell that estimates the break's edge length
MIN_EDGE = 0.08  # least edge length per unit of surface area (1 / unit-sphere units)


def pick_extremity(
    mesh: trimesh.Trimesh, depth: float, radius: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """((3,) vertex position, (3,) unit direction to push the cutter out along) at a protruding
    vertex: far from the centroid, the direction halfway between radial and normal.

    Candidates are drawn with weight (distance / largest distance) ** p, for p in PROTRUSION
    (steep first, then gentler when the farthest parts all fail); the first one where the
    break's edge would be long enough wins. The edge length is estimated before cutting, as the
    area of the surface in a shell of width PROBE just outside the cutter's sphere over PROBE.
    A slender wire (a bucket's bail) is often the farthest part, but snapping it leaves two
    short stubs: too little to label.
    """
    vertices, normals = np.asarray(mesh.vertices), np.asarray(mesh.vertex_normals)
    centroids, areas = np.asarray(mesh.triangles_center), np.asarray(mesh.area_faces)
    radial = vertices - vertices.mean(axis=0)
    distance = np.linalg.norm(radial, axis=1)
    least_edge = MIN_EDGE * areas.sum()
    for power in PROTRUSION:
        weights = (distance / distance.max()) ** power
        for vertex in rng.choice(len(vertices), size=CANDIDATES, p=weights / weights.sum()):
            direction = radial[vertex] / max(distance[vertex], 1e-12) + normals[vertex]
            norm = np.linalg.norm(direction)
            if norm < 1e-6:  # the normal points at the centroid: a pit, not an extremity
                continue
            direction /= norm
            center = vertices[vertex] + (radius - depth) * direction
            gap = np.linalg.norm(centroids - center, axis=1) - radius
            if areas[(gap >= 0.0) & (gap < PROBE)].sum() / PROBE >= least_edge:
                return vertices[vertex].copy(), direction
    raise OperatorNotApplicable(
        f"break: no protruding part offers a chunk of depth {depth:.3f} (all too slender)"
    )


def apply(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    depth, radius = float(params["depth"]), float(params["radius"])
    roughness, band = float(params["roughness"]), float(params["band"])
    if depth > 1.5 * radius:  # the cutter must bite from outside, not hollow out a cavity
        raise OperatorNotApplicable(f"break: depth {depth:.3f} is too large for a cutter of radius {radius:.3f}")
    solid_of(mesh, "break")  # fail early, before any work, on meshes manifold3d cannot cut
    tip, direction = pick_extremity(mesh, depth, radius, rng)
    center = tip + (radius - depth) * direction

    subdivisions = int(np.clip(np.ceil(np.log2(1.05 * radius / CUTTER_EDGE)), 3, 5))
    sphere, faces = unit_sphere(subdivisions)
    relief = roughness * smooth_noise(radius * sphere, rng, RELIEF_WAVELENGTH)
    if np.any(relief <= -0.5 * radius):
        raise OperatorNotApplicable(f"break: roughness {roughness:.3f} is too large for radius {radius:.3f}")
    cutter = solid_from_arrays(center + sphere * (radius + relief)[:, None], faces)

    cut = subtract(mesh, cutter, "break", rim_band=band, max_removed=MAX_REMOVED)
    return cut.result(
        {
            "depth": depth,
            "radius": radius,
            "roughness": roughness,
            "band": band,
            "center": tip.round(6).tolist(),
            "direction": direction.round(6).tolist(),
            "cutter_center": center.round(6).tolist(),
            "removed_volume": round(cut.removed_volume, 6),
            "dropped_fragments": cut.dropped,
        },
    )


register(Operator(name="break", token="broken", params=PARAMS, apply=apply, doc=__doc__))
