"""The rebalance policy: a schedule, a new signal publication, drift past a threshold; bad policies refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.triggers import LastRebalance, RebalancePolicy, drift
from defipm.core.weights import Weights

T0 = datetime(2024, 1, 1, tzinfo=UTC)
LAST = LastRebalance(T0, Weights({"BTC": 0.5, "ETH": -0.5}), datetime(2023, 12, 31))


def test_the_first_cycle_is_always_due():
    assert RebalancePolicy(drift=0.1).due(T0, None, {}) == "first rebalance"


def test_a_schedule_of_its_own():
    policy = RebalancePolicy(every=timedelta(days=7))
    assert policy.due(T0 + timedelta(days=6), LAST, dict(LAST.target)) is None
    assert "scheduled" in (policy.due(T0 + timedelta(days=7), LAST, dict(LAST.target)) or "")


def test_a_new_publication():
    policy = RebalancePolicy(on_publication=True)
    assert policy.due(T0, LAST, dict(LAST.target), datetime(2023, 12, 31)) is None
    assert policy.due(T0, LAST, dict(LAST.target), None) is None  # the oracle could not tell
    why = policy.due(T0, LAST, dict(LAST.target), datetime(2024, 1, 1))
    assert why is not None and "new signal published 2024-01-01" in why


def test_drift_beyond_the_threshold_names_the_symbol():
    policy = RebalancePolicy(drift=0.05)
    assert policy.due(T0, LAST, {"BTC": 0.54, "ETH": -0.47}) is None
    why = policy.due(T0, LAST, {"BTC": 0.56, "ETH": -0.47})
    assert why is not None and "BTC is 6.00% of equity from its target" in why
    why = policy.due(T0, LAST, {"BTC": 0.5, "ETH": -0.5, "SOL": 0.07})  # a symbol the target does not hold
    assert why is not None and "SOL" in why


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "needs every, on_publication or drift"),
        ({"every": timedelta(0)}, "positive duration"),
        ({"drift": 0.0}, "fraction of equity above 0"),
        ({"drift": float("nan")}, "fraction of equity above 0"),
    ],
)
def test_a_policy_that_could_never_trade_again_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RebalancePolicy(**kwargs)


def test_the_last_rebalance_survives_json():
    assert LastRebalance.from_json(LAST.to_json()) == LAST
    bare = LastRebalance(T0, Weights({}))
    assert LastRebalance.from_json(bare.to_json()) == bare


weights = st.dictionaries(st.sampled_from(["A", "B", "C", "D"]), st.floats(-2, 2), max_size=4)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(actual=weights, target=weights)
def test_drift_is_the_largest_gap_and_is_symmetric(actual, target):
    gap, symbol = drift(actual, target)
    assert gap == drift(target, actual)[0]
    expected = max((abs(actual.get(s, 0.0) - target.get(s, 0.0)) for s in set(actual) | set(target)), default=0.0)
    assert gap == expected and (symbol is None) == (gap == 0)
