"""The virtual scanner's geometry: what it sees, what it hides, where its points lie, their noise."""

import numpy as np
import pytest
import trimesh

from anomalygen.geometry.rays import RayCaster
from anomalygen.labels import anomaly_index
from anomalygen.ops import OPERATORS
from anomalygen.sample import sample_surface
from anomalygen.shapes.cache import PreparedMeshCache
from anomalygen.shapes.procedural import build
from anomalygen.sensor.capture import measure, observe
from anomalygen.sensor.pose import apply_pose, draw_pose, invert_pose, rotate
from anomalygen.sensor.scan import Occluders, View, scan_surface, viewpoints
from anomalygen.sensor.spec import NoiseSpec, PoseSpec, ScanSpec, SplitSensor

EYE = np.array([0.0, -3.0, 0.0])
QUIET = NoiseSpec(0.0, 0.0, 0.0)


def scan_spec(**kw):
    return ScanSpec(**{"placement": "single", "viewpoints": 1, "distance": 3.0, "elevation": 0.0,
                       "oversample": 1, "grazing_angle": 89.0, **kw})


@pytest.fixture(scope="module")
def cup(tmp_path_factory):
    return PreparedMeshCache(tmp_path_factory.mktemp("prepared")).get(build("cup", 0), 0.04)


def boxes():
    """A small box in front of (on the -y side of) a large one, seen from EYE."""
    front = trimesh.creation.box((0.6, 0.6, 0.6))
    front.apply_translation((0, -0.5, 0))
    back = trimesh.creation.box((1.0, 0.2, 1.0))
    back.apply_translation((0, 0.1, 0))
    return trimesh.util.concatenate([front, back])


def test_a_single_view_of_a_sphere_samples_the_facing_hemisphere_only():
    sphere = trimesh.creation.icosphere(4)
    scan = scan_surface(sphere, 4000, EYE[None], scan_spec(grazing_angle=80.0), np.random.default_rng(0))
    points = scan.surface.points
    facing = -np.einsum("ij,ij->i", scan.surface.normals, points - EYE) / np.linalg.norm(points - EYE, axis=1)
    assert len(points) > 500 and (points[:, 1] < 0).all()
    assert facing.min() > np.cos(np.deg2rad(80.0))     # nothing beyond the grazing angle
    # the whole cap is covered, not a part of it: every quadrant of the disc seen from EYE
    assert all(((np.sign(points[:, 0]) == sx) & (np.sign(points[:, 2]) == sz)).sum() > 50
               for sx in (-1, 1) for sz in (-1, 1))


def test_a_single_view_of_a_box_samples_the_face_towards_it_only():
    cube = trimesh.creation.box((1.0, 1.0, 1.0))
    points = scan_surface(cube, 3000, EYE[None], scan_spec(), np.random.default_rng(15)).surface.points
    assert len(points) > 300 and np.allclose(points[:, 1], -0.5)


def test_density_falls_with_incidence():
    sphere = trimesh.creation.icosphere(4)
    surface = sample_surface(sphere, 20000, np.random.default_rng(1))
    weights = View(Occluders.of(sphere), EYE, 85.0).weights(surface.points, surface.normals, surface.face_index)
    ray = EYE - surface.points
    cosine = np.einsum("ij,ij->i", surface.normals, ray) / np.linalg.norm(ray, axis=1)
    head_on, oblique = weights[cosine > 0.95], weights[(cosine > 0.2) & (cosine < 0.35)]
    assert head_on.mean() > 2.5 * oblique.mean() > 0


def test_occluded_points_never_appear():
    mesh = boxes()
    scan = scan_surface(mesh, 20000, EYE[None], scan_spec(), np.random.default_rng(2))
    points = scan.surface.points
    on_back_face = np.abs(points[:, 1]) < 1e-9              # the large box's face towards EYE (y = 0)
    # the small box's silhouette (its front face at y = -0.8, half size 0.3) cast from EYE on y = 0
    shadow = 0.3 * 3.0 / 2.2
    inside = np.maximum(np.abs(points[:, 0]), np.abs(points[:, 2]))
    assert not (on_back_face & (inside < shadow - 0.01)).any()
    assert (on_back_face & (inside > shadow + 0.01)).sum() > 100   # the rest of that face is seen


def exactly_visible(mesh, surface, eye, grazing_angle):
    """(N,) bool: facing ``eye`` within the grazing angle and first hit along the ray, by the shared
    ray caster (trimesh's exact float64 triangle intersector), ray by ray."""
    ray = surface.points - eye
    length = np.linalg.norm(ray, axis=1)
    facing = np.einsum("ij,ij->i", surface.normals, ray) < -np.cos(np.deg2rad(grazing_angle)) * length
    hit, _ = RayCaster(mesh, engine="triangle").first_hits(np.repeat(eye[None], len(ray), 0), ray / length[:, None])
    return facing & (hit >= length - 1e-6)


def test_visibility_is_the_shared_ray_casters_on_a_box_behind_a_box():
    mesh = boxes()
    surface = sample_surface(mesh, 400, np.random.default_rng(3))
    seen = View(Occluders.of(mesh), EYE, 89.0).weights(surface.points, surface.normals, surface.face_index) > 0
    exact = exactly_visible(mesh, surface, EYE, 89.0)
    assert exact.sum() > 50 and (seen == exact).all()


@pytest.mark.parametrize("eye", [(0.0, -2.6, 1.5), (1.0, 2.0, 2.0)])
def test_visibility_is_the_shared_ray_casters_on_a_cup(cup, eye):
    """A concave object: its inside, its handle, its rim, seen from above and from the side."""
    eye = np.array(eye)
    surface = sample_surface(cup, 300, np.random.default_rng(16))
    seen = View(Occluders.of(cup), eye, 89.0).weights(surface.points, surface.normals, surface.face_index) > 0
    exact = exactly_visible(cup, surface, eye, 89.0)
    assert exact.sum() > 50 and (seen == exact).all()


def test_scanned_labels_are_the_exact_labels_of_those_surface_points():
    base = trimesh.creation.icosphere(5)
    edit = OPERATORS["bulge"].apply(base, {"radius": 0.5, "height": 0.08}, np.random.default_rng(4))
    sensor = SplitSensor(PoseSpec("any", 180.0, 0.1), scan_spec(placement="sphere", viewpoints=6), QUIET)
    seen = observe(edit.mesh, 8000, sensor, np.random.default_rng(5))
    index = anomaly_index(base, [edit], seen.surface.face_index, seen.surface.barycentric, 0.004)
    cloud = measure(seen, index, QUIET, np.random.default_rng(6))
    assert 0 < np.count_nonzero(cloud.anomaly_index) < len(cloud.anomaly_index)
    # back in the canonical frame, each stored point is a point of the edited surface, and the
    # exact labels of its closest surface point are its label
    canonical = apply_pose(cloud.points.astype(np.float64), invert_pose(cloud.pose))
    closest, distance, face = trimesh.proximity.closest_point(edit.mesh, canonical)
    assert distance.max() < 1e-5
    bary = trimesh.triangles.points_to_barycentric(edit.mesh.triangles[face], closest)
    again = anomaly_index(base, [edit], face, bary, 0.004)
    assert (again == cloud.anomaly_index).mean() > 0.999


@pytest.mark.parametrize("rotation", ["up", "any"])
def test_pose_is_a_proper_rigid_motion_that_maps_canonical_to_stored_points(rotation):
    rng = np.random.default_rng(7)
    for _ in range(20):
        pose = draw_pose(PoseSpec(rotation, 30.0, 0.1), rng)
        r = pose[:3, :3]
        assert np.linalg.det(r) == pytest.approx(1.0, abs=1e-6)
        assert np.allclose(r.T @ r, np.eye(3), atol=1e-6) and (pose[3] == [0, 0, 0, 1]).all()
        assert np.abs(pose[:3, 3]).max() <= 0.1
        if rotation == "up":
            assert r[2, 2] == 1.0 and np.degrees(np.arctan2(r[1, 0], r[0, 0])) <= 30.0 + 1e-6
    sphere = trimesh.creation.icosphere(3)
    sensor = SplitSensor(PoseSpec(rotation, 30.0, 0.1), None, QUIET)
    seen = observe(sphere, 500, sensor, rng)
    cloud = measure(seen, np.zeros(500, np.uint8), QUIET, rng)
    homogeneous = np.column_stack([seen.surface.points, np.ones(500)])
    assert np.allclose((homogeneous @ cloud.pose.T)[:, :3], cloud.points, atol=1e-6)
    assert np.allclose(rotate(seen.surface.normals, cloud.pose), cloud.normals, atol=1e-6)


def test_no_pose_no_noise_keeps_surface_points_exactly():
    sphere = trimesh.creation.icosphere(3)
    seen = observe(sphere, 300, SplitSensor(PoseSpec("none", 0.0, 0.0), None, QUIET), np.random.default_rng(8))
    cloud = measure(seen, np.zeros(300, np.uint8), QUIET, np.random.default_rng(9))
    assert (cloud.pose == np.eye(4)).all() and cloud.viewpoints.shape == (0, 3)
    assert np.array_equal(cloud.points, seen.surface.points.astype(np.float32))


def test_range_noise_has_the_requested_spread_along_the_ray_only():
    sphere = trimesh.creation.icosphere(4)
    sensor = SplitSensor(PoseSpec("none", 0.0, 0.0), scan_spec(), QUIET)
    seen = observe(sphere, 20000, sensor, np.random.default_rng(10))
    cloud = measure(seen, np.zeros(len(seen.rays), np.uint8), NoiseSpec(0.004, 0.0, 0.0), np.random.default_rng(11))
    moved = cloud.points.astype(np.float64) - seen.surface.points
    along = np.einsum("ij,ij->i", moved, seen.rays)
    assert along.std() == pytest.approx(0.004, rel=0.05) and abs(along.mean()) < 2e-4
    assert np.abs(moved - along[:, None] * seen.rays).max() < 1e-6       # nothing across the ray


def test_outliers_are_appended_normal_and_counted_and_quantisation_snaps():
    sphere = trimesh.creation.icosphere(3)
    sensor = SplitSensor(PoseSpec("none", 0.0, 0.0), scan_spec(), QUIET)
    seen = observe(sphere, 2000, sensor, np.random.default_rng(12))
    n = len(seen.rays)
    cloud = measure(seen, np.ones(n, np.uint8), NoiseSpec(0.0, 0.1, 0.001), np.random.default_rng(13))
    assert cloud.outliers == round(0.1 * n) and len(cloud.points) == n + cloud.outliers
    assert (cloud.anomaly_index[:n] == 1).all() and (cloud.anomaly_index[n:] == 0).all()
    steps = cloud.points.astype(np.float64) / 0.001
    assert np.abs(steps - np.rint(steps)).max() < 1e-3


def test_viewpoints_placements():
    ring = viewpoints(scan_spec(placement="ring", viewpoints=4, elevation=30.0))
    assert np.allclose(np.linalg.norm(ring, axis=1), 3.0) and np.allclose(ring[:, 2], 1.5)
    assert np.allclose(ring[0], viewpoints(scan_spec(elevation=30.0))[0])
    sphere = viewpoints(scan_spec(placement="sphere", viewpoints=16))
    assert np.allclose(np.linalg.norm(sphere, axis=1), 3.0) and abs(sphere.mean(axis=0)).max() < 0.3
    whole = scan_surface(trimesh.creation.icosphere(3), 3000, sphere, scan_spec(placement="sphere", viewpoints=16),
                         np.random.default_rng(14)).surface.points
    assert (whole[:, 1] > 0.5).any() and (whole[:, 1] < -0.5).any() and (whole[:, 2] < -0.5).any()
