"""The shard schema is readable with h5py alone; the reader returns what was written."""

import json

import h5py
import numpy as np
import pytest

from anomalygen.shards import Sample, open_dataset, sample_checksum, shard_path, write_shard


def make(sample_id, n, rng, types=()):
    class_name, split, _ = sample_id.split("/")
    index = np.zeros(n, np.uint8)
    if types:
        index[: n // 20] = 1
    return Sample(sample_id, class_name, split, types[0] if types else "normal",
                  rng.normal(size=(n, 3)).astype(np.float32), rng.normal(size=(n, 3)).astype(np.float32),
                  index, list(types), [{"radius": 0.3}] if types else [], seed=n)


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    train = [make(f"cup0/train/template{i}", 100 + i, rng) for i in range(3)]
    test = [make("cup0/test/positive0", 90, rng), make("cup0/test/bulge0", 200, rng, ["bulge"])]
    other = [make("vase1/test/bulge0", 50, rng, ["bulge"])]
    for shard_id, samples in [("cup0/train-0000", train), ("cup0/test-0000", test), ("vase1/test-0000", other)]:
        class_name, split = shard_id.split("/")[0], shard_id.split("/")[1].split("-")[0]
        write_shard(shard_path(tmp_path, shard_id), samples, {"class_name": class_name, "split": split, "shard_id": shard_id})
    return tmp_path, train + test + other


def test_round_trip_and_filters(folder):
    path, written = folder
    everything = {s.sample_id: s for s in open_dataset(path)}
    assert set(everything) == {s.sample_id for s in written}
    for s in written:
        read = everything[s.sample_id]
        np.testing.assert_array_equal(read.points, s.points)
        np.testing.assert_array_equal(read.anomaly_index, s.anomaly_index)
        assert read.types == s.types and read.params == s.params and read.checksum == s.checksum
    assert [s.sample_id for s in open_dataset(path, classes=["cup0"], split="train")] == [
        f"cup0/train/template{i}" for i in range(3)]
    assert len(open_dataset(path, split="test")) == 3
    assert open_dataset(path)["cup0/test/bulge0"].object_label == 1


def test_schema_with_h5py_alone(folder):
    path, written = folder
    with h5py.File(path / "shards/cup0/test-0000.h5") as f:
        offsets = f["offsets"][:]
        ids = [x.decode() for x in f["sample_id"][:]]
        i = ids.index("cup0/test/bulge0")
        labels = f["labels"][offsets[i]:offsets[i + 1]]
        assert labels.sum() == 10 and len(labels) == 200
        assert json.loads(f["types"][i]) == ["bulge"]
        assert f["points"].compression == "gzip" and f["points"].chunks is not None
        assert f.attrs["class_name"] == "cup0"
    assert not list(path.rglob("*.tmp"))


def test_checksum_ignores_float_noise_but_not_changes():
    rng = np.random.default_rng(1)
    points = rng.uniform(-1, 1, (1000, 3))
    normals = rng.normal(size=(1000, 3))
    index = np.zeros(1000, np.uint8)
    reference = sample_checksum(points, normals, index)
    # noise far below the rounding, away from rounding boundaries, leaves it unchanged
    centred = np.round(points, 5) + 1e-12
    assert sample_checksum(centred, normals, index) == sample_checksum(np.round(points, 5), normals, index)
    moved = points.copy()
    moved[0, 0] += 1e-4
    assert sample_checksum(moved, normals, index) != reference
    flipped = index.copy()
    flipped[3] = 1
    assert sample_checksum(points, normals, flipped) != reference


def test_equal_samples_give_equal_bytes_however_long_the_datasets_live(tmp_path, monkeypatch):
    """Under Dask a profiler may keep the writer's datasets alive until the file closes; the
    bytes (and so the manifest's sha256) must not depend on it."""
    import time

    from anomalygen.shards import file_sha256

    rng = np.random.default_rng(1)
    samples = [make(f"cup0/test/bulge{i}", 20000, rng, ["bulge"]) for i in range(2)]
    first = write_shard(tmp_path / "a.h5", samples, {})
    kept = []
    create = h5py.Group.create_dataset
    monkeypatch.setattr(h5py.Group, "create_dataset", lambda *a, **k: kept.append(create(*a, **k)) or kept[-1])
    time.sleep(1.1)  # a timestamp would differ
    assert write_shard(tmp_path / "b.h5", samples, {}) == first == file_sha256(tmp_path / "a.h5")
    assert (tmp_path / "a.h5").read_bytes() == (tmp_path / "b.h5").read_bytes()


def test_a_shard_write_stopped_before_the_rename_keeps_the_old_shard(tmp_path):
    from anomalygen.shards import file_sha256

    rng = np.random.default_rng(3)
    path = tmp_path / "cup0" / "test-0000.h5"
    old = write_shard(path, [make("cup0/test/bulge0", 300, rng, ["bulge"])], {})

    def orphaned():
        raise SystemExit(1)

    with pytest.raises(SystemExit):
        write_shard(path, [make("cup0/test/bulge0", 500, rng, ["bulge"])], {}, before_rename=orphaned)
    assert file_sha256(path) == old
    assert [p.name for p in path.parent.iterdir()] == ["test-0000.h5"]
    assert len(open_dataset(path)) == 1 and len(open_dataset(path).shards[0].read(0).points) == 300


@pytest.mark.parametrize("compression, expected", [("gzip", ("gzip", 1)), ("lzf", ("lzf", None)), ("none", (None, None))])
def test_per_point_datasets_use_the_chosen_filters(tmp_path, compression, expected):
    rng = np.random.default_rng(4)
    sample = make("cup0/test/bulge0", 400, rng, ["bulge"])
    write_shard(tmp_path / "s.h5", [sample], {}, compression)
    with h5py.File(tmp_path / "s.h5", "r") as f:  # plain h5py, no plugin
        for name in ("points", "normals", "labels", "anomaly_index"):
            assert (f[name].compression, f[name].compression_opts) == expected
            assert f[name].shuffle == (compression != "none")
        np.testing.assert_array_equal(f["points"][:], sample.points)
