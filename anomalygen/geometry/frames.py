"""Tangent frames: orthonormal bases around a direction."""

from __future__ import annotations

import numpy as np


def tangent_frame(axis: np.ndarray) -> np.ndarray:
    """(3, 3) right-handed orthonormal columns (u, v, axis) around a unit (3,) ``axis``.

    u is ``axis x e``, e the coordinate axis least aligned with ``axis``, normalised; v is
    ``axis x u``. Unitless; the same bits for the same input on every CPU call site.
    """
    helper = np.eye(3)[np.argmin(np.abs(axis))]
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    return np.column_stack([u, np.cross(axis, u), axis])
