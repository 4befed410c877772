"""Threshold-free detection metrics for point-cloud anomaly detection, in plain numpy (+ scipy for AU-PRO).

Every function takes ground-truth labels (1 = anomalous) and scores (higher = more anomalous)
exactly as the detector produced them. Nothing is normalised over the test set and nothing is
tuned on it: the metrics are invariant to any strictly increasing transform of the scores, so
a per-test-set min-max normalisation (a pitfall seen in peers) would change nothing here, and
a per-*sample* normalisation, which would, is simply not done.

- :func:`auroc`: area under the ROC curve = the Mann-Whitney U statistic / (n_pos * n_neg);
  ties count one half (mid-ranks), so all-equal scores give exactly 0.5.
- :func:`average_precision`: step-wise AP as scikit-learn defines it,
  ``sum_k (R_k - R_{k-1}) * P_k`` over the distinct score values (tied scores form one step).
- :func:`aupro`: the point-cloud analogue of MVTec AD's AU-PRO (see :func:`pro_curve`).
- :func:`object_metrics` / :func:`point_metrics`: the benchmark's per-class numbers as dicts.

Undefined cases return ``nan`` without a warning (callers aggregate many classes and should
decide themselves how to report a missing number): AUROC when only one class is present, AP
when there is no positive, AU-PRO when there is no anomalous region or no normal point.
Invalid input (labels other than 0/1, NaN scores, shape mismatch) raises ``ValueError``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

__all__ = [
    "auroc",
    "average_precision",
    "anomaly_regions",
    "pro_curve",
    "aupro",
    "object_metrics",
    "point_metrics",
    "DEFAULT_FPR_LIMIT",
    "DEFAULT_K",
]

DEFAULT_FPR_LIMIT = 0.3   # MVTec AD's customary integration limit for AU-PRO
DEFAULT_K = 8             # kNN graph degree for the anomalous regions (see anomaly_regions)


# --------------------------------------------------------------------------- input checks

def _labels(labels, name: str = "labels") -> np.ndarray:
    """(N,) int64 array of 0/1 from bool or integer-valued input; raises on anything else."""
    y = np.asarray(labels)
    if y.ndim != 1:
        raise ValueError(f"{name}: expected a 1-D array, got shape {y.shape}")
    if y.dtype == bool:
        return y.astype(np.int64)
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError(f"{name}: labels must be 0 or 1, got values {np.unique(y)[:10]}")
    return y.astype(np.int64)


def _scores(scores, n: int, name: str = "scores") -> np.ndarray:
    """(N,) float64 scores. float64 so that float32 inputs keep their order and ties exactly."""
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != (n,):
        raise ValueError(f"{name}: expected shape ({n},) to match the labels, got {s.shape}")
    if np.isnan(s).any():
        # NaN has no place in a ranking; silently dropping or ranking it would hide a detector bug.
        raise ValueError(f"{name}: {int(np.isnan(s).sum())} NaN score(s)")
    return s


def _grouped_counts(y: np.ndarray, s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positives and negatives per distinct score value, highest score first.

    y: (N,) 0/1, s: (N,) float64 -> (pos (G,) int64, neg (G,) int64), G = number of distinct
    scores. Grouping ties here is what makes every metric below tie-aware: a threshold can
    only sit between distinct values, never inside a tie.
    """
    _, inverse, counts = np.unique(s, return_inverse=True, return_counts=True)
    pos = np.bincount(inverse.ravel(), weights=y, minlength=len(counts)).astype(np.int64)
    neg = counts.astype(np.int64) - pos
    return pos[::-1], neg[::-1]


# --------------------------------------------------------------------------- ranking metrics

def _auroc_from_groups(pos: np.ndarray, neg: np.ndarray) -> float:
    n_pos, n_neg = int(pos.sum()), int(neg.sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    # U = #(pos, neg) pairs with the positive scored higher + 1/2 #tied pairs. Groups are in
    # descending order, so the negatives strictly below group g are n_neg - cumsum(neg)[g].
    # Computed as 2U in int64 (exact for ~1e9-point pools), divided once at the end.
    neg_below = n_neg - np.cumsum(neg)
    twice_u = int(np.sum(2 * pos * neg_below + pos * neg))
    return twice_u / (2.0 * n_pos * n_neg)


def _ap_from_groups(pos: np.ndarray, neg: np.ndarray) -> float:
    n_pos = int(pos.sum())
    if n_pos == 0:
        return float("nan")
    tp, fp = np.cumsum(pos), np.cumsum(neg)
    precision = tp / (tp + fp)        # tp + fp >= 1 for every group (each group is non-empty)
    # sum_k (R_k - R_{k-1}) P_k with R_0 = 0: groups without a positive add nothing, so the
    # precision after a run of negatives is only counted at the next recall step (sklearn's AP,
    # not the interpolated/trapezoidal variants, which are optimistic).
    return float(np.sum(pos / n_pos * precision))


def auroc(labels, scores) -> float:
    """Area under the ROC curve.

    labels: (N,) 0/1 or bool, 1 = anomalous. scores: (N,) float, higher = more anomalous.
    Returns U / (n_pos * n_neg) with U the Mann-Whitney statistic using mid-ranks for ties,
    i.e. the probability that a random positive outscores a random negative, ties counting 1/2
    (equal to the trapezoidal ROC area of scikit-learn's ``roc_auc_score``). ``nan`` if only
    one class is present (undefined; no warning is emitted).
    """
    y = _labels(labels)
    s = _scores(scores, len(y))
    return _auroc_from_groups(*_grouped_counts(y, s))


def average_precision(labels, scores) -> float:
    """Average precision, step-wise as scikit-learn's ``average_precision_score``.

    labels: (N,) 0/1 or bool. scores: (N,) float. Thresholds at the distinct score values,
    highest first; tied scores enter together. AP = sum_k (R_k - R_{k-1}) * P_k. ``nan`` if
    there is no positive (scikit-learn returns 0 with a warning there); 1.0 if there is no
    negative.
    """
    y = _labels(labels)
    s = _scores(scores, len(y))
    return _ap_from_groups(*_grouped_counts(y, s))


# --------------------------------------------------------------------------- AU-PRO

def anomaly_regions(points, labels, k: int = DEFAULT_K, radius: float | None = None) -> np.ndarray:
    """Connected anomalous regions of one point cloud: the 3D analogue of MVTec's blobs.

    points: (N, 3) float, labels: (N,) 0/1. Returns (N,) int64: -1 for normal points,
    0..R-1 the region of each anomalous point (scipy's component numbering, which follows
    the first anomalous point of each region in index order).

    Graph (``radius`` None): the kNN graph of the WHOLE cloud (each point joined to its k
    nearest other points, cKDTree, Euclidean), symmetrised by union (i~j if j is among i's k
    nearest OR i among j's), then restricted to edges whose two ends are both anomalous; the
    regions are its connected components. Using the whole cloud's neighbourhoods, not a kNN
    among anomalous points only, matters: with the latter a small anomaly's k "nearest
    anomalous" points can lie in another anomaly far away and the two would merge. Two
    anomalies touch only if their points are within each other's k nearest neighbours on the
    surface. With exact duplicate points a point may keep one extra neighbour (its query
    asks for k+1 to skip itself); that only adds edges between coincident points.

    Graph (``radius`` given): anomalous points closer than ``radius`` are joined (a radius
    graph does not depend on the other points, so no restriction step is needed).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    y = _labels(labels)
    pts = np.asarray(points, dtype=np.float64)
    if pts.shape != (len(y), 3):
        raise ValueError(f"points: expected shape ({len(y)}, 3), got {pts.shape}")
    region = np.full(len(y), -1, np.int64)
    anomalous = np.flatnonzero(y)
    m = len(anomalous)
    if m == 0:
        return region
    if radius is not None:
        if radius <= 0:
            raise ValueError(f"radius must be > 0, got {radius}")
        pairs = cKDTree(pts[anomalous]).query_pairs(float(radius), output_type="ndarray")
        rows, cols = pairs[:, 0], pairs[:, 1]
    else:
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        k_query = min(int(k) + 1, len(y))     # +1: the point itself comes back as a neighbour
        # Only anomalous points are queried, against the tree of all points: an edge between
        # two anomalous points is found from either end, which is the union symmetrisation.
        _, nbr = cKDTree(pts).query(pts[anomalous], k=k_query)
        nbr = np.asarray(nbr).reshape(m, k_query)
        local = np.full(len(y), -1, np.int64)   # global index -> index among anomalous points
        local[anomalous] = np.arange(m)
        rows = np.repeat(np.arange(m), k_query)
        cols = local[nbr.ravel()]
        keep = cols >= 0                        # drop edges that leave the anomalous set
        rows, cols = rows[keep], cols[keep]
    graph = coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(m, m))
    # connection="weak" on the directed kNN graph = components of its union symmetrisation.
    _, component = connected_components(graph, directed=True, connection="weak")
    region[anomalous] = component
    return region


def pro_curve(labels_per_sample: Sequence, scores_per_sample: Sequence, points_per_sample: Sequence,
              k: int = DEFAULT_K, radius: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-region overlap (PRO) against false-positive rate over all thresholds, exactly.

    labels_per_sample[i]: (N_i,) 0/1; scores_per_sample[i]: (N_i,) float;
    points_per_sample[i]: (N_i, 3) float (may be None for a sample without anomalous points:
    it has no region, only normal points, which need no coordinates).

    A point is predicted anomalous at threshold t if its score >= t. For every distinct score
    value t over all samples (highest first):

    - FPR(t) = #normal points with score >= t / #normal points, over ALL samples (normal
      samples and the normal points of anomalous samples alike);
    - PRO(t) = mean over all regions r of all samples of (#points of r with score >= t) / |r|,
      regions from :func:`anomaly_regions` (each region weighs the same, whatever its size,
      which is the point of PRO versus pooled point recall).

    Returns (fpr (T+1,), pro (T+1,), thresholds (T+1,)), thresholds descending, starting with
    (0, 0) at threshold +inf. Computed in one sort: each normal point counts 1 (over
    #normal), each anomalous point 1/|r| (over R); cumulative sums over the score groups give
    both curves at every threshold (O(P log P) for P pooled points).
    """
    if not (len(labels_per_sample) == len(scores_per_sample) == len(points_per_sample)):
        raise ValueError("labels_per_sample, scores_per_sample and points_per_sample differ in length")
    all_scores, normal_flags, n_regions = [], [], 0
    region_parts = []
    for i, (labels, scores, points) in enumerate(zip(labels_per_sample, scores_per_sample, points_per_sample)):
        y = _labels(labels, f"labels[{i}]")
        s = _scores(scores, len(y), f"scores[{i}]")
        if y.any():
            if points is None:
                raise ValueError(f"points[{i}] is None but the sample has anomalous points")
            region = anomaly_regions(points, y, k=k, radius=radius)
            r = region.max() + 1
            region_parts.append(np.where(region >= 0, region + n_regions, -1))
            n_regions += int(r)
        else:
            region_parts.append(np.full(len(y), -1, np.int64))
        all_scores.append(s)
        normal_flags.append(y == 0)
    if not all_scores:
        nan = np.array([float("nan")])
        return nan, nan, nan
    s = np.concatenate(all_scores)
    normal = np.concatenate(normal_flags)
    region = np.concatenate(region_parts)
    n_normal = int(normal.sum())
    if n_regions == 0 or n_normal == 0:
        nan = np.array([float("nan")])
        return nan, nan, nan
    sizes = np.bincount(region[region >= 0], minlength=n_regions)
    pro_w = np.zeros(len(s))
    pro_w[region >= 0] = 1.0 / sizes[region[region >= 0]]     # each region sums to 1

    uniq, inverse = np.unique(s, return_inverse=True)
    inverse = inverse.ravel()
    fp = np.bincount(inverse[normal], minlength=len(uniq))[::-1]          # integer counts: exact FPR
    pro_mass = np.bincount(inverse, weights=pro_w, minlength=len(uniq))[::-1]
    fpr = np.concatenate([[0.0], np.cumsum(fp) / n_normal])
    # Divide by the float total (= R up to rounding) rather than by R, so that PRO is exactly 1
    # once every region is covered (a perfect detector must not read 0.9999999999999987).
    cum = np.cumsum(pro_mass)
    pro = np.concatenate([[0.0], cum / cum[-1]])
    thresholds = np.concatenate([[np.inf], uniq[::-1]])
    return fpr, pro, thresholds


def _area_to_limit(x: np.ndarray, y: np.ndarray, limit: float) -> float:
    """Trapezoid area under the piecewise-linear curve (x non-decreasing) from x[0] to ``limit``.

    The curve is cut at ``limit``, interpolating y linearly on the segment that crosses it.
    Vertical segments (equal x) add no area; the last point with x <= limit is used for the
    cut, so a vertical jump exactly at the limit is taken at its top, as it should be.
    """
    end = int(np.searchsorted(x, limit, side="right"))   # x[:end] <= limit
    xs, ys = x[:end], y[:end]
    if end < len(x) and xs[-1] < limit:
        x0, x1, y0, y1 = x[end - 1], x[end], y[end - 1], y[end]
        y_cut = y0 + (y1 - y0) * (limit - x0) / (x1 - x0)
        xs, ys = np.append(xs, limit), np.append(ys, y_cut)
    return float(np.sum(np.diff(xs) * (ys[1:] + ys[:-1]) / 2.0))


def aupro(labels_per_sample: Sequence, scores_per_sample: Sequence, points_per_sample: Sequence,
          fpr_limit: float = DEFAULT_FPR_LIMIT, k: int = DEFAULT_K, radius: float | None = None) -> float:
    """Normalised area under the PRO curve up to FPR = ``fpr_limit`` (point-cloud AU-PRO).

    Inputs as :func:`pro_curve` (one entry per test sample of a class). The (FPR, PRO) points
    of every distinct threshold, starting at (0, 0), are joined linearly (ties between normal
    and anomalous points give diagonal segments, as in ROC), integrated by the trapezoid rule
    from 0 to ``fpr_limit`` (PRO interpolated at the limit) and divided by ``fpr_limit``, so a
    perfect detector scores 1 and one ranking every anomalous point below every normal
    point scores 0. Chance level is NOT 0.5: all-equal (or random) scores give the diagonal
    PRO = FPR, i.e. ``fpr_limit / 2`` (0.15 at the default limit). Exact: no threshold
    subsampling. ``nan`` without regions or normal points.
    """
    if not 0.0 < fpr_limit <= 1.0:
        raise ValueError(f"fpr_limit must be in (0, 1], got {fpr_limit}")
    fpr, pro, _ = pro_curve(labels_per_sample, scores_per_sample, points_per_sample, k=k, radius=radius)
    if np.isnan(fpr[0]):
        return float("nan")
    return _area_to_limit(fpr, pro, fpr_limit) / fpr_limit


# --------------------------------------------------------------------------- per-class bundles

def object_metrics(object_labels, object_scores) -> dict[str, float]:
    """Object-level metrics of one class.

    object_labels: (n,) 0/1 per test sample; object_scores: (n,) float.
    Returns {"I-AUROC": float, "I-AP": float} (nan where undefined, see the module doc).
    """
    y = _labels(object_labels, "object_labels")
    s = _scores(object_scores, len(y), "object_scores")
    pos, neg = _grouped_counts(y, s)
    return {"I-AUROC": _auroc_from_groups(pos, neg), "I-AP": _ap_from_groups(pos, neg)}


def point_metrics(labels_list: Sequence, scores_list: Sequence, points_list: Sequence | None = None,
                  fpr_limit: float = DEFAULT_FPR_LIMIT, k: int = DEFAULT_K,
                  radius: float | None = None) -> dict[str, float]:
    """Point-level metrics of one class, points pooled over all its test samples.

    labels_list[i]: (N_i,) 0/1; scores_list[i]: (N_i,) float; points_list[i]: (N_i, 3) or None.
    Returns {"P-AUROC", "P-AP", "AUPRO"}: P-AUROC and P-AP over the concatenation of every
    sample's points (normal samples included, as the peers pool them); AUPRO from
    :func:`aupro` with ``fpr_limit``/``k``/``radius``, nan when ``points_list`` is None.
    """
    if len(labels_list) != len(scores_list):
        raise ValueError("labels_list and scores_list differ in length")
    ys = [_labels(l, f"labels[{i}]") for i, l in enumerate(labels_list)]
    ss = [_scores(s, len(y), f"scores[{i}]") for i, (y, s) in enumerate(zip(ys, scores_list))]
    y = np.concatenate(ys) if ys else np.zeros(0, np.int64)
    s = np.concatenate(ss) if ss else np.zeros(0)
    pos, neg = _grouped_counts(y, s)     # one sort serves both ranking metrics
    result = {"P-AUROC": _auroc_from_groups(pos, neg), "P-AP": _ap_from_groups(pos, neg), "AUPRO": float("nan")}
    if points_list is not None:
        result["AUPRO"] = aupro(ys, ss, points_list, fpr_limit=fpr_limit, k=k, radius=radius)
    return result
