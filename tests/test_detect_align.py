"""The ``align: template`` step: registration recovers a pose, detectors score posed clouds as unposed ones."""

import math

import numpy as np
import pytest

pytest.importorskip("torch", reason="anomalygen.detect needs torch")
pytest.importorskip("open3d", reason="registration needs open3d")

from anomalygen.detect.align import TemplateAligner, register_to, transform
from anomalygen.detect.geometry import rotation
from anomalygen.detect.registry import create_detector, load_detector
from anomalygen.detect.metrics import auroc
from tests.test_detect_baselines import TINY_IMRNET


def blob(seed, n=4000, bump=False):
    """(n, 3) float32 points on a lumpy ellipsoid with no rotational symmetry; with ``bump``, a raised
    cap (height 0.25) and its (n,) labels."""
    d = np.random.default_rng(seed).normal(size=(n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    radius = 1 + 0.2 * np.sin(3 * d[:, 0] + 0.5) * np.cos(2 * d[:, 1] + 0.3) + 0.1 * np.sin(4 * d[:, 2] + 0.7)
    along = d @ np.array([0.6, 0.0, 0.8])
    labels = (along > 0.9).astype(np.uint8) if bump else np.zeros(n, np.uint8)
    if bump:
        radius += 0.25 * np.clip((along - 0.9) / 0.1, 0, 1)
    return (d * radius[:, None] * [1.0, 0.8, 0.6]).astype(np.float32), labels


def posed(points, angle_deg=110.0, shift=(0.7, -0.4, 0.3)):
    """``points`` rotated about a fixed oblique axis and shifted; the (4, 4) pose."""
    pose = np.eye(4)
    pose[:3, :3] = rotation(np.array([1.0, 2.0, -0.5]), math.radians(angle_deg))
    pose[:3, 3] = shift
    return transform(points, pose), pose


def test_register_to_recovers_a_rotation_and_shift_deterministically():
    template, _ = blob(0)
    moved, pose = posed(blob(1)[0])                      # another sampling of the same surface
    found = register_to(moved, template, seed=3)
    back = found @ pose                                  # identity if the pose was undone
    angle = math.degrees(math.acos(np.clip((np.trace(back[:3, :3]) - 1) / 2, -1, 1)))
    assert angle < 2.0
    assert np.linalg.norm(back[:3, 3]) < 0.02            # the object's RMS radius is about 0.8
    for _ in range(6):                                   # open3d's parallel sums once made repeats differ
        np.testing.assert_array_equal(register_to(moved, template, seed=3), found)


def test_register_to_does_not_depend_on_open3d_thread_count():
    import open3d as o3d

    template, _ = blob(0)
    moved, _ = posed(blob(1)[0])
    found = register_to(moved, template, seed=3)
    before = o3d.utility.get_max_threads()
    try:
        for threads in (1, 3):
            o3d.utility.set_max_threads(threads)
            np.testing.assert_array_equal(register_to(moved, template, seed=3), found)
    finally:
        o3d.utility.set_max_threads(before)


def test_aligner_moves_points_without_reordering_them_into_the_template_frame():
    template, _ = blob(0)
    aligner = TemplateAligner("template")
    aligner.fit([template, blob(1)[0]], seed=0)
    frame = aligner.normalise(template)
    np.testing.assert_allclose(np.sqrt((frame ** 2).sum(1).mean()), 1.0, rtol=1e-3)      # unit RMS radius
    moved, _ = posed(template)
    aligned = aligner.normalise(moved)
    assert aligned.shape == template.shape
    assert np.median(np.linalg.norm(aligned - frame, axis=1)) < 0.01     # point i lands on point i
    # a partial view keeps the place and scale of the part it shows (its own normalisation would not)
    half = np.flatnonzero(template[:, 0] > 0.2)
    partial = aligner.normalise(posed(template[half])[0])
    assert np.median(np.linalg.norm(partial - frame[half], axis=1)) < 0.01
    assert TemplateAligner("none").normalise(moved).mean(0) == pytest.approx(np.zeros(3), abs=1e-5)


def test_alignment_lets_a_pose_sensitive_detector_score_posed_clouds_as_unposed():
    # IMRNet reads patch positions (its training reference is looked up by place), so a pose shows
    train = [blob(s)[0] for s in range(3)]
    normal, _ = blob(10)
    moved, _ = posed(normal)
    plain = create_detector("imrnet", {**TINY_IMRNET, "steps": 20}).fit(train, seed=0)
    aligned = create_detector("imrnet", {**TINY_IMRNET, "steps": 20, "align": "template"}).fit(train, seed=0)
    assert plain.score(moved)[1].mean() > 2 * plain.score(normal)[1].mean()
    assert aligned.score(moved)[1].mean() == pytest.approx(aligned.score(normal)[1].mean(), rel=0.05)
    assert aligned.score(moved)[0] == pytest.approx(aligned.score(normal)[0], rel=0.05)


def test_aligned_scores_keep_the_point_order_and_the_template_is_saved(tmp_path):
    train = [blob(s)[0] for s in range(3)]
    det = create_detector("btf-raw", {"align": "template"}).fit(train, seed=0)
    # point i of a posed anomalous cloud scores as point i of the unposed one, the bump where its labels say
    bumped, labels = blob(11, bump=True)
    moved, _ = posed(bumped)
    scores = det.score(moved)[1]
    assert scores.shape == (len(bumped),) and auroc(labels, scores) > 0.75
    assert np.corrcoef(scores, det.score(bumped)[1])[0, 1] > 0.8
    loaded = load_detector(det.save(tmp_path / "m.pt"))
    np.testing.assert_array_equal(loaded.score(moved)[1], scores)


def test_fpfh_detector_with_alignment_scores_posed_normal_low():
    train = [blob(s)[0] for s in range(3)]
    det = create_detector("patchcore-fpfh", {"align": "template"}).fit(train, seed=0)
    normal = blob(10)[0]
    assert det.score(posed(normal)[0])[0] < 1.3 * det.score(normal)[0]


@pytest.mark.parametrize("method", ["btf-fpfh", "patchcore-imrnet", "imrnet"])
def test_bad_align_value_is_a_one_line_error_naming_the_key(method):
    with pytest.raises(ValueError, match=r"align: got 'sideways', expected one of none, template") as err:
        create_detector(method, {"align": "sideways"})
    assert "\n" not in str(err.value)
