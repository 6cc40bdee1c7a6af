import math
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


def test_every_problem_is_named_even_beside_a_nan():
    """Issue 11.10: a NaN hid the gross limit the same weights also broke."""
    problems = check_weights(Weights({"A": math.nan, "B": 0.8, "C": 0.7}), ["A", "B", "C"])
    assert problems == [
        "A: weight is nan (must be a finite number)",
        "gross exposure of the finite weights 1.5 above max_gross 1",
    ]


def test_weights_of_1e308_are_problems_not_an_overflow():
    """Issue 12.4: `check_weights` (documented as never raising) raised OverflowError on 1e308 + 1e308."""
    w = Weights({"A": 1e308, "B": 1e308, "C": -1e308})
    assert w.gross == math.inf and w.net == 1e308
    problems = check_weights(w, ["A", "B", "C"], WeightConstraints(max_weight=1.0, target_net=0.0))
    assert "gross exposure inf above max_gross 1" in problems
    assert sum("above max_weight" in p for p in problems) == 3


@settings(max_examples=300, deadline=None)
@given(
    weights=st.dictionaries(st.text(min_size=1, max_size=3), st.floats(allow_nan=True, allow_infinity=True)),
    constraints=st.builds(
        WeightConstraints,
        long_only=st.booleans(),
        max_gross=st.floats(0, 1e308),
        target_net=st.none() | st.floats(-2, 2),
        target_gross=st.none() | st.floats(0, 3),
        max_weight=st.none() | st.floats(0, 1),
    ),
)
def test_check_weights_never_raises(weights, constraints):
    problems = check_weights(Weights(weights), list(weights)[:1], constraints)
    assert all(isinstance(p, str) and p for p in problems)
    bad = [s for s, w in weights.items() if not math.isfinite(w)]
    assert all(any(p.startswith(f"{s}: weight is") for p in problems) for s in bad)


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({"BTC": True}, "BTC: weight True is not a number"),
        ({"BTC": "0.5"}, "BTC: weight '0.5' is not a number"),
        ({"BTC": None}, "BTC: weight None is not a number"),
        ({"": 0.5}, "'': not a symbol name"),
        ({1: 0.5}, "1: not a symbol name"),
        ([("BTC", 0.5)], "expected a mapping"),
    ],
)
def test_an_oracle_answer_that_is_not_weights_is_refused_naming_it(answer, named):
    from defipm.core.validation import weights_from

    with pytest.raises(InvalidWeightsError) as exc:
        weights_from(answer)
    assert named in str(exc.value)
    assert weights_from({"BTC": 1, "ETH": Decimal("0.25"), "SOL": 10**400}) == {
        "BTC": 1.0,
        "ETH": 0.25,
        "SOL": math.inf,
    }
