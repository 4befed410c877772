"""Optional rigid alignment of clouds to a template, the config key ``align`` of every detector.

Posed scans (a random rotation and shift per test cloud, see ``sensor.pose``) put the object
where no training cloud has it; the field's answer (Reg3D-AD, PASDF) is to register each cloud
to a template first. With ``align: template`` the first training cloud is the template; every
other training cloud and every scored cloud is moved onto it by FPFH features matched with
RANSAC (global: any pose), refined by point-to-plane ICP, then expressed in the template's
frame (its centroid, its RMS radius) instead of its own: a partial scan's own centroid and RMS
radius are not the object's, and renormalising it would shift and scale it against every
training cloud. Alignment moves points and never reorders them, so per-point scores stay in
the input's point order. ``align: none`` (the default) normalises each cloud by itself
(:func:`~anomalygen.detect.geometry.normalise`), as before.

Registration runs in units of the template's RMS radius: ``voxel`` (0.07, as the baselines)
down-samples both clouds, FPFH uses radius 5 x voxel, RANSAC accepts matches within 1.5 x
voxel and ICP within 1 voxel. Deterministic for a seed: open3d's RANSAC sampling is seeded and
its result does not depend on the thread count; its ICP sums over points in parallel chunks whose
order varies run to run (last-bit differences), so ICP runs on one thread (it costs no measurable
time at these sizes).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

import numpy as np

from anomalygen.detect.fpfh import fpfh, voxel_points
from anomalygen.detect.geometry import normalise

__all__ = ["ALIGN_CHOICES", "check_align", "register_to", "transform", "TemplateAligner"]

ALIGN_CHOICES = ("none", "template")
VOXEL = 0.07


def check_align(value: object, owner: str) -> None:
    """ValueError with a one-line message naming the key unless ``value`` is one of :data:`ALIGN_CHOICES`."""
    if value not in ALIGN_CHOICES:
        raise ValueError(f"{owner} config: align: got {value!r}, expected one of {', '.join(ALIGN_CHOICES)}")


def transform(points: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Points (N, 3) moved by a rigid (4, 4) transform, same order, float32."""
    return (np.asarray(points, np.float64) @ matrix[:3, :3].T + matrix[:3, 3]).astype(np.float32)


def _cloud(points: np.ndarray):
    import open3d as o3d

    return o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, np.float64)))


def _features(points: np.ndarray, voxel: float):
    import open3d as o3d

    feature = o3d.pipelines.registration.Feature()
    feature.data = fpfh(points, voxel).T.astype(np.float64)
    return feature


@contextmanager
def _one_thread() -> Iterator[None]:
    """open3d limited to one thread inside the block (its parallel sums are not order-stable)."""
    import open3d as o3d

    before = o3d.utility.get_max_threads()
    o3d.utility.set_max_threads(1)
    try:
        yield
    finally:
        o3d.utility.set_max_threads(before)


def register_to(source: np.ndarray, template: np.ndarray, seed: int = 0, voxel: float = VOXEL) -> np.ndarray:
    """The rigid (4, 4) transform taking ``source`` (N, 3) onto ``template`` (T, 3), both in the same units.

    Both are centred on their own centroids (a partial scan's centroid is not the object's, which
    RANSAC then absorbs) and scaled by the template's RMS radius, so ``voxel`` is in RMS radii.
    """
    import open3d as o3d

    reg = o3d.pipelines.registration
    _, centre, scale = normalise(template)
    src_centre = np.asarray(source, np.float64).mean(axis=0)
    src = voxel_points((np.asarray(source, np.float64) - src_centre) / scale, voxel)
    tmpl = voxel_points((np.asarray(template, np.float64) - centre) / scale, voxel)
    o3d.utility.random.seed(int(seed))
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):   # no warning per partial scan
        rough = reg.registration_ransac_based_on_feature_matching(
            _cloud(src), _cloud(tmpl), _features(src, voxel), _features(tmpl, voxel), True, 1.5 * voxel,
            reg.TransformationEstimationPointToPoint(False), 3,
            [reg.CorrespondenceCheckerBasedOnEdgeLength(0.9), reg.CorrespondenceCheckerBasedOnDistance(1.5 * voxel)],
            reg.RANSACConvergenceCriteria(100000, 0.999))
    target = _cloud(tmpl)
    target.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=2 * voxel, max_nn=30))
    with _one_thread():
        fine = reg.registration_icp(_cloud(src), target, voxel, rough.transformation,
                                    reg.TransformationEstimationPointToPlane(),
                                    reg.ICPConvergenceCriteria(max_iteration=50)).transformation
    # back to the clouds' own units: x -> R (x - c_src) / s * s + t * s + c_template
    rot, shift = fine[:3, :3], fine[:3, 3]
    out = np.eye(4)
    out[:3, :3] = rot
    out[:3, 3] = scale * shift + centre - rot @ src_centre
    return out


class TemplateAligner:
    """The ``align`` step of a detector: how its clouds are normalised (see the module docstring).

    With ``mode="template"``, :meth:`fit` keeps the first training cloud as ``template`` (T, 3)
    float32, voxel down-sampled (what registration uses of it anyway), in its own units, with
    its ``centre`` (3,) and RMS radius ``scale``; they and ``seed`` are saved with the detector.
    """

    def __init__(self, mode: str = "none"):
        self.mode = mode
        self.template: np.ndarray | None = None
        self.centre, self.scale, self.seed = np.zeros(3), 1.0, 0

    def fit(self, clouds: Sequence[np.ndarray], seed: int = 0) -> None:
        """Keep the first of the training clouds (each (N_i, 3)) as the template (nothing with ``mode="none"``)."""
        if self.mode == "none" or not clouds:
            return
        _, self.centre, self.scale = normalise(clouds[0])
        self.template = voxel_points(clouds[0], VOXEL * self.scale / 2).astype(np.float32)
        self.seed = int(seed)

    def normalise(self, cloud: np.ndarray) -> np.ndarray:
        """``cloud`` (N, 3) in the detector's frame, (N, 3) float32 in the same point order: by itself
        (``none``), or moved onto the template and in its frame (``template``), in RMS radii."""
        if self.mode == "none":
            return normalise(cloud)[0]
        if self.template is None:
            raise RuntimeError("align: template: the detector is not fitted")
        aligned = transform(cloud, register_to(cloud, self.template, self.seed))
        return ((aligned - self.centre) / self.scale).astype(np.float32)

    def state(self) -> dict:
        """What :meth:`load_state` needs, tensors and numbers; empty when not aligning."""
        import torch

        if self.template is None:
            return {}
        return {"template": torch.from_numpy(self.template), "centre": torch.from_numpy(np.asarray(self.centre)),
                "scale": float(self.scale), "seed": self.seed}

    def load_state(self, state: dict) -> None:
        if state:
            self.template, self.centre = state["template"].numpy(), state["centre"].numpy()
            self.scale, self.seed = float(state["scale"]), int(state["seed"])
