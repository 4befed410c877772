"""Mesh preparation: UNIT normalisation, repair, isotropic remeshing, determinism, cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import manifold3d
import numpy as np
import pymeshlab
import pytest
import trimesh
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anomalygen.geometry.canonical import GRID, snap
from anomalygen.shapes import prepare
from anomalygen.shapes.load import load_mesh
from anomalygen.geometry.orientation import orient_faces
from anomalygen.shapes.cache import PreparedMeshCache, mesh_digest
from anomalygen.shapes.prepare import MeshPreparationError, normalise, prepare_mesh

ROOT = Path(__file__).resolve().parents[1]

# --------------------------------------------------------------------------- shapes


def _from_manifold(solid: manifold3d.Manifold) -> trimesh.Trimesh:
    mesh = solid.to_mesh()
    vertices = np.asarray(mesh.vert_properties)[:, :3].astype(np.float64)
    return trimesh.Trimesh(vertices, np.asarray(mesh.tri_verts, dtype=np.int64), process=False)


def hollow_cup(wall: float = 0.05, segments: int = 64) -> trimesh.Trimesh:
    """Cylinder minus a cylinder: walls and bottom ``wall`` thick once scaled to UNIT."""
    radius, height = 0.5, 1.0
    thickness = wall * np.hypot(radius, height / 2)  # the corner is the farthest point
    outer = manifold3d.Manifold.cylinder(height, radius, radius, segments)
    inner = manifold3d.Manifold.cylinder(height, radius - thickness, radius - thickness, segments)
    return _from_manifold(outer - inner.translate((0.0, 0.0, thickness)))


PROCEDURAL = {
    "cup": hollow_cup,
    "torus": lambda: trimesh.creation.torus(1.0, 0.3, 48, 24),
    "box": lambda: trimesh.creation.box((1.0, 0.6, 0.3)),
}


def edge_lengths(mesh: trimesh.Trimesh) -> np.ndarray:
    edges = mesh.edges_unique
    return np.linalg.norm(mesh.vertices[edges[:, 0]] - mesh.vertices[edges[:, 1]], axis=1)


def assert_unit(mesh: trimesh.Trimesh) -> None:
    # exact up to the canonical snap (half a GRID step per axis)
    vertices = np.asarray(mesh.vertices)
    assert np.linalg.norm(vertices, axis=1).max() == pytest.approx(1.0, abs=GRID)
    np.testing.assert_allclose((vertices.min(0) + vertices.max(0)) / 2, 0.0, atol=GRID)
    assert np.array_equal(snap(vertices), vertices)


def assert_closed_manifold_outward(mesh: trimesh.Trimesh) -> None:
    edges = np.sort(mesh.edges, axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all(), "every edge must have exactly two faces"
    assert mesh.is_watertight and mesh.is_winding_consistent
    assert mesh.volume > 0


def assert_target_edges(mesh: trimesh.Trimesh, edge_length: float) -> None:
    assert 0.8 * edge_length <= np.median(edge_lengths(mesh)) <= 1.2 * edge_length


# --------------------------------------------------------------------------- prepare_mesh


@pytest.mark.parametrize("name", sorted(PROCEDURAL))
def test_procedural_watertight_stays_watertight(name):
    source = PROCEDURAL[name]()
    assert source.is_watertight
    prepared = prepare_mesh(source, 0.05)
    assert prepared.vertices.dtype == np.float64 and prepared.faces.dtype == np.int64
    assert_unit(prepared)
    assert_closed_manifold_outward(prepared)
    assert_target_edges(prepared, 0.05)
    if name == "box":  # flat faces and sharp edges are kept: same volume, scaled to UNIT
        half_diagonal = np.linalg.norm([1.0, 0.6, 0.3]) / 2
        assert prepared.volume == pytest.approx(source.volume / half_diagonal**3, rel=1e-3)
    if name == "cup":  # the 0.05 thick wall survives: the wall's volume in UNIT
        radius, height, scale = 0.5, 1.0, 1 / np.hypot(0.5, 0.5)
        t = 0.05 / scale
        wall = np.pi * (radius**2 * height - (radius - t) ** 2 * (height - t))
        assert prepared.volume == pytest.approx(wall * scale**3, rel=0.03)


@pytest.mark.parametrize(
    "relpath, watertight",
    [
        ("odedstein/bunny.obj", True),
        ("odedstein/spot_low_resolution.obj", True),
        ("odedstein/torus.obj", True),
        ("trimesh-models/featuretype.STL", True),
        ("odedstein/cube_no_bottom.obj", False),
    ],
)
def test_real_meshes(shared_data, relpath, watertight):
    source = load_mesh(shared_data / "meshes" / relpath)
    prepared = prepare_mesh(source, 0.05)
    assert_unit(prepared)
    assert_target_edges(prepared, 0.05)
    assert prepared.is_watertight == watertight
    if watertight:
        assert_closed_manifold_outward(prepared)
    else:  # the open bottom is a real opening, not a small hole
        assert prepared.is_winding_consistent and len(prepared.faces) > 1000


def test_cad_soup_is_prepared_best_effort(shared_data):
    """ShapeNet-like input: non-manifold edges, hundreds of parts, slivers, double faces."""
    source = load_mesh(shared_data / "meshes" / "trimesh-models" / "chair_model.obj")
    prepared = prepare_mesh(source, 0.05)
    assert_unit(prepared)
    assert_target_edges(prepared, 0.05)
    assert len(prepared.faces) > 1000


def test_small_holes_are_closed_large_ones_kept():
    sphere = trimesh.creation.icosphere(3)
    faces = np.delete(np.asarray(sphere.faces), [200, 900], axis=0)  # two one-triangle holes
    prepared = prepare_mesh(trimesh.Trimesh(sphere.vertices, faces, process=False), 0.1)
    assert_closed_manifold_outward(prepared)
    # a lone triangle is no hole: it must not become a two-sided pillow
    one = prepare_mesh(trimesh.Trimesh(np.eye(3), [[0, 1, 2]], process=False), 0.1)
    assert not one.is_watertight


def test_random_winding_and_inside_out_input_come_out_outward():
    torus = PROCEDURAL["torus"]()
    faces = np.asarray(torus.faces).copy()
    flip = np.random.default_rng(3).random(len(faces)) < 0.5
    faces[flip] = faces[flip][:, ::-1]
    prepared = prepare_mesh(trimesh.Trimesh(torus.vertices, faces, process=False), 0.08)
    assert_closed_manifold_outward(prepared)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), invert=st.booleans())
def test_orient_faces_fixes_any_flips(seed, invert):
    torus = trimesh.creation.torus(1.0, 0.3, 16, 8)
    faces = np.asarray(torus.faces).copy()
    if invert:
        faces = faces[:, ::-1]
    flip = np.random.default_rng(seed).random(len(faces)) < 0.5
    faces[flip] = faces[flip][:, ::-1]
    oriented = trimesh.Trimesh(torus.vertices, orient_faces(torus.vertices, faces), process=False)
    assert oriented.is_winding_consistent
    assert oriented.volume == pytest.approx(torus.volume)


def test_cavities_point_inward():
    big, small = manifold3d.Manifold.sphere(1.0, 32), manifold3d.Manifold.sphere(0.5, 24)
    ball = manifold3d.Manifold.sphere(0.2, 16)
    solid = _from_manifold((big - small) + ball)  # shell with a void holding a ball
    inside_out = np.asarray(solid.faces)[:, ::-1]
    fixed = trimesh.Trimesh(solid.vertices, orient_faces(solid.vertices, inside_out), process=False)
    assert fixed.volume == pytest.approx(solid.volume)
    prepared = prepare_mesh(_from_manifold(big - small), 0.1)
    assert_closed_manifold_outward(prepared)
    assert prepared.volume == pytest.approx(4 / 3 * np.pi * (1 - 0.125), rel=0.03)


@pytest.mark.parametrize(
    "vertices, faces",
    [
        (np.zeros((0, 3)), np.zeros((0, 3), dtype=np.int64)),  # empty
        (np.eye(3), [[0, 0, 1], [1, 2, 2]]),  # only faces that repeat a vertex
        ([[0, 0, 0], [1, 1, 1], [2, 2, 2]], [[0, 1, 2]]),  # collinear
        ([[0, 0, 0], [0, 0, 0], [0, 0, 0]], [[0, 1, 2]]),  # a point
        ([[np.nan, 0, 0], [1, 0, 0], [0, 1, 0]], [[0, 1, 2]]),  # not finite
    ],
)
def test_degenerate_inputs_raise(vertices, faces):
    vertices, faces = np.asarray(vertices, float), np.asarray(faces)
    mesh = trimesh.Trimesh(vertices, faces, process=False, validate=False)
    with pytest.raises(MeshPreparationError):
        prepare_mesh(mesh, 0.05)


@pytest.mark.parametrize("edge_length", [0.0, -0.1, float("nan"), float("inf")])
def test_bad_edge_length(edge_length):
    with pytest.raises(ValueError):
        prepare_mesh(trimesh.creation.box(), edge_length)


# --------------------------------------------------------------------------- determinism


def _remesh_with_odd_parameters() -> None:
    """Leave pymeshlab's remembered parameter values far from the ones prepare_mesh uses."""
    meshset = pymeshlab.MeshSet()
    box = trimesh.creation.box()
    meshset.add_mesh(pymeshlab.Mesh(box.vertices, np.asarray(box.faces, dtype=np.int32)))
    meshset.meshing_isotropic_explicit_remeshing(
        iterations=1, swapflag=False, smoothflag=False, featuredeg=5.0, checksurfdist=True,
        targetlen=pymeshlab.PercentageValue(5.0),
    )


def test_deterministic_and_independent_of_earlier_pymeshlab_calls(shared_data):
    source = load_mesh(shared_data / "meshes" / "odedstein" / "spot_low_resolution.obj")
    first = prepare_mesh(source, 0.06)
    _remesh_with_odd_parameters()
    second = prepare_mesh(source, 0.06)
    assert np.array_equal(first.vertices, second.vertices)
    assert np.array_equal(first.faces, second.faces)


def test_deterministic_across_processes(shared_data):
    path = shared_data / "meshes" / "odedstein" / "spot_low_resolution.obj"
    script = (
        "import sys, json\n"
        "from anomalygen.shapes.load import load_mesh\n"
        "from anomalygen.shapes.cache import mesh_digest\nfrom anomalygen.shapes.prepare import prepare_mesh\n"
        "print(json.dumps(mesh_digest(prepare_mesh(load_mesh(sys.argv[1]), 0.1))))\n"
    )
    env = dict(os.environ, PYTHONHASHSEED="123")
    result = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT,
        env=env, timeout=120, check=True,
    )
    other = json.loads(result.stdout.strip().splitlines()[-1])
    assert other == mesh_digest(prepare_mesh(load_mesh(path), 0.1))


# --------------------------------------------------------------------------- invariants


def _rotation(quaternion) -> np.ndarray:
    q = np.asarray(quaternion, float)
    q = q / np.linalg.norm(q)
    return trimesh.transformations.quaternion_matrix(q)[:3, :3]


finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)
quaternions = st.tuples(*[st.floats(-1, 1) for _ in range(4)]).filter(
    lambda q: np.linalg.norm(q) > 0.1
)


@settings(max_examples=40, deadline=None)
@given(
    points=st.lists(st.tuples(finite, finite, finite), min_size=4, max_size=30),
    quaternion=quaternions,
    scale=st.floats(1e-3, 1e3),
    shift=st.tuples(finite, finite, finite),
)
def test_normalise_invariants(points, quaternion, scale, shift):
    points = np.asarray(points)
    if np.ptp(points, axis=0).max() < 1e-2:
        return  # (nearly) one point: nothing to normalise
    moved = points @ _rotation(quaternion).T * scale + np.asarray(shift)
    for cloud in (points, moved):
        unit = normalise(cloud)
        assert np.linalg.norm(unit, axis=1).max() == pytest.approx(1.0)
        np.testing.assert_allclose((unit.min(0) + unit.max(0)) / 2, 0.0, atol=1e-9)
    # scaling and shifting (no rotation: the box centre depends on the axes) changes nothing
    similar = normalise(points * scale + np.asarray(shift))
    np.testing.assert_allclose(similar, normalise(points), atol=1e-7)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(quaternion=quaternions, scale=st.floats(1e-2, 1e2), shift=st.tuples(finite, finite, finite))
def test_prepare_under_similarity_transforms(quaternion, scale, shift):
    torus = trimesh.creation.torus(1.0, 0.3, 24, 12)
    transform = np.eye(4)
    transform[:3, :3] = _rotation(quaternion) * scale
    transform[:3, 3] = shift
    prepared = prepare_mesh(torus.copy().apply_transform(transform), 0.1)
    assert_unit(prepared)
    assert_closed_manifold_outward(prepared)
    assert_target_edges(prepared, 0.1)


# --------------------------------------------------------------------------- mesh_digest


@settings(max_examples=50, deadline=None)
@given(
    vertices=st.lists(st.tuples(*[st.floats(-10, 10, width=32)] * 3), min_size=3, max_size=20),
    seed=st.integers(0, 1000),
)
def test_mesh_digest_depends_on_values_only(vertices, seed):
    v32 = np.asarray(vertices, dtype=np.float32)
    faces = np.random.default_rng(seed).integers(0, len(v32), size=(5, 3))
    reference = mesh_digest(SimpleNamespace(vertices=v32.astype(np.float64), faces=faces))
    variants = [
        SimpleNamespace(vertices=v32, faces=faces.astype(np.int32)),
        SimpleNamespace(
            vertices=np.asfortranarray(v32.astype(np.float64)), faces=np.asfortranarray(faces)
        ),
        SimpleNamespace(  # strided views of the same values
            vertices=np.repeat(v32, 2, axis=0)[::2], faces=np.repeat(faces, 2, axis=0)[::2]
        ),
        trimesh.Trimesh(v32, faces, process=False, validate=False),
    ]
    assert all(mesh_digest(variant) == reference for variant in variants)
    changed = v32.astype(np.float64)
    changed[0, 0] += 1.0
    assert mesh_digest(SimpleNamespace(vertices=changed, faces=faces)) != reference
    rolled = np.roll(faces, 1, axis=1)
    if not np.array_equal(rolled, faces):
        assert mesh_digest(SimpleNamespace(vertices=v32, faces=rolled)) != reference


def test_mesh_digest_reads_negative_zero_as_zero():
    faces = np.array([[0, 1, 2]])
    plus = SimpleNamespace(vertices=np.array([[0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), faces=faces)
    minus = SimpleNamespace(vertices=np.array([[-0.0, 0, 0], [1, 0, 0], [0, 1, 0]]), faces=faces)
    assert mesh_digest(plus) == mesh_digest(minus)


# --------------------------------------------------------------------------- cache


@pytest.fixture
def counted(monkeypatch):
    """Count calls of prepare_mesh made through the cache."""
    calls = []
    real = prepare.prepare_mesh

    def counting(mesh, edge_length, *settings):
        calls.append(edge_length)
        return real(mesh, edge_length, *settings)

    monkeypatch.setattr(prepare, "prepare_mesh", counting)
    return calls


def test_cache_hit_is_identical_and_skips_preparation(tmp_path, counted):
    source = PROCEDURAL["torus"]()
    cache = PreparedMeshCache(tmp_path / "cache")
    fresh = cache.get(source, 0.08)
    cached = cache.get(source.copy(), 0.08)  # another object with the same content
    assert counted == [0.08]
    for array in ("vertices", "faces"):
        a, b = np.asarray(getattr(fresh, array)), np.asarray(getattr(cached, array))
        assert a.dtype == b.dtype and np.array_equal(a, b)
    assert cached.vertices.dtype == np.float64 and cached.faces.dtype == np.int64
    files = sorted(p.name for p in (tmp_path / "cache").iterdir())
    assert files == [f"{cache.key(source, 0.08)}.npz"]  # no temporary files left behind


def test_cache_matches_fresh_preparation(tmp_path):
    source = PROCEDURAL["box"]()
    cached = PreparedMeshCache(tmp_path).get(source, 0.1)
    reread = PreparedMeshCache(tmp_path).get(source, 0.1)
    fresh = prepare_mesh(source, 0.1)
    for mesh in (cached, reread):
        assert np.array_equal(mesh.vertices, fresh.vertices)
        assert np.array_equal(mesh.faces, fresh.faces)


def test_cache_key_covers_content_edge_length_and_version(tmp_path, monkeypatch):
    cache = PreparedMeshCache(tmp_path)
    box = PROCEDURAL["box"]()
    moved = box.copy().apply_translation((0.5, 0, 0))
    keys = {cache.key(box, 0.1), cache.key(box, 0.05), cache.key(moved, 0.1)}
    monkeypatch.setattr(prepare, "PREPARE_VERSION", prepare.PREPARE_VERSION + 1)
    keys.add(cache.key(box, 0.1))
    assert len(keys) == 4
    assert cache.key(box, 0.1) != cache.key(box, 0.1 + 1e-12)
    monkeypatch.undo()
    assert cache.key(box, 0.1) == cache.key(box.copy(), np.float64(0.1))


def test_cache_damaged_file_is_a_miss(tmp_path, counted):
    source = PROCEDURAL["box"]()
    cache = PreparedMeshCache(tmp_path)
    cache.path(source, 0.1).write_bytes(b"not an npz")
    mesh = cache.get(source, 0.1)
    assert counted == [0.1] and len(mesh.faces) > 0
    assert cache.get(source, 0.1).faces.shape == mesh.faces.shape and counted == [0.1]


def test_cache_write_is_atomic(tmp_path, monkeypatch):
    source = PROCEDURAL["box"]()
    cache = PreparedMeshCache(tmp_path)

    def fail(stream, **arrays):
        stream.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(prepare.np, "savez", fail)
    with pytest.raises(OSError, match="disk full"):
        cache.get(source, 0.1)
    assert list(tmp_path.iterdir()) == []  # neither a partial cache file nor a temp file
