"""One sample through the sensor of its split: pose, scan, then noise.

Two steps, so that labels are computed in between on exact surface points
(:func:`anomalygen.labels.anomaly_index` on ``Observation.surface``): :func:`observe` draws the
pose and scans the mesh (canonical frame, no noise), :func:`measure` adds the noise and the
outliers, applies the pose and quantises. Outliers are appended after the scanned points and
labelled 0 (normal).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import trimesh

from anomalygen.sample import SurfaceSample, sample_surface
from anomalygen.sensor.noise import outlier_sources, quantise, range_noise
from anomalygen.sensor.pose import apply_pose, draw_pose, invert_pose, rotate
from anomalygen.sensor.scan import scan_surface, viewpoints
from anomalygen.sensor.spec import NoiseSpec, SplitSensor


@dataclass
class Observation:
    """What the sensor saw, before noise.

    surface:    the surface points seen, canonical (mesh) frame;
    rays:       (N, 3) unit direction along which each was measured, canonical frame;
    pose:       (4, 4) canonical -> posed;
    viewpoints: (V, 3) scanner positions, posed frame ((0, 3) without a scanner).
    """

    surface: SurfaceSample
    rays: np.ndarray
    pose: np.ndarray
    viewpoints: np.ndarray


@dataclass
class Measurement:
    """The cloud a sample stores: posed, noisy points and what produced them.

    points, normals: (N + K, 3) float32, posed frame, the K outliers last; anomaly_index:
    (N + K,) uint8, 0 for outliers; pose (4, 4), viewpoints (V, 3); outliers: K.
    """

    points: np.ndarray
    normals: np.ndarray
    anomaly_index: np.ndarray
    pose: np.ndarray
    viewpoints: np.ndarray
    outliers: int


def observe(mesh: trimesh.Trimesh, count: int, sensor: SplitSensor, rng: np.random.Generator) -> Observation:
    """Pose and scan ``mesh``: at most ``count`` surface points (exactly ``count`` without a scanner)."""
    pose = draw_pose(sensor.pose, rng)
    if sensor.scan is None:
        surface = sample_surface(mesh, count, rng)
        return Observation(surface, -surface.normals, pose, np.zeros((0, 3)))
    views = viewpoints(sensor.scan)
    scan = scan_surface(mesh, count, apply_pose(views, invert_pose(pose)), sensor.scan, rng)
    return Observation(scan.surface, scan.rays, pose, views)


def measure(seen: Observation, anomaly_index: np.ndarray, noise: NoiseSpec, rng: np.random.Generator) -> Measurement:
    """Range noise, outliers, pose and quantisation applied to ``seen``; labels as given."""
    surface = seen.surface
    points = range_noise(surface.points, seen.rays, noise.range_std, rng)
    source, offset = outlier_sources(len(points), noise.outliers, rng)
    points = np.concatenate([points, surface.points[source] + offset[:, None] * seen.rays[source]])
    normals = np.concatenate([surface.normals, surface.normals[source]])
    index = np.concatenate([anomaly_index, np.zeros(len(source), dtype=np.uint8)])
    posed = quantise(apply_pose(points, seen.pose), noise.quantisation)
    return Measurement(posed.astype(np.float32), rotate(normals, seen.pose).astype(np.float32), index,
                       seen.pose, seen.viewpoints, len(source))
