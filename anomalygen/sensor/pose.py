"""Rigid poses: drawing one per sample and applying it.

A pose is a (4, 4) float64 homogeneous matrix ``[[R, t], [0, 0, 0, 1]]`` that maps canonical
(unit-sphere) coordinates to posed ones: ``posed = R @ p + t``. Its entries are snapped to the
canonical grid (:mod:`anomalygen.geometry.canonical`), so a sine computed in another last bit
elsewhere gives the same pose; R is then orthonormal to about 1e-7.
"""

from __future__ import annotations

import numpy as np

from anomalygen.geometry.canonical import row_norms, snap
from anomalygen.sensor.spec import PoseSpec


def draw_pose(spec: PoseSpec, rng: np.random.Generator) -> np.ndarray:
    """(4, 4) pose drawn as ``spec`` says; random numbers are drawn only for what is not fixed."""
    pose = np.eye(4)
    if spec.rotation == "up":
        angle = np.deg2rad(rng.uniform(-spec.up_degrees, spec.up_degrees))
        c, s = np.cos(angle), np.sin(angle)
        pose[:2, :2] = [[c, -s], [s, c]]
    elif spec.rotation == "any":
        pose[:3, :3] = _quaternion_matrix(rng.standard_normal(4))
    if spec.translation > 0:
        pose[:3, 3] = rng.uniform(-spec.translation, spec.translation, 3)
    return snap(pose)


def _quaternion_matrix(q: np.ndarray) -> np.ndarray:
    """(3, 3) rotation of the unit quaternion along ``q`` (w, x, y, z): a Gaussian 4-vector's
    direction is uniform on the 3-sphere, so the rotation is uniform (Haar)."""
    w, x, y, z = q / row_norms(q[None])[0]
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
        [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
        [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)],
    ])


def rotate(vectors: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(N, 3) -> (N, 3) ``R @ v`` for each row, summed in a fixed order (the same bits on every CPU)."""
    v = np.asarray(vectors, dtype=np.float64)
    r = pose[:3, :3]
    return np.column_stack([v[:, 0] * r[i, 0] + v[:, 1] * r[i, 1] + v[:, 2] * r[i, 2] for i in range(3)])


def apply_pose(points: np.ndarray, pose: np.ndarray) -> np.ndarray:
    """(N, 3) canonical points -> (N, 3) posed points ``R @ p + t``."""
    return rotate(points, pose) + pose[:3, 3]


def invert_pose(pose: np.ndarray) -> np.ndarray:
    """(4, 4) the inverse of a rigid pose: ``[[R^T, -R^T t], [0, 1]]``."""
    inverse = np.eye(4)
    inverse[:3, :3] = pose[:3, :3].T
    inverse[:3, 3] = -rotate(pose[None, :3, 3], inverse)[0]
    return inverse
