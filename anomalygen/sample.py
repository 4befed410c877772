"""Area-uniform surface sampling that remembers where every point came from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import trimesh

from anomalygen.geometry.faces import updated_face_areas_normals
from anomalygen.geometry.sampling import area_uniform_points


@dataclass
class SurfaceSample:
    """N points on a mesh surface.

    points:      (N, 3) float64 positions.
    normals:     (N, 3) float64 unit normals of the faces the points lie on.
    face_index:  (N,) int64 face of each point.
    barycentric: (N, 3) float64 barycentric coordinates of each point in its face.
    """

    points: np.ndarray
    normals: np.ndarray
    face_index: np.ndarray
    barycentric: np.ndarray


def sample_surface(mesh: trimesh.Trimesh, count: int, rng: np.random.Generator,
                   face_geometry: tuple[np.ndarray, np.ndarray] | None = None) -> SurfaceSample:
    """``count`` points drawn uniformly by area over the surface of ``mesh``.

    face_geometry: ((F,) areas, (F, 3) unit normals) of the faces of ``mesh`` when already known
    (:func:`edited_face_geometry`), else those of ``mesh.area_faces`` and ``mesh.face_normals``.
    Written out rather than calling ``trimesh.sample.sample_surface`` so that the random
    stream, and therefore every generated benchmark, depends on numpy's Generator alone.
    """
    areas, normals = face_geometry or (mesh.area_faces, mesh.face_normals)
    points, face_index, barycentric = area_uniform_points(mesh.vertices, mesh.faces, areas, count, rng)
    return SurfaceSample(
        points=points,
        normals=np.asarray(normals)[face_index],
        face_index=face_index,
        barycentric=barycentric,
    )


def edited_face_geometry(base: trimesh.Trimesh, edits: Sequence) -> tuple[np.ndarray, np.ndarray]:
    """((F,) areas, (F, 3) unit normals) of the faces of the last edit's mesh (``base``'s without edits).

    edits: :class:`anomalygen.ops.base.EditResult` in order. An edit that keeps its input's faces
    (``face_origin`` None) and moves a few vertices, as displacements do, changes the areas of
    the faces around them only: the others keep their input's values, the same bits as
    ``Trimesh.area_faces`` would compute, at a fraction of the cost.
    """
    before = base
    areas, normals = np.asarray(base.area_faces), np.asarray(base.face_normals)
    for edit in edits:
        mesh = edit.mesh
        vertices, faces = np.asarray(mesh.vertices), np.asarray(mesh.faces)
        if (edit.face_origin is None and vertices.shape == before.vertices.shape
                and np.array_equal(faces, before.faces)):
            areas, normals = updated_face_areas_normals(vertices, faces, np.asarray(before.vertices), areas, normals)
        else:
            areas, normals = np.asarray(mesh.area_faces), np.asarray(mesh.face_normals)
        before = mesh
    return areas, normals
