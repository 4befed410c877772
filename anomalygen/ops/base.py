"""The one signature and the one registry that every anomaly operator shares.

An operator edits a prepared mesh (unit-sphere scale, see :mod:`anomalygen.shapes.prepare`)
and returns an :class:`EditResult`: the edited mesh plus exactly what labelling needs to tell,
for any point later sampled on the edited surface, whether the edit changed it.

Labelling (:mod:`anomalygen.labels`) uses the fields of EditResult like this, for a point on
face ``f`` of ``result.mesh`` with barycentric coordinates ``b``:

* ``new_faces[f]`` is True -> the point lies on surface the edit created (walls of a hole or
  crack, a fracture surface): anomalous.
* ``|b @ displacement[faces[f]]| > threshold`` -> the edit moved the point further than the
  recipe's label threshold from its pre-image: anomalous.
* distance from the point to ``rim_points`` < ``rim_band`` -> the point is in the documented
  band around a cut's rim: anomalous.
* Otherwise the point is normal, and its pre-image on the input mesh is found through
  ``face_origin`` (``None`` means the edit kept the topology: face ``f`` of the output is face
  ``f`` of the input), so that earlier edits of the same sample can label it too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
import trimesh

from anomalygen.geometry.canonical import snap


class OperatorNotApplicable(Exception):
    """The operator cannot edit this mesh with these parameters at this location.

    The pipeline tries again with fresh parameters and location, and records the message as
    the sample's failure reason if every attempt raises it. Messages should read well on their
    own, e.g. ``"bending: no thin part longer than 0.3 found"``.
    """


class MeshPreconditionFailed(OperatorNotApplicable):
    """The operator cannot edit this mesh whatever its parameters and location (it is not
    watertight, has no faces, ...): the condition depends on the mesh alone.

    On a sample's unedited mesh the pipeline fails the sample at once with this message, and
    skips the operator's other samples of that mesh, instead of retrying every one of them.
    """


@dataclass(frozen=True)
class Param:
    """One severity parameter of an operator, drawn uniformly from a recipe range.

    ``default`` is the range used when the recipe gives none; ``bounds`` are the limits a recipe
    range must lie within (validation rejects anything outside). Lengths are in prepared-mesh
    units: the object is centred and scaled into the unit sphere. An ``extent`` (a size along
    the surface: a radius, a length, a band) is relative to the object's area scale
    ``sqrt(area / 4 pi)`` (see :func:`area_scale`), so that a defect covers about the same share
    of a thin tap as of a round vase; depths, heights and angles are absolute.
    """

    name: str
    default: tuple[float, float]
    bounds: tuple[float, float]
    doc: str
    integer: bool = False
    extent: bool = False


@dataclass
class EditResult:
    """What an operator returns.

    mesh:         the edited mesh (V vertices, F faces).
    displacement: (V, 3) float64, each vertex's position minus its pre-image on the input
                  surface (zeros for vertices the edit did not move; any finite value for
                  vertices that only belong to new faces).
    new_faces:    (F,) bool, faces with no pre-image on the input surface.
    face_origin:  (F,) int64 index of the input face that each output face lies in (-1 for new
                  faces), or None when the output has the input's faces one to one.
    rim_points:   (M, 3) float64 points along the rim of a cut (empty for pure displacements).
    rim_band:     distance from ``rim_points`` within which points count as anomalous.
    params:       the parameters actually used, JSON-serialisable (drawn severities plus
                  location, e.g. ``center``), recorded per sample.
    """

    mesh: trimesh.Trimesh
    displacement: np.ndarray
    new_faces: np.ndarray
    params: dict
    face_origin: np.ndarray | None = None
    rim_points: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    rim_band: float = 0.0

    def __post_init__(self) -> None:
        # vertices an operator moved with numpy arithmetic leave it in canonical coordinates
        # (see anomalygen.geometry.canonical): sampling picks faces by area, so last-bit
        # differences between CPUs would otherwise move whole points. Their pre-images stay
        # put, so the snapping step joins their displacement. (Cuts displace nothing: manifold3d
        # computes their new vertices from canonical input, the same on every CPU.)
        self.displacement = np.array(self.displacement, dtype=np.float64)
        moved = self.displacement.any(axis=1)
        if moved.any():
            vertices = np.array(self.mesh.vertices, dtype=np.float64)
            snapped = snap(vertices[moved])
            self.displacement[moved] += snapped - vertices[moved]
            vertices[moved] = snapped
            self.mesh = trimesh.Trimesh(vertices, self.mesh.faces, process=False)
        n_vertices, n_faces = len(self.mesh.vertices), len(self.mesh.faces)
        if self.displacement.shape != (n_vertices, 3):
            raise ValueError(f"displacement must be ({n_vertices}, 3), got {self.displacement.shape}")
        if self.new_faces.shape != (n_faces,):
            raise ValueError(f"new_faces must be ({n_faces},), got {self.new_faces.shape}")
        if self.face_origin is not None and self.face_origin.shape != (n_faces,):
            raise ValueError(f"face_origin must be ({n_faces},), got {self.face_origin.shape}")


ApplyFn = Callable[[trimesh.Trimesh, Mapping[str, float], np.random.Generator], EditResult]
ViewFn = Callable[[Mapping, np.ndarray], "np.ndarray | None"]


@dataclass(frozen=True)
class Operator:
    """A registered anomaly type.

    name:   recipe key and anomaly type name (``bulge``, ``concavity``, ``broken``, ...).
    token:  the token used in Anomaly-ShapeNet file names (``crak`` for crack, ``broken``).
    params: the severity parameters, drawn from recipe ranges before ``apply`` is called.
    apply:  ``apply(mesh, params, rng) -> EditResult``; picks its own location with ``rng``;
            raises :class:`OperatorNotApplicable` when it cannot edit this mesh.
    view_direction: optional ``view_direction(params, direction) -> (3,) unit vector or None``:
            where to look at one of this operator's anomalies from, given the ``params`` it
            recorded and the (3,) generic direction a picture would use (None: keep that one).
            Pictures (:mod:`anomalygen.render`) ask for it; they know no operator's parameters.
    """

    name: str
    token: str
    params: tuple[Param, ...]
    apply: ApplyFn
    doc: str = ""
    view_direction: ViewFn | None = None

    def default_ranges(self) -> dict[str, tuple[float, float]]:
        return {p.name: p.default for p in self.params}

    def draw(self, ranges: Mapping[str, tuple[float, float]], rng: np.random.Generator) -> dict[str, float]:
        """Draw one value per parameter, uniformly from ``ranges`` (defaults where missing)."""
        values = {}
        for p in self.params:
            low, high = ranges.get(p.name, p.default)
            value = rng.uniform(low, high) if high > low else float(low)
            values[p.name] = int(round(value)) if p.integer else float(value)
        return values


    def absolute(self, drawn: Mapping[str, float], scale: float) -> dict[str, float]:
        """The drawn values with every ``extent`` multiplied by the object's area ``scale``."""
        extents = {p.name for p in self.params if p.extent}
        return {name: value * scale if name in extents else value for name, value in drawn.items()}


def area_scale(mesh: trimesh.Trimesh) -> float:
    """sqrt(surface area / 4 pi): 1 for the unit sphere, about 0.4 for a thin tap (snapped: the
    summed area's last bits depend on the CPU, and every extent is multiplied by this)."""
    return float(snap(np.sqrt(mesh.area / (4.0 * np.pi))))


ORDER = ("bending", "break", "bulge", "concavity", "crack", "hole", "scratch")
"""Every operator's name, in the order that reaches the output: a recipe's test counts (and so
which sample lands in which shard) follow it. Declared, so that renaming or adding a module
cannot reorder a benchmark; a new operator is appended."""

OPERATORS: dict[str, Operator] = {}
"""name -> operator, always in :data:`ORDER`."""


def register(operator: Operator) -> Operator:
    if operator.name not in ORDER:
        raise ValueError(f"operator {operator.name!r} is not declared in anomalygen.ops.base.ORDER")
    if operator.name in OPERATORS:
        raise ValueError(f"operator {operator.name!r} registered twice")
    registered = {**OPERATORS, operator.name: operator}
    OPERATORS.clear()
    OPERATORS.update((name, registered[name]) for name in ORDER if name in registered)
    return operator
