"""CPU-independent output: snapping, fixed-order norms, and whole builds under other SIMD levels."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from anomalygen.geometry.canonical import GRID, row_norms, snap

ROOT = Path(__file__).resolve().parents[1]
coordinates = arrays(np.float64, (7, 3), elements=st.floats(-2.0, 2.0, allow_nan=False))

# numpy reads this once, at import: each setting needs a fresh process. The last two emulate
# CPUs without AVX-512 and without AVX2 on any x86 machine (see the trust issue).
DISPATCH = ["", "X86_V4 AVX512_ICL AVX512_SPR", "X86_V3 X86_V4 AVX512_ICL AVX512_SPR"]


@given(coordinates)
def test_snap_is_idempotent_and_within_half_a_step(v):
    s = snap(v)
    assert np.array_equal(snap(s), s)
    assert np.all(np.abs(s - v) <= GRID / 2)
    assert not np.signbit(s[s == 0]).any()


@given(coordinates, st.integers(1, 8))
def test_a_few_ulp_do_not_change_snapped_values_away_from_midpoints(v, ulps):
    nudged = v + ulps * np.spacing(v)
    midpoint_distance = np.abs(np.abs(v / GRID - np.rint(v / GRID)) - 0.5) * GRID
    clear = midpoint_distance > 1e-12
    assert np.array_equal(snap(nudged)[clear], snap(v)[clear])


@given(coordinates)
def test_row_norms_agree_with_numpy(v):
    np.testing.assert_allclose(row_norms(v), np.linalg.norm(v, axis=1), rtol=1e-15, atol=1e-300)


def _digests_under(dispatch: str, classes: str, cache: Path) -> dict:
    script = (
        "import sys, json\n"
        "from anomalygen.shapes.procedural import build, parse_class_name\n"
        "from anomalygen.shapes.cache import mesh_digest\nfrom anomalygen.shapes.prepare import prepare_mesh\n"
        "out = {}\n"
        "for name in sys.argv[1].split(','):\n"
        "    raw = build(*parse_class_name(name))\n"
        "    out[name] = [mesh_digest(raw), mesh_digest(prepare_mesh(raw, 0.025))]\n"
        "print(json.dumps(out))\n"
    )
    env = dict(os.environ, NPY_DISABLE_CPU_FEATURES=dispatch, ANOMALYGEN_CACHE=str(cache))
    result = subprocess.run([sys.executable, "-c", script, classes], capture_output=True, text=True,
                            cwd=ROOT, env=env, timeout=300, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_procedural_and_prepared_meshes_do_not_depend_on_the_simd_level(tmp_path):
    """bowl5 and bucket1 used to differ between AVX-512 and older dispatch (numpy's and OpenBLAS's kernels)."""
    classes = "bowl5,bucket1,helmet2"
    results = [_digests_under(d, classes, tmp_path / str(i)) for i, d in enumerate(DISPATCH)]
    assert results[1] == results[0]
    assert results[2] == results[0]
