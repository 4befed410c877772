"""A virtual scanner: where it stands, which surface points it sees, how densely.

Candidate points are drawn area-uniformly on the surface (``oversample`` x the sample's point
count). Each viewpoint sees a candidate when the candidate's face turns towards it at an
incidence angle below ``grazing_angle`` and nothing lies in front of it along the ray (the
viewpoint's :class:`~anomalygen.geometry.zbuffer.FaceBuffer`). A viewpoint seeing a point at
distance ``L`` and incidence ``theta`` returns it with weight ``(D / L)^2 cos(theta)`` (``D``:
the viewpoint's distance to the object's centre), the fall-off of a real scanner's sampling
density; the weights of all viewpoints add up, and a candidate is kept with probability
``min(1, weight)``. The first ``count`` kept candidates, in draw order, are the scan.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from anomalygen.geometry.canonical import row_norms, snap
from anomalygen.geometry.zbuffer import FaceBuffer, dot3
from anomalygen.sample import SurfaceSample, sample_surface
from anomalygen.sensor.spec import ScanSpec

GOLDEN_ANGLE = np.pi * (3.0 - np.sqrt(5.0))
TOLERANCE_PIXELS = 1.5
"""A point is hidden when a face lies in front of it by more than this many pixel footprints
(at the point's depth) along its ray: the face buffer holds the face at each pixel's centre,
which on the point's own smooth surface or across a convex edge is up to a pixel away."""


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
    """A mesh's arrays that visibility reads, taken from trimesh once per scan (every access of
    a cached trimesh property hashes the mesh)."""

    vertices: np.ndarray           # (V, 3)
    faces: np.ndarray              # (F, 3) int64
    normals: np.ndarray            # (F, 3) unit face normals
    centres: np.ndarray            # (F, 3) face centroids
    radius: float                  # of the bounding sphere about the origin

    @classmethod
    def of(cls, mesh: trimesh.Trimesh) -> "Occluders":
        vertices = np.asarray(mesh.vertices)
        return cls(vertices, np.asarray(mesh.faces), np.asarray(mesh.face_normals), np.asarray(mesh.triangles_center),
                   float(row_norms(vertices).max()))


def scan_surface(mesh: trimesh.Trimesh, count: int, eyes: np.ndarray, spec: ScanSpec,
                 rng: np.random.Generator) -> Scan:
    """Scan ``mesh`` from ``eyes`` ((V, 3), the mesh's frame): at most ``count`` points."""
    candidates = sample_surface(mesh, spec.oversample * count, rng)
    occluders = Occluders.of(mesh)
    weights = np.column_stack([view_weights(occluders, candidates, eye, spec.grazing_angle) for eye in eyes])
    kept = np.flatnonzero(rng.random(len(weights)) < weights.sum(axis=1))[:count]
    eye = eyes[np.argmax(weights[kept], axis=1)]
    ray = candidates.points[kept] - eye
    surface = SurfaceSample(*(getattr(candidates, name)[kept] for name in ("points", "normals", "face_index",
                                                                            "barycentric")))
    return Scan(surface, ray / row_norms(ray)[:, None])


def view_weights(occluders: Occluders, candidates: SurfaceSample, eye: np.ndarray, grazing_angle: float
                 ) -> np.ndarray:
    """(N,) each candidate's return weight from ``eye`` (3,): 0 where it is not seen."""
    ray = candidates.points - eye
    distance = row_norms(ray)
    cosine = -dot3(candidates.normals, ray) / distance
    seen = np.flatnonzero(cosine > np.cos(np.deg2rad(grazing_angle)))
    front = np.flatnonzero(dot3(occluders.normals, eye - occluders.centres) > 0)
    buffer = FaceBuffer(occluders.vertices, occluders.faces[front], eye, occluders.radius)
    x, y, depth = buffer.project(candidates.points[seen])
    at = buffer.faces_at(x, y)
    face = np.where(at >= 0, front[at], -1)
    hidden = (face >= 0) & (face != candidates.face_index[seen])
    hidden[hidden] = _in_front(occluders, face[hidden], eye, candidates.points[seen[hidden]],
                               TOLERANCE_PIXELS * buffer.pixel_size(depth[hidden]))
    seen = seen[~hidden]
    weights = np.zeros(len(ray))
    centre = float(row_norms(eye[None])[0])
    weights[seen] = (centre / distance[seen]) ** 2 * cosine[seen]
    return weights


def _in_front(occluders: Occluders, faces: np.ndarray, eye: np.ndarray, points: np.ndarray,
              tolerance: np.ndarray) -> np.ndarray:
    """(N,) whether the plane of each face cuts the segment eye -> point more than ``tolerance``
    before the point."""
    normal = occluders.normals[faces]
    along = dot3(normal, occluders.vertices[occluders.faces[faces, 0]] - eye) / dot3(normal, points - eye)
    return (along > 0) & ((1.0 - along) * row_norms(points - eye) > tolerance)
