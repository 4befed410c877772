"""The built-in procedural shape library: sound solids, determinism, distinct variants,
class-name parsing."""

from __future__ import annotations

import hashlib
import itertools
import re
import subprocess
import sys

import numpy as np
import pytest
import trimesh
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy.spatial import cKDTree

from anomalygen.shapes.procedural import KINDS, REGISTRY, build, parse_class_name

FIRST_RELEASE = (
    "ashtray0 bag0 bottle0 bottle1 bottle3 bowl0 bowl1 bowl2 bowl3 bowl4 bowl5 bucket0 "
    "bucket1 cap0 cap3 cap4 cap5 cup0 cup1 eraser0 headset0 headset1 helmet0 helmet1 helmet2 "
    "helmet3 jar0 microphone0 shelf0 tap0 tap1 vase0 vase1 vase2 vase3 vase4 vase5 vase7 "
    "vase8 vase9"
).split()
"""The 40 classes of Anomaly-ShapeNet's first release."""

SECOND_RELEASE = (
    "cabinet0 cap1 cap2 chair0 cup2 desk0 knife0 knife1 microphone1 screen0 vase6 vase10"
).split()
"""The 12 classes the second release adds (shared/reference/loaders.md)."""

NEW_KINDS = ("cabinet", "chair", "desk", "knife", "screen")
"""The kinds only the second release has."""

CLASSES = sorted(FIRST_RELEASE + SECOND_RELEASE, key=parse_class_name)
"""Every canonical class, as the registry lists them (kind, then variant number)."""

SAMPLES = 2000
# Two siblings must be further apart than this many times the Chamfer distance between two
# independent samplings of either one of them (the sampling noise: 0.03-0.09 in unit-sphere
# units, larger for large, thin-walled surfaces). A copy scores about 1x; the closest
# canonical siblings (vase0/vase8, helmet0/helmet3, bowl0/bowl5) score about 1.9x, clearly
# different pairs 3-10x; 1.5 catches copies and near copies without being flaky.
DISTINCT = 1.5


@pytest.fixture(scope="module")
def meshes() -> dict[str, trimesh.Trimesh]:
    return {name: build(*parse_class_name(name)) for name in CLASSES}


def assert_sound(mesh: trimesh.Trimesh, label: str) -> None:
    assert mesh.is_watertight, f"{label}: not watertight"
    assert mesh.is_winding_consistent and mesh.is_volume, f"{label}: not a manifold volume"
    assert mesh.volume > 0, f"{label}: inward oriented"
    assert len(mesh.split(only_watertight=False)) == 1, f"{label}: more than one body"
    assert 0.5 <= mesh.extents.max() <= 2.0, f"{label}: size {mesh.extents.max():.2f}"
    assert len(mesh.faces) < 50_000, f"{label}: {len(mesh.faces)} faces"


# --------------------------------------------------------------------------- registry


def test_kinds_are_the_twenty_of_anomaly_shapenet():
    first = {re.sub(r"[0-9]+$", "", name) for name in FIRST_RELEASE}
    assert len(first) == 15
    assert set(KINDS) == first | set(NEW_KINDS)
    assert set(KINDS) == {re.sub(r"[0-9]+$", "", name) for name in CLASSES}


def test_presets_are_exactly_the_fifty_two_classes():
    presets = [f"{kind}{v}" for kind in KINDS for v in sorted(REGISTRY[kind].presets)]
    assert presets == CLASSES
    assert len(presets) == 52


# --------------------------------------------------------------------------- meshes


@pytest.mark.parametrize("name", CLASSES)
def test_class_is_a_sound_solid(meshes, name):
    assert_sound(meshes[name], name)


def test_builds_are_deterministic(meshes):
    for name in CLASSES:
        again = build(*parse_class_name(name))
        assert np.array_equal(meshes[name].vertices, again.vertices), name
        assert np.array_equal(meshes[name].faces, again.faces), name


def _digest(mesh: trimesh.Trimesh) -> str:
    return hashlib.sha256(mesh.vertices.tobytes() + mesh.faces.tobytes()).hexdigest()


def test_second_release_builds_are_the_same_in_another_process(meshes):
    """Nothing in a builder may depend on process state (hash salts, global resolutions)."""
    script = ("import hashlib, sys\n"
              "from anomalygen.shapes.procedural import build, parse_class_name\n"
              "for name in sys.argv[1:]:\n"
              "    m = build(*parse_class_name(name))\n"
              "    print(name, hashlib.sha256(m.vertices.tobytes() + m.faces.tobytes()).hexdigest())\n")
    done = subprocess.run([sys.executable, "-c", script, *SECOND_RELEASE], capture_output=True,
                          text=True, check=True)
    there = dict(line.split() for line in done.stdout.splitlines())
    assert there == {name: _digest(meshes[name]) for name in SECOND_RELEASE}


def _points(mesh: trimesh.Trimesh, seed: int, count: int = SAMPLES) -> np.ndarray:
    """(count, 3) surface points of ``mesh`` centred and scaled into the unit sphere."""
    m = mesh.copy()
    m.apply_translation(-m.bounds.mean(axis=0))
    m.apply_scale(1.0 / np.linalg.norm(m.vertices, axis=1).max())
    return trimesh.sample.sample_surface(m, count, seed=seed)[0]


def _chamfer(a: np.ndarray, b: np.ndarray) -> float:
    """Symmetric Chamfer distance: mean nearest-neighbour distance both ways, summed."""
    return float(cKDTree(b).query(a)[0].mean() + cKDTree(a).query(b)[0].mean())


@pytest.mark.parametrize("kind", [k for k in KINDS if len(REGISTRY[k].presets) > 1])
def test_sibling_classes_differ(meshes, kind):
    names = [f"{kind}{v}" for v in sorted(REGISTRY[kind].presets)]
    points = {n: _points(meshes[n], seed=0) for n in names}
    noise = {n: _chamfer(points[n], _points(meshes[n], seed=1)) for n in names}
    for a, b in itertools.combinations(names, 2):
        distance, floor = _chamfer(points[a], points[b]), max(noise[a], noise[b])
        assert distance > DISTINCT * floor, f"{a} vs {b}: {distance:.3f} (noise {floor:.3f})"


@pytest.mark.parametrize("kind", KINDS)
def test_other_variants_are_sound_and_deterministic(kind):
    for variant in (41, 2024):
        assert_sound(build(kind, variant), f"{kind}{variant}")
    mesh, again = build(kind, 41), build(kind, 41)
    assert np.array_equal(mesh.vertices, again.vertices)
    assert np.array_equal(mesh.faces, again.faces)


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_variants_of_the_new_kinds_differ(kind):
    # 4x the points: a knife or a screen is mostly one long or flat part, whose sampling noise
    # at 2000 points hides a different point or stand; a copy still scores about 1x
    names = {f"{kind}{v}": build(kind, v) for v in (0, 41, 2024)}
    points = {n: _points(m, seed=0, count=4 * SAMPLES) for n, m in names.items()}
    noise = {n: _chamfer(points[n], _points(m, seed=1, count=4 * SAMPLES))
             for n, m in names.items()}
    for a, b in itertools.combinations(names, 2):
        distance, floor = _chamfer(points[a], points[b]), max(noise[a], noise[b])
        assert distance > DISTINCT * floor, f"{a} vs {b}: {distance:.3f} (noise {floor:.3f})"


@pytest.mark.parametrize("kind", NEW_KINDS)
def test_many_variants_of_the_new_kinds_are_one_body(kind):
    """Sampled parameters must always fit together (no negative door heights, no specks)."""
    for variant in range(100):
        bodies = REGISTRY[kind].build(variant).decompose()
        assert len(bodies) == 1, f"{kind}{variant}: {len(bodies)} bodies"


def test_other_variants_vary():
    a, b = build("vase", 41), build("vase", 2024)
    assert a.vertices.shape != b.vertices.shape or not np.allclose(a.vertices, b.vertices)


@pytest.mark.parametrize("kind, variant", [("teapot", 0), ("Vase", 0), ("vase", -1),
                                           ("vase", 1.5), ("vase", "3"), ("vase", True)])
def test_build_rejects_bad_arguments(kind, variant):
    with pytest.raises(ValueError):
        build(kind, variant)


def test_build_accepts_numpy_integers():
    assert np.array_equal(build("eraser", np.int64(0)).vertices, build("eraser", 0).vertices)


# --------------------------------------------------------------------------- names

_VALID = re.compile(r"(%s)[0-9]+" % "|".join(KINDS))


@given(kind=st.sampled_from(KINDS), variant=st.integers(min_value=0, max_value=10**12))
def test_class_names_round_trip(kind, variant):
    assert parse_class_name(f"{kind}{variant}") == (kind, variant)


@given(st.text(max_size=20) | st.from_regex(r"[a-z]{2,11}[0-9]{0,3}", fullmatch=True))
def test_other_strings_are_rejected(text):
    assume(_VALID.fullmatch(text) is None)
    with pytest.raises(ValueError):
        parse_class_name(text)


@pytest.mark.parametrize("name", ["", "vase", "3", "vase-1", "Vase3", "vase3 ", " vase3",
                                  "vase3.0", "vase_3", "teapot0", "vase\u0663", "microphone"])
def test_bad_names_raise_readable_errors(name):
    with pytest.raises(ValueError) as error:
        parse_class_name(name)
    message = str(error.value)
    assert repr(name) in message and all(kind in message for kind in KINDS)


def test_parse_rejects_non_strings():
    with pytest.raises(ValueError):
        parse_class_name(3)  # type: ignore[arg-type]
