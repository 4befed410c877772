"""bending: a small protruding part, or a patch of a thin plate, bent by an angle.

Two modes. The tip mode bends a protruding part (a handle, a spout tip, a brim, the top of a
neck); the plate mode bends a patch of a thin board, band or shell (a sagging shelf board, a
bent stretch of a headband, a piece of a helmet's skirt or a cap's brim pushed in or out),
where no part protrudes. A draw tries the plate mode first with probability PLATE_PROBABILITY,
else the tip mode first, and falls back to the other; ``params["mode"]`` records which bent.

Tip mode. The part is the tip of the object in some direction u: the connected piece of surface beyond a
cutting plane ``x.u = s0``, with ``s0`` chosen so that the piece covers ``part_fraction`` of the
surface area (other pieces beyond the plane stay put). Measuring from the plane along u (x) and
across the part along b (r), the part is bent like a beam about an axis a that lies in the
plane along the cut's longest extent, so the bend folds the part's thin direction: over a
transition of length tau the angle grows as ``angle * smoothstep(x / tau)`` and the centre
line follows the turning tangent (keeping its length); beyond tau the part turns rigidly by the
full angle. Nothing else moves, the topology is untouched (``face_origin=None``), the angle is 0
with zero slope at the cut, so the surface stays connected and smooth, and the displacement
field gives the labels.

Fibres of the transition shrink or stretch by ``r * dtheta/dx``; tau is made long enough to keep
that under MAX_STRAIN (no fold). A direction is skipped when its tip is no part: a stub no longer
than ~its thickness (the cap of a sphere, the corner of a box), a piece too short or thick for
the angle, a separate body, or a part whose bent tip would come near the rest of the object
(clearance test against the unmoved vertices). Several directions are tried (principal axes,
coordinate axes, a few random ones) before the mode gives up, so round or compact objects
(a sphere, a cube, a torus) are left to the extremity mode.

Plate mode. Seeds are drawn by area; a seed is on a thin wall where a ray into the object meets
the wall's far side within MAX_PLATE_THICKNESS (the ray runs through material, so what it meets
is the same wall's other face). In the frame of the mid-surface point under the seed -- normal
n0, l along the seed face's longer local extent, s across -- the patch is the seed's sheet and
the far sheet inside the box |l| < half_l, |s| < half_s, |h| < thickness/2 + curvature
allowance, sized so its area is ``part_fraction`` of the surface. It is deflected along n0 by
w = d * W(l / half_l) * W(s / half_s), W a C1 plateau-and-smoothstep window, d scaled so the
steepest slope is tan(angle). Being a function of position only, the field moves both faces
together (thickness along n0 kept exactly, a shear cannot fold the plate through itself); the
plateau translates rigidly and the ramps stretch faces by at most the shear's 1/cos-like
factor. Where the face is a band (narrower than BAND_WIDTH thicknesses) the patch is centred
on it and covers its whole width, so a band bends along its length. A seed is skipped where
the patch would tear (the surface leaves the box through its top or bottom where the field is
not zero: a support, a side panel, a rib), the wall is too thick for the patch, or the
deflected plate would come near the rest of the object; a sphere or a solid block has no thin
wall, so neither mode applies and the extremity mode bends them.

Default ranges: points near the cut barely move, so the anomalous fraction is 55-90% of the
part's area fraction; ``part_fraction`` 0.025-0.06 gives about 1.5%-5% anomalous points, and
10-25 degrees is a visible but plausible bend. In the plate mode the ramps' rims barely move:
on the procedural shells, boards and bands the anomalous fraction is about 1.5%-5% as well.
In the extremity mode the whole part turns away from the cut, so the anomalous fraction is
close to the part's area fraction (about 2.5%-6%).
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import trimesh

from anomalygen.ops._bending_extremity import bend_extremity
from anomalygen.ops._bending_plate import bend_plate
from anomalygen.ops._bending_shared import vertex_areas
from anomalygen.ops._bending_tip import bend_tip
from anomalygen.ops.base import EditResult, MeshPreconditionFailed, Operator, OperatorNotApplicable, Param, register

__all__ = ["PARAMS", "PLATE_PROBABILITY", "bending", "view_direction"]

PARAMS = (
    Param("angle", (10.0, 25.0), (1.0, 60.0), "bend angle, degrees"),
    Param("part_fraction", (0.025, 0.06), (0.002, 0.3), "surface-area fraction of the bent part, transition included"),
)

#: probability of trying the plate mode first where both modes could apply
PLATE_PROBABILITY = 0.35


def bending(mesh: trimesh.Trimesh, params: Mapping[str, float], rng: np.random.Generator) -> EditResult:
    """Bend a small protruding part, a patch of a thin plate or, failing both, an extremity of a
    compact object; see the module docstring."""
    angle, fraction = float(params["angle"]), float(params["part_fraction"])
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces)
    edges = np.asarray(mesh.edges_unique)
    edge = float(np.linalg.norm(vertices[edges[:, 0]] - vertices[edges[:, 1]], axis=1).mean())
    vertex_area = vertex_areas(faces, np.asarray(mesh.area_faces), len(vertices))
    total = float(vertex_area.sum())
    if not total > 0.0:
        raise MeshPreconditionFailed("bending: the mesh has no area")
    modes = [("tip", bend_tip), ("plate", bend_plate)]
    if rng.random() < PLATE_PROBABILITY:  # drawn first, so a seed always picks the same order
        modes = modes[::-1]
    # the extremity mode comes last, only where neither a slender part nor a thin plate bends:
    # every draw that one of those bends is what it was before the extremity mode existed
    modes.append(("extremity", bend_extremity))
    failures = []
    for name, mode in modes:
        try:
            displacement, where, area = mode(mesh, vertices, edges, edge, vertex_area, fraction * total, angle, rng)
        except OperatorNotApplicable as skip:
            failures.append(f"{name}: {skip}")
            continue
        params_out = {"angle": round(angle, 6), "part_fraction": round(fraction, 6)}
        params_out.update({k: v if isinstance(v, str) else np.round(v, 6).tolist() for k, v in where.items()})
        params_out["part_area_fraction"] = round(area / total, 6)
        return EditResult(
            mesh=trimesh.Trimesh(vertices + displacement, faces, process=False),
            displacement=displacement,
            new_faces=np.zeros(len(faces), dtype=bool),
            params=params_out,
        )
    raise OperatorNotApplicable(
        f"bending: no slender part, thin plate or extremity of {fraction:.1%} of the area bends {angle:.0f} "
        f"degrees cleanly ({'; '.join(failures)})"
    )


def view_direction(params: Mapping, direction: np.ndarray) -> np.ndarray | None:
    """A bend reads best in profile: (3,) unit direction along the tip mode's bend ``axis``, from
    the side of the generic (3,) ``direction``; None without an axis (the plate mode)."""
    axis = np.asarray(params.get("axis", ()), float)
    if axis.shape != (3,) or not np.linalg.norm(axis):
        return None
    sign = np.sign(axis @ direction + 0.1 * axis[2]) or 1.0
    return sign * axis / np.linalg.norm(axis)


register(
    Operator(
        name="bending",
        token="bending",
        params=PARAMS,
        apply=bending,
        doc=__doc__,
        view_direction=view_direction,
    )
)
