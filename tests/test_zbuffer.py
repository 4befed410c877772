"""The face buffer: the nearest face behind every pixel centre, as its definition says."""

from __future__ import annotations

import numpy as np
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalygen.geometry.zbuffer import BLOCK, FaceBuffer, _affine_coefficients, _rasterise


def _brute_force(x: np.ndarray, y: np.ndarray, z: np.ndarray, resolution: int) -> np.ndarray:
    """The definition, face by face over every pixel centre: covered where w0, w1, w2 >= 0 (float32
    coefficients), nearest = the largest 1/z, ties to the lowest face index; -1 where none."""
    coefficients = _affine_coefficients(x, y, z).astype(np.float32)
    centre = (np.arange(resolution) + 0.5).astype(np.float32)
    px, py = centre[None, :], centre[:, None]
    best = np.full((resolution, resolution), -1)
    nearest = np.full((resolution, resolution), -np.inf, dtype=np.float32)
    for f in range(len(x)):
        a = coefficients[:, f]
        value = [a[k] * px + a[k + 1] * py + a[k + 2] for k in (0, 3, 6, 9)]
        covered = (value[0] >= 0) & (value[1] >= 0) & (value[2] >= 0)
        closer = covered & (value[3] > nearest)
        best[closer], nearest[closer] = f, value[3][closer]
    return best


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), faces=st.integers(1, 60), size=st.floats(0.5, 12.0))
def test_rasterise_matches_the_definition(seed, faces, size):
    """Small faces (the block path), large ones (pixel pairs), slivers, faces off the image and
    degenerate ones give exactly the per-pixel definition."""
    rng = np.random.default_rng(seed)
    resolution = 24
    centre = rng.uniform(-4, resolution + 4, (faces, 1, 2))
    corners = centre + rng.normal(0.0, size, (faces, 3, 2)) * rng.uniform(0, 1, (faces, 1, 1))
    corners[: faces // 5, 2] = corners[: faces // 5, 1]          # some degenerate faces
    x, y = corners[..., 0], corners[..., 1]
    z = rng.uniform(1.0, 3.0, (faces, 3))
    np.testing.assert_array_equal(_rasterise(x, y, z, resolution), _brute_force(x, y, z, resolution))


def test_both_paths_are_exercised_by_a_mesh():
    """A sphere seen up close has faces that fit a block and faces that do not."""
    sphere = trimesh.creation.icosphere(2)
    buffer = FaceBuffer(sphere.vertices, sphere.faces, np.array([0.0, -1.6, 0.0]), 1.0, resolution=64)
    x, y, _ = buffer.project(sphere.vertices)
    span = np.ptp(x[sphere.faces], axis=1)
    assert (span < BLOCK - 1).any() and (span > BLOCK + 1).any()
    x, y, z = (c[sphere.faces] for c in buffer.project(sphere.vertices))
    np.testing.assert_array_equal(buffer.face, _brute_force(x, y, z, 64))
    # the centre pixel sees the face the central ray meets first
    hit = sphere.ray.intersects_first([[0.0, -1.6, 0.0]], [[0.0, 1.0, 0.0]])[0]
    assert hit in buffer.face[31:33, 31:33]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_faces_around_reads_the_pixel_and_its_8_neighbours(seed):
    """Inside, on the border and beyond it: the 3 x 3 pixels around each point, -1 off the image."""
    rng = np.random.default_rng(seed)
    sphere = trimesh.creation.icosphere(1)
    buffer = FaceBuffer(sphere.vertices, sphere.faces, np.array([0.0, -3.0, 0.0]), 1.0, resolution=8)
    x, y = rng.uniform(-3.0, 11.0, 200), rng.uniform(-3.0, 11.0, 200)
    found = buffer.faces_around(x, y)
    for n in range(len(x)):
        i, j = int(np.floor(x[n])), int(np.floor(y[n]))
        expected = [buffer.face[jj, ii] if 0 <= ii < 8 and 0 <= jj < 8 else -1
                    for jj in (j - 1, j, j + 1) for ii in (i - 1, i, i + 1)]
        assert found[n].tolist() == expected
