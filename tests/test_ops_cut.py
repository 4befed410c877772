"""The operators that remove material: hole, crack (token crak) and break (token broken).

Test meshes are built here with manifold3d at unit-sphere scale: a hollow cup (wall 0.04), a
solid icosphere and a solid torus, all closed and close to the prepared edge length.
"""

from __future__ import annotations

import json
import time

import manifold3d as m3
import numpy as np
import pytest
import trimesh
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from anomalygen.ops import OPERATORS, EditResult, OperatorNotApplicable
from anomalygen.ops import _cut
from anomalygen.ops.crack import closest_points

CUTS = ("hole", "crack", "break")
WALL = 0.04
STEP = 0.035  # test meshes are a bit coarser than the prepared 0.025, to keep the tests fast


# --- test meshes -------------------------------------------------------------------------------


def _trimesh(solid: m3.Manifold) -> trimesh.Trimesh:
    out = solid.to_mesh64()
    vertices = np.array(np.asarray(out.vert_properties)[:, :3])
    return trimesh.Trimesh(vertices, np.asarray(out.tri_verts).astype(np.int64), process=False)


def _polyline(corners: list[tuple[float, float]], step: float) -> np.ndarray:
    """(N, 2) points at most ``step`` apart along an open polyline through ``corners``."""
    pieces = []
    for a, b in zip(corners[:-1], corners[1:]):
        count = max(1, int(np.ceil(np.hypot(b[0] - a[0], b[1] - a[1]) / step)))
        pieces.append(np.array(a) + np.arange(count)[:, None] / count * (np.array(b) - np.array(a)))
    return np.vstack(pieces + [np.array([corners[-1]])])


def make_cup(step: float = STEP, radius: float = 0.6, height: float = 1.6) -> trimesh.Trimesh:
    """A hollow cylindrical cup, wall WALL, open at the top; its rim touches the unit sphere."""
    top, bottom, inner = height / 2, -height / 2, radius - WALL
    profile = _polyline(
        [(0, bottom), (radius, bottom), (radius, top), (inner, top), (inner, bottom + WALL), (0, bottom + WALL)],
        step,
    )
    segments = int(np.ceil(2 * np.pi * radius / step))
    return _trimesh(m3.Manifold.revolve(m3.CrossSection([profile]), segments))


def make_torus(step: float = STEP, major: float = 0.7, minor: float = 0.3) -> trimesh.Trimesh:
    angle = np.linspace(0, 2 * np.pi, int(np.ceil(2 * np.pi * minor / step)), endpoint=False)
    profile = np.column_stack([major + minor * np.cos(angle), minor * np.sin(angle)])
    segments = int(np.ceil(2 * np.pi * (major + minor) / step))
    return _trimesh(m3.Manifold.revolve(m3.CrossSection([profile]), segments))


MESHES = {
    "cup": make_cup,
    "sphere": lambda: trimesh.creation.icosphere(subdivisions=5),
    "torus": make_torus,
}


@pytest.fixture(scope="module")
def meshes() -> dict[str, trimesh.Trimesh]:
    return {name: make() for name, make in MESHES.items()}


def apply(name: str, mesh: trimesh.Trimesh, seed: int, **overrides: float) -> EditResult:
    operator = OPERATORS[name]
    rng = np.random.default_rng(seed)
    params = operator.draw({}, rng)
    params.update(overrides)
    return operator.apply(mesh, params, rng)


def first_result(name: str, mesh: trimesh.Trimesh, accept=lambda result: True, seeds=range(40), **overrides):
    """The first result over ``seeds`` that applies and satisfies ``accept`` (as the pipeline
    would redraw after OperatorNotApplicable)."""
    for seed in seeds:
        try:
            result = apply(name, mesh, seed, **overrides)
        except OperatorNotApplicable:
            continue
        if accept(result):
            return result
    pytest.fail(f"{name}: no seed in {seeds} gave a usable result")


def labelled_fraction(result: EditResult, count: int = 40000) -> float:
    """Fraction of area-uniform points the labelling rules of ops.base mark anomalous."""
    points, face = trimesh.sample.sample_surface(result.mesh, count, seed=0)
    labels = result.new_faces[face].copy()
    if len(result.rim_points):
        labels |= cKDTree(result.rim_points).query(points)[0] < result.rim_band
    return float(labels.mean())


def ray_hits(mesh: trimesh.Trimesh, start: np.ndarray, end: np.ndarray) -> int:
    solid = m3.Manifold(m3.Mesh64(vert_properties=np.asarray(mesh.vertices, dtype=np.float64),
                                  tri_verts=np.asarray(mesh.faces, dtype=np.uint64)))
    return len(solid.ray_cast(tuple(start), tuple(end)))


# --- registry ----------------------------------------------------------------------------------


def test_registered_with_release_tokens():
    assert {name: OPERATORS[name].token for name in CUTS} == {"hole": "hole", "crack": "crak", "break": "broken"}
    for name in CUTS:
        for param in OPERATORS[name].params:
            low, high = param.default
            assert param.bounds[0] <= low <= high <= param.bounds[1], (name, param.name)


# --- the contract every cut keeps --------------------------------------------------------------


@pytest.mark.parametrize("mesh_name", sorted(MESHES))
@pytest.mark.parametrize("name", CUTS)
def test_cut_contract(name, mesh_name, meshes):
    source = meshes[mesh_name]
    result = first_result(name, source)
    out = result.mesh
    assert out.is_watertight and out.is_winding_consistent
    assert out.volume < source.volume
    assert result.displacement.shape == (len(out.vertices), 3) and not result.displacement.any()
    assert result.new_faces.any() and (~result.new_faces).any()
    # face_origin: -1 exactly on new faces, a valid input face elsewhere, and the kept face lies
    # inside that input triangle with the same orientation
    origin = result.face_origin
    assert origin.dtype == np.int64
    assert np.array_equal(origin < 0, result.new_faces)
    kept = np.flatnonzero(~result.new_faces)
    assert origin[kept].max() < len(source.faces)
    centroids = out.triangles_center[kept]
    closest = trimesh.triangles.closest_point(source.triangles[origin[kept]], centroids)
    assert np.linalg.norm(closest - centroids, axis=1).max() < 1e-6
    sizable = out.area_faces[kept] > 1e-8
    alignment = np.einsum("ij,ij->i", out.face_normals[kept], source.face_normals[origin[kept]])
    assert alignment[sizable].min() > 0.999
    # the rim: points on the boundary between new and kept faces, a positive band
    assert len(result.rim_points) > 10 and result.rim_band > 0
    new_vertices = out.vertices[np.unique(out.faces[result.new_faces])]
    assert cKDTree(new_vertices).query(result.rim_points)[0].max() < 0.05
    json.dumps(result.params)
    # default sizes are meant for a 1%-7% anomalous share of the points
    assert 0.005 < labelled_fraction(result) < 0.1


@pytest.mark.parametrize("name", CUTS)
def test_deterministic(name, meshes):
    mesh = meshes["sphere"]
    first = apply(name, mesh, seed=3)
    _cut._SOLIDS.clear()  # a rebuilt solid must give the same result as a cached one
    second = apply(name, mesh, seed=3)
    for field in ("displacement", "new_faces", "face_origin", "rim_points"):
        assert np.array_equal(getattr(first, field), getattr(second, field)), field
    assert np.array_equal(first.mesh.vertices, second.mesh.vertices)
    assert np.array_equal(first.mesh.faces, second.mesh.faces)
    assert first.params == second.params and first.rim_band == second.rim_band


# --- hole ----------------------------------------------------------------------------------------


def test_hole_pierces_a_thin_wall(meshes):
    cup = meshes["cup"]
    result = first_result("hole", cup, lambda r: r.params["through"], irregularity=0.0)
    center, axis = np.array(result.params["center"]), np.array(result.params["axis"])
    # a tunnel through a closed surface adds a handle: the Euler characteristic drops by 2
    assert result.mesh.euler_number == cup.euler_number - 2
    # the axis through the wall, which it hit before, now passes freely
    start, end = center - 0.02 * axis, center + (WALL + 0.01) * axis
    assert ray_hits(cup, start, end) > 0 and ray_hits(result.mesh, start, end) == 0
    assert_no_points_in_hole(result, depth=WALL)


def test_hole_blind_in_a_solid(meshes):
    sphere = meshes["sphere"]
    result = apply("hole", sphere, seed=1)
    assert not result.params["through"]
    assert result.mesh.euler_number == sphere.euler_number  # a pit, not a tunnel
    assert_no_points_in_hole(result, depth=result.params["cut_depth"] - 0.005)


def assert_no_points_in_hole(result: EditResult, depth: float) -> None:
    """No point of a dense sampling lies within 0.9 x the smallest outline radius of the axis,
    between the entry point and ``depth`` below it."""
    center, axis = np.array(result.params["center"]), np.array(result.params["axis"])
    points = trimesh.sample.sample_surface(result.mesh, 200000, seed=1)[0] - center
    along = points @ axis
    across = np.linalg.norm(points - along[:, None] * axis, axis=1)
    inside = (across < 0.9 * result.params["min_radius"]) & (along > -0.01) & (along < depth)
    assert not inside.any()


def test_hole_irregular_outline(meshes):
    result = apply("hole", meshes["sphere"], seed=1, irregularity=0.4)
    assert result.params["min_radius"] < 0.8 * result.params["radius"]


# --- crack ---------------------------------------------------------------------------------------


def crack_section(result: EditResult) -> tuple[float, float]:
    """(depth, width) of the crack measured on the output across its middle: the deepest new
    vertex below the surface, and the spread of the rim points across the crack."""
    curve = np.array(result.params["curve"])
    middle = len(curve) // 2
    center = curve[middle]
    tangent = curve[middle + 1] - curve[middle - 1]
    tangent /= np.linalg.norm(tangent)
    normal = center / np.linalg.norm(center)  # on a sphere centred at the origin
    side = np.cross(normal, tangent)
    walls = result.mesh.vertices[np.unique(result.mesh.faces[result.new_faces])] - center
    slab = np.abs(walls @ tangent) < 0.015
    depth = float(np.max(-walls[slab] @ normal))
    lips = result.rim_points - center
    lips = lips[(np.abs(lips @ tangent) < 0.015) & (np.abs(lips @ normal) < 0.01)]
    return depth, float(np.ptp(lips @ side))


def test_crack_is_deeper_than_wide(meshes):
    result = apply("crack", meshes["sphere"], seed=2)
    depth, width = crack_section(result)
    assert width < 1.3 * result.params["width"]
    assert depth > 0.9 * result.params["depth"]
    assert depth / width >= 3.0


def test_crack_goes_through_a_thin_wall(meshes):
    cup = meshes["cup"]

    def on_side_wall(result):
        x, y, z = result.params["center"]
        return abs(np.hypot(x, y) - 0.6) < 1e-3 and abs(z) < 0.5

    result = first_result("crack", cup, on_side_wall, seeds=range(9, 60))  # 9 is the first such seed
    center = np.array(result.params["center"])
    inward = -np.array([center[0], center[1], 0.0]) / np.hypot(center[0], center[1])
    start, end = center - 0.01 * inward, center + (WALL + 0.01) * inward
    assert ray_hits(cup, start, end) > 0 and ray_hits(result.mesh, start, end) == 0


def test_crack_clamps_depth_to_three_widths(meshes):
    result = apply("crack", meshes["sphere"], seed=2, width=0.03, depth=0.03)
    assert result.params["depth"] == pytest.approx(0.09)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_closest_points_match_trimesh(seed):
    rng = np.random.default_rng(seed)
    triangles, point = rng.normal(size=(6, 3, 3)), 2 * rng.normal(size=3)
    weights = closest_points(point, triangles)
    ours = np.einsum("ij,ijk->ik", weights, triangles)
    reference = trimesh.triangles.closest_point(triangles, np.repeat(point[None], 6, axis=0))
    assert np.allclose(ours, reference, atol=1e-9)
    assert np.allclose(weights.sum(axis=1), 1.0) and (weights >= -1e-12).all()


# --- break ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("mesh_name", ["cup", "torus"])
def test_break_removes_a_rough_chunk_at_an_extremity(mesh_name, meshes):
    source = meshes[mesh_name]
    result = apply("break", source, seed=0)
    assert result.mesh.volume < 0.995 * source.volume
    # the fracture is not a plane: RMS distance of its vertices to their best-fit plane
    fracture = result.mesh.vertices[np.unique(result.mesh.faces[result.new_faces])]
    centred = fracture - fracture.mean(axis=0)
    rms = np.linalg.svd(centred, compute_uv=False)[-1] / np.sqrt(len(centred))
    assert rms > 0.005
    # protruding: the chunk was taken where the object reaches far from its centroid
    distance = np.linalg.norm(source.vertices - source.vertices.mean(axis=0), axis=1)
    picked = np.linalg.norm(np.array(result.params["center"]) - source.vertices.mean(axis=0))
    assert picked > 0.9 * distance.max()


# --- not applicable ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", CUTS)
def test_open_mesh_is_not_applicable(name):
    box = trimesh.creation.box(extents=(1.0, 1.0, 1.0)).subdivide().subdivide()
    open_box = trimesh.Trimesh(box.vertices, box.faces[box.face_normals[:, 2] > -0.5], process=False)
    with pytest.raises(OperatorNotApplicable, match="closed"):
        apply(name, open_box, seed=0)


def test_hole_wider_than_a_rod_is_not_applicable():
    rod = _trimesh(m3.Manifold.cylinder(1.8, 0.05, 0.05, 48).translate((0, 0, -0.9)))
    with pytest.raises(OperatorNotApplicable, match="hole"):
        apply("hole", rod, seed=0, radius=0.3)


def test_break_too_large_is_not_applicable(meshes):
    with pytest.raises(OperatorNotApplicable, match="volume|whole"):
        apply("break", meshes["sphere"], seed=0, depth=1.0, radius=2.0)


def bar() -> trimesh.Trimesh:
    return trimesh.creation.box(extents=(1.8, 0.3, 0.3))


def test_cut_that_splits_the_object_is_not_applicable():
    slab = m3.Manifold.cube((0.1, 1.0, 1.0), center=True)
    with pytest.raises(OperatorNotApplicable, match="splits"):
        _cut.subtract(bar(), slab, "test", rim_band=0.03, max_removed=0.5)


def test_cut_drops_a_loose_crumb():
    # a slab near the bar's end (x = 0.9) cuts off a piece of 1.7% of its volume: dropped
    slab = m3.Manifold.cube((0.01, 1.0, 1.0), center=True).translate((0.865, 0, 0))
    cut = _cut.subtract(bar(), slab, "test", rim_band=0.03, max_removed=0.5)
    assert cut.dropped == 1 and cut.mesh.is_watertight
    assert cut.mesh.bounds[1, 0] == pytest.approx(0.86)
    assert cut.removed_volume == pytest.approx(0.04 * 0.09)


def test_cutter_that_misses_is_not_applicable():
    far = m3.Manifold.cube((0.1, 0.1, 0.1)).translate((5, 5, 5))
    with pytest.raises(OperatorNotApplicable, match="misses"):
        _cut.subtract(bar(), far, "test", rim_band=0.03, max_removed=0.5)


def test_hidden_cavity_is_not_applicable():
    inside = m3.Manifold.cube((0.1, 0.1, 0.1), center=True)
    with pytest.raises(OperatorNotApplicable, match="no new surface"):
        _cut.subtract(bar(), inside, "test", rim_band=0.03, max_removed=0.5)


# --- real meshes and speed -----------------------------------------------------------------------


def unit_sphere(mesh: trimesh.Trimesh) -> trimesh.Trimesh:
    """Centre on the bounding box and scale into the unit sphere."""
    vertices = mesh.vertices - mesh.bounds.mean(axis=0)
    return trimesh.Trimesh(vertices / np.linalg.norm(vertices, axis=1).max(), mesh.faces, process=False)


def test_real_meshes_cut_or_decline(shared_data):
    outcomes = {"applied": 0, "declined": 0}
    seen = set()
    suffixes = {".obj", ".ply", ".stl", ".off"}
    paths = sorted(p for p in (shared_data / "meshes").rglob("*") if p.suffix.lower() in suffixes)
    for path in paths:
        try:
            loaded = trimesh.load(path, force="mesh")
        except Exception:  # loader trouble (missing optional dependencies) is not ours to test
            continue
        if len(loaded.faces) == 0:
            continue
        mesh = unit_sphere(trimesh.Trimesh(loaded.vertices, loaded.faces, process=True))
        if hash(mesh) in seen:  # the same model in another file format
            continue
        seen.add(hash(mesh))
        for name in CUTS:
            try:
                result = apply(name, mesh, seed=0)
            except OperatorNotApplicable as error:
                assert str(error).startswith(f"{name}: ") and len(str(error)) > len(name) + 10
                outcomes["declined"] += 1
                continue
            assert not mesh.is_watertight or result.mesh.is_watertight, (path.name, name)
            outcomes["applied"] += 1
    assert outcomes["applied"] > 30 and outcomes["declined"] > 0


@pytest.fixture(scope="module")
def cup_50k() -> trimesh.Trimesh:
    cup = make_cup(step=0.025)
    assert len(cup.faces) > 45000
    return cup


@pytest.mark.parametrize("name", CUTS)
def test_speed_on_a_50k_face_mesh(name, cup_50k):
    cup = cup_50k
    _cut.solid_of(cup, name)  # built once per mesh and cached, like the pipeline's retries
    times = []
    for seed in range(1, 4):
        start = time.process_time()
        try:
            apply(name, cup, seed=seed)
        except OperatorNotApplicable:
            pass
        times.append(time.process_time() - start)
    # meant to take ~0.1 s; the bound only catches gross regressions on a busy machine
    assert np.median(times) < 0.6
