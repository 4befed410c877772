"""Anomaly operators: one module per operator, all registered in :data:`OPERATORS`.

Importing this package imports every operator module in it, so that each one's
``register(...)`` call fills the registry.
"""

import importlib
import pkgutil

from anomalygen.ops.base import OPERATORS, EditResult, Operator, OperatorNotApplicable, Param, register

for _module in pkgutil.iter_modules(__path__):
    if not _module.name.startswith("_") and _module.name != "base":
        importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["OPERATORS", "EditResult", "Operator", "OperatorNotApplicable", "Param", "register"]
