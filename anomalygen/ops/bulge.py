"""bulge: a smooth outward bump of radius r and height h at a random surface point."""

from anomalygen.ops._bump import BUMP_PARAMS, bump
from anomalygen.ops.base import Operator, register

register(
    Operator(
        name="bulge",
        token="bulge",
        params=BUMP_PARAMS,
        apply=lambda mesh, params, rng: bump(mesh, params, rng, sign=+1.0),
        doc=__doc__,
    )
)
