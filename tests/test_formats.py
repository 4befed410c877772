"""Folder layouts both ways: shards -> Anomaly-ShapeNet / Real3D-AD / PLY -> shards."""

import io

import numpy as np
import pytest
import trimesh

from anomalygen.formats import export_dataset, import_dataset
from anomalygen.formats.folders import estimate_normals, parse_stem
from anomalygen.formats.pcd import read_pcd, write_pcd
from anomalygen.formats.ply import read_ply
from anomalygen.shards import Sample, open_dataset, read_manifest, shard_path, write_shard

# (class, split, kind, id token, count)
PLAN = [
    ("vase3", "train", "normal", "template", 2), ("vase3", "test", "normal", "positive", 2),
    ("vase3", "test", "bulge", "bulge", 2), ("vase3", "test", "concavity", "concavity", 1),
    ("vase3", "test", "crack", "crak", 1),
    ("cup0", "train", "normal", "template", 1), ("cup0", "test", "normal", "positive", 1),
    ("cup0", "test", "hole", "hole", 1),
]


def sphere_sample(sample_id, kind, rng, mesh_ply=None):
    """Points on a bumpy unit sphere (float32, ~0.5-1.5k), 1-2 labelled caps when anomalous."""
    class_name, split, _ = sample_id.split("/")
    n = int(rng.integers(500, 1500))
    directions = rng.normal(size=(n, 3))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    points = (directions * (1 + 0.01 * rng.normal(size=(n, 1)))).astype(np.float32)
    index = np.zeros(n, np.uint8)
    types = []
    if kind != "normal":
        for k in (1, 2)[: int(rng.integers(1, 3))]:
            centre = rng.normal(size=3)
            index[directions @ (centre / np.linalg.norm(centre)) > 0.93] = k
            types.append(kind)
    return Sample(sample_id, class_name, split, kind, points, directions.astype(np.float32), index, types,
                  [{"depth": 0.1}] * len(types), seed=int(rng.integers(1 << 62)), mesh_ply=mesh_ply)


@pytest.fixture(scope="module")
def shards(tmp_path_factory):
    """A small generated-looking folder; cup0 keeps its meshes."""
    root = tmp_path_factory.mktemp("src")
    rng = np.random.default_rng(7)
    mesh = trimesh.creation.icosphere(subdivisions=1).export(file_type="ply")
    groups: dict = {}
    for class_name, split, kind, token, count in PLAN:
        for i in range(count):
            sample = sphere_sample(f"{class_name}/{split}/{token}{i}", kind, rng,
                                   mesh if class_name == "cup0" else None)
            groups.setdefault((class_name, split), []).append(sample)
    for (class_name, split), samples in groups.items():
        shard_id = f"{class_name}/{split}-0000"
        write_shard(shard_path(root, shard_id), samples, {"class_name": class_name, "split": split, "shard_id": shard_id})
    return root, {s.sample_id: s for samples in groups.values() for s in samples}


def assert_same_samples(imported_dir, original):
    got = {s.sample_id: s for s in open_dataset(imported_dir)}
    assert set(got) == set(original)
    for sample_id, want in original.items():
        s = got[sample_id]
        np.testing.assert_array_equal(s.points, want.points)          # float32 exact
        np.testing.assert_array_equal(s.labels, want.labels)
        assert s.kind == want.kind and s.object_label == want.object_label
        # anomalygen.json restores what the layout cannot hold
        assert (s.types, s.params, s.seed) == (want.types, want.params, want.seed)
        np.testing.assert_array_equal(s.anomaly_index, want.anomaly_index)
    return got


@pytest.mark.parametrize("fmt, encoding, normals", [("anomaly-shapenet", "ascii", False), ("real3d-ad", "binary", True),
                                                   ("anomaly-shapenet", "binary_compressed", False)])
def test_round_trip_keeps_points_labels_and_counts(shards, tmp_path, fmt, encoding, normals):
    src, original = shards
    summary = export_dataset(src, fmt, tmp_path / "out", encoding=encoding, normals=normals)
    assert summary["samples"] == len(original) == 11 and summary["gt_files"] == 5 and summary["meshes"] == 3
    report = import_dataset(tmp_path / "out", fmt, tmp_path / "back")
    assert report["samples"] == 11 and report["failed"] == 0 and report["unmatched_points"] == 0
    assert report["cloud_from_gt"] == 0 and report["missing_gt"] == 0
    got = assert_same_samples(tmp_path / "back", original)
    manifest = read_manifest(tmp_path / "back")
    assert manifest["counts"] == {"vase3": {"train": {"normal": 2}, "test": {"normal": 2, "bulge": 2, "concavity": 1, "crack": 1}},
                                  "cup0": {"train": {"normal": 1}, "test": {"normal": 1, "hole": 1}}}
    for sample_id, entry in manifest["samples"].items():
        assert entry["checksum"] == got[sample_id].checksum
        assert entry["import"]["normals"] == ("file" if normals else "estimated")
        assert entry["import"]["exact"] == normals     # without normals in the pcd they are estimated
        if normals:
            np.testing.assert_array_equal(got[sample_id].normals, original[sample_id].normals)
            assert entry["checksum"] == original[sample_id].checksum
        assert entry["import"].get("gt_exact_order", True)   # our GT rows are in pcd order
    # meshes come back as PLY bytes with the same topology
    mesh = trimesh.load(io.BytesIO(got["cup0/test/hole0"].mesh_ply), file_type="ply", process=False)
    assert len(mesh.faces) == 80


def test_anomaly_shapenet_names_and_what_public_loaders_read(shards, tmp_path):
    src, original = shards
    export_dataset(src, "anomaly-shapenet", tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.*"))
    assert "vase3/train/vase3_template1.pcd" in names and "vase3/test/vase3_positive0.pcd" in names
    assert "vase3/test/vase3_crak0.pcd" in names and "vase3/GT/vase3_crak0.txt" in names
    assert not any("positive" in n for n in names if "/GT/" in n)
    # meshes lie in their own tree, never beside the clouds (loaders read every file in train/)
    assert "obj/cup0/cup0_hole0.obj" in names and "obj/cup0/cup0_template0.obj" in names
    assert not [n for n in names if n.endswith(".obj") and not n.startswith("obj/")]
    for class_name in ("vase3", "cup0"):
        assert len(list((tmp_path / class_name / "train").glob("*template*.pcd"))) == (2 if class_name == "vase3" else 1)
        for pcd in sorted((tmp_path / class_name / "test").glob("*.pcd")):
            # the way the public loaders read: the pcd's ascii body and the GT with np.loadtxt
            text = pcd.read_text().splitlines()
            assert "DATA ascii" in text and "FIELDS x y z" in text
            body = np.array([line.split() for line in text[text.index("DATA ascii") + 1:]], dtype=np.float64)
            sample = original[f"{class_name}/test/{pcd.stem.split('_', 1)[1]}"]
            np.testing.assert_array_equal(body.astype(np.float32), sample.points)
            gt_path = tmp_path / class_name / "GT" / f"{pcd.stem}.txt"
            if "positive" in pcd.name:
                assert not gt_path.exists()
                continue
            gt = np.loadtxt(gt_path, delimiter=",")
            assert gt.shape == (len(body), 4)
            np.testing.assert_array_equal(gt[:, :3], body)             # same rows, same order
            np.testing.assert_array_equal(gt[:, 3], sample.labels)
            assert gt_path.read_text().splitlines()[0].split(",")[:3] == text[text.index("DATA ascii") + 1].split()


def test_real3d_ad_names_and_loader_view(shards, tmp_path):
    src, original = shards
    export_dataset(src, "real3d-ad", tmp_path)
    test_files = sorted(p.name for p in (tmp_path / "vase3" / "test").glob("*.pcd"))
    # numbered uniquely within the class, as the release is
    assert sorted(name.split("_", 1)[1] for name in test_files) == ["bulge.pcd", "bulge.pcd", "crak.pcd", "good.pcd",
                                                                     "good.pcd", "sink.pcd"]
    templates = sorted(p.name for p in (tmp_path / "vase3" / "train").glob("*template*.pcd"))
    assert len(templates) == 2 and all(name.endswith("_template.pcd") for name in templates)
    assert sorted(int(name.split("_")[0]) for name in test_files + templates) == list(range(8))
    assert not any("temp" in name for name in test_files)
    for name in test_files:
        if "good" in name:
            assert not (tmp_path / "vase3" / "gt" / name.replace(".pcd", ".txt")).exists()
            continue
        gt = np.genfromtxt(tmp_path / "vase3" / "gt" / name.replace(".pcd", ".txt"), delimiter=" ")
        np.testing.assert_array_equal(gt[:, :3].astype(np.float32), read_pcd(tmp_path / "vase3" / "test" / name).xyz)
    sample = original["vase3/test/concavity0"]
    sink = next(name for name in test_files if name.endswith("_sink.pcd"))
    gt = np.genfromtxt(tmp_path / "vase3" / "gt" / sink.replace(".pcd", ".txt"), delimiter=" ")
    np.testing.assert_array_equal(gt[:, 3], sample.labels)


def write_release_file(path, points):
    write_pcd(path, {"x": points[:, 0], "y": points[:, 1], "z": points[:, 2]}, "ascii")


def test_import_of_a_hand_built_release_matches_shuffled_low_precision_gt(tmp_path):
    rng = np.random.default_rng(3)
    root = tmp_path / "Anomaly-ShapeNet-v2" / "dataset" / "pcd"
    truth = {}
    for stem, split, kind in [("ashtray0_template0", "train", "normal"), ("ashtray0_positive3", "test", "normal"),
                              ("ashtray0_bulge0", "test", "bulge"), ("ashtray0_sink1", "test", "concavity"),
                              ("ashtray0_dent0", "test", "dent")]:
        s = sphere_sample(f"ashtray0/{split}/x0", kind, rng)
        write_release_file(root / "ashtray0" / split / f"{stem}.pcd", s.points)
        truth[stem] = s
        if kind != "normal":  # GT rows shuffled and printed with 6 decimals, as some releases are
            order = rng.permutation(len(s.points))
            table = np.column_stack([s.points[order].astype(np.float64), s.labels[order]])
            (root / "ashtray0" / "GT").mkdir(parents=True, exist_ok=True)
            np.savetxt(root / "ashtray0" / "GT" / f"{stem}.txt", table, fmt="%.6f,%.6f,%.6f,%d")
    # a sample whose GT is another point set (of the same size) than its pcd: the GT becomes the cloud
    gt_side = sphere_sample("ashtray0/test/x0", "scratch", rng)
    write_release_file(root / "ashtray0" / "test" / "ashtray0_scratch0.pcd", gt_side.points + np.float32(0.05))
    np.savetxt(root / "ashtray0" / "GT" / "ashtray0_scratch0.txt", np.column_stack([gt_side.points, gt_side.labels]),
               fmt="%.9g,%.9g,%.9g,%d")
    # a sample whose only file is its GT (loaders that read points from the GT)
    only_gt = sphere_sample("ashtray0/test/x0", "hole", rng)
    np.savetxt(root / "ashtray0" / "GT" / "ashtray0_hole0.txt", np.column_stack([only_gt.points, only_gt.labels]),
               fmt="%.7f,%.7f,%.7f,%d")
    report = import_dataset(tmp_path / "Anomaly-ShapeNet-v2", "anomaly-shapenet", tmp_path / "shards", normals="zeros")
    assert report["samples"] == 7 and report["unmatched_points"] == 0 and report["cloud_from_gt"] == 2
    data = {s.sample_id: s for s in open_dataset(tmp_path / "shards")}
    assert set(data) == {"ashtray0/train/template0", "ashtray0/test/positive3", "ashtray0/test/bulge0",
                         "ashtray0/test/concavity1", "ashtray0/test/dent0", "ashtray0/test/hole0",
                         "ashtray0/test/scratch0"}
    np.testing.assert_array_equal(data["ashtray0/test/scratch0"].points, gt_side.points)
    np.testing.assert_array_equal(data["ashtray0/test/scratch0"].labels, gt_side.labels)
    for stem, sample_id in [("ashtray0_bulge0", "ashtray0/test/bulge0"), ("ashtray0_sink1", "ashtray0/test/concavity1"),
                            ("ashtray0_dent0", "ashtray0/test/dent0")]:
        got, want = data[sample_id], truth[stem]
        np.testing.assert_array_equal(got.points, want.points)         # pcd order kept
        np.testing.assert_array_equal(got.labels, want.labels)         # GT matched back to it
    assert data["ashtray0/test/dent0"].kind == "dent" and data["ashtray0/test/dent0"].types == ["dent"]
    assert data["ashtray0/test/concavity1"].kind == "concavity"
    np.testing.assert_allclose(data["ashtray0/test/hole0"].points, only_gt.points, atol=1e-6)
    np.testing.assert_array_equal(data["ashtray0/test/hole0"].labels, only_gt.labels)
    assert not data["ashtray0/test/positive3"].labels.any()
    assert not data["ashtray0/train/template0"].normals.any()          # normals="zeros"
    entry = read_manifest(tmp_path / "shards")["samples"]["ashtray0/test/bulge0"]["import"]
    assert entry["gt_exact_order"] is False and entry["unmatched_gt"] == 0 and entry["source"]["gt"] == "ashtray0_bulge0.txt"


def test_real3d_ad_style_names_import(tmp_path):
    rng = np.random.default_rng(5)
    cls = tmp_path / "airplane"
    for stem, split, kind in [("514_template", "train", "normal"), ("305_good", "test", "normal"),
                              ("482_bulge", "test", "bulge"), ("482_bulge_cut", "test", "bulge")]:
        s = sphere_sample("airplane/test/x0", kind, rng)
        write_release_file(cls / split / f"{stem}.pcd", s.points * 30)   # millimetres
        if kind != "normal":
            (cls / "gt").mkdir(exist_ok=True)
            np.savetxt(cls / "gt" / f"{stem}.txt", np.column_stack([s.points * 30, s.labels]), fmt="%.4f %.4f %.4f %d")
    report = import_dataset(tmp_path, "real3d-ad", tmp_path / "out")
    assert report["unmatched_points"] == 0 and report["cloud_from_gt"] == 0
    ids = sorted(open_dataset(tmp_path / "out").sample_ids)
    assert ids == ["airplane/test/bulge482", "airplane/test/bulge483", "airplane/test/positive305", "airplane/train/template514"]


def test_normals_are_estimated_outwards():
    rng = np.random.default_rng(0)
    d = rng.normal(size=(3000, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    normals = estimate_normals(d.astype(np.float32))
    assert normals.dtype == np.float32 and np.median(np.einsum("ni,ni->n", normals, d)) > 0.99


@pytest.mark.parametrize("stem, expected", [("vase3_bulge2", ("bulge", 2)), ("vase3_positive14", ("positive", 14)),
                                            ("482_bulge_cut", ("bulge_cut", 482)), ("good_1", ("good", 1)),
                                            ("weird name", ("weird_name", None))])
def test_parse_stem(stem, expected):
    assert parse_stem(stem, "vase3") == expected


def test_ply_export_reads_back(shards, tmp_path):
    src, original = shards
    summary = export_dataset(src, "ply", tmp_path)
    assert summary["samples"] == len(original)
    for sample_id, want in original.items():
        vertices = read_ply(tmp_path / f"{sample_id}.ply")
        np.testing.assert_array_equal(np.stack([vertices[a] for a in "xyz"], axis=1), want.points)
        np.testing.assert_array_equal(np.stack([vertices[f"n{a}"] for a in "xyz"], axis=1), want.normals)
        np.testing.assert_array_equal(vertices["anomaly_index"], want.anomaly_index)
        np.testing.assert_array_equal(vertices["label"], want.labels)
    cloud = trimesh.load(tmp_path / "vase3" / "test" / "bulge0.ply")
    assert len(cloud.vertices) == len(original["vase3/test/bulge0"].points)


def test_bad_input_raises_readable_errors(shards, tmp_path):
    src, _ = shards
    with pytest.raises(ValueError, match="choose one of"):
        export_dataset(src, "obj", tmp_path / "a")
    with pytest.raises(ValueError, match="import format 'ply'|cannot import"):
        import_dataset(tmp_path, "ply", tmp_path / "b")
    with pytest.raises(FileNotFoundError):
        export_dataset(tmp_path / "nothing", "anomaly-shapenet", tmp_path / "c")
    with pytest.raises(FileNotFoundError):
        import_dataset(tmp_path / "nothing", "anomaly-shapenet", tmp_path / "d")
    with pytest.raises(ValueError, match="encoding"):
        export_dataset(src, "anomaly-shapenet", tmp_path / "e", encoding="zip")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        export_dataset(src, "anomaly-shapenet", tmp_path / "full")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="no class folder"):
        import_dataset(tmp_path / "empty", "anomaly-shapenet", tmp_path / "f")
    with pytest.raises(ValueError, match="no samples"):
        export_dataset(tmp_path / "empty", "real3d-ad", tmp_path / "g")
    with pytest.raises(ValueError, match="already holds"):
        import_dataset(tmp_path, "anomaly-shapenet", src)


def test_every_released_anomaly_shapenet_name_parses(shared_data):
    """The release's 1471 file names (shared/reference lists) give the right kinds and GT names."""
    import json
    from collections import Counter
    from pathlib import PurePosixPath

    from anomalygen.formats.anomaly_shapenet import LAYOUT
    from anomalygen.formats.folders import id_token, kind_of_token

    kinds = Counter()
    for split in ("train", "test"):
        for line in (shared_data.parent / "reference" / f"anomaly-shapenet-{split}-files.jsonl").read_text().splitlines():
            row = json.loads(line)
            path, cls = PurePosixPath(row["filename"]), row["clsname"]
            token, index = parse_stem(path.stem, cls)
            kind = kind_of_token(token)
            assert index is not None and (kind != "normal") == bool(row["label"]), row
            # our exporter writes exactly this name for the sample id it imports to
            assert LAYOUT.file_stem(cls, split, id_token(kind, split), index) == path.stem
            if row["label"]:
                kinds[kind] += 1
                assert row["maskname"] == f"{cls}/{LAYOUT.gt_dir}/{path.stem}.txt"
    assert kinds == {"bulge": 280, "concavity": 280, "scratch": 45, "hole": 38, "break": 36, "crack": 25, "bending": 8}
