"""IMRNet end to end on tiny configs: it learns a shape, flags a bulge, is deterministic and round-trips."""

import dataclasses

import numpy as np
import pytest
import trimesh

torch = pytest.importorskip("torch", reason="anomalygen.detect needs torch (pip install torch)")

from anomalygen.detect.registry import available_methods, create_detector, load_detector
from anomalygen.detect.geometry import normalise
from anomalygen.detect.imrnet import IMRNet
from anomalygen.detect.imrnet.anomaly_map import fuse, smooth_maps
from anomalygen.detect.imrnet.config import IMRNetConfig
from anomalygen.detect.imrnet.model import hidden_points

# small enough to train in seconds on one core, big enough to learn a sphere
TINY = dict(num_points=512, num_groups=16, group_size=32, width=32, depth=2, heads=2, decoder_depth=1,
            embed_hidden=16, steps=150, batch_size=4, pool_size=4, val_copies=1, eval_every=50,
            warmup_steps=10, lr=2e-3)
MESH = trimesh.creation.icosphere(subdivisions=3)


def sphere(n=2000, seed=0, bump=None):
    """(n, 3) points on a unit sphere; ``bump=(radius, height)`` pushes a smooth bulge out at +x."""
    points, faces = trimesh.sample.sample_surface(MESH, n, seed=seed)
    points = np.asarray(points, np.float32)
    if bump is None:
        return points, np.zeros(n, bool)
    radius, height = bump
    d = np.linalg.norm(points - np.array([1.0, 0.0, 0.0]), axis=1)
    lift = height * np.clip(1 - (d / radius) ** 2, 0, None) ** 2
    return (points + MESH.face_normals[faces] * lift[:, None]).astype(np.float32), d < radius


@pytest.fixture(scope="module")
def trained():
    return IMRNet(TINY).fit([sphere(seed=s)[0] for s in range(4)], seed=0)


def test_registry_and_config():
    assert "imrnet" in available_methods()
    det = create_detector("imrnet", {"width": 48})
    assert isinstance(det, IMRNet) and det.config.width == 48
    with pytest.raises(ValueError, match="unknown option"):
        create_detector("imrnet", {"widht": 48})
    with pytest.raises(KeyError):
        create_detector("nope")


def test_normalise_is_robust_to_a_far_bump():
    points, _ = sphere(seed=3)
    bumped, inside = sphere(seed=3, bump=(0.3, 0.3))
    _, c0, s0 = normalise(points)
    _, c1, s1 = normalise(bumped)
    assert abs(s1 / s0 - 1) < 0.02 and np.linalg.norm(c1 - c0) < 0.02


def test_training_logs_and_learns(trained):
    history = trained.info["history"]
    assert history["step"][-1] == TINY["steps"] and len(history["val_loss"]) == len(history["step"])
    assert history["train_loss"][-1] < 0.6 * history["train_loss"][0]     # denoising queries keep a higher floor
    assert np.isfinite(history["val_loss"]).all()
    assert set(trained.info["seconds"]) >= {"prepare", "train", "stats", "total"}
    assert {"point_mean", "point_std", "feature_mean", "feature_std"} == set(trained.stats)


def test_bulge_scores_higher_than_fresh_normal(trained):
    normal, _ = sphere(seed=100)
    bulged, inside = sphere(seed=200, bump=(0.4, 0.3))
    obj_normal, pts_normal = trained.score(normal)
    obj_bulged, pts_bulged = trained.score(bulged)
    assert pts_bulged.shape == (len(bulged),) and pts_bulged.dtype == np.float32
    assert obj_bulged > obj_normal
    assert pts_bulged[inside].mean() > pts_bulged[~inside].mean() + 1.0


@pytest.mark.parametrize("level", ["forward", "point", "fused"])
def test_object_score_is_the_top_fraction_of_the_chosen_map(trained, level):
    cloud, _ = sphere(seed=21, bump=(0.4, 0.3))
    config = trained.config
    try:
        trained.config = dataclasses.replace(config, object_level=level, top_fraction=0.05)
        obj, fused = trained.score(cloud)
        maps = smooth_maps(normalise(cloud)[0], trained.maps(cloud, [1])[1], config.smooth_k)
    finally:
        trained.config = config
    ranked = {"forward": maps["forward"], "point": np.maximum(maps["forward"], maps["backward"]), "fused": fused}[level]
    top = int(np.ceil(0.05 * len(cloud)))
    assert obj == pytest.approx(float(np.sort(ranked)[-top:].mean()), rel=1e-6)
    point, feature = np.maximum(maps["forward"], maps["backward"]), maps["feature"]
    np.testing.assert_allclose(fused, fuse(point.astype(np.float32), feature, trained.stats, 1.0, 1.0), rtol=1e-6)


def test_smoothing_averages_each_map_over_the_nearest_points():
    rng = np.random.default_rng(0)
    points = rng.normal(size=(300, 3))
    maps = {"forward": rng.random(300), "feature": rng.random(300), "drift": rng.normal(size=(300, 3))}
    assert smooth_maps(points, maps, 1) is maps
    smooth = smooth_maps(points, maps, 5)
    near = np.argsort(((points[:, None] - points[None]) ** 2).sum(-1), axis=1)[:, :5]     # brute force
    for name in ("forward", "feature"):
        np.testing.assert_allclose(smooth[name], maps[name][near].mean(1))
    assert smooth["drift"] is maps["drift"]
    constant = smooth_maps(points, {"forward": np.full(300, 0.7)}, 16)["forward"]
    np.testing.assert_allclose(constant, 0.7)                 # a level surface stays level


def test_a_checkpoint_from_before_the_new_scoring_options_scores_as_it_did(trained, tmp_path):
    path = trained.save(tmp_path / "old" / "model.pt")
    payload = torch.load(path, weights_only=True)
    del payload["config"]["object_level"], payload["config"]["smooth_k"]
    torch.save(payload, path)
    loaded = load_detector(path)
    assert (loaded.config.object_level, loaded.config.smooth_k) == ("fused", 1)
    assert set(IMRNetConfig.BEFORE) == {"object_level", "smooth_k"}
    cloud, _ = sphere(seed=8, bump=(0.3, 0.2))
    config = trained.config
    try:
        trained.config = dataclasses.replace(config, object_level="fused", smooth_k=1)
        obj, pts = trained.score(cloud)
    finally:
        trained.config = config
    assert loaded.score(cloud)[0] == obj
    np.testing.assert_array_equal(loaded.score(cloud)[1], pts)


def test_save_load_round_trip(trained, tmp_path):
    cloud, _ = sphere(seed=7, bump=(0.3, 0.2))
    path = trained.save(tmp_path / "m" / "model.pt", data_digest="abc123")
    loaded = load_detector(path)
    assert isinstance(loaded, IMRNet) and loaded.data_digest == "abc123"
    assert dataclasses.asdict(loaded.config) == dataclasses.asdict(trained.config)
    assert loaded.info["history"] == trained.info["history"]
    obj_a, pts_a = trained.score(cloud)
    obj_b, pts_b = loaded.score(cloud)
    assert obj_a == obj_b
    np.testing.assert_array_equal(pts_a, pts_b)
    assert IMRNet.load(path).stats == trained.stats
    # plain data only: loads with weights_only
    assert torch.load(path, weights_only=True)["method"] == "imrnet"


def test_training_is_deterministic():
    config = dict(TINY, steps=6, eval_every=3, pool_size=2)
    clouds = [sphere(n=1000, seed=s)[0] for s in range(2)]
    a = IMRNet(config).fit(clouds, seed=5)
    b = IMRNet(config).fit(clouds, seed=5)
    for (name, wa), (_, wb) in zip(a.model.state_dict().items(), b.model.state_dict().items()):
        assert torch.equal(wa, wb), name
    assert a.info["history"] == b.info["history"] and a.stats == b.stats
    c = IMRNet(config).fit(clouds, seed=6)
    assert c.info["history"]["train_loss"] != a.info["history"]["train_loss"]


def test_score_before_fit_and_small_clouds():
    with pytest.raises(RuntimeError):
        IMRNet(TINY).score(sphere()[0])
    det = IMRNet(dict(TINY, steps=2, eval_every=1, pool_size=1))
    det.fit([sphere(n=300, seed=s)[0] for s in range(2)])      # fewer points than num_points
    obj, pts = det.score(sphere(n=300, seed=9)[0])
    assert np.isfinite(obj) and pts.shape == (300,) and np.isfinite(pts).all()
    assert IMRNetConfig().num_groups == 64 and IMRNetConfig().group_size == 64


@pytest.mark.parametrize("key, value, expected", [("width", -3, "width: got -3, expected an integer in [8, 2048]"),
                                                  ("lr", "fast", "lr: got 'fast', expected a number"),
                                                  ("point_directions", "up", "point_directions: got 'up'"),
                                                  ("smooth_k", 0, "smooth_k: got 0, expected an integer in [1, 256]"),
                                                  ("object_level", "max", "object_level: got 'max', expected one of point, forward, fused"),
                                                  ("width", 130, "width: got 130, expected a multiple of heads"),
                                                  ("steps", True, "steps: got True, expected an integer")])
def test_config_bounds_name_the_key(key, value, expected):
    with pytest.raises(ValueError, match=expected.replace("[", r"\[").replace("]", r"\]")) as error:
        IMRNetConfig(**{key: value})
    assert "\n" not in str(error.value) and str(error.value).startswith("imrnet config: ")
    assert IMRNetConfig(lr=1).lr == 1.0 and isinstance(IMRNetConfig(lr=1).lr, float)    # YAML integers are numbers


# a tiny model trained as the defaults train: random poses, scales and shifts, denoising queries
DENOISER = dict(TINY, steps=200, query_noise=0.15, rot_up_deg=180.0, rot_tilt_deg=180.0, scale_jitter=0.2,
                shift_jitter=0.3)


@pytest.fixture(scope="module")
def denoiser():
    return IMRNet(DENOISER).fit([sphere(seed=s)[0] for s in range(4)], seed=0)


def _patches_of(det, cloud):
    pts, var, _ = det._prepare(cloud)
    xyz = torch.from_numpy(pts)[torch.from_numpy(det._gps(pts, var))]
    patches, centres, member = det._patches(xyz.unsqueeze(0))
    return pts, patches, centres, member


@torch.no_grad()
def test_masked_patches_are_rebuilt_from_their_context(denoiser):
    _, patches, centres, member = _patches_of(denoiser, sphere(seed=11)[0])
    mask = denoiser._mask_sets()[:1]
    hidden = hidden_points(member, mask, denoiser.config.num_points)
    real = denoiser.model(patches, centres, mask, hidden=hidden)
    noise = torch.randn(patches.shape, generator=torch.Generator().manual_seed(0)) * patches.std()
    moved = (denoiser.model(noise, centres, mask, hidden=hidden) - real).pow(2).sum(-1).mean().sqrt()
    radius = patches.pow(2).sum(-1).sqrt().mean()
    assert moved > 0.1 * radius          # the old position-only decoder moved by 0.2% of a radius


@torch.no_grad()
def test_a_patch_on_a_bump_is_rebuilt_on_the_normal_surface(denoiser):
    cloud, inside = sphere(seed=12, bump=(0.5, 0.3))
    pts, patches, centres, member = _patches_of(denoiser, cloud)
    _, shift, scale = normalise(cloud)
    top = int(centres[0, :, 0].argmax())                                # the patch centred on the bump's top
    rebuilt = denoiser.reconstruct(patches[0], centres[0], member[0], 1)[0].points[top].numpy()
    # the unbumped unit sphere in the normalised frame: centre -shift / scale, radius 1 / scale
    to_sphere = np.abs(np.linalg.norm(rebuilt + shift / scale, axis=1) - 1 / scale)
    to_bump = np.linalg.norm(rebuilt[:, None] - pts[inside][None], axis=2).min(1)
    assert to_sphere.mean() < to_bump.mean()


def test_normal_reference_takes_off_the_models_usual_error(trained):
    """On a fresh normal cloud the forward level measured from the training clouds' drift is smaller
    than the raw one; the reference holds one part per training cloud and leaves one out on request."""
    assert len(trained.reference.parts) == 4 and len(trained.reference.without(0).parts) == 3
    cloud = sphere(seed=11)[0]
    with_reference = trained.maps(cloud, [1])[1]["forward"].mean()
    config = trained.config
    try:
        trained.config = dataclasses.replace(config, reference="none")
        raw = trained.maps(cloud, [1])[1]["forward"].mean()
    finally:
        trained.config = config
    assert with_reference < 0.8 * raw
