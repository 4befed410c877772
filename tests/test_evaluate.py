"""evaluate_scores on a hand-written scores.h5 (schema of anomalygen.detect.train) and a tiny dataset."""

import csv
import json
import math

import h5py
import numpy as np
import pytest

from anomalygen.detect.evaluate import METRICS, evaluate_run, evaluate_scores, format_table
from anomalygen.shards import Sample, write_shard

# 16 points on a line; anomalous regions A = {3, 4} and B = {10..13} (see test_metrics.py)
LINE = np.stack([np.arange(16.0), np.zeros(16), np.zeros(16)], axis=1).astype(np.float32)
TWO_REGIONS = np.zeros(16, np.uint8)
TWO_REGIONS[[3, 4, 10, 11, 12, 13]] = 1
SCORES = np.zeros(16, np.float32)
SCORES[[3, 4]], SCORES[[10, 11]], SCORES[[12, 13]] = 0.95, 0.85, 0.15
SCORES[0], SCORES[1], SCORES[[2, 5, 6, 7]], SCORES[[8, 9, 14, 15]] = 0.9, 0.5, 0.1, 0.0
NORMAL_SCORES = np.full(16, -1.0, np.float32)

# (sample_id, kind, labels, point scores, object score)
SAMPLES = [
    ("line0/test/positive0", "normal", np.zeros(16, np.uint8), NORMAL_SCORES, 0.1),
    ("line0/test/positive1", "normal", np.zeros(16, np.uint8), NORMAL_SCORES, 0.4),
    ("line0/test/bulge0", "bulge", TWO_REGIONS, SCORES, 0.35),
    ("line0/test/concavity0", "concavity", TWO_REGIONS, SCORES, 0.8),
    ("flat0/test/positive0", "normal", np.zeros(16, np.uint8), np.linspace(0, 1, 16, dtype=np.float32), 0.2),
    ("flat0/test/positive1", "normal", np.zeros(16, np.uint8), np.linspace(0, 1, 16, dtype=np.float32), 0.3),
]


def write_dataset(root):
    """One test shard per class holding the samples' points and labels."""
    for class_name in ("line0", "flat0"):
        samples = [Sample(sample_id=sid, class_name=class_name, split="test", kind=kind, points=LINE,
                          normals=np.tile(np.float32([0, 0, 1]), (16, 1)), anomaly_index=labels.copy(),
                          types=[] if kind == "normal" else [kind])
                   for sid, kind, labels, _, _ in SAMPLES if sid.startswith(class_name)]
        write_shard(root / "shards" / class_name / "test-0.h5", samples,
                    {"class_name": class_name, "split": "test", "shard_id": f"{class_name}/test-0"})


def write_scores(path, data_dir, samples=SAMPLES):
    """scores.h5 by hand, following the schema in anomalygen/detect/train.py."""
    offsets = np.concatenate([[0], np.cumsum([len(s[2]) for s in samples])]).astype(np.int64)
    string = h5py.string_dtype()
    with h5py.File(path, "w") as f:
        f.attrs.update({"schema_version": 1, "method": "handmade", "run_dir": str(path.parent),
                        "data_dir": str(data_dir), "manifest_digest": "", "classes": json.dumps(["line0", "flat0"]),
                        "seconds_per_class": json.dumps({"line0": 1.0, "flat0": 1.0}), "created": "now"})
        f.create_dataset("point_scores", data=np.concatenate([s[3] for s in samples]).astype(np.float32))
        f.create_dataset("labels", data=np.concatenate([s[2] for s in samples]).astype(np.uint8))
        f.create_dataset("offsets", data=offsets)
        f.create_dataset("sample_id", data=[s[0] for s in samples], dtype=string)
        f.create_dataset("class_name", data=[s[0].split("/")[0] for s in samples], dtype=string)
        f.create_dataset("kind", data=[s[1] for s in samples], dtype=string)
        f.create_dataset("object_score", data=np.array([s[4] for s in samples], np.float32))
        f.create_dataset("object_label", data=np.array([s[1] != "normal" for s in samples], np.uint8))
        f.create_dataset("seconds", data=np.ones(len(samples), np.float32))
    return path


@pytest.fixture()
def run(tmp_path):
    data = tmp_path / "data"
    write_dataset(data)
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    write_scores(run_dir / "scores.h5", data)
    return run_dir


def pairs_auroc(y, s):
    p, n = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def test_evaluate_scores_per_class_numbers(run, tmp_path):
    out = tmp_path / "out"
    result = evaluate_scores(run / "scores.h5", out_dir=out)
    line = result["classes"]["line0"]
    # objects: normal {0.1, 0.4}, anomalous {0.35, 0.8}: 3 of 4 pairs won; AP = (1 + 2/3) / 2
    assert line["I-AUROC"] == pytest.approx(0.75)
    assert line["I-AP"] == pytest.approx((1 + 2 / 3) / 2)
    y = np.concatenate([s[2] for s in SAMPLES[:4]])
    s = np.concatenate([s[3] for s in SAMPLES[:4]]).astype(float)
    assert line["P-AUROC"] == pytest.approx(pairs_auroc(y, s))
    # P-AP by hand: 12 anomalous of 64 points. Thresholds .95: 4 tp -> P 1, R 1/3; .9: +2 fp;
    # .85: 8 tp / 10 -> R 2/3, P .8; .5: +2 fp; .15: 12 tp / 16 -> R 1, P .75
    assert line["P-AP"] == pytest.approx((1 + 0.8 + 0.75) / 3)
    # AUPRO: 4 regions (2 per anomalous sample), 52 normal points (32 of them scored -1).
    # FP: 2 at >= .9, 4 at >= .5, 12 at >= .1 (FPR .23), 20 at >= 0 (FPR .38 > .3).
    # PRO .5 on [0, 2/52], .75 on [2/52, 4/52], 1 on [4/52, .3]: area .3 - 1.5/52
    assert line["AUPRO"] == pytest.approx(1 - 5 / 52)
    assert (line["n_normal"], line["n_anomalous"], line["n_points"], line["n_anomalous_points"], line["n_regions"]) \
        == (2, 2, 64, 12, 4)
    flat = result["classes"]["flat0"]
    assert all(math.isnan(flat[m]) for m in METRICS)      # no anomalous sample: undefined
    assert result["mean_over"] == {m: 1 for m in METRICS}
    assert result["mean"] == {m: pytest.approx(line[m]) for m in METRICS}
    assert any("flat0" in note for note in result["notes"])

    saved = json.loads((out / "evaluation.json").read_text())
    assert saved["classes"]["line0"]["AUPRO"] == pytest.approx(1 - 5 / 52)
    assert saved["classes"]["flat0"]["I-AUROC"] is None       # nan -> null, strict JSON
    assert saved["aupro"]["fpr_limit"] == 0.3 and saved["aupro"]["k"] == 8
    rows = list(csv.DictReader((out / "evaluation.csv").open()))
    assert [r["class"] for r in rows] == ["line0", "flat0", "mean"]
    assert float(rows[0]["I-AUROC"]) == pytest.approx(0.75) and rows[1]["I-AUROC"] == ""
    assert float(rows[2]["AUPRO"]) == pytest.approx(1 - 5 / 52)
    assert not (run / "evaluation.json").exists()

    table = format_table(result)
    assert "line0" in table and "flat0" in table and "mean*" in table and "0.750" in table
    for metric in METRICS:
        assert metric in table


def test_evaluate_run_writes_beside_scores(run):
    result = evaluate_run(run)
    assert (run / "evaluation.json").is_file() and (run / "evaluation.csv").is_file()
    assert result["method"] == "handmade"
    with pytest.raises(FileNotFoundError):
        evaluate_run(run / "nowhere")


def test_missing_dataset_leaves_aupro_nan(tmp_path):
    path = write_scores(tmp_path / "scores.h5", tmp_path / "gone")
    result = evaluate_scores(path, write=False)
    line = result["classes"]["line0"]
    assert line["I-AUROC"] == pytest.approx(0.75) and math.isnan(line["AUPRO"]) and line["n_regions"] is None
    assert any("AUPRO not computed" in note for note in result["notes"])
    with pytest.raises(FileNotFoundError):
        evaluate_scores(path, data_dir=tmp_path / "gone", write=False)


def test_scores_of_another_dataset_are_refused(tmp_path):
    data = tmp_path / "data"
    write_dataset(data)
    wrong = [list(s) for s in SAMPLES]
    wrong[2][2] = np.roll(TWO_REGIONS, 1)          # labels that the dataset does not have
    path = write_scores(tmp_path / "scores.h5", data, [tuple(s) for s in wrong])
    with pytest.raises(ValueError, match="another dataset"):
        evaluate_scores(path, write=False)
