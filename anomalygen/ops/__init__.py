"""Anomaly operators: one module per operator, all registered in :data:`OPERATORS`.

Importing this package imports every operator module, so that each one's ``register(...)``
call fills the registry; the registry's order is :data:`ORDER`, declared in
:mod:`anomalygen.ops.base`, whatever order the modules are imported in.
"""

from anomalygen.ops import bending, broken, bulge, concavity, crack, hole, scratch  # noqa: F401  (they register)
from anomalygen.ops.base import (ORDER, OPERATORS, EditResult, MeshPreconditionFailed, Operator, OperatorNotApplicable,
                                 Param, register)

if tuple(OPERATORS) != ORDER:  # an operator declared in ORDER whose module is not imported above
    raise ImportError(f"operators registered {tuple(OPERATORS)} differ from anomalygen.ops.base.ORDER {ORDER}")

__all__ = ["ORDER", "OPERATORS", "EditResult", "MeshPreconditionFailed", "Operator", "OperatorNotApplicable", "Param",
           "register"]
