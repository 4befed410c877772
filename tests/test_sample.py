from types import SimpleNamespace

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


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.0, 1.0))
def test_edited_face_geometry_is_trimesh_s_bit_for_bit(seed, share):
    """Reusing the input's areas and normals where no corner moved gives exactly the values
    trimesh computes on the edited mesh, so sampling picks the same faces and points."""
    from anomalygen.ops import OPERATORS
    from anomalygen.ops.base import area_scale
    from anomalygen.sample import edited_face_geometry

    base = trimesh.creation.icosphere(3)
    rng = np.random.default_rng(seed)
    moved = rng.random(len(base.vertices)) < share  # any subset of vertices, also none or all
    displacement = np.where(moved[:, None], rng.normal(0.0, 0.005, (len(base.vertices), 3)), 0.0)
    bump = SimpleNamespace(mesh=trimesh.Trimesh(base.vertices + displacement, base.faces, process=False),
                           face_origin=None)
    hole = OPERATORS["hole"]  # a cut: new faces, so its areas are computed afresh
    hole = hole.apply(bump.mesh, hole.absolute(hole.draw({}, rng), area_scale(bump.mesh)), rng)
    for edits in ([bump], [bump, hole]):
        areas, normals = edited_face_geometry(base, edits)
        np.testing.assert_array_equal(areas, edits[-1].mesh.area_faces)
        np.testing.assert_array_equal(normals, edits[-1].mesh.face_normals)
        a = sample_surface(edits[-1].mesh, 300, np.random.default_rng(seed), (areas, normals))
        b = sample_surface(edits[-1].mesh, 300, np.random.default_rng(seed))
        np.testing.assert_array_equal(a.points, b.points)
        np.testing.assert_array_equal(a.normals, b.normals)
