"""concavity (also called sink): a smooth inward dent of radius r and depth h at a random surface point."""

from anomalygen.ops._bump import BUMP_PARAMS, bump
from anomalygen.ops.base import Operator, register

register(
    Operator(
        name="concavity",
        token="concavity",
        params=BUMP_PARAMS,
        apply=lambda mesh, params, rng: bump(mesh, params, rng, sign=-1.0),
        doc=__doc__,
    )
)
