"""pointops: FPS, kNN, grouping and Chamfer distance against brute-force numpy references."""

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="anomalygen.detect needs torch (pip install torch)")

from anomalygen.detect.pointops import (chamfer_distance, chamfer_l2, farthest_point_sample, group, index_points,
                                        knn, resolve_device, square_distance)


def brute_d2(a, b):
    """(S, N) squared distances in float64."""
    return ((a[:, None, :].astype(np.float64) - b[None, :, :]) ** 2).sum(-1)


def min_pairwise(points):
    d = np.sqrt(brute_d2(points, points))
    np.fill_diagonal(d, np.inf)
    return d.min()


def test_fps_unique_and_better_spread_than_random():
    rng = np.random.default_rng(0)
    cloud = rng.uniform(-1, 1, (2, 1500, 3)).astype(np.float32)
    idx = farthest_point_sample(torch.from_numpy(cloud), 64).numpy()
    assert idx.shape == (2, 64) and idx.dtype == np.int64
    for b in range(2):
        assert len(np.unique(idx[b])) == 64
        fps_spread = min_pairwise(cloud[b, idx[b]])
        random_spreads = [min_pairwise(cloud[b, rng.choice(1500, 64, replace=False)]) for _ in range(20)]
        assert fps_spread >= max(random_spreads)


def test_fps_start_weights_and_shapes():
    rng = np.random.default_rng(1)
    xyz = torch.from_numpy(rng.normal(size=(3, 400, 3)).astype(np.float32))
    idx = farthest_point_sample(xyz, 10, start=torch.tensor([5, 6, 7]))
    assert idx[:, 0].tolist() == [5, 6, 7]
    # uniform weights do not change the picks
    same = farthest_point_sample(xyz, 10, start=torch.tensor([5, 6, 7]), weights=torch.full((3, 400), 2.5))
    assert torch.equal(idx, same)
    # the second pick is the farthest point from the first
    d = ((xyz[0] - xyz[0, 5]) ** 2).sum(-1)
    assert int(idx[0, 1]) == int(torch.argmax(d))
    with pytest.raises(ValueError):
        farthest_point_sample(xyz, 401)


def test_knn_matches_brute_force():
    rng = np.random.default_rng(2)
    query = rng.normal(size=(2, 300, 3)).astype(np.float32)
    ref = rng.normal(size=(2, 500, 3)).astype(np.float32)
    d2, idx = knn(torch.from_numpy(query), torch.from_numpy(ref), 8, chunk=64)   # several chunks
    for b in range(2):
        ref_d = brute_d2(query[b], ref[b])
        ref_idx = np.argsort(ref_d, axis=1)[:, :8]
        np.testing.assert_array_equal(idx[b].numpy(), ref_idx)
        np.testing.assert_allclose(d2[b].numpy(), np.take_along_axis(ref_d, ref_idx, 1), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(square_distance(torch.from_numpy(query), torch.from_numpy(ref))[0].numpy(),
                               brute_d2(query[0], ref[0]), rtol=1e-4, atol=1e-5)


def test_group_returns_relative_patches():
    rng = np.random.default_rng(3)
    xyz = torch.from_numpy(rng.normal(size=(2, 200, 3)).astype(np.float32))
    centres = index_points(xyz, farthest_point_sample(xyz, 8))
    patches, idx = group(xyz, centres, 16)
    assert patches.shape == (2, 8, 16, 3) and idx.shape == (2, 8, 16)
    torch.testing.assert_close(patches + centres.unsqueeze(2), index_points(xyz, idx))
    assert torch.all(patches[:, :, 0].abs() < 1e-6)          # the centre is its own nearest point


def test_chamfer_matches_brute_force_both_directions():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(3, 120, 3)).astype(np.float32)
    b = rng.normal(size=(3, 90, 3)).astype(np.float32)
    d_ab, d_ba, i_ab, i_ba = chamfer_distance(torch.from_numpy(a), torch.from_numpy(b))
    assert d_ab.shape == (3, 120) and d_ba.shape == (3, 90)
    expected = []
    for k in range(3):
        d = brute_d2(a[k], b[k])
        np.testing.assert_array_equal(i_ab[k].numpy(), d.argmin(1))
        np.testing.assert_array_equal(i_ba[k].numpy(), d.argmin(0))
        np.testing.assert_allclose(d_ab[k].numpy(), d.min(1), rtol=1e-4, atol=1e-5)
        np.testing.assert_allclose(d_ba[k].numpy(), d.min(0), rtol=1e-4, atol=1e-5)
        expected.append(d.min(1).mean() + d.min(0).mean())
    per = chamfer_l2(torch.from_numpy(a), torch.from_numpy(b), reduction="none")
    np.testing.assert_allclose(per.numpy(), expected, rtol=1e-4)
    # differentiable, and zero for identical clouds
    x = torch.from_numpy(a).requires_grad_()
    chamfer_l2(x, torch.from_numpy(b)).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert float(chamfer_l2(torch.from_numpy(a), torch.from_numpy(a))) < 1e-6


def test_resolve_device():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device(None).type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError):
            resolve_device("cuda")
        assert resolve_device("auto").type == "cpu"
