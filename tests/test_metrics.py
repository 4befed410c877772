"""anomalygen.detect.metrics against hand-computed cases and brute-force definitions."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomalygen.detect.metrics import (
    anomaly_regions,
    aupro,
    auroc,
    average_precision,
    object_metrics,
    point_metrics,
    pro_curve,
)


# --------------------------------------------------------------------------- brute-force references

def auroc_pairs(y, s):
    """P(pos > neg) + 1/2 P(pos == neg) over all pairs: the definition, O(n_pos * n_neg)."""
    y, s = np.asarray(y), np.asarray(s, float)
    p, n = s[y == 1][:, None], s[y == 0][None, :]
    return float(np.mean((p > n) + 0.5 * (p == n)))


def ap_by_threshold(y, s):
    """sum_k (R_k - R_{k-1}) P_k over the distinct thresholds, one threshold at a time."""
    y, s = np.asarray(y), np.asarray(s, float)
    ap, last_recall = 0.0, 0.0
    for t in np.unique(s)[::-1]:
        predicted = s >= t
        tp = np.sum(predicted & (y == 1))
        recall, precision = tp / y.sum(), tp / predicted.sum()
        ap += (recall - last_recall) * precision
        last_recall = recall
    return ap


# --------------------------------------------------------------------------- AUROC

def test_auroc_perfect_inverted_ties():
    y = np.array([0, 0, 1, 0, 1, 1])
    s = np.array([0.1, 0.2, 0.9, 0.3, 0.8, 0.7])
    assert auroc(y, s) == 1.0
    assert auroc(y, -s) == 0.0
    assert auroc(y, np.full(6, 0.42)) == 0.5
    assert auroc(y.astype(bool), s) == 1.0


def test_auroc_random_is_about_half():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 200_000)
    s = rng.random(200_000).astype(np.float32)
    # sd of AUROC under H0 ~ sqrt((n+1)/(12 n0 n1)) ~ 1.3e-3; 0.01 is > 7 sd
    assert abs(auroc(y, s) - 0.5) < 0.01


def test_auroc_mid_ranks_hand_case():
    # pos {0.5, 0.9}, neg {0.5, 0.1}: pairs (0.9>0.5)(0.9>0.1)(0.5=0.5 -> 1/2)(0.5>0.1) = 3.5/4
    assert auroc([1, 1, 0, 0], [0.5, 0.9, 0.5, 0.1]) == 0.875


def test_auroc_matches_pair_definition_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(20):
        n = rng.integers(2, 60)
        y = rng.integers(0, 2, n)
        y[0], y[1] = 0, 1
        s = rng.integers(0, 5, n).astype(float)      # many ties
        assert auroc(y, s) == pytest.approx(auroc_pairs(y, s), abs=1e-12)


def test_auroc_one_class_is_nan_without_warning(recwarn):
    assert math.isnan(auroc([1, 1, 1], [0.1, 0.2, 0.3]))
    assert math.isnan(auroc([0, 0], [0.1, 0.2]))
    assert math.isnan(auroc([], []))
    assert len(recwarn) == 0


def test_invalid_inputs_raise():
    with pytest.raises(ValueError):
        auroc([0, 2], [0.1, 0.2])
    with pytest.raises(ValueError):
        auroc([0, 1], [0.1, float("nan")])
    with pytest.raises(ValueError):
        auroc([0, 1, 1], [0.1, 0.2])
    with pytest.raises(ValueError):
        average_precision([[0, 1]], [[0.1, 0.2]])


finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
small_ints = st.integers(-1000, 1000)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), small_ints), min_size=2, max_size=40))
def test_auroc_invariant_under_increasing_transform(pairs):
    y = np.array([p[0] for p in pairs])
    s = np.array([p[1] for p in pairs], dtype=float)
    a = auroc(y, s)
    # strictly increasing and, on integers in [-1000, 1000], free of float merges (ties stay ties)
    transforms = (lambda x: x ** 3 + 5 * x, lambda x: np.arctan(x / 100), lambda x: np.exp(x / 100),
                  lambda x: 1e-3 * x + 5)
    for f in transforms:
        b = auroc(y, f(s))
        assert (math.isnan(a) and math.isnan(b)) or a == b
    assert (math.isnan(a) and y.min() == y.max()) or a == pytest.approx(auroc_pairs(y, s), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.lists(finite, min_size=2, max_size=40, unique=True), st.data())
def test_auroc_symmetry_without_ties(scores, data):
    s = np.array(scores)
    y = np.array(data.draw(st.lists(st.integers(0, 1), min_size=len(s), max_size=len(s))))
    a, b = auroc(y, s), auroc(y, -s)
    if y.min() == y.max():
        assert math.isnan(a) and math.isnan(b)
    else:
        assert a + b == pytest.approx(1.0, abs=1e-12)
        assert a == pytest.approx(auroc_pairs(y, s), abs=1e-12)


# --------------------------------------------------------------------------- AP

def test_average_precision_hand_case():
    # ranks: 0.9 pos (P=1, R=1/2), 0.8 neg, 0.7 pos (P=2/3, R=1), 0.1 neg -> (1 + 2/3) / 2
    assert average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]) == pytest.approx((1 + 2 / 3) / 2)


def test_average_precision_ties_grouped():
    # 0.9 {pos, neg} enter together: P = 1/2 at R = 1/2; then 0.5 pos: P = 2/3 at R = 1
    assert average_precision([1, 0, 1], [0.9, 0.9, 0.5]) == pytest.approx(0.5 * 0.5 + 0.5 * 2 / 3)
    # all tied: one threshold, P = prevalence
    assert average_precision([1, 0, 0, 0], [1, 1, 1, 1]) == pytest.approx(0.25)


def test_average_precision_perfect_and_edges():
    assert average_precision([0, 1, 1], [0.1, 0.5, 0.7]) == 1.0
    assert math.isnan(average_precision([0, 0], [0.1, 0.2]))
    assert average_precision([1, 1], [0.1, 0.2]) == 1.0


def test_average_precision_matches_threshold_loop():
    rng = np.random.default_rng(2)
    for _ in range(20):
        n = rng.integers(2, 80)
        y = rng.integers(0, 2, n)
        y[0] = 1
        s = rng.integers(0, 6, n).astype(float)
        assert average_precision(y, s) == pytest.approx(ap_by_threshold(y, s), abs=1e-12)


def test_average_precision_matches_sklearn_if_installed():
    sk = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 500)
    s = np.round(rng.random(500), 2)
    assert average_precision(y, s) == pytest.approx(sk.average_precision_score(y, s))
    assert auroc(y, s) == pytest.approx(sk.roc_auc_score(y, s))


# --------------------------------------------------------------------------- regions and AU-PRO

def line(n):
    """n points on the x axis at unit spacing: a point's 8 nearest neighbours are within +-4."""
    return np.stack([np.arange(n, dtype=float), np.zeros(n), np.zeros(n)], axis=1)


# 16 points; anomalous A = {3, 4}, B = {10, 11, 12, 13}: 6 apart, so no kNN edge (k = 8 reaches
# +-4) joins them; the other 10 points are normal.
LINE = line(16)
LINE_LABELS = np.zeros(16, np.uint8)
LINE_LABELS[[3, 4, 10, 11, 12, 13]] = 1


def test_regions_two_clusters_on_a_line():
    region = anomaly_regions(LINE, LINE_LABELS, k=8)
    assert set(region[LINE_LABELS == 0]) == {-1}
    assert region[3] == region[4] and len(set(region[[10, 11, 12, 13]])) == 1
    assert region[3] != region[10] and set(region[region >= 0]) == {0, 1}
    # radius graph: unit spacing joins neighbours at r = 1.5, A and B stay apart
    r = anomaly_regions(LINE, LINE_LABELS, radius=1.5)
    assert np.array_equal(r >= 0, LINE_LABELS == 1) and len(set(r[r >= 0])) == 2


def test_regions_not_joined_through_normal_points():
    # A = {3}, B = {5}: within each other's kNN (distance 2), so one region; with k = 1 the
    # nearest neighbour of 3 is a normal point (2 or 4), never 5: two regions.
    labels = np.zeros(10, np.uint8)
    labels[[3, 5]] = 1
    assert len(set(anomaly_regions(line(10), labels, k=8)[[3, 5]])) == 1
    assert len(set(anomaly_regions(line(10), labels, k=1)[[3, 5]])) == 2
    # anomalous points of one region, one per side of a far gap, only 2 anomalous points per
    # region: a kNN among anomalous points only would join them; the whole-cloud graph does not
    pts = line(40)
    labels = np.zeros(40, np.uint8)
    labels[[0, 1, 38, 39]] = 1
    region = anomaly_regions(pts, labels, k=3)
    assert region[0] == region[1] and region[38] == region[39] and region[0] != region[38]


def two_region_scores(tie=False):
    s = np.zeros(16)
    s[[3, 4]] = 0.95                   # region A found first
    s[[10, 11]] = 0.9 if tie else 0.85  # half of region B
    s[[12, 13]] = 0.15                 # rest of region B
    s[0] = 0.9                         # normal false positive
    s[1] = 0.5                         # normal false positive
    s[[2, 5, 6, 7]] = 0.1
    s[[8, 9, 14, 15]] = 0.0
    return s


def test_pro_curve_two_regions_by_hand():
    # thresholds: 0.95 -> A 1, B 0 -> PRO 0.5, FPR 0;  0.9 -> FPR 0.1;  0.85 -> B 1/2 ->
    # PRO 0.75;  0.5 -> FPR 0.2;  0.15 -> PRO 1;  0.1 -> FPR 0.6;  0 -> FPR 1.
    fpr, pro, thr = pro_curve([LINE_LABELS], [two_region_scores()], [LINE], k=8)
    assert np.allclose(fpr, [0, 0, 0.1, 0.1, 0.2, 0.2, 0.6, 1.0])
    assert np.allclose(pro, [0, 0.5, 0.5, 0.75, 0.75, 1, 1, 1])
    assert thr[0] == np.inf and np.allclose(thr[1:], [0.95, 0.9, 0.85, 0.5, 0.15, 0.1, 0.0])


def test_aupro_two_regions_by_hand():
    s = two_region_scores()
    # step curve: 0.5 on [0, .1], 0.75 on [.1, .2], 1 on [.2, .3]: (0.05 + 0.075 + 0.1) / 0.3
    assert aupro([LINE_LABELS], [s], [LINE], fpr_limit=0.3) == pytest.approx(0.225 / 0.3)
    # cut inside [.1, .2] (PRO there is 0.75): (0.05 + 0.05 * 0.75) / 0.15
    assert aupro([LINE_LABELS], [s], [LINE], fpr_limit=0.15) == pytest.approx(0.0875 / 0.15)
    assert aupro([LINE_LABELS], [s], [LINE], fpr_limit=1.0) == pytest.approx(0.05 + 0.075 + 0.8)
    # (pooled point recall at t = 0.85 would be 4/6; PRO is 0.75: each region weighs the same)
    # tie between B's half (0.9) and a normal point (0.9): the segment (0, .5) -> (.1, .75) is
    # diagonal, 0.1 * (0.5 + 0.75) / 2 = 0.0625 instead of 0.05
    tied = two_region_scores(tie=True)
    assert aupro([LINE_LABELS], [tied], [LINE], fpr_limit=0.3) == pytest.approx((0.0625 + 0.075 + 0.1) / 0.3)


def test_aupro_cut_interpolates_on_a_slope():
    # one region of 2 points, 4 normal points. Scores: region {0.8, 0.4}, normal {0.6, 0.4, 0, 0}.
    # t=.8: (0, .5); t=.6: (.25, .5); t=.4: (.5, 1) (tie -> diagonal); t=0: (1, 1).
    # up to 0.3: 0.25 * .5 + 0.05 * (.5 + .6) / 2 (PRO at .3 = .5 + .5 * .05/.25 = .6) = 0.1525
    pts = line(6)
    labels = np.array([0, 0, 1, 1, 0, 0])
    scores = np.array([0.6, 0.4, 0.8, 0.4, 0.0, 0.0])
    assert aupro([labels], [scores], [pts], fpr_limit=0.3) == pytest.approx(0.1525 / 0.3)


def test_aupro_pools_samples_and_weighs_regions_equally():
    s = two_region_scores()
    # a normal sample (no coordinates needed) of 10 points scored -1: FPR denominator 20, same
    # false-positive counts, so the FPRs halve: (0,.5) (.05,.5) (.05,.75) (.1,.75) (.1,1) ...
    # area to .3 = .05 * .5 + .05 * .75 + .2 * 1 = .2625
    normal = np.zeros(10, np.uint8)
    assert aupro([LINE_LABELS, normal], [s, np.full(10, -1.0)], [LINE, None]) == pytest.approx(0.2625 / 0.3)
    # two copies of the sample: 4 regions, same curve
    assert aupro([LINE_LABELS] * 2, [s] * 2, [LINE] * 2) == pytest.approx(0.225 / 0.3)
    # region A only in sample a, region B only in sample b; the other region's points are normal
    # there and scored 0. Normal points: 14 + 12 = 26; false positives: 2 at >= .9, 4 at >= .5,
    # 12 at >= .1 (FPR .46 > .3). PRO: .5 from t = .95, .75 from .85, 1 from .15. Area to .3:
    # (2/26) * .5 + (2/26) * .75 + (.3 - 4/26) * 1 = .3 - 1.5/26  ->  AUPRO = 1 - 5/26
    only_a, only_b = LINE_LABELS.copy(), LINE_LABELS.copy()
    only_a[10:14] = 0
    only_b[3:5] = 0
    s_a, s_b = s.copy(), s.copy()
    s_a[10:14] = 0.0
    s_b[3:5] = 0.0
    assert aupro([only_a, only_b], [s_a, s_b], [LINE, LINE]) == pytest.approx(1 - 5 / 26)


def test_aupro_perfect_zero_and_undefined():
    rng = np.random.default_rng(4)
    pts = rng.normal(size=(500, 3))
    labels = (pts[:, 0] > 1.0).astype(np.uint8)
    scores = labels + rng.random(500) * 0.5
    assert aupro([labels], [scores], [pts]) == pytest.approx(1.0, abs=1e-12)
    assert aupro([labels], [-scores], [pts]) == 0.0
    # chance level: all-equal scores -> diagonal PRO = FPR -> area .3**2 / 2 -> .15
    assert aupro([labels], [np.zeros(500)], [pts]) == pytest.approx(0.15)
    assert math.isnan(aupro([np.zeros(5)], [np.zeros(5)], [None]))          # no region
    assert math.isnan(aupro([np.ones(5)], [np.zeros(5)], [line(5)]))        # no normal point
    with pytest.raises(ValueError):
        aupro([labels], [scores], [pts], fpr_limit=0)
    with pytest.raises(ValueError):
        aupro([labels], [scores], [None])


def test_pro_curve_matches_threshold_loop():
    rng = np.random.default_rng(5)
    labels, scores, points = [], [], []
    for _ in range(3):
        pts = rng.normal(size=(300, 3))
        near = lambda i, r: np.linalg.norm(pts - pts[i], axis=1) < r  # noqa: E731
        y = (near(0, 0.8) | near(1, 0.6)).astype(np.uint8)            # one or two regions
        labels.append(y)
        scores.append(np.round(rng.random(300) + 0.3 * y, 2))       # ties on purpose
        points.append(pts)
    fpr, pro, thr = pro_curve(labels, scores, points, k=6)
    regions = [anomaly_regions(p, y, k=6) for p, y in zip(points, labels)]
    for j in range(1, len(thr), 7):
        t = thr[j]
        overlaps = [np.mean(s[r == g] >= t) for s, r in zip(scores, regions) for g in range(r.max() + 1)]
        normal_hits = sum(np.sum(s[y == 0] >= t) for s, y in zip(scores, labels))
        assert pro[j] == pytest.approx(np.mean(overlaps), abs=1e-12)
        assert fpr[j] == pytest.approx(normal_hits / sum(np.sum(y == 0) for y in labels), abs=1e-12)


# --------------------------------------------------------------------------- bundles

def test_object_and_point_metrics():
    m = object_metrics([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    assert m == {"I-AUROC": pytest.approx(0.75), "I-AP": pytest.approx((1 + 2 / 3) / 2)}
    p = point_metrics([LINE_LABELS, np.zeros(4, np.uint8)], [two_region_scores(), np.zeros(4)])
    y = np.concatenate([LINE_LABELS, np.zeros(4)])
    s = np.concatenate([two_region_scores(), np.zeros(4)])
    assert p["P-AUROC"] == pytest.approx(auroc_pairs(y, s))
    assert p["P-AP"] == pytest.approx(ap_by_threshold(y, s))
    assert math.isnan(p["AUPRO"])
    q = point_metrics([LINE_LABELS], [two_region_scores()], [LINE], fpr_limit=0.3)
    assert q["AUPRO"] == pytest.approx(0.75)
