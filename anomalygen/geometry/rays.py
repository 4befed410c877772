"""The one ray caster: first hits of rays on a triangle mesh, through trimesh's ray module.

trimesh offers two intersectors with one interface: Embree's (``trimesh.ray.ray_pyembree``,
needs the optional ``embreex`` package; fast, single precision) and a pure-numpy one
(``trimesh.ray.ray_triangle``, an r-tree of triangle bounds and a float64 plane/barycentric
test). :class:`RayCaster` picks one and adds what callers need on top: a reach, faces a ray
must not count (those around its origin) and the first hit's distance.

Generated output must be the same wherever it is made, so callers whose hits reach the output
(the operators) ask for ``engine="triangle"``: whether ``embreex`` is installed must not change
a benchmark. ``engine="auto"`` takes Embree when it is importable.

The triangle intersector costs milliseconds a ray on a mesh of tens of thousands of faces;
many rays from one point (a scanner's) go through :mod:`anomalygen.geometry.zbuffer` instead.
"""

from __future__ import annotations

import importlib.util

import numpy as np
import trimesh

ENGINES = ("auto", "embree", "triangle")


def _intersector(mesh: trimesh.Trimesh, engine: str):
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {engine!r}")
    if engine == "embree" or (engine == "auto" and importlib.util.find_spec("embreex") is not None):
        from trimesh.ray import ray_pyembree

        return ray_pyembree.RayMeshIntersector(mesh)
    from trimesh.ray import ray_triangle

    return ray_triangle.RayMeshIntersector(mesh)


class RayCaster:
    """Rays against one mesh (the intersector's acceleration structure is built once, lazily).

    mesh: the surface, any units; engine: "triangle" (pure numpy, float64, the same on every
    installation), "embree" or "auto" (Embree when importable).
    """

    def __init__(self, mesh: trimesh.Trimesh, engine: str = "auto") -> None:
        self.mesh = mesh
        self.intersector = _intersector(mesh, engine)

    def first_hits(self, origins: np.ndarray, directions: np.ndarray, reach: float = np.inf,
                   skip: list[np.ndarray] | None = None, min_distance: float = 1e-9
                   ) -> tuple[np.ndarray, np.ndarray]:
        """The first face each ray meets within ``reach``.

        origins, directions: (R, 3), directions unit; reach: mesh units; skip: per ray, (k,)
        faces never counted (e.g. those around an origin on the surface); hits closer than
        ``min_distance`` are not counted either. Returns ((R,) distance, inf where nothing is
        hit; (R,) int64 face, -1 where nothing is hit). Ties go to the lowest face index.
        """
        origins = np.asarray(origins, dtype=np.float64).reshape(-1, 3)
        directions = np.asarray(directions, dtype=np.float64).reshape(-1, 3)
        distance = np.full(len(origins), np.inf)
        face = np.full(len(origins), -1, dtype=np.int64)
        faces, rays, locations = self.intersector.intersects_id(
            origins, directions, multiple_hits=True, return_locations=True)
        if not len(faces):
            return distance, face
        faces, rays = np.asarray(faces, dtype=np.int64), np.asarray(rays, dtype=np.int64)
        along = ((np.asarray(locations, dtype=np.float64) - origins[rays]) * directions[rays]).sum(axis=1)
        keep = (along > min_distance) & (along <= reach)
        if skip is not None:
            keep &= np.array([f not in set(skip[r].tolist()) for f, r in zip(faces, rays)], dtype=bool)
        faces, rays, along = faces[keep], rays[keep], along[keep]
        order = np.lexsort((faces, along, rays))            # by ray, then distance, then face
        first = order[np.r_[True, rays[order][1:] != rays[order][:-1]]] if len(order) else order
        distance[rays[first]] = along[first]
        face[rays[first]] = faces[first]
        return distance, face
