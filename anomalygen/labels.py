"""Exact per-point labels from the edits' own records (see :mod:`anomalygen.ops.base`).

A sampled point is traced back through the edits of its sample, last edit first: at each edit
it is claimed (anomalous, with that edit's anomaly index) if it lies on a face the edit
created, if the edit moved it further than ``threshold`` from its pre-image, or if it lies
within the edit's rim band; otherwise its pre-image on the edit's input is computed by
barycentric coordinates and the previous edit is asked. Nothing is guessed from geometry
after the fact, so labels cover the edited region and nothing else.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import trimesh
from scipy.spatial import cKDTree

from anomalygen.ops.base import EditResult


def anomaly_index(
    base: trimesh.Trimesh,
    edits: Sequence[EditResult],
    face_index: np.ndarray,
    barycentric: np.ndarray,
    threshold: float,
) -> np.ndarray:
    """(N,) uint8: 0 for a normal point, k for a point changed by ``edits[k - 1]``.

    face_index/barycentric: where the points lie on ``edits[-1].mesh`` (or on ``base`` when
    there are no edits). Where several edits claim a point, the last one wins: its surface is
    the one that was sampled.
    """
    labels = np.zeros(len(face_index), dtype=np.uint8)
    open_ = np.arange(len(face_index))  # points not yet claimed, still traceable
    face, bary = face_index, barycentric
    for k in range(len(edits) - 1, -1, -1):
        edit = edits[k]
        corners = np.asarray(edit.mesh.faces)[face]
        moved = _displacement(edit.displacement, corners, bary)
        claimed = edit.new_faces[face] | (np.linalg.norm(moved, axis=1) > threshold)
        trace = k > 0 and edit.face_origin is not None  # the first edit's pre-images are not needed
        if len(edit.rim_points) or trace:
            position = np.einsum("nk,nkd->nd", bary, np.asarray(edit.mesh.vertices)[corners])
        if len(edit.rim_points):
            distance, _ = cKDTree(edit.rim_points).query(position, distance_upper_bound=edit.rim_band)
            claimed |= np.isfinite(distance)
        labels[open_[claimed]] = k + 1
        if k == 0:
            break
        keep = ~claimed
        open_, face, bary, moved = open_[keep], face[keep], bary[keep], moved[keep]
        if trace and len(open_):
            previous = edits[k - 1].mesh
            face = edit.face_origin[face]
            # the corners of the faces still traced only (trimesh's ``triangles`` would build and hash all)
            corners = np.asarray(previous.vertices)[np.asarray(previous.faces)[face]]
            bary = trimesh.triangles.points_to_barycentric(corners, position[keep] - moved)
    return labels


def _displacement(displacement: np.ndarray, corners: np.ndarray, bary: np.ndarray) -> np.ndarray:
    """(N, 3) displacement of the points with (N, 3) ``bary`` in the faces with (N, 3) vertex
    ``corners``: interpolated on faces with a moved corner, exactly 0 elsewhere (as interpolation
    would give), which skips the arithmetic for the many points an edit does not touch."""
    on_moved = displacement.any(axis=1)[corners].any(axis=1)
    moved = np.zeros((len(corners), 3))
    moved[on_moved] = np.einsum("nk,nkd->nd", bary[on_moved], displacement[corners[on_moved]])
    return moved
