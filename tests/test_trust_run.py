"""Issue 12, the run side: declared order, integrity, one writer, interruption, failures, limits."""

import pytest

from anomalygen.ops import base


def test_operator_order_is_declared_not_taken_from_import_order(monkeypatch):
    registered = list(base.OPERATORS.values())
    monkeypatch.setattr(base, "OPERATORS", {})
    for operator in reversed(registered):  # as if the modules were imported the other way round
        base.register(operator)
    assert tuple(base.OPERATORS) == base.ORDER == ("bending", "break", "bulge", "concavity", "crack", "hole", "scratch")
    with pytest.raises(ValueError, match="not declared"):
        base.register(base.Operator("teapot", "teapot", (), registered[0].apply))
