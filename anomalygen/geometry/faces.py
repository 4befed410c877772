"""Face areas and unit normals, recomputed only where an edit moved vertices.

Computed with trimesh's own formulas (``trimesh.triangles.cross``, ``area`` and ``normals``), so
the values are those of ``Trimesh.area_faces`` and ``Trimesh.face_normals`` bit for bit: the
sampler picks faces by cumulative area, and one different bit would move points.
"""

from __future__ import annotations

import numpy as np
from trimesh import triangles as tri


def face_areas_normals(triangles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(F, 3, 3) float64 triangle corners -> ((F,) areas, (F, 3) unit normals; zeros where degenerate)."""
    crosses = tri.cross(triangles)
    unit, valid = tri.normals(crosses=crosses)
    normals = np.zeros((len(triangles), 3))
    normals[valid] = unit
    return tri.area(crosses=crosses), normals


def updated_face_areas_normals(vertices: np.ndarray, faces: np.ndarray, before_vertices: np.ndarray,
                               before_areas: np.ndarray, before_normals: np.ndarray
                               ) -> tuple[np.ndarray, np.ndarray]:
    """Areas and normals of (F, 3) ``faces`` on (V, 3) ``vertices``, given those of the same faces
    on ``before_vertices`` (V, 3): faces none of whose corners changed (bit for bit) keep their
    values, the others are computed again. Returns new (F,) and (F, 3) float64 arrays."""
    changed = (vertices != before_vertices).any(axis=1)[faces].any(axis=1)
    areas, normals = before_areas.copy(), before_normals.copy()
    areas[changed], normals[changed] = face_areas_normals(vertices[faces[changed]])
    return areas, normals
