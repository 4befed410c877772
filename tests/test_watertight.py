"""Watertight preparation: hard meshes come out closed, thick and cuttable; closed meshes are
left exactly as plain preparation makes them; the recipe keys and the preparation report."""

import numpy as np
import pytest
import trimesh

from anomalygen.generate import make_sample
from anomalygen.summary import summarize
from anomalygen.plan import SampleJob
from anomalygen.recipe import RecipeError, recipe_from_mapping
from anomalygen.shapes.cache import PreparedMeshCache, mesh_digest
from anomalygen.shapes.prepare import prepare_mesh
from anomalygen.shapes.watertight import boundary_edges, is_closed_manifold, marching_tetrahedra
from benchmarks.corpus import HARD_MESHES

EDGE = 0.05  # coarse: fast, and min_thickness 0.1 makes the thickening plain to see


@pytest.fixture(scope="module")
def prepared():
    """name -> hard mesh prepared with watertight: auto."""
    return {name: prepare_mesh(make(), EDGE, "auto") for name, make in HARD_MESHES.items()}


@pytest.mark.parametrize("name", list(HARD_MESHES))
def test_hard_meshes_become_closed_manifolds(prepared, name):
    mesh = prepared[name]
    assert is_closed_manifold(mesh.vertices, mesh.faces)
    assert boundary_edges(mesh.faces) == 0
    report = mesh.metadata["preparation"]
    assert report["watertight_after"] and report["boundary_edges_after"] == 0
    assert 0.0 <= report["hausdorff"] < 0.3


def test_open_meshes_are_reported_before_and_after(prepared):
    report = prepared["single_sheet_bowl"].metadata["preparation"]
    assert report["watertight_before"] is False and report["boundary_edges_before"] > 0
    assert report["made_watertight"] and report["min_thickness"] == pytest.approx(2 * EDGE)
    assert report["hausdorff"] >= EDGE / 2  # a sheet is offset by half the thickness on each side


def test_intersecting_closed_parts_are_merged(prepared):
    report = prepared["handle_touching_body"].metadata["preparation"]
    assert report["watertight_before"] and report["parts_overlapped"] and report["made_watertight"]
    assert report["parts_kept"] == 1


def test_a_single_sheet_gets_the_minimum_thickness(prepared):
    plate = prepared["thin_plate"]
    extent = np.ptp(plate.vertices, axis=0)
    assert extent[2] >= 0.8 * 2 * EDGE  # was 0; normalising shrinks it by a few percent


def test_auto_leaves_closed_meshes_exactly_as_plain_preparation():
    source = trimesh.creation.torus(0.6, 0.25)
    auto, never = prepare_mesh(source, EDGE, "auto"), prepare_mesh(source, EDGE, "never")
    assert mesh_digest(auto) == mesh_digest(never)
    assert auto.metadata["preparation"]["made_watertight"] is False
    always = prepare_mesh(source, EDGE, "always")
    assert always.metadata["preparation"]["made_watertight"] and is_closed_manifold(always.vertices, always.faces)


@pytest.mark.parametrize("operator", ["crack", "hole", "break"])
@pytest.mark.parametrize("name", list(HARD_MESHES))
def test_cuts_succeed_on_prepared_hard_meshes(prepared, name, operator):
    recipe = recipe_from_mapping({"name": "t", "version": 1, "seed": 1, "classes": {"vase0": None},
                                  "points": {"count": 2048}})
    job = SampleJob(f"{name}/test/{operator}0", name, "test", operator, 0, seed=7)
    sample = make_sample(job, recipe, prepared[name])
    low, high = recipe.anomalies.fraction
    assert low <= sample.anomalous_fraction <= high


def test_marching_tetrahedra_gives_a_closed_outward_surface():
    cell = 0.1
    axes = np.arange(-1.5, 1.5 + cell / 2, cell)
    grid = np.stack(np.meshgrid(axes, axes, axes, indexing="ij"), axis=-1)
    value = np.linalg.norm(grid, axis=-1) - 1.0 + 1e-3  # positive outside the unit sphere, never 0
    vertices, faces = marching_tetrahedra(value, np.full(3, -1.5), cell)
    mesh = trimesh.Trimesh(vertices, faces, process=False)
    assert is_closed_manifold(vertices, faces)
    assert mesh.volume == pytest.approx(4 / 3 * np.pi, rel=0.05)  # positive: outward


def test_cache_key_includes_the_watertight_settings(tmp_path):
    cache, mesh = PreparedMeshCache(tmp_path), HARD_MESHES["thin_plate"]()
    keys = {cache.key(mesh, EDGE, mode, thickness)
            for mode in ("auto", "always", "never") for thickness in (None, 0.2)}
    assert len(keys) == 6
    first = cache.get(mesh, EDGE, "auto")
    again = PreparedMeshCache(tmp_path).get(mesh, EDGE, "auto")
    assert mesh_digest(first) == mesh_digest(again)
    assert again.metadata["preparation"] == first.metadata["preparation"]


def _doc(**source):
    return {"name": "r", "version": 1, "seed": 1, "classes": {"vase0": None}, "source": source}


def test_recipe_keys_validate_and_default():
    recipe = recipe_from_mapping(_doc())
    assert (recipe.source.watertight, recipe.source.min_thickness) == ("auto", None)
    assert recipe_from_mapping(_doc(watertight="always", min_thickness=0.06)).source.min_thickness == 0.06
    with pytest.raises(RecipeError, match=r"source.watertight: got 'sometimes', expected one of auto, always, never"):
        recipe_from_mapping(_doc(watertight="sometimes"))
    with pytest.raises(RecipeError, match=r"source.min_thickness: got 0.01, expected a number in \[0.025, 0.3\]"):
        recipe_from_mapping(_doc(min_thickness=0.01))
    with pytest.raises(RecipeError, match=r"source.min_thickness: got True"):
        recipe_from_mapping(_doc(min_thickness=True))


def test_digest_ignores_the_new_keys_at_their_defaults():
    base = recipe_from_mapping(_doc()).digest()
    assert recipe_from_mapping(_doc(watertight="auto", min_thickness=None)).digest() == base
    assert recipe_from_mapping(_doc(watertight="never")).digest() != base
    assert recipe_from_mapping(_doc(min_thickness=0.05)).digest() != base


def test_inspect_shows_the_preparation_per_class(prepared):
    stats = {"counts": {}, "points": np.array([]), "fractions": np.array([]), "labelled_normals": [],
             "failed": {}, "damaged": [], "preparation": {"cup": prepared["open_cup"].metadata["preparation"]}}
    text = summarize(stats)
    assert "preparation (1 of 1 classes made watertight" in text
    assert "no->yes" in text and "0.100" in text


def test_an_open_real_mesh_gets_every_cut_and_its_report(tmp_path, shared_data):
    """synth on a folder holding an open, single-sheet real mesh: the cuts succeed, the manifest
    records the preparation and inspect prints it."""
    import json
    import shutil

    import yaml
    from click.testing import CliRunner

    from anomalygen.cli import main

    root = tmp_path / "meshes"
    root.mkdir()
    shutil.copy(shared_data / "meshes/odedstein/cube_no_bottom.obj", root / "box.obj")
    recipe = {"name": "open", "version": 1, "seed": 3,
              "source": {"kind": "folder", "root": str(root), "remesh_edge": 0.04},
              "points": {"count": 2048}, "splits": {"train": 0, "test": {"crack": 1, "hole": 1, "break": 1}},
              "classes": {"box": None}}
    path = tmp_path / "open.yaml"
    path.write_text(yaml.safe_dump(recipe))
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["synth", str(path), "--out", str(out), "--cache-dir", str(tmp_path / "cache"),
                                       "--quiet", "--workers", "1"])
    assert result.exit_code == 0, result.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["failed"] == {} and len(manifest["samples"]) == 3
    report = manifest["preparation"]["box"]
    assert not report["watertight_before"] and report["watertight_after"] and report["made_watertight"]
    shown = CliRunner().invoke(main, ["inspect", str(out)])
    assert "preparation (1 of 1 classes made watertight" in shown.output
