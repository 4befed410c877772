"""What the modes of :mod:`anomalygen.ops.bending` share: limits, vertex areas, the clearance test."""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree

from anomalygen.geometry.frames import tangent_frame
from anomalygen.ops.base import OperatorNotApplicable

#: a part longer than this along u is not "small" (and bounds the search for the cut); a plate
#: patch's half-length stays below it too
MAX_PART_LENGTH = 1.0
#: accepted part area, relative to the drawn target
AREA_TOLERANCE = (0.7, 1.4)


def vertex_areas(faces: np.ndarray, face_areas: np.ndarray, n_vertices: int) -> np.ndarray:
    """(V,) a third of the area of every face around each vertex (sums to the surface area)."""
    return np.bincount(faces.ravel(), weights=np.repeat(face_areas / 3.0, 3), minlength=n_vertices)


def touches_rest(vertices: np.ndarray, displacement: np.ndarray, moved: np.ndarray, part: np.ndarray,
                 margin: float, edge: float) -> bool:
    """Whether moved vertices end up much closer to the unmoved surface than they were.

    vertices, displacement: (V, 3); moved: (M,) indices of the vertices that move; part: (V,)
    bool, the bent part (not "the rest"); margin: how far around the moved vertices, before and
    after, the rest is searched (the largest displacement plus a slack); edge: the mean edge
    length, the scale of "near". True where a moved vertex ends up closer than 2 edges to the
    rest and less than half as close as it was.
    """
    before, after = vertices[moved], vertices[moved] + displacement[moved]
    lo = np.minimum(before.min(axis=0), after.min(axis=0)) - margin
    hi = np.maximum(before.max(axis=0), after.max(axis=0)) + margin
    near = np.all((vertices >= lo) & (vertices <= hi), axis=1) & ~part
    if not near.any():
        return False
    tree = cKDTree(vertices[near])
    d_before, d_after = tree.query(before)[0], tree.query(after)[0]
    return bool(np.any((d_after < 0.5 * d_before) & (d_after < 2.0 * edge)))


def refuse_if_touching(vertices: np.ndarray, displacement: np.ndarray, ids: np.ndarray, part: np.ndarray,
                       edge: float, what: str) -> None:
    """Raise OperatorNotApplicable when the part's moved vertices (among ``ids``, (K,) indices)
    end up near the rest of the object (:func:`touches_rest`, searched within the largest
    displacement plus 0.1); ``what`` names the part in the message."""
    moved = ids[np.linalg.norm(displacement[ids], axis=1) > 1e-9]
    if len(moved):
        margin = float(np.linalg.norm(displacement[moved], axis=1).max()) + 0.1
        if touches_rest(vertices, displacement, moved, part, margin, edge):
            raise OperatorNotApplicable(f"the bent {what} would touch the rest of the object")


def hinge_frame(vertices: np.ndarray, cut: np.ndarray, u: np.ndarray, rng: np.random.Generator
                ) -> tuple[np.ndarray, np.ndarray]:
    """The bending plane's in-plane frame: ``a`` (3,) along the longest extent of the cut's
    vertices (``cut`` (C,) indices; the hinge or bend axis), its sign drawn from ``rng`` (which
    way the part turns), and ``b`` = u x a across it; ``u`` (3,) is the part's direction."""
    plane = tangent_frame(u)[:, :2]  # (3, 2)
    q = (vertices[cut] - vertices[cut].mean(axis=0)) @ plane
    a = plane @ np.linalg.eigh(q.T @ q)[1][:, -1]
    a *= rng.choice((-1.0, 1.0))
    return a, np.cross(u, a)


def planar_displacement(vertices: np.ndarray, ids: np.ndarray, x: np.ndarray, r: np.ndarray, along: np.ndarray,
                        side: np.ndarray, u: np.ndarray, b: np.ndarray, part: np.ndarray, edge: float,
                        what: str) -> np.ndarray:
    """(V, 3) displacement moving the part's vertices ``ids`` (K,) from (x, r) to (along, side),
    coordinates along ``u`` and ``b`` (each (K,)); refused (OperatorNotApplicable) where the
    moved part would come near the rest of the object (:func:`refuse_if_touching`)."""
    displacement = np.zeros_like(vertices)
    displacement[ids] = (along - x)[:, None] * u + (side - r)[:, None] * b
    refuse_if_touching(vertices, displacement, ids, part, edge, what)
    return displacement


def part_where(u: np.ndarray, a: np.ndarray, pivot: np.ndarray, transition: float, length: float, **extra) -> dict:
    """The ``where`` record of a bent part, for its params: its direction ``u``, the hinge or bend
    axis ``a`` and the ``pivot`` ((3,) each), the transition's and the part's length (units),
    then the mode's own entries, in that order."""
    return {"direction": u, "axis": a, "pivot": pivot, "transition": transition, "part_length": length, **extra}
