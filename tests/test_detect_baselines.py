"""BTF and PatchCore baselines: their building blocks by hand, and each method flags a bump."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch", reason="anomalygen.detect needs torch")
pytest.importorskip("open3d", reason="the FPFH baselines need open3d")

from anomalygen.detect.registry import create_detector, load_detector
from anomalygen.detect.baselines import centred_patches, fpfh, greedy_coreset, nearest_bank, reweighted_max
from anomalygen.detect.metrics import auroc

TINY_IMRNET = dict(num_points=256, num_groups=8, group_size=32, width=32, depth=1, heads=2, decoder_depth=1,
                   embed_hidden=16, steps=6, batch_size=2, pool_size=2, val_copies=1, eval_every=3, warmup_steps=2)


def ellipsoid(seed, n=2500, bump=False):
    """(n, 3) float32 points on an ellipsoid; with ``bump``, a raised cap (height 0.2) and its labels."""
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    labels = np.zeros(n, np.uint8)
    radius = np.ones(n)
    if bump:
        along = d @ np.array([0.6, 0.0, 0.8])
        labels[along > 0.9] = 1
        radius += 0.2 * np.clip((along - 0.9) / 0.1, 0, 1)
    return (d * radius[:, None] * [1.0, 0.8, 0.6]).astype(np.float32), labels


@given(st.integers(1, 60), st.integers(1, 8), st.integers(0, 5))
@settings(max_examples=30, deadline=None)
def test_nearest_bank_matches_brute_force(n_bank, k, seed):
    rng = np.random.default_rng(seed)
    bank, queries = rng.normal(size=(n_bank, 7)) * 40, rng.normal(size=(25, 7)) * 40
    dist, idx = nearest_bank(queries, bank, k=k, chunk=8)
    full = np.linalg.norm(queries[:, None] - bank[None], axis=2)
    want = np.sort(full, axis=1)[:, :min(k, n_bank)]
    np.testing.assert_allclose(dist, want, rtol=1e-6)
    np.testing.assert_allclose(np.take_along_axis(full, idx, 1), want, rtol=1e-6)


def test_greedy_coreset_is_farthest_point_and_covers_better_than_random():
    rng = np.random.default_rng(0)
    features = np.concatenate([rng.normal(size=(495, 4)), rng.normal(size=(5, 4)) + 30])   # a far, small cluster
    chosen = greedy_coreset(features, 0.02, seed=1)
    assert len(chosen) == 10 and len(set(chosen)) == 10
    assert (chosen >= 495).any()                       # the far cluster is always covered
    # each pick is the point farthest from the earlier picks
    for j in range(1, len(chosen)):
        gaps = np.linalg.norm(features[:, None] - features[chosen[:j]][None], axis=2).min(1)
        assert gaps[chosen[j]] == pytest.approx(gaps.max())
    coverage = lambda idx: nearest_bank(features, features[idx])[0].max()  # noqa: E731
    random_cover = [coverage(rng.choice(len(features), 10, replace=False)) for _ in range(20)]
    assert coverage(chosen) < min(random_cover)
    np.testing.assert_array_equal(greedy_coreset(features, 0.02, seed=1), chosen)     # seeded
    np.testing.assert_array_equal(greedy_coreset(features, 1.0), np.arange(len(features)))


def test_reweighted_max_by_hand():
    # bank on a line; the worst query sits at 3 from its nearest bank item 0, whose 2 neighbours are 0 and 1
    bank = np.array([[0.0], [1.0], [10.0]])
    queries = np.array([[-3.0], [0.5]])
    scores, nearest = np.array([3.0, 0.5]), np.array([0, 0])
    # w = 1 - exp(3) / (exp(3) + exp(4))
    want = (1 - np.exp(3) / (np.exp(3) + np.exp(4))) * 3.0
    assert reweighted_max(scores, nearest, queries, bank, neighbours=2) == pytest.approx(want)
    assert reweighted_max(scores, nearest, queries, bank, neighbours=0) == 3.0
    # huge distances do not overflow
    assert np.isfinite(reweighted_max(scores * 1e3, nearest, queries * 1e3, bank * 1e3, neighbours=2))


def test_fpfh_is_rotation_invariant_and_centred_patches_translation_invariant():
    points = ellipsoid(0, 1500)[0].astype(np.float64)
    angle = 0.7
    rotation = np.array([[np.cos(angle), -np.sin(angle), 0], [np.sin(angle), np.cos(angle), 0], [0, 0, 1]])
    a, b = fpfh(points, 0.1), fpfh(points @ rotation.T, 0.1)
    assert a.shape == (1500, 33) and a.dtype == np.float32
    np.testing.assert_allclose(a, b, atol=1e-2 * np.abs(a).max())
    patches = centred_patches(points, 5)
    assert patches.shape == (1500, 15)
    np.testing.assert_allclose(centred_patches(points + 3.0, 5), patches, atol=1e-5)
    # nearest first
    norms = np.linalg.norm(patches.reshape(-1, 5, 3), axis=2)
    assert (np.diff(norms, axis=1) >= -1e-6).all()


@pytest.mark.parametrize("method, config", [("btf-raw", {}), ("btf-fpfh", {}), ("patchcore-fpfh", {}),
                                            ("patchcore-imrnet", {"imrnet": TINY_IMRNET, "bank_copies": 2})])
def test_each_baseline_flags_a_bump_and_round_trips(method, config, tmp_path):
    detector = create_detector(method, config).fit([ellipsoid(s)[0] for s in range(3)], seed=0)
    normal = [detector.score(ellipsoid(s)[0]) for s in (10, 11)]
    bumped, labels = ellipsoid(12, bump=True)
    obj, points = detector.score(bumped)
    assert isinstance(obj, float) and points.shape == (len(bumped),) and points.dtype == np.float32
    if method == "btf-raw":                # raw patches see the bump's rim only faintly (the paper's weakest row)
        assert auroc(labels, points) > 0.6
    elif method != "patchcore-imrnet":     # (a 6-step encoder is not expected to see anything)
        assert obj > max(o for o, _ in normal)
        assert auroc(labels, points) > 0.9
    path = detector.save(tmp_path / "model.pt")
    again = load_detector(path).score(bumped)
    assert again[0] == pytest.approx(obj) and np.array_equal(again[1], points)
    refit = create_detector(method, config).fit([ellipsoid(s)[0] for s in range(3)], seed=0)
    np.testing.assert_array_equal(refit.score(bumped)[1], points)                 # deterministic


def test_patchcore_imrnet_takes_a_trained_encoder(tmp_path):
    encoder = create_detector("imrnet", TINY_IMRNET).fit([ellipsoid(s)[0] for s in range(2)], seed=0)
    path = encoder.save(tmp_path / "imrnet.pt")
    detector = create_detector("patchcore-imrnet", {"encoder": str(path), "bank_copies": 2})
    detector.fit([ellipsoid(s)[0] for s in range(2)], seed=0)
    for name, tensor in encoder.model.state_dict().items():
        assert torch.equal(detector.encoder.model.state_dict()[name], tensor)
    assert detector.info["bank_full"] == 2 * 2 * TINY_IMRNET["num_groups"]
    assert detector.info["bank"] == int(np.ceil(0.1 * detector.info["bank_full"]))
