"""Issue 14: every export flavour read the way the public loaders read it.

The readers here follow the conventions written down in ../shared/reference/loaders.md (globs,
GT paths and delimiters, list files, substring tests on names), not anyone's code. Each checks
that every anomalous sample has a non-empty mask equal to its shard's labels, and that the
clouds open3d reads are the shard's points.
"""

import json
from pathlib import Path

import numpy as np
import open3d as o3d
import pytest
import yaml
from click.testing import CliRunner

from anomalygen.cli import main
from anomalygen.formats import export_dataset, import_dataset, sidecar
from anomalygen.shards import open_dataset

RECIPE = {
    "name": "loaders", "version": 1, "seed": 5,
    "source": {"kind": "procedural", "remesh_edge": 0.04},
    "points": {"count": [2048, 2600]},
    "anomalies": {"per_sample": 2, "max_attempts": 12},   # anomaly index 2: only the sidecar holds it
    "splits": {"train": 2, "test": {"normal": 1, "bulge": 1, "concavity": 1}},
    "classes": {"cup0": None, "vase3": None},
}


def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def synth(tmp: Path, name: str, keep_meshes: bool) -> Path:
    recipe = {**RECIPE, "output": {"keep_meshes": keep_meshes}}
    (tmp / f"{name}.yaml").write_text(yaml.safe_dump(recipe))
    result = invoke("synth", tmp / f"{name}.yaml", "--out", tmp / name, "--cache-dir", tmp / "cache", "--workers", 1,
                    "--quiet")
    assert result.exit_code == 0, result.output
    return tmp / name


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A generated folder without meshes, its recipe, and the same run with meshes kept."""
    tmp = tmp_path_factory.mktemp("loaders")
    return synth(tmp, "plain", False), tmp / "plain.yaml", synth(tmp, "kept", True), tmp / "cache"


def samples(data) -> dict:
    return {s.sample_id: s for s in open_dataset(data)}


def exported(root: Path) -> dict[Path, str]:
    """Resolved pcd path -> sample id, from the export's sidecar."""
    return {path: sample_id for path, (sample_id, _) in sidecar.read(root).items()}


def o3d_points(path: Path) -> np.ndarray:
    cloud = o3d.io.read_point_cloud(str(path))
    return np.asarray(cloud.points).astype(np.float32)


def gt_mask(path: Path, delimiter: str) -> np.ndarray:
    """A GT file parsed as a loader does; like PASDF's, a loader that cannot parse it gets an
    all-zero mask (it swallows the error), which the callers' non-empty checks then catch."""
    try:
        return np.loadtxt(path, delimiter=delimiter)[:, 3]
    except ValueError:
        return np.zeros(0)


def check_test_split(root: Path, pcds: list[Path], gt_of, delimiter: str, original: dict, is_normal) -> int:
    """Every test cloud as open3d reads it is its sample's points; every anomalous one has a GT
    mask (found by ``gt_of``, parsed with ``delimiter``) equal to the shard's labels."""
    ids = exported(root)
    cls = pcds[0].parent.parent.name
    assert len(pcds) == sum(1 for sid in ids.values() if sid.startswith(f"{cls}/test/"))   # none missed
    anomalous = 0
    for pcd in pcds:
        sample = original[ids[pcd.resolve()]]
        np.testing.assert_array_equal(o3d_points(pcd), sample.points)
        assert is_normal(pcd) == (not sample.object_label), pcd
        if sample.object_label:
            mask = gt_mask(gt_of(pcd), delimiter)
            assert mask.any(), f"{gt_of(pcd)}: empty mask"
            np.testing.assert_array_equal(mask, sample.labels)
            anomalous += 1
    return anomalous


# ------------------------------------------------------------------------------ Anomaly-ShapeNet v1

def test_r3d_ad_reads_v1(run, tmp_path):
    """R3D-AD: every file in train/ is a cloud; GT path = the test path with test -> GT, pcd -> txt."""
    data, _, _, _ = run
    export_dataset(data, "anomaly-shapenet", tmp_path)
    original = samples(data)
    for cls in ("cup0", "vase3"):
        train = sorted((tmp_path / cls / "train").iterdir())
        assert len(train) == 2 and all(len(o3d_points(p)) for p in train)
        # the replacement runs on the path below the root the loader is given
        gt_of = lambda p: tmp_path / str(p.relative_to(tmp_path)).replace("test", "GT").replace("pcd", "txt")  # noqa: E731
        anomalous = check_test_split(tmp_path, sorted((tmp_path / cls / "test").glob("*.pcd")), gt_of, ",", original,
                                     lambda p: "positive" in p.name)
        assert anomalous == 2


def test_kept_meshes_never_lie_beside_the_clouds(run, tmp_path):
    _, _, kept, _ = run
    summary = export_dataset(kept, "anomaly-shapenet", tmp_path)
    assert summary["meshes"] == 10
    for split in ("train", "test"):
        assert {p.suffix for p in tmp_path.glob(f"*/{split}/*")} == {".pcd"}
    assert len(list((tmp_path / "obj" / "cup0").glob("cup0_*.obj"))) == 5


def test_mc3d_ad_reads_the_list_files(run, tmp_path):
    """MC3D-AD: train.json/test.json; comma GT only when the data path says Anomaly_ShapeNet."""
    data, _, _, _ = run
    original = samples(data)
    for root, options in [(tmp_path / "Anomaly_ShapeNet", {}), (tmp_path / "other", {"gt_delimiter": "space"})]:
        export_dataset(data, "anomaly-shapenet", root, **options)
        delimiter = "," if "Anomaly_ShapeNet" in str(root) else " "
        ids = exported(root)
        for split, count in (("train", 4), ("test", 6)):
            rows = [json.loads(line) for line in (root / f"{split}.json").read_text().splitlines()]
            assert len(rows) == count
            for row in rows:
                sample = original[ids[(root / row["filename"]).resolve()]]
                assert row["clsname"] == sample.class_name and row["label"] == sample.object_label
                assert row["label_name"] == ("defective" if sample.object_label else "good")
                np.testing.assert_array_equal(o3d_points(root / row["filename"]), sample.points)
                if sample.object_label:
                    mask = gt_mask(root / row["maskname"], delimiter)
                    assert mask.any()
                    np.testing.assert_array_equal(mask, sample.labels)
                else:
                    assert "maskname" not in row


def test_list_files_have_the_published_schema(run, tmp_path, shared_data):
    """Keys, key order and value types of the release's lists (../shared/reference)."""
    data, _, _, _ = run
    export_dataset(data, "anomaly-shapenet", tmp_path)

    def shapes(path):
        return {tuple((key, type(value).__name__) for key, value in json.loads(line).items())
                for line in path.read_text().splitlines()}

    for split in ("train", "test"):
        published = shapes(shared_data.parent / "reference" / f"anomaly-shapenet-{split}-files.jsonl")
        assert shapes(tmp_path / f"{split}.json") == published


# ------------------------------------------------------------------------------ Anomaly-ShapeNet v2

@pytest.fixture(scope="module")
def v2_space(run, tmp_path_factory):
    """The plain run exported as v2 with space-separated GT, meshes regenerated from the recipe."""
    data, recipe, _, cache = run
    dest = tmp_path_factory.mktemp("v2")
    summary = export_dataset(data, "anomaly-shapenet", dest, layout="v2", gt_delimiter="space", recipe=recipe,
                             cache_dir=cache)
    assert summary["regenerated_meshes"] == summary["meshes"] == 10
    return dest


def test_pasdf_reads_v2_with_space_gt(run, v2_space):
    """PASDF: GT parsed with delimiter ' ', one template mesh per class in <templates>/<cls>/*.obj."""
    data, _, _, _ = run
    original = samples(data)
    root = v2_space / "Anomaly-ShapeNet-v2" / "dataset" / "pcd"
    for cls in ("cup0", "vase3"):
        gt_of = lambda p: p.parent.parent / "GT" / f"{p.stem}.txt"  # noqa: E731
        assert check_test_split(root, sorted((root / cls / "test").glob("*.pcd")), gt_of, " ", original,
                                lambda p: "positive" in p.name) == 2
        (template,) = (v2_space / "Anomaly-ShapeNet-v2" / "templates" / cls).glob("*.obj")
        mesh = o3d.io.read_triangle_mesh(str(template))
        assert len(mesh.triangles) > 100
        # the class's template mesh is the one its template clouds were sampled from
        cloud = original[f"{cls}/train/template0"].points
        assert _distances(mesh, cloud).max() < 1e-5


def _distances(mesh, points) -> np.ndarray:
    """Each point's distance to the mesh."""
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(o3d.t.geometry.TriangleMesh.from_legacy(mesh))
    return scene.compute_distance(o3d.core.Tensor(points, dtype=o3d.core.Dtype.Float32)).numpy()


def test_comma_gt_is_what_pasdf_cannot_read(run, tmp_path):
    """Why --gt-delimiter space exists: the release's comma rows give PASDF's reading no mask."""
    data, _, kept, _ = run
    export_dataset(kept, "anomaly-shapenet", tmp_path, layout="v2")
    gt = next((tmp_path / "Anomaly-ShapeNet-v2" / "dataset" / "pcd" / "cup0" / "GT").glob("*.txt"))
    assert not gt_mask(gt, " ").any() and gt_mask(gt, ",").any()


def test_po3ad_reads_v2(run, tmp_path):
    """PO3AD: trains on dataset/obj/<cls>/*template*.obj; test clouds from dataset/pcd by name."""
    _, _, kept, _ = run
    original = samples(kept)
    summary = export_dataset(kept, "anomaly-shapenet", tmp_path, layout="v2")
    assert summary["regenerated_meshes"] == 0 and summary["meshes"] == 10
    dataset = tmp_path / "Anomaly-ShapeNet-v2" / "dataset"
    for cls in ("cup0", "vase3"):
        templates = sorted((dataset / "obj" / cls).glob("*template*.obj"))
        assert [p.name for p in templates] == [f"{cls}_template0.obj", f"{cls}_template1.obj"]
        assert all(len(o3d.io.read_triangle_mesh(str(p)).vertices) > 100 for p in templates)
        tests = sorted((dataset / "pcd" / cls / "test").glob("*.pcd"))
        assert {p.stem for p in tests} == {p.stem for p in (dataset / "obj" / cls).glob("*.obj")} - {p.stem for p in templates}
        gt_of = lambda p: p.parent.parent / "GT" / f"{p.stem}.txt"  # noqa: E731
        assert check_test_split(dataset / "pcd", tests, gt_of, ",", original, lambda p: "positive" in p.name) == 2


def test_regenerated_meshes_are_the_kept_ones(run, v2_space, tmp_path):
    _, _, kept, _ = run
    export_dataset(kept, "anomaly-shapenet", tmp_path, layout="v2")
    ours = sorted((tmp_path / "Anomaly-ShapeNet-v2").rglob("*.obj"))
    assert len(ours) == 12
    for path in ours:
        assert path.read_bytes() == (v2_space / path.relative_to(tmp_path)).read_bytes(), path


def test_v2_without_meshes_or_with_another_recipe_is_refused(run, tmp_path):
    data, recipe, _, cache = run
    result = invoke("export", data, "--format", "anomaly-shapenet", tmp_path / "a", "--layout", "v2")
    assert result.exit_code == 2 and "--recipe" in result.stderr and not (tmp_path / "a").exists()
    other = yaml.safe_load(recipe.read_text()) | {"seed": 6}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other))
    result = invoke("export", data, "--format", "anomaly-shapenet", tmp_path / "b", "--layout", "v2",
                    "--recipe", tmp_path / "other.yaml", "--cache-dir", cache)
    assert result.exit_code == 2 and "differs from the shard's" in result.stderr, result.output
    assert len(result.stderr.strip().splitlines()) == 1 and not (tmp_path / "b").exists()
    result = invoke("export", data, "--format", "real3d-ad", tmp_path / "c", "--layout", "v2")
    assert result.exit_code == 2 and "--layout does not apply to --format real3d-ad" in result.stderr


# ------------------------------------------------------------------------------ Real3D-AD

def test_real3d_ad_benchmark_and_po3ad_read_real3d_ad(run, tmp_path):
    """The benchmark code: *template* clouds to train, 'good' in a test name = normal, gt/<stem>.txt
    space separated; PO3AD: Real3D-AD-PLY/<cls>/*template*.ply."""
    _, _, kept, _ = run
    original = samples(kept)
    export_dataset(kept, "real3d-ad", tmp_path, ply_templates=True)
    ids = exported(tmp_path)
    for cls in ("cup0", "vase3"):
        train = sorted((tmp_path / cls / "train").glob("*template*.pcd"))
        tests = sorted((tmp_path / cls / "test").glob("*.pcd"))
        numbers = [int(p.name.split("_")[0]) for p in train + tests]
        assert sorted(numbers) == list(range(len(numbers)))         # unique within the class
        assert not any("temp" in str(p.relative_to(tmp_path)) for p in tests)
        gt_of = lambda p: p.parent.parent / "gt" / f"{p.stem}.txt"  # noqa: E731
        assert check_test_split(tmp_path, tests, gt_of, " ", original, lambda p: "good" in p.name) == 2
        plys = sorted((tmp_path / "Real3D-AD-PLY" / cls).glob("*template*.ply"))
        assert [p.stem for p in plys] == [p.stem for p in train]
        for ply, pcd in zip(plys, train):
            np.testing.assert_array_equal(o3d_points(ply), original[ids[pcd.resolve()]].points)


# ------------------------------------------------------------------------------ import of every flavour

@pytest.mark.parametrize("options, below", [({}, "."), ({"gt_delimiter": "space"}, "."),
                                            ({"layout": "v2"}, "."), ({"layout": "v2"}, "Anomaly-ShapeNet-v2"),
                                            ({"layout": "v2", "gt_delimiter": "space"}, "Anomaly-ShapeNet-v2/dataset/pcd"),
                                            ({"ply_templates": True}, ".")])
def test_every_flavour_imports_exactly(run, tmp_path, options, below):
    _, _, kept, _ = run
    fmt = "real3d-ad" if "ply_templates" in options else "anomaly-shapenet"
    export_dataset(kept, fmt, tmp_path / "exp", normals=True, **options)
    report = import_dataset(tmp_path / "exp" / below, fmt, tmp_path / "back")
    assert report["samples"] == 10 and report["restored_exactly"] == 10 and report["failed"] == 0
    want, got = samples(kept), samples(tmp_path / "back")
    assert set(got) == set(want)
    for sample_id, sample in want.items():
        for name in ("points", "normals", "anomaly_index"):
            np.testing.assert_array_equal(getattr(got[sample_id], name), getattr(sample, name))
        assert got[sample_id].checksum == sample.checksum and got[sample_id].mesh_ply is not None


def test_a_real_v2_tree_imports_from_two_folders_above(run, tmp_path):
    """The release's v2 tree (dataset/pcd, dataset/new_pcd, dataset/obj), no sidecar, no lists."""
    _, _, kept, _ = run
    export_dataset(kept, "anomaly-shapenet", tmp_path / "exp", layout="v2")
    v2 = tmp_path / "downloads" / "unpacked" / "Anomaly-ShapeNet-v2"
    v2.parent.mkdir(parents=True)
    (tmp_path / "exp" / "Anomaly-ShapeNet-v2").rename(v2)
    for name in ("anomalygen.json", "train.json", "test.json"):
        (v2 / "dataset" / "pcd" / name).unlink()
    (v2 / "dataset" / "new_pcd").mkdir()
    (v2 / "dataset" / "pcd" / "vase3").rename(v2 / "dataset" / "new_pcd" / "vase3")
    report = import_dataset(tmp_path / "downloads", "anomaly-shapenet", tmp_path / "back")
    assert report["classes"] == 2 and report["samples"] == 10 and report["unmatched_points"] == 0
    want, got = samples(kept), samples(tmp_path / "back")
    assert set(got) == set(want)
    for sample_id, sample in want.items():
        np.testing.assert_array_equal(got[sample_id].points, sample.points)
        np.testing.assert_array_equal(got[sample_id].labels, sample.labels)
        assert got[sample_id].mesh_ply is not None          # from dataset/obj
