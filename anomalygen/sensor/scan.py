"""A virtual scanner: where it stands, which surface points it sees, how densely.

Candidate points are drawn area-uniformly on the surface (``oversample`` x the sample's point
count, the draws of :func:`anomalygen.sample.sample_surface`). Each viewpoint sees a candidate
when the candidate's face turns towards it at an incidence angle below ``grazing_angle`` and no
face lies in front of it along the ray: the faces its ray can meet first are those the
viewpoint's :class:`~anomalygen.geometry.zbuffer.FaceBuffer` holds at the candidate's pixel and
the 8 around it, and each is tested exactly (segment-triangle crossing). A viewpoint seeing a point at
distance ``L`` and incidence ``theta`` returns it with weight ``(D / L)^2 cos(theta)`` (``D``:
the viewpoint's distance to the object's centre), the fall-off of a real scanner's sampling
density; the weights of all viewpoints add up, and a candidate is kept with probability
``min(1, weight)``. The first ``count`` kept candidates, in draw order, are the scan.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass

import numpy as np
import trimesh

from anomalygen.geometry.canonical import row_norms, snap
from anomalygen.geometry.zbuffer import FaceBuffer, dot3
from anomalygen.geometry.sampling import area_uniform_faces, barycentric_of, surface_points
from anomalygen.sample import SurfaceSample
from anomalygen.sensor.spec import ScanSpec

CENTRE_FIRST = (4, 0, 1, 2, 3, 5, 6, 7, 8)
"""The columns of :meth:`~anomalygen.geometry.zbuffer.FaceBuffer.faces_around`, the point's own pixel first."""
GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
MARGIN = 1e-5
"""A face crossed by a point's ray less than this far before the point does not hide it (unit-sphere
units): the faces around the point's own, which its ray meets at their common edge."""


def viewpoints(spec: ScanSpec) -> np.ndarray:
    """(V, 3) scanner positions around the origin, unit-sphere units (the posed frame).

    single: one, at ``elevation`` degrees above the horizontal, on the -y side; ring: V at equal
    azimuth steps at that elevation (a turntable), the first where single is; sphere: V on a
    Fibonacci spiral from the top (+z) down.
    """
    k = np.arange(spec.viewpoints, dtype=np.float64)
    if spec.placement == "sphere":
        z = 1.0 - (2.0 * k + 1.0) / spec.viewpoints
        ring, azimuth = np.sqrt(1.0 - z * z), k * GOLDEN_ANGLE
        directions = np.column_stack([ring * np.cos(azimuth), ring * np.sin(azimuth), z])
    else:
        azimuth, elevation = 2.0 * np.pi * k / spec.viewpoints, np.deg2rad(spec.elevation)
        directions = np.column_stack([np.cos(elevation) * np.sin(azimuth), -np.cos(elevation) * np.cos(azimuth),
                                      np.full(len(k), np.sin(elevation))])
    return snap(directions * spec.distance)


@dataclass
class Scan:
    """The points a scan kept.

    surface: the kept candidates (points, normals, faces, barycentric), object frame;
    rays:    (N, 3) unit direction from the viewpoint that saw each point best to the point.
    """

    surface: SurfaceSample
    rays: np.ndarray


@dataclass(frozen=True)
class Occluders:
    """A mesh's arrays that visibility reads, taken from trimesh once per mesh (every access of
    a cached trimesh property hashes the mesh): every scan of a class's normal samples reads
    the same prepared mesh."""

    vertices: np.ndarray           # (V, 3)
    faces: np.ndarray              # (F, 3) int64
    triangles: np.ndarray          # (F, 3, 3) the faces' corners
    areas: np.ndarray              # (F,) face areas
    normals: np.ndarray            # (F, 3) unit face normals
    centres: np.ndarray            # (F, 3) face centroids
    radius: float                  # of the bounding sphere about the origin

    @classmethod
    def of(cls, mesh: trimesh.Trimesh) -> "Occluders":
        occluders = _OCCLUDERS.get(mesh)
        if occluders is None:
            vertices = np.asarray(mesh.vertices)
            occluders = cls(vertices, np.asarray(mesh.faces), np.asarray(mesh.triangles), np.asarray(mesh.area_faces),
                            np.asarray(mesh.face_normals), np.asarray(mesh.triangles_center),
                            float(row_norms(vertices).max()))
            _OCCLUDERS[mesh] = occluders
        return occluders


_OCCLUDERS: "weakref.WeakKeyDictionary[trimesh.Trimesh, Occluders]" = weakref.WeakKeyDictionary()
"""Each mesh's occluders while the mesh lives (a Trimesh hashes by content: a mesh changed in
place misses and is read anew)."""


def scan_surface(mesh: trimesh.Trimesh, count: int, eyes: np.ndarray, spec: ScanSpec,
                 rng: np.random.Generator) -> Scan:
    """Scan ``mesh`` from ``eyes`` ((V, 3), the mesh's frame): at most ``count`` points."""
    occluders = Occluders.of(mesh)
    face, uv = area_uniform_faces(occluders.areas, spec.oversample * count, rng)   # sample_surface's draws
    chance = rng.random(len(face))
    views = [View(occluders, eye, spec.grazing_angle) for eye in eyes]
    # a candidate on a face that no viewpoint faces has weight 0 (its whole plane turns away from
    # every eye): only the others are placed on the surface and weighed, in draw order
    facing = np.zeros(len(occluders.faces), dtype=bool)
    for view in views:
        facing[view.front] = True
    on = np.flatnonzero(facing[face])
    face, barycentric, chance = face[on], barycentric_of(uv[on]), chance[on]
    candidates = SurfaceSample(surface_points(occluders.triangles[face], barycentric), occluders.normals[face], face,
                               barycentric)
    arrays = (candidates.points, candidates.normals, candidates.face_index)
    # occlusion only lowers weights: what the weights without it would not keep is out already
    maybe = np.flatnonzero(chance < _total([view.weights(*arrays, occlusion=False) for view in views]))
    kept, weights = [], []
    for block in np.array_split(maybe, range(count, len(maybe), count)):   # in draw order, until count are kept
        block_weights = [view.weights(*(a[block] for a in arrays)) for view in views]
        keep = chance[block] < _total(block_weights)
        kept.append(block[keep])
        weights.append(np.column_stack(block_weights)[keep])
        if sum(map(len, kept)) >= count:
            break
    kept, weights = np.concatenate(kept)[:count], np.concatenate(weights)[:count]
    ray = candidates.points[kept] - eyes[np.argmax(weights, axis=1)]
    surface = SurfaceSample(*(getattr(candidates, name)[kept] for name in ("points", "normals", "face_index",
                                                                            "barycentric")))
    return Scan(surface, ray / row_norms(ray)[:, None])


def _total(columns: list[np.ndarray]) -> np.ndarray:
    """The elementwise sum of (N,) arrays, added in list order (the same bits on every CPU)."""
    total = columns[0]
    for column in columns[1:]:
        total = total + column
    return total


class View:
    """One viewpoint looking at a mesh: its eye (3,), the mesh's object frame, and its face buffer.

    The Moller-Trumbore terms that depend on a face and the eye only (``edge1``, ``edge2``,
    ``origin`` = eye - first corner, ``q`` = origin x edge1 and edge2 . q) are computed once per
    front face here, not once per (point, face) pair: the same arithmetic, so the same bits.
    """

    def __init__(self, occluders: Occluders, eye: np.ndarray, grazing_angle: float):
        self.occluders, self.eye = occluders, np.asarray(eye, dtype=np.float64)
        self.min_cosine = np.cos(np.deg2rad(grazing_angle))
        self.centre = float(row_norms(self.eye[None])[0])
        self.front = np.flatnonzero(dot3(occluders.normals, self.eye - occluders.centres) > 0)
        faces = occluders.faces[self.front]
        self.buffer = FaceBuffer(occluders.vertices, faces, self.eye, occluders.radius)
        corners = occluders.triangles[self.front]
        a = corners[:, 0]
        self.edge1, self.edge2, self.origin = corners[:, 1] - a, corners[:, 2] - a, self.eye - a
        self.q = _cross(self.origin, self.edge1)
        self.edge2_q = dot3(self.edge2, self.q)

    def weights(self, points: np.ndarray, normals: np.ndarray, faces: np.ndarray, occlusion: bool = True
                ) -> np.ndarray:
        """(N,) the return weight of each surface point ((N, 3) points and face normals, (N,) faces):
        0 where its face turns away, beyond the grazing angle or (with ``occlusion``) hidden."""
        ray = points - self.eye
        distance = row_norms(ray)
        cosine = -dot3(normals, ray) / distance
        seen = np.flatnonzero(cosine > self.min_cosine)
        if occlusion:
            seen = seen[~self.hidden(points[seen], faces[seen], ray[seen], distance[seen])]
        weights = np.zeros(len(points))
        weights[seen] = (self.centre / distance[seen]) ** 2 * cosine[seen]
        return weights

    def hidden(self, points: np.ndarray, faces: np.ndarray, ray: np.ndarray, length: np.ndarray) -> np.ndarray:
        """(N,) whether a face lies in front of each point on its ray ((N,) faces: their own;
        (N, 3) ``ray`` = points - eye, (N,) ``length`` its norm)."""
        around = self.buffer.faces_around(*self.buffer.project(points)[:2])
        # the faces a point's ray may cross before it: those nearest at its pixel and the 8 around
        # it; the point's own pixel first, and a point found hidden is not tested again
        hidden = np.zeros(len(points), dtype=bool)
        for k in CENTRE_FIRST:
            at = around[:, k]
            test = np.flatnonzero(~hidden & (at >= 0))
            test = test[self.front[at[test]] != faces[test]]
            for m in CENTRE_FIRST[:CENTRE_FIRST.index(k)]:          # each face once per point
                test = test[around[test, m] != at[test]]
            hidden[test[self.crossed(at[test], ray[test], length[test])]] = True
        return hidden

    def crossed(self, front: np.ndarray, ray: np.ndarray, length: np.ndarray) -> np.ndarray:
        """(N,) whether the segment from the eye along each (N, 3) ``ray`` (of (N,) ``length``) passes
        through the front face ``front`` (indices into ``self.front``) more than ``MARGIN`` before
        its end (Moller-Trumbore, elementwise)."""
        p = _cross(ray, self.edge2[front])
        det = dot3(self.edge1[front], p)
        det = np.where(det == 0, np.inf, det)                   # parallel: no crossing
        u = dot3(self.origin[front], p) / det
        v = dot3(ray, self.q[front]) / det
        t = self.edge2_q[front] / det                           # along the segment, 0 at eye, 1 at point
        return (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0) & ((1.0 - t) * length > MARGIN)


def _cross(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, 3) row-wise cross products, elementwise (the same bits on every CPU)."""
    cross = np.empty((len(a), 3))
    cross[:, 0] = a[:, 1] * b[:, 2] - a[:, 2] * b[:, 1]
    cross[:, 1] = a[:, 2] * b[:, 0] - a[:, 0] * b[:, 2]
    cross[:, 2] = a[:, 0] * b[:, 1] - a[:, 1] * b[:, 0]
    return cross
