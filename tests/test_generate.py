"""One sample from a job: several anomalies per sample, acceptance window, failure reasons."""

import dataclasses

import numpy as np
import pytest

from anomalygen.generate import SampleFailed, make_sample
from anomalygen.plan import SampleJob
from anomalygen.recipe import recipe_from_mapping
from anomalygen.shapes.cache import PreparedMeshCache
from anomalygen.shapes.procedural import build


@pytest.fixture(scope="module")
def cup(tmp_path_factory):
    return PreparedMeshCache(tmp_path_factory.mktemp("prepared")).get(build("cup", 0), 0.04)


def recipe(**anomalies):
    return recipe_from_mapping({
        "name": "t", "version": 1, "seed": 1,
        "points": {"count": [6000, 6000]},
        "anomalies": anomalies,
        "classes": {"cup0": None},
    })


def job(kind, index=0):
    return SampleJob(f"cup0/test/{kind}{index}", "cup0", "test", kind, index, 1000 + index)


@pytest.mark.parametrize("kind", ["bulge", "hole", "scratch"])
def test_two_anomalies_per_sample_have_distinct_indices(cup, kind):
    sample = make_sample(job(kind), recipe(per_sample=2, anomalous_fraction=[0.01, 0.2]), cup)
    assert sample.types == [kind, kind] and len(sample.params) == 2
    assert set(np.unique(sample.anomaly_index)) == {0, 1, 2}
    assert all(p["area_scale"] > 0 for p in sample.params)


def test_normal_sample_has_no_label_and_no_types(cup):
    sample = make_sample(job("normal"), recipe(), cup)
    assert not sample.anomaly_index.any() and sample.types == [] and sample.object_label == 0


def test_every_accepted_sample_lies_in_the_window(cup):
    for index in range(4):
        sample = make_sample(job("concavity", index), recipe(anomalous_fraction=[0.015, 0.05]), cup)
        assert 0.015 <= sample.anomalous_fraction <= 0.05


def test_impossible_window_fails_with_a_readable_reason(cup):
    with pytest.raises(SampleFailed, match=r"bulge: no acceptable result in 3 attempts: anomalous fraction outside \[0\.3, 0\.4\]"):
        make_sample(job("bulge"), recipe(anomalous_fraction=[0.3, 0.4], max_attempts=3), cup)


def test_same_job_same_bytes(cup):
    r = recipe()
    a, b = make_sample(job("crack"), r, cup), make_sample(job("crack"), r, cup)
    assert a.checksum == b.checksum and a.params == b.params
    other = make_sample(dataclasses.replace(job("crack"), seed=7), r, cup)
    assert other.checksum != a.checksum
