"""Boolean cuts shared by the operators that remove material (``hole``, ``crack``, ``break``).

The input mesh becomes a manifold3d solid in which every triangle carries its own index as
``faceID`` and the whole mesh one reserved ``originalID``; a cutter is made an original of its
own. After ``solid - cutter`` every output triangle belongs to a run whose ``originalID`` says
where it came from: the input (its ``faceID`` is then the input face it lies in, which gives
``EditResult.face_origin``) or the cutter (a new wall, ``EditResult.new_faces``).

Conventions: lengths are in prepared-mesh units (the object lies in the unit sphere); a depth
``s`` along an inward axis is measured from the picked surface point, positive into the object.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from functools import lru_cache

import manifold3d as m3
import numpy as np
import trimesh

from anomalygen.geometry.canonical import snap
from anomalygen.geometry.topology import compact, vertex_components
from anomalygen.ops.base import EditResult, MeshPreconditionFailed, OperatorNotApplicable

# A piece cut loose that holds less than this fraction of the input's volume is dropped (a
# crumb the cut broke off); a larger loose piece makes the cut not applicable.
FRAGMENT_VOLUME = 0.02
# Solids kept for meshes seen recently: an operator is tried several times on the same
# prepared mesh, and building the solid is the most expensive step of a cut.
_CACHE_SIZE = 4


@dataclass(frozen=True)
class Solid:
    """The input mesh as a manifold3d solid, with what every cut of it needs.

    manifold:     the solid; triangle ``i`` of the mesh has faceID ``i``.
    mesh_id:      originalID of the input's triangles in boolean results.
    volume:       enclosed volume, unit-sphere units^3.
    n_components: number of connected pieces of the input.
    vertices, faces: copies of the arrays it was built from, to verify cache hits.
    """

    manifold: m3.Manifold
    mesh_id: int
    volume: float
    n_components: int
    vertices: np.ndarray
    faces: np.ndarray


_SOLIDS: OrderedDict[int, Solid | str] = OrderedDict()


def solid_of(mesh: trimesh.Trimesh, name: str) -> Solid:
    """The manifold3d solid of ``mesh`` (cached by content); raises MeshPreconditionFailed when
    the mesh is not a closed, outward-oriented 2-manifold."""
    key = hash(mesh)  # trimesh's content hash of vertices and faces
    cached = _SOLIDS.get(key)
    if isinstance(cached, Solid):
        if np.array_equal(cached.vertices, mesh.vertices) and np.array_equal(cached.faces, mesh.faces):
            _SOLIDS.move_to_end(key)
            return cached
        cached = None
    if isinstance(cached, str):
        raise MeshPreconditionFailed(f"{name}: {cached}")
    try:
        solid = _build_solid(mesh)
    except MeshPreconditionFailed as error:
        _remember(key, str(error))
        raise MeshPreconditionFailed(f"{name}: {error}") from None
    _remember(key, solid)
    return solid


def _remember(key: int, value: Solid | str) -> None:
    _SOLIDS[key] = value
    while len(_SOLIDS) > _CACHE_SIZE:
        _SOLIDS.popitem(last=False)


def _build_solid(mesh: trimesh.Trimesh) -> Solid:
    vertices = snap(mesh.vertices)  # booleans decide topology from these bits
    faces = np.array(mesh.faces, dtype=np.int64)
    if len(faces) < 4:
        raise MeshPreconditionFailed("input mesh has fewer than 4 faces")
    mesh_id = int(m3.Manifold.reserve_ids(1))
    source = m3.Mesh64(
        vert_properties=np.ascontiguousarray(vertices),
        tri_verts=np.ascontiguousarray(faces, dtype=np.uint64),
        face_id=np.arange(len(faces), dtype=np.uint64),
        run_index=np.array([0, 3 * len(faces)], dtype=np.uint64),
        run_original_id=np.array([mesh_id], dtype=np.uint32),
    )
    manifold = m3.Manifold(source)
    status = manifold.status()
    if status != m3.Error.NoError or manifold.is_empty():
        raise MeshPreconditionFailed(
            f"input mesh is not a closed oriented manifold (manifold3d: {status.name}); "
            "boolean cuts need a watertight mesh"
        )
    volume = float(manifold.volume())
    if volume <= 0.0:
        raise MeshPreconditionFailed("input mesh encloses no volume (inside out or flat)")
    # count pieces as manifold3d outputs them: it may split vertices where the input pinches
    own = manifold.to_mesh64()
    pieces = vertex_components(len(own.vert_properties), np.asarray(own.tri_verts).astype(np.int64))[0]
    return Solid(manifold, mesh_id, volume, pieces, vertices, faces)


@dataclass
class Cut:
    """The outcome of :func:`subtract`.

    mesh:        the result, V vertices and F faces, closed and manifold.
    new_faces:   (F,) bool, faces made by the cutter.
    face_origin: (F,) int64, input face each kept face lies in, -1 for new faces.
    rim_points:  (M, 3) points along the edges where new faces meet kept input faces.
    rim_band:    the labelled band around ``rim_points``.
    removed_volume: volume taken away (including dropped crumbs), unit-sphere units^3.
    dropped:     number of loose crumbs that were discarded.
    """

    mesh: trimesh.Trimesh
    new_faces: np.ndarray
    face_origin: np.ndarray
    rim_points: np.ndarray
    rim_band: float
    removed_volume: float
    dropped: int

    def new_centroids(self) -> np.ndarray:
        """(N, 3) centroids of the new faces."""
        return self.mesh.vertices[self.mesh.faces[self.new_faces]].mean(axis=1)

    def result(self, params: dict) -> EditResult:
        """The EditResult of this cut: nothing retained moved, so displacement is zero."""
        return EditResult(
            mesh=self.mesh,
            displacement=np.zeros((len(self.mesh.vertices), 3)),
            new_faces=self.new_faces,
            face_origin=self.face_origin,
            rim_points=self.rim_points,
            rim_band=self.rim_band,
            params=params,
        )


def subtract(
    mesh: trimesh.Trimesh,
    cutter: m3.Manifold,
    name: str,
    rim_band: float,
    max_removed: float,
) -> Cut:
    """Subtract ``cutter`` from ``mesh`` and trace every output face back to its source.

    rim_band:    labelled band around the rim (unit-sphere units); ``rim_points`` are spaced a
                 third of it apart (a third of 0.01 for narrower bands), so the band's outer
                 edge is smooth to within 1/72 of its width.
    max_removed: largest fraction of the input's volume the cut may take away.
    Raises OperatorNotApplicable when the cut misses the surface, removes too much, splits the
    object into more pieces than it had (loose crumbs under FRAGMENT_VOLUME are dropped instead)
    or removes a whole piece.
    """
    solid = solid_of(mesh, name)
    cutter = cutter.as_original()
    if cutter.status() != m3.Error.NoError or cutter.is_empty():
        raise OperatorNotApplicable(f"{name}: the cutter is not a valid solid ({cutter.status().name})")
    cutter_id = cutter.original_id()
    result = solid.manifold - cutter
    if result.status() != m3.Error.NoError:
        raise OperatorNotApplicable(f"{name}: the boolean difference failed ({result.status().name})")
    out = result.to_mesh64()
    triangles = np.asarray(out.tri_verts).astype(np.int64)
    if len(triangles) == 0:
        raise OperatorNotApplicable(f"{name}: the cut removes the whole object")
    vertices = np.array(np.asarray(out.vert_properties)[:, :3], dtype=np.float64)

    run_bounds = np.asarray(out.run_index).astype(np.int64) // 3  # run_index counts tri_verts entries
    run_source = np.repeat(np.asarray(out.run_original_id).astype(np.int64), np.diff(run_bounds))
    if len(run_source) != len(triangles) or not np.isin(run_source, (solid.mesh_id, cutter_id)).all():
        raise OperatorNotApplicable(f"{name}: manifold3d returned triangles of unknown provenance")
    new_faces = run_source == cutter_id
    if not new_faces.any():
        raise OperatorNotApplicable(f"{name}: the cutter misses the surface, nothing is removed")
    face_origin = np.where(new_faces, -1, np.asarray(out.face_id).astype(np.int64))

    # a one-piece input that stays in one piece is the common case: decompose() tells it faster
    # than labelling components, but is slow on inputs of many pieces
    if solid.n_components == 1 and len(result.decompose()) == 1:
        keep, dropped, kept_volume = None, 0, float(result.volume())
    else:
        keep, dropped, kept_volume = _drop_crumbs(vertices, triangles, new_faces, solid, name)
    removed = solid.volume - kept_volume
    if removed > max_removed * solid.volume:
        raise OperatorNotApplicable(
            f"{name}: the cut removes {removed / solid.volume:.0%} of the volume (at most {max_removed:.0%})"
        )
    if dropped:
        vertices, triangles = compact(vertices, triangles[keep])
        new_faces, face_origin = new_faces[keep], face_origin[keep]
        if not new_faces.any():  # all it made was crumbs, or a hidden cavity (negative volume)
            raise OperatorNotApplicable(f"{name}: the cut leaves no new surface on the object")
    edited = trimesh.Trimesh(vertices, triangles, process=False)
    return Cut(
        mesh=edited,
        new_faces=new_faces,
        face_origin=face_origin,
        rim_points=rim_points(vertices, triangles, new_faces, max(rim_band, 0.01) / 3.0),
        rim_band=float(rim_band),
        removed_volume=float(removed),
        dropped=dropped,
    )


def _drop_crumbs(
    vertices: np.ndarray, triangles: np.ndarray, new_faces: np.ndarray, solid: Solid, name: str
) -> tuple[np.ndarray, int, float]:
    """((F,) faces to keep, number of crumbs dropped, volume kept) after removing loose pieces the
    cut made (they hold cutter faces) that are smaller than FRAGMENT_VOLUME of the input."""
    count, labels = vertex_components(len(vertices), triangles)
    label = labels[triangles[:, 0]]  # (F,) piece of every face
    a, b, c = (vertices[triangles[:, k]] for k in range(3))
    face_volume = np.einsum("ij,ij->i", a, np.cross(b, c)) / 6.0  # signed tetrahedra to the origin
    volume = np.bincount(label, face_volume, minlength=count)
    touched = np.bincount(label, new_faces, minlength=count) > 0
    crumb = touched & (volume < FRAGMENT_VOLUME * solid.volume)
    kept = count - int(crumb.sum())
    if kept > solid.n_components:
        raise OperatorNotApplicable(
            f"{name}: the cut splits the object into {kept} pieces (it had {solid.n_components})"
        )
    if kept < solid.n_components:
        raise OperatorNotApplicable(f"{name}: the cut removes a whole piece of the object")
    return ~crumb[label], int(crumb.sum()), float(volume[~crumb].sum())


def rim_points(vertices: np.ndarray, faces: np.ndarray, new_faces: np.ndarray, spacing: float) -> np.ndarray:
    """(M, 3) points at most ``spacing`` apart along every edge shared by a new and an old face."""
    near = np.zeros(len(vertices), dtype=bool)
    near[faces[new_faces]] = True
    old = ~new_faces & near[faces].any(axis=1)  # only old faces touching the cut can share an edge

    def edge_keys(tris: np.ndarray) -> np.ndarray:
        edges = np.sort(tris[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), axis=1)
        return edges[:, 0] * len(vertices) + edges[:, 1]

    keys = np.intersect1d(edge_keys(faces[new_faces]), edge_keys(faces[old]))
    if len(keys) == 0:
        return np.zeros((0, 3))
    start, end = vertices[keys // len(vertices)], vertices[keys % len(vertices)]
    pieces = np.maximum(1, np.ceil(np.linalg.norm(end - start, axis=1) / spacing)).astype(np.int64)
    edge = np.repeat(np.arange(len(keys)), pieces)
    # position k/n of each point along its edge, k = 0..n-1 (the end is the next edge's start)
    t = (np.arange(len(edge)) - np.repeat(np.cumsum(pieces) - pieces, pieces)) / pieces[edge]
    return start[edge] + t[:, None] * (end[edge] - start[edge])


# --- locating a cut ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Crossings:
    """Where rays along one direction cross the surface, as depths ``s`` from a reference plane.

    entry, exit, reentry: (R,) depth of each ray's first crossing into the solid, its next
    crossing out, and the next one back in (inf where there is none). ``valid`` (R,) is False
    for rays that miss the solid or start inside it.
    """

    entry: np.ndarray
    exit: np.ndarray
    reentry: np.ndarray
    valid: np.ndarray


def crossings(solid: Solid, starts: np.ndarray, direction: np.ndarray, length: float, s0: float) -> Crossings:
    """Cast rays from ``starts`` (R, 3) along unit ``direction`` for ``length``; depths are
    reported as ``s0 + distance`` (so s0 is the depth of the start points)."""
    rows = np.full((len(starts), 3), np.inf)
    valid = np.zeros(len(starts), dtype=bool)
    for i, start in enumerate(starts):
        hits = solid.manifold.ray_cast(tuple(start), tuple(start + length * direction))
        inward = [float(np.dot(hit.normal, direction)) < 0.0 for hit in hits]
        if len(hits) < 2 or not inward[0] or inward[1]:
            continue  # a miss, a start inside the solid, or a ray grazing an edge
        s = [s0 + hit.distance * length for hit in hits[:3]]
        rows[i, : len(s)] = s
        valid[i] = True
    return Crossings(rows[:, 0], rows[:, 1], rows[:, 2], valid)


# --- building cutters ----------------------------------------------------------------------------


def prism(polygon: np.ndarray, axes: np.ndarray, origin: np.ndarray, length: float, step: float) -> m3.Manifold:
    """A straight prism: the CCW ``polygon`` (K, 2) in the (u, v) plane of ``axes`` (3, 3 columns
    u, v, axis) at ``origin``, swept ``length`` along the axis, walls split every ``step``."""
    divisions = max(0, int(np.ceil(length / step)) - 1)
    solid = m3.Manifold.extrude(m3.CrossSection([snap(polygon)]), length, n_divisions=divisions)
    return solid.transform(snap(np.column_stack([axes, origin])))


def hull_sweep(sections: np.ndarray) -> m3.Manifold:
    """The union of the convex hulls of consecutive convex ``sections`` (S, K, 3): a swept solid
    that stays valid where a tightly bending sweep would fold through itself."""
    sections = snap(sections)
    pieces = [m3.Manifold.hull_points(np.concatenate(pair)) for pair in zip(sections[:-1], sections[1:])]
    return m3.Manifold.batch_boolean([p for p in pieces if not p.is_empty()], m3.OpType.Add)


@lru_cache(maxsize=4)
def unit_sphere(subdivisions: int) -> tuple[np.ndarray, np.ndarray]:
    """((V, 3) vertices, (F, 3) faces) of an icosphere of radius 1, outward oriented."""
    sphere = trimesh.creation.icosphere(subdivisions=subdivisions)
    vertices, faces = np.array(sphere.vertices), np.array(sphere.faces)
    vertices.flags.writeable = faces.flags.writeable = False
    return vertices, faces


def solid_from_arrays(vertices: np.ndarray, faces: np.ndarray) -> m3.Manifold:
    """A manifold3d solid from a closed triangle mesh (invalid solids show in ``status()``)."""
    return m3.Manifold(
        m3.Mesh64(
            vert_properties=np.ascontiguousarray(snap(vertices)),
            tri_verts=np.ascontiguousarray(faces, dtype=np.uint64),
        )
    )


def smooth_noise(points: np.ndarray, rng: np.random.Generator, wavelength: float, modes: int = 12) -> np.ndarray:
    """(N,) smooth random field at ``points`` (N, 3) with zero mean and unit variance.

    A sum of ``modes`` plane waves in random directions with wavelengths spread over
    [wavelength, 3 * wavelength]; longer waves get more weight (amplitude ~ wavelength), which
    gives the large-scale undulation plus finer roughness of a natural break.
    """
    directions = rng.normal(size=(modes, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    wavelengths = wavelength * rng.uniform(1.0, 3.0, size=modes)
    phases = rng.uniform(0.0, 2.0 * np.pi, size=modes)
    amplitudes = wavelengths / np.sqrt(np.sum(wavelengths**2) / 2.0)  # each sine has variance 1/2
    waves = np.sin(points @ (directions.T * (2.0 * np.pi / wavelengths)) + phases)
    return waves @ amplitudes
