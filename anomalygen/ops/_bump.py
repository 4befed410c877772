"""A smooth bump along the surface normal: the shared core of ``bulge`` and ``concavity``."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import trimesh

from anomalygen.ops._surface import geodesic_distance, random_surface_point
from anomalygen.ops.base import EditResult, OperatorNotApplicable, Param

BUMP_PARAMS = (
    Param("radius", (0.25, 0.45), (0.01, 1.0), "geodesic radius of the bump, in area-scale units", extent=True),
    Param("height", (0.06, 0.12), (0.001, 0.5), "largest displacement, at the centre, unit-sphere units"),
)


def falloff(s: np.ndarray) -> np.ndarray:
    """Smooth profile on s = distance / radius: 1 at s=0, 0 with zero slope at s>=1 (C1)."""
    s = np.clip(s, 0.0, 1.0)
    return (1.0 - s * s) ** 2


def bump(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator, sign: float) -> EditResult:
    """Move vertices within geodesic distance ``radius`` of a random surface point along their
    vertex normals by ``sign * height * falloff(d / radius)``.

    sign=+1 pushes the surface outward (a bulge), sign=-1 sinks it inward (a concavity).
    """
    radius, height = float(params["radius"]), float(params["height"])
    center, face = random_surface_point(mesh, rng)
    distance = geodesic_distance(mesh, center, face, limit=radius)
    inside = np.flatnonzero(np.isfinite(distance))
    if len(inside) < 4:
        raise OperatorNotApplicable(f"bump of radius {radius:.3f} covers fewer than 4 vertices")
    displacement = np.zeros_like(mesh.vertices)
    weights = sign * height * falloff(distance[inside] / radius)
    displacement[inside] = mesh.vertex_normals[inside] * weights[:, None]
    edited = trimesh.Trimesh(mesh.vertices + displacement, mesh.faces, process=False)
    return EditResult(
        mesh=edited,
        displacement=displacement,
        new_faces=np.zeros(len(mesh.faces), dtype=bool),
        params={"radius": radius, "height": height, "center": center.round(6).tolist()},
    )
