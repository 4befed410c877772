"""Voxel down-sampling and FPFH descriptors (open3d), shared by the baselines and the alignment.

Lengths are in the units of the points given (after :func:`~anomalygen.detect.geometry.normalise`,
RMS radii).
"""

from __future__ import annotations

import numpy as np

from anomalygen.geometry.normals import orient_outward

__all__ = ["voxel_points", "fpfh"]


def voxel_points(points: np.ndarray, voxel: float) -> np.ndarray:
    """Voxel down-sampling (open3d: the mean point of each occupied voxel): (N, 3) -> (S, 3) float64."""
    import open3d as o3d

    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    return np.asarray(cloud.voxel_down_sample(voxel).points)


def fpfh(points: np.ndarray, voxel: float) -> np.ndarray:
    """FPFH descriptors (S, 33) float32 of points (S, 3), radii in units of ``voxel`` as in the peers.

    Normals: radius 2 x voxel, at most 30 neighbours, oriented away from the centroid;
    FPFH: radius 5 x voxel, at most 100 neighbours.
    """
    import open3d as o3d

    search = o3d.geometry.KDTreeSearchParamHybrid
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))
    cloud.estimate_normals(search(radius=2 * voxel, max_nn=30))
    cloud.normals = o3d.utility.Vector3dVector(orient_outward(np.asarray(cloud.points), np.asarray(cloud.normals)))
    feature = o3d.pipelines.registration.compute_fpfh_feature(cloud, search(radius=5 * voxel, max_nn=100))
    return np.asarray(feature.data, np.float32).T.copy()
