"""bulge and concavity move the surface outward / inward by up to h within radius r, and the
labels cover exactly the moved region."""

import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalygen.geometry.canonical import GRID
from anomalygen.labels import anomaly_index
from anomalygen.ops import OPERATORS
from anomalygen.sample import sample_surface

THRESHOLD = 0.004


@pytest.fixture(scope="module")
def sphere():
    return trimesh.creation.icosphere(subdivisions=5, radius=1.0)


def edit_and_label(mesh, name, seed, count=20000):
    operator = OPERATORS[name]
    rng = np.random.default_rng(seed)
    params = operator.draw({}, rng)
    edit = operator.apply(mesh, params, rng)
    surface = sample_surface(edit.mesh, count, rng)
    labels = anomaly_index(mesh, [edit], surface.face_index, surface.barycentric, THRESHOLD)
    return edit, surface, labels


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), name=st.sampled_from(["bulge", "concavity"]))
def test_bump_moves_labelled_points_by_up_to_h_within_r(sphere, seed, name):
    edit, surface, labels = edit_and_label(sphere, name, seed)
    radius, height = edit.params["radius"], edit.params["height"]
    center = np.array(edit.params["center"])
    offset = np.linalg.norm(surface.points, axis=1) - 1.0  # signed distance to the unit sphere
    anomalous = labels > 0
    assert anomalous.any()
    # labelled points left the surface, outward for a bulge and inward for a concavity, by <= h
    sign = 1.0 if name == "bulge" else -1.0
    moved = sign * offset[anomalous]
    assert moved.min() > 0.5 * THRESHOLD  # chords of the tessellation are far below this
    assert moved.max() <= height + 1e-3
    assert np.linalg.norm(surface.points[anomalous] - center, axis=1).max() <= radius + 1e-6
    # unlabelled points stay on the original surface (within the threshold and tessellation)
    assert np.abs(offset[~anomalous]).max() <= THRESHOLD + 2e-3


def test_bump_displacement_is_along_normals_and_smooth(sphere):
    edit, _, _ = edit_and_label(sphere, "bulge", seed=3)
    moved = np.linalg.norm(edit.displacement, axis=1) > 0
    cosine = np.einsum("ij,ij->i", edit.displacement[moved], sphere.vertex_normals[moved])
    # moved vertices leave the operator snapped to the canonical grid (half a step per axis)
    np.testing.assert_allclose(cosine, np.linalg.norm(edit.displacement[moved], axis=1), rtol=1e-9, atol=2 * GRID)
    # the falloff reaches zero smoothly: the smallest non-zero moves are tiny compared to h
    magnitudes = np.linalg.norm(edit.displacement[moved], axis=1)
    assert magnitudes.min() < 0.05 * edit.params["height"]


def test_bump_does_not_reach_through_a_thin_wall():
    # a hollow shell: outer radius 1, inner 0.97; a bump on the outside must leave the inside alone
    outer = trimesh.creation.icosphere(subdivisions=5, radius=1.0)
    inner = trimesh.creation.icosphere(subdivisions=5, radius=0.97)
    inner.invert()
    shell = trimesh.util.concatenate([outer, inner])
    operator = OPERATORS["bulge"]
    for seed in range(6):
        rng = np.random.default_rng(seed)
        edit = operator.apply(shell, {"radius": 0.3, "height": 0.05}, rng)
        moved = np.linalg.norm(edit.displacement, axis=1) > 0
        on_outer = np.arange(len(shell.vertices)) < len(outer.vertices)
        assert moved[on_outer].any() != moved[~on_outer].any()  # one sheet moved, never both


def test_same_seed_same_edit(sphere):
    a, sa, la = edit_and_label(sphere, "concavity", seed=11)
    b, sb, lb = edit_and_label(sphere, "concavity", seed=11)
    assert a.params == b.params
    np.testing.assert_array_equal(sa.points, sb.points)
    np.testing.assert_array_equal(la, lb)
