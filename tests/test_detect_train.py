"""train_detector / score_run through the public shard reader, on a tiny generated folder."""

import json

import h5py
import numpy as np
import pytest
import trimesh

torch = pytest.importorskip("torch", reason="anomalygen.detect needs torch (pip install torch)")

from anomalygen.detect.registry import load_detector
from anomalygen.detect.train import read_scores, score_run, train_detector
from anomalygen.shards import Sample, open_dataset, shard_path, write_manifest, write_shard

TINY = dict(num_points=256, num_groups=8, group_size=32, width=32, depth=1, heads=2, decoder_depth=1,
            embed_hidden=16, steps=8, batch_size=2, pool_size=2, val_copies=1, eval_every=4, warmup_steps=2)


def make_sample(mesh, class_name, split, token, seed, bump=False):
    points, faces = trimesh.sample.sample_surface(mesh, 600 + 10 * seed, seed=seed)
    normals = mesh.face_normals[faces]
    index = np.zeros(len(points), np.uint8)
    if bump:
        d = np.linalg.norm(points - points[0], axis=1)
        index[d < 0.3] = 1
        points = points + normals * (0.2 * np.clip(1 - (d / 0.3) ** 2, 0, None) ** 2)[:, None]
    types = ["bulge"] if bump else []
    return Sample(f"{class_name}/{split}/{token}", class_name, split, types[0] if bump else "normal",
                  np.asarray(points, np.float32), np.asarray(normals, np.float32), index, types,
                  [{"height": 0.2}] if bump else [], seed=seed)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    meshes = {"ball0": trimesh.creation.icosphere(subdivisions=3), "box0": trimesh.creation.box((1.0, 0.8, 0.6))}
    for k, (name, mesh) in enumerate(meshes.items()):
        train = [make_sample(mesh, name, "train", f"template{i}", 10 * k + i) for i in range(4)]
        test = [make_sample(mesh, name, "test", "positive0", 50 + k),
                make_sample(mesh, name, "test", "bulge0", 60 + k, bump=True)]
        for split, samples in (("train", train), ("test", test)):
            shard_id = f"{name}/{split}-0000"
            write_shard(shard_path(root, shard_id), samples, {"class_name": name, "split": split, "shard_id": shard_id})
    write_manifest(root, {"recipe": {"name": "tiny"}, "samples": {}})
    return root


def test_train_and_score_per_class(data_dir, tmp_path):
    run_file = train_detector(data_dir, tmp_path / "run", config=TINY, seed=1)
    run = json.loads(run_file.read_text())
    assert run["classes"] == ["ball0", "box0"] and not run["shared"] and run["method"] == "imrnet"
    assert run["config"]["width"] == 32 and run["config"]["device"] == "cpu"
    assert run["manifest_digest"] and set(run["data_digest"]) == {"ball0", "box0"}
    assert set(run["train_seconds"]) == {"ball0", "box0"}
    assert run["fit"]["ball0"]["history"]["step"] == [4, 8]
    model = load_detector(tmp_path / "run" / run["models"]["box0"])
    assert model.data_digest == run["data_digest"]["box0"]

    scores_path = score_run(tmp_path / "run", data_dir)
    assert scores_path == tmp_path / "run" / "scores.h5"
    test = {s.sample_id: s for s in open_dataset(data_dir, split="test")}
    with h5py.File(scores_path) as f:                     # the schema, with h5py alone
        ids = [x.decode() for x in f["sample_id"][:]]
        offsets = f["offsets"][:]
        assert sorted(ids) == sorted(test) and offsets[-1] == len(f["point_scores"]) == len(f["labels"])
        assert f["point_scores"].dtype == np.float32 and f.attrs["schema_version"] == 1
        assert set(json.loads(f.attrs["seconds_per_class"])) == {"ball0", "box0"}
        for i, sample_id in enumerate(ids):
            rows = slice(offsets[i], offsets[i + 1])
            np.testing.assert_array_equal(f["labels"][rows], test[sample_id].labels)
            assert f["object_label"][i] == test[sample_id].object_label
            assert f["class_name"][i].decode() == test[sample_id].class_name
    read = list(read_scores(scores_path, classes=["box0"]))
    assert [r.sample_id for r in read] == ["box0/test/positive0", "box0/test/bulge0"]
    assert all(len(r.point_scores) == len(test[r.sample_id].points) and np.isfinite(r.object_score) for r in read)
    run = json.loads(run_file.read_text())
    assert run["scoring"]["samples"] == 4 and run["scoring"]["same_manifest_as_training"]
    # scoring is reproducible
    again = score_run(tmp_path / "run", data_dir, out_path=tmp_path / "again.h5")
    with h5py.File(scores_path) as a, h5py.File(again) as b:
        np.testing.assert_array_equal(a["point_scores"][:], b["point_scores"][:])


def test_shared_model_and_errors(data_dir, tmp_path):
    run_file = train_detector(data_dir, tmp_path / "run", classes=["box0", "ball0"], shared=True,
                              config=TINY)
    run = json.loads(run_file.read_text())
    assert run["shared"] and run["models"] == {"shared": "shared/model.pt"}
    assert run["fit"]["shared"]["n_clouds"] == 8
    out = score_run(tmp_path / "run", data_dir, out_path=tmp_path / "elsewhere" / "s.h5")
    assert len(list(read_scores(out))) == 4
    with pytest.raises(ValueError, match="no training samples"):
        train_detector(data_dir, tmp_path / "bad", classes=["nope0"], config=TINY)
    with pytest.raises(ValueError, match="unknown option"):
        train_detector(data_dir, tmp_path / "bad", config={"bogus": 1})
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA"):
            train_detector(data_dir, tmp_path / "bad", config=TINY, device="cuda")


def test_pretrain_then_fine_tune_from_it(data_dir, tmp_path):
    from anomalygen.detect.train import pretrain

    checkpoint = pretrain(data_dir, tmp_path / "pre", config=TINY, seed=0)
    assert checkpoint == tmp_path / "pre" / "shared" / "model.pt"
    run = json.loads((tmp_path / "pre" / "run.json").read_text())
    assert run["shared"] and run["classes"] == ["ball0", "box0"] and run["config"]["steps"] == TINY["steps"]
    pretrained = load_detector(checkpoint).model.state_dict()

    # lr 1e-7 for one step: the fine-tuned weights are the pretrained ones, not a fresh init
    tuned_run = train_detector(data_dir, tmp_path / "tuned", classes=["ball0"], seed=3,
                               config={**TINY, "steps": 1, "lr": 1e-7, "init": str(tmp_path / "pre")})
    tuned = load_detector(tmp_path / "tuned" / json.loads(tuned_run.read_text())["models"]["ball0"])
    assert tuned.config.init == str(tmp_path / "pre")
    for key, value in tuned.model.state_dict().items():
        assert torch.allclose(value, pretrained[key], atol=1e-5), key
    fresh = train_detector(data_dir, tmp_path / "fresh", classes=["ball0"], seed=3, config={**TINY, "steps": 1, "lr": 1e-7})
    fresh_model = load_detector(tmp_path / "fresh" / json.loads(fresh.read_text())["models"]["ball0"]).model
    assert not torch.allclose(fresh_model.head.weight, pretrained["head.weight"])


def test_fine_tuning_another_architecture_names_the_key(data_dir, tmp_path):
    from anomalygen.detect.train import pretrain

    pretrain(data_dir, tmp_path / "pre", classes=["box0"], config=TINY)
    with pytest.raises(ValueError, match=r"init: .*model.pt has width 32, the config asks for 64"):
        train_detector(data_dir, tmp_path / "tuned", classes=["ball0"],
                       config={**TINY, "width": 64, "init": str(tmp_path / "pre")})
    with pytest.raises(ValueError, match="init: .*no such checkpoint"):
        train_detector(data_dir, tmp_path / "tuned2", classes=["ball0"], config={**TINY, "init": str(tmp_path / "nope.pt")})
