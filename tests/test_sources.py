"""Mesh sources: load_mesh on real and broken files, mesh folders, ShapeNetCore layouts."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import trimesh

from anomalygen.shapes.folder import mesh_files, resolve_mesh
from anomalygen.shapes.load import MESH_SUFFIXES, MeshLoadError, load_mesh
from anomalygen.shapes.shapenet import ALIASES, SYNSETS, list_models, model_path, synset_id

# --------------------------------------------------------------------------- load_mesh


def test_every_shared_file_loads_or_raises_mesh_load_error(shared_data):
    files = sorted(p for p in (shared_data / "meshes").rglob("*") if p.is_file())
    assert len(files) > 40
    loaded, refused = [], []
    for path in files:
        try:
            mesh = load_mesh(path)
        except MeshLoadError as error:
            assert path.name in str(error) and len(str(error)) > len(str(path)) + 5
            refused.append(path.name)
            continue
        assert isinstance(mesh, trimesh.Trimesh), path
        assert len(mesh.faces) > 0 and len(mesh.vertices) > 0, path
        assert mesh.faces.min() >= 0 and mesh.faces.max() < len(mesh.vertices), path
        assert np.isfinite(mesh.vertices).all(), path
        assert path.suffix.lower() in MESH_SUFFIXES
        loaded.append(path.name)
    assert "points_ascii.ply" in refused and "points_bin.ply" in refused
    assert "bunny.obj" in loaded and "featuretype.STL" in loaded and "ballA.off" in loaded
    # every file with a mesh suffix except the points-only PLYs is a real mesh
    meshes = [p.name for p in files if p.suffix.lower() in MESH_SUFFIXES]
    assert sorted(set(meshes) - set(loaded)) == ["points_ascii.ply", "points_bin.ply"]


@pytest.mark.parametrize("name", ["points_ascii.ply", "points_bin.ply"])
def test_points_only_ply_is_a_load_error(shared_data, name):
    with pytest.raises(MeshLoadError, match="no triangles"):
        load_mesh(shared_data / "meshes" / "trimesh-models" / name)


def test_multibody_stl_keeps_both_bodies(shared_data):
    mesh = load_mesh(shared_data / "meshes" / "trimesh-models" / "multibody.stl")
    assert len(mesh.faces) == 32
    merged = mesh.copy()
    merged.merge_vertices()
    assert len(merged.split(only_watertight=False)) == 2


def test_obj_with_material_and_texture_loads(shared_data):
    folder = shared_data / "meshes" / "trimesh-models"
    assert (folder / "fuze.obj.mtl").is_file() and (folder / "fuze uv.jpg").is_file()
    mesh = load_mesh(folder / "fuze.obj")
    assert len(mesh.faces) == 1000
    assert np.isfinite(mesh.vertices).all()


def test_same_geometry_from_obj_and_ply(shared_data):
    folder = shared_data / "meshes" / "trimesh-models"
    obj, ply = load_mesh(folder / "fuze.obj"), load_mesh(folder / "fuze.ply")
    assert len(obj.faces) == len(ply.faces)
    np.testing.assert_allclose(obj.bounds, ply.bounds, atol=1e-5)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(MeshLoadError, match="no such file"):
        load_mesh(tmp_path / "absent.obj")
    with pytest.raises(MeshLoadError, match="not a file"):
        load_mesh(tmp_path)


def test_unsupported_suffix(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("v 0 0 0\n")
    with pytest.raises(MeshLoadError, match="unsupported suffix"):
        load_mesh(path)


@pytest.mark.parametrize("suffix", [".obj", ".ply", ".stl", ".STL", ".off", ".glb", ".gltf"])
@pytest.mark.parametrize("content", ["random", "text", "empty"])
def test_garbage_is_a_load_error(tmp_path, suffix, content):
    data = {
        "random": np.random.default_rng(0).bytes(3000),
        "text": b"this is not a mesh\nv 1 2\n",
        "empty": b"",
    }[content]
    path = tmp_path / f"garbage{suffix}"
    path.write_bytes(data)
    with pytest.raises(MeshLoadError) as info:
        load_mesh(path)
    assert str(path) in str(info.value)


def test_obj_that_is_not_utf8_loads(tmp_path):
    text = "# caf\xe9 made this\nv 0 0 0\nv 1 0 0\nv 0 1 0\nv 0 0 1\nf 1 2 3\nf 1 2 4\n"
    path = tmp_path / "latin1.obj"
    path.write_bytes(text.encode("latin-1"))
    assert len(load_mesh(path).faces) == 2


def _two_box_scene() -> trimesh.Scene:
    scene = trimesh.Scene()
    box = trimesh.creation.box((1.0, 1.0, 1.0))
    shift = trimesh.transformations.translation_matrix((-3.0, 0.0, 0.0))
    scene.add_geometry(box, node_name="left", transform=shift)
    scale = np.diag([2.0, 1.0, 1.0, 1.0])
    scale[:3, 3] = (3.0, 0.0, 0.0)
    scene.add_geometry(box, node_name="right", transform=scale)
    return scene


@pytest.mark.parametrize("file_type", ["glb", "gltf"])
def test_scene_nodes_are_transformed_and_merged(tmp_path, file_type):
    scene = _two_box_scene()
    if file_type == "glb":
        path = tmp_path / "scene.glb"
        path.write_bytes(scene.export(file_type="glb"))
    else:  # JSON plus separate buffer files, found through the file's folder
        for name, data in scene.export(file_type="gltf").items():
            (tmp_path / name).write_bytes(data)
        path = next(tmp_path.glob("*.gltf"))
    mesh = load_mesh(path)
    assert len(mesh.faces) == 24
    np.testing.assert_allclose(mesh.bounds, [[-3.5, -0.5, -0.5], [4.0, 0.5, 0.5]], atol=1e-6)


def test_point_clouds_in_a_scene_are_dropped(tmp_path):
    scene = trimesh.Scene()
    scene.add_geometry(trimesh.creation.box((1.0, 1.0, 1.0)), node_name="box")
    scene.add_geometry(trimesh.PointCloud(np.full((5, 3), 10.0)), node_name="points")
    path = tmp_path / "mixed.glb"
    path.write_bytes(scene.export(file_type="glb"))
    mesh = load_mesh(path)
    assert len(mesh.faces) == 12
    assert np.abs(mesh.vertices).max() <= 0.5 + 1e-9


def test_mesh_suffixes_are_lower_case():
    assert all(s == s.lower() and s.startswith(".") for s in MESH_SUFFIXES)
    assert {".obj", ".ply", ".stl", ".off", ".glb", ".gltf"} <= set(MESH_SUFFIXES)


# --------------------------------------------------------------------------- folders


def test_mesh_files_of_a_real_folder(shared_data):
    root = shared_data / "meshes" / "odedstein"
    files = mesh_files(root)
    expected = sorted(p.stem for p in root.glob("*.obj"))
    assert list(files) == expected
    assert "bunny" in files and files["bunny"] == root / "bunny.obj"
    assert not any(name.startswith("README") for name in files)


def test_mesh_files_names_collisions_and_hidden_files(tmp_path):
    for rel in ["a.obj", "a.ply", "a.obj.ply", "x.obj", "x.obj.ply", "sub/deep/b.OBJ",
                "sub/c.stl", ".hidden.obj", ".cache/d.obj", "notes.txt", "sub/e.mtl"]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    files = mesh_files(tmp_path)
    # a.obj and a.ply collide on "a" and keep their suffixes; the short names of a.obj.ply
    # and x.obj.ply would be the paths of a.obj and x.obj, so they keep theirs too
    assert list(files) == ["a.obj", "a.obj.ply", "a.ply", "sub/c", "sub/deep/b", "x", "x.obj.ply"]
    assert files["a.obj"] == tmp_path / "a.obj"
    assert files["sub/deep/b"] == tmp_path / "sub" / "deep" / "b.OBJ"
    assert files["x"] == tmp_path / "x.obj"
    assert mesh_files(tmp_path) == files  # stable
    for name, path in files.items():
        assert resolve_mesh(tmp_path, name) == path


def test_mesh_files_missing_root(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        mesh_files(tmp_path / "absent")


def test_resolve_mesh(tmp_path, shared_data):
    root = shared_data / "meshes" / "trimesh-models"
    assert resolve_mesh(root, "featuretype.STL") == root / "featuretype.STL"
    assert resolve_mesh(root, "rabbit") == root / "rabbit.obj"
    assert resolve_mesh(root, "cube") == root / "cube.OBJ"
    with pytest.raises(FileNotFoundError, match="ambiguous"):
        resolve_mesh(root, "featuretype")  # .STL and .ply
    with pytest.raises(FileNotFoundError, match="close names: .*rabbit"):
        resolve_mesh(root, "rabit")
    with pytest.raises(FileNotFoundError, match="inside the mesh folder"):
        resolve_mesh(root, "../odedstein/bunny.obj")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        resolve_mesh(tmp_path / "absent", "a")
    # every name mesh_files gives resolves to its file
    for name, path in mesh_files(root).items():
        assert resolve_mesh(root, name) == path


# --------------------------------------------------------------------------- ShapeNet

KNOWN_IDS = {
    "airplane": "02691156", "ashcan": "02747177", "bag": "02773838", "bookshelf": "02871439",
    "bottle": "02876657", "bowl": "02880940", "cap": "02954340", "chair": "03001627",
    "earphone": "03261776", "faucet": "03325088", "helmet": "03513137", "jar": "03593526",
    "microphone": "03759954", "mug": "03797390", "table": "04379243", "vessel": "04530566",
}


def test_synsets_table():
    assert len(SYNSETS) == 55
    assert len(set(SYNSETS.values())) == 55
    assert all(len(i) == 8 and i.isdigit() for i in SYNSETS.values())
    for name, synset in KNOWN_IDS.items():
        assert SYNSETS[name] == synset
    assert all(target in SYNSETS for target in ALIASES.values())


def test_synset_id_accepts_names_ids_and_aliases():
    assert synset_id("bottle") == "02876657"
    assert synset_id("02876657") == "02876657"
    assert synset_id(" Mug ") == "03797390"
    assert synset_id("Trash Bin") == synset_id("trash-bin") == "02747177"
    assert synset_id("tap") == "03325088"


def test_synset_id_unknown_lists_close_names():
    with pytest.raises(ValueError, match="did you mean: bottle"):
        synset_id("bottel")
    with pytest.raises(ValueError, match="not a ShapeNetCore synset id"):
        synset_id("12345678")


def _fake_shapenet(tmp_path, small_mesh):
    """v1 and v2 trees with a couple of models each, holding a copy of a real mesh."""
    v1, v2 = tmp_path / "ShapeNetCore.v1", tmp_path / "ShapeNetCore.v2"
    for model in ["m1", "m2"]:
        target = v1 / "03797390" / model / "model.obj"
        target.parent.mkdir(parents=True)
        shutil.copy(small_mesh, target)
    for model in ["k1", "k2"]:
        target = v2 / "02876657" / model / "models" / "model_normalized.obj"
        target.parent.mkdir(parents=True)
        shutil.copy(small_mesh, target)
    (v2 / "02876657" / "empty_model").mkdir()
    return v1, v2


def test_shapenet_v1_and_v2_resolution(tmp_path, shared_data):
    small = shared_data / "meshes" / "odedstein" / "cube.obj"
    v1, v2 = _fake_shapenet(tmp_path, small)
    assert model_path(v1, "mug", "m1") == v1 / "03797390" / "m1" / "model.obj"
    assert model_path(v1, "03797390", "m2") == v1 / "03797390" / "m2" / "model.obj"
    expected = v2 / "02876657" / "k2" / "models" / "model_normalized.obj"
    assert model_path(v2, "bottle", "k2") == expected == model_path(v2, "02876657", "k2")
    assert list_models(v2, "bottle") == ["k1", "k2"]
    assert list_models(v1, "03797390") == ["m1", "m2"]
    assert len(load_mesh(model_path(v1, "mug", "m1")).faces) == len(load_mesh(small).faces)


def test_shapenet_prefers_v2_and_reports_both_paths(tmp_path, shared_data):
    small = shared_data / "meshes" / "odedstein" / "cube.obj"
    _, v2 = _fake_shapenet(tmp_path, small)
    both = v2 / "02876657" / "k1"
    shutil.copy(small, both / "model.obj")
    assert model_path(v2, "bottle", "k1") == both / "models" / "model_normalized.obj"
    with pytest.raises(FileNotFoundError) as info:
        model_path(v2, "bottle", "empty_model")
    message = str(info.value)
    assert "model_normalized.obj" in message and "model.obj (v1)" in message
    with pytest.raises(FileNotFoundError, match="does not exist"):
        list_models(v2, "mug")
    with pytest.raises(FileNotFoundError, match="ShapeNet root"):
        model_path(tmp_path / "absent", "mug", "m1")
    with pytest.raises(ValueError):
        model_path(v2, "bottle", "../k1")
