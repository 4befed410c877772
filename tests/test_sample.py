import numpy as np
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalygen.sample import sample_surface


def test_area_uniform_and_on_surface():
    # two triangles, one with 9 times the area of the other
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 0, 0], [8, 0, 0], [5, 3, 0]], float)
    mesh = trimesh.Trimesh(vertices, [[0, 1, 2], [3, 4, 5]], process=False)
    s = sample_surface(mesh, 100_000, np.random.default_rng(0))
    share = np.mean(s.face_index == 1)
    assert abs(share - 0.9) < 0.005
    # uniform inside a triangle: the mean of the samples is the centroid
    np.testing.assert_allclose(s.points[s.face_index == 1].mean(axis=0), mesh.triangles_center[1], atol=0.02)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**63 - 1), count=st.integers(1, 500))
def test_barycentric_reconstructs_points(seed, count):
    mesh = trimesh.creation.torus(1.0, 0.3)
    s = sample_surface(mesh, count, np.random.default_rng(seed))
    assert s.points.shape == (count, 3)
    assert (s.barycentric >= -1e-12).all() and np.allclose(s.barycentric.sum(axis=1), 1)
    rebuilt = np.einsum("nk,nkd->nd", s.barycentric, mesh.triangles[s.face_index])
    np.testing.assert_allclose(rebuilt, s.points, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(s.normals, axis=1), 1, atol=1e-9)


def test_same_seed_same_points():
    mesh = trimesh.creation.icosphere(3)
    a = sample_surface(mesh, 1000, np.random.default_rng(42))
    b = sample_surface(mesh, 1000, np.random.default_rng(42))
    np.testing.assert_array_equal(a.points, b.points)
