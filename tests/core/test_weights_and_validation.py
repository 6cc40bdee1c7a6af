import math

import pytest

from defipm import InvalidWeightsError, WeightConstraints, Weights, check_weights
from defipm.core.validation import ensure_valid


def test_weights_helpers():
    w = Weights({"BTC": 0.5, "ETH": -0.3, "SOL": 0.2})
    assert w.gross == pytest.approx(1.0)
    assert w.net == pytest.approx(0.4)
    assert w.cash == pytest.approx(0.0)
    assert not w.is_long_only
    assert dict(w.longs()) == {"BTC": 0.5, "SOL": 0.2}
    assert dict(w.shorts()) == {"ETH": -0.3}
    assert Weights.equal(["A", "B", "C", "D"]).gross == pytest.approx(1.0)
    with pytest.raises(TypeError):
        Weights({1: 0.5})  # type: ignore[dict-item]


def test_every_problem_is_named_at_once():
    w = Weights({"BTC": math.nan, "ETH": -0.2, "DOGE": 0.9, "XYZ": 0.4, "SOL": math.inf})
    problems = check_weights(
        w, universe=["BTC", "ETH", "DOGE", "SOL"], constraints=WeightConstraints(long_only=True, max_weight=0.5)
    )
    text = "\n".join(problems)
    assert "BTC: weight is nan" in text
    assert "SOL: weight is inf" in text
    assert "ETH: negative weight" in text
    assert "DOGE: |weight| 0.9 above max_weight 0.5" in text
    assert "XYZ: not in the venue's universe" in text
    with pytest.raises(InvalidWeightsError) as exc:
        ensure_valid(w, ["BTC"], WeightConstraints(long_only=True))
    assert len(exc.value.problems) >= 4


def test_gross_net_and_empty():
    c = WeightConstraints(max_gross=1.0, target_net=0.0, net_tolerance=1e-6)
    problems = check_weights(Weights({"A": 0.8, "B": -0.5}), ["A", "B"], c)
    assert any("gross exposure 1.3 above max_gross 1" in p for p in problems)
    assert any("net exposure 0.3 differs from target_net 0" in p for p in problems)
    assert any("empty portfolio" in p for p in check_weights(Weights({}), ["A"], c))
    assert check_weights(Weights({}), ["A"], WeightConstraints(allow_empty=True)) == []
    assert check_weights(Weights({"A": 0.5, "B": -0.5}), ["A", "B"], c) == []
