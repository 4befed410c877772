"""GPS keeps more points on a small bump than plain FPS does."""

import numpy as np
import pytest
import trimesh

torch = pytest.importorskip("torch", reason="anomalygen.detect needs torch (pip install torch)")

from anomalygen.detect.gps import GPSConfig, gps_sample, surface_variation
from anomalygen.detect.pointops import farthest_point_sample


def bumped_sphere(n=8000, radius=0.1, height=0.05, seed=0):
    """Points on a unit icosphere with a smooth bump of ``radius`` pushed out along the normals at +z."""
    mesh = trimesh.creation.icosphere(subdivisions=4)
    points, faces = trimesh.sample.sample_surface(mesh, n, seed=seed)
    normals = mesh.face_normals[faces]
    d = np.linalg.norm(points - np.array([0.0, 0.0, 1.0]), axis=1)
    lift = height * np.clip(1 - (d / radius) ** 2, 0, None) ** 2
    return (points + normals * lift[:, None]).astype(np.float32), d < radius


def test_surface_variation_flat_vs_curved():
    rng = np.random.default_rng(0)
    plane = np.c_[rng.uniform(-1, 1, (2000, 2)), np.zeros(2000)]
    assert surface_variation(plane, 16).max() < 1e-6
    points, inside = bumped_sphere()
    s = surface_variation(points, 16)
    assert s.shape == (len(points),) and s.max() <= 1 / 3 + 1e-6 and s.min() >= 0
    assert np.median(s[inside]) > 10 * np.median(s[~inside])


def test_gps_keeps_more_bump_points_than_fps():
    for seed in (0, 1):
        points, inside = bumped_sphere(seed=seed)
        for m in (512, 1024):
            gps = gps_sample(points, m)
            fps = farthest_point_sample(torch.from_numpy(points)[None], m)[0].numpy()
            assert len(np.unique(gps)) == m
            assert inside[gps].sum() >= 2 * inside[fps].sum() + 2, (seed, m, inside[gps].sum(), inside[fps].sum())


def test_gps_without_variation_weight_is_fps():
    points, _ = bumped_sphere(n=2000)
    plain = farthest_point_sample(torch.from_numpy(points)[None], 100)[0].numpy()
    np.testing.assert_array_equal(gps_sample(points, 100, GPSConfig(beta=0.0)), plain)
    np.testing.assert_array_equal(gps_sample(points, 5000), np.arange(2000))   # m >= N keeps everything
