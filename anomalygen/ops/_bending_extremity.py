"""Extremity mode of :mod:`anomalygen.ops.bending`: the end of a compact object (the cap of a
ball, the corner of a box, the shoulder of a bottle) bent outward about a hinge in its cutting
plane; used only where neither a slender part nor a thin plate bends (see that module's docstring).

The extremity is the tip mode's part (:func:`anomalygen.ops._bending_tip.find_part`): the
connected piece of surface beyond a cutting plane ``x.u = s0`` whose area is ``part_fraction``
of the surface, for a direction u tried among the principal axes, the coordinate axes and a few
random ones. It is wider than it is long, so bending it about an axis through its middle (as
the tip mode bends a beam) would push one side into itself. Instead it turns about a hinge: the
line in the cutting plane along the part's longest extent (a), at the part's outermost reach
across it (b, the side drawn at random). Measuring x from the plane along u and rho <= 0 from
the hinge along b, a vertex turns about the hinge by ``t(x) = angle * smoothstep(x / tau)``,
away from the rest of the object:

    x'   = x cos t - rho sin t        (x grows: the part lifts off the cut)
    rho' = x sin t + rho cos t

The map's Jacobian determinant is ``1 - rho dt/dx >= 1``: the transition only stretches, it never
compresses, so the part cannot fold through itself; beyond tau the part turns rigidly by the
full angle. tau is the shortest that keeps the stretch along u under GENTLE_STRETCH, else the
one that stretches least (a flat cap needs more than a corner), at most MAX_STRETCH. The angle and its slope are 0 at the cut, so the
surface stays connected and smooth, the topology is untouched, and the displacement field gives
the labels (as in the other modes). A direction is skipped where the part is a separate body,
a flat face, too flat to reach the angle within MAX_STRETCH, or would come near the rest of the
object (:func:`anomalygen.ops._bending_shared.refuse_if_touching`).
"""

from __future__ import annotations

import numpy as np

from anomalygen.ops._bending_shared import hinge_frame, part_where, planar_displacement
from anomalygen.ops._bending_tip import Part, bend_first_part
from anomalygen.ops._curves import smoothstep
from anomalygen.ops.base import OperatorNotApplicable

#: largest stretch of a fibre along u in the transition (-rho * dt/dx: 1 doubles its length)
MAX_STRETCH = 6.0
#: the transition takes between these fractions of the part's length along u: the shortest that
#: keeps the stretch under GENTLE_STRETCH, else the one that stretches least
TRANSITION = (0.3, 0.85)
GENTLE_STRETCH = 2.0
#: transitions tried between those bounds
TRANSITION_STEPS = 12


def _turn(x: np.ndarray, tau: float, theta: float) -> tuple[np.ndarray, np.ndarray]:
    """(N,) angle t(x) = theta * smoothstep(x / tau) and its slope dt/dx."""
    q = np.clip(x / tau, 0.0, 1.0)
    return theta * smoothstep(q), theta * 6.0 * q * (1.0 - q) / tau


def hinge(
    vertices: np.ndarray, edges: np.ndarray, edge: float, part: Part, angle: float, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """(V, 3) displacement that turns ``part`` outward by ``angle`` degrees about a hinge in its
    cutting plane, and where (for params).

    edge: the mean edge length, the scale of "near" in the clearance test. Raises
    OperatorNotApplicable where the part is a separate body or a flat face, too flat to turn by
    the angle within MAX_STRETCH, or would come near the rest of the object.
    """
    u, mask = part.u, part.mask
    crossing = mask[edges[:, 0]] != mask[edges[:, 1]]
    cut = np.unique(edges[crossing][mask[edges[crossing]]])
    if len(cut) < 3:
        raise OperatorNotApplicable("the extremity is a separate body, not a part")
    a, b = hinge_frame(vertices, cut, u, rng)  # a along the hinge, its sign: which side the hinge is on
    ids = np.flatnonzero(mask)
    x = vertices[ids] @ u - part.s0
    r = vertices[ids] @ b
    length = float(x.max())
    # the hinge: in the cutting plane, at the part's outermost reach along b
    pivot = part.s0 * u + float((vertices[cut] @ a).mean()) * a + float(r.max()) * b
    rho = r - r.max()  # <= 0
    width = float(-rho.min())
    if length <= 0.0 or width <= 0.0:
        raise OperatorNotApplicable("the extremity is a flat face, not a part")
    theta = np.radians(angle)
    taus = np.linspace(TRANSITION[0], TRANSITION[1], TRANSITION_STEPS) * length
    stretches = np.array([(-rho * _turn(x, tau, theta)[1]).max() for tau in taus])
    gentle = np.flatnonzero(stretches <= GENTLE_STRETCH)
    pick = int(gentle[0]) if len(gentle) else int(np.argmin(stretches))
    tau, stretch = float(taus[pick]), float(stretches[pick])
    if stretch > MAX_STRETCH:
        raise OperatorNotApplicable("the extremity is too flat to turn by the angle without tearing")

    t = _turn(x, tau, theta)[0]
    along = x * np.cos(t) - rho * np.sin(t)
    side = x * np.sin(t) + rho * np.cos(t)
    displacement = planar_displacement(vertices, ids, x, rho, along, side, u, b, mask, edge, "extremity")
    return displacement, part_where(u, a, pivot, tau, length, width=width, stretch=stretch)


def bend_extremity(mesh, vertices, edges, edge, vertex_area, target, angle, rng) -> tuple[np.ndarray, dict, float]:
    """Extremity mode: (V, 3) displacement, where (for params), and the part's area."""
    return bend_first_part("extremity", hinge, "extremity", vertices, edges, edge, vertex_area, target, angle, rng)
