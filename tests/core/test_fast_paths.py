"""The once-a-bar loops that take a C-level fast path for the usual input (marking a book, converting a bar's
prices, checking weights) give exactly what their careful per-item path gives, for any input: the fast path either
answers the same or hands over (issue 19)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.account import AccountSnapshot, marked_values
from defipm.core.errors import MissingPriceError
from defipm.core.validation import WeightConstraints, _finite_within_limits, _per_weight_problems, check_weights
from defipm.core.weights import Weights
from defipm.venues.paper.quotes import checked_prices

SYMBOLS = ["A", "B", "C", "D"]
T0 = datetime(2024, 1, 1, tzinfo=UTC)

weights_st = st.dictionaries(
    st.sampled_from(SYMBOLS),
    st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, -0.0, 0.3, -0.3, 1e308, -1e308]),
    max_size=4,
)
constraints_st = st.builds(
    WeightConstraints,
    long_only=st.booleans(),
    max_gross=st.sampled_from([1.0, 3.0]),
    max_weight=st.sampled_from([None, 0.25, 1.0]),
    allow_empty=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(weights_st, constraints_st)
def test_the_weight_checks_fast_path_answers_only_what_the_careful_path_would(raw, constraints):
    weights = Weights(raw)
    careful: list[str] = []
    finite = _per_weight_problems(weights, constraints, careful)
    fast = _finite_within_limits(weights, constraints)
    if fast is not None:
        assert careful == [] and fast == finite
    problems = check_weights(weights, SYMBOLS[:3], constraints)
    assert all(p in problems for p in careful)  # every per-weight problem is still named
    if "D" in raw and raw["D"] != 0:
        assert any(p.startswith("D: not in the venue's universe") for p in problems)


def test_a_nan_weight_among_valid_ones_is_named():
    problems = check_weights(Weights({"A": 0.5, "B": math.nan}), ["A", "B"])
    assert problems == ["B: weight is nan (must be a finite number)"]


positions_st = st.dictionaries(
    st.sampled_from(SYMBOLS), st.decimals(min_value=-1000, max_value=1000, places=4), max_size=4
)
prices_st = st.dictionaries(
    st.sampled_from(SYMBOLS), st.decimals(min_value=Decimal("0.0001"), max_value=10**6, places=4), max_size=4
)


@settings(max_examples=150, deadline=None)
@given(positions_st, prices_st)
def test_marking_a_book_is_quantity_times_price_of_each_held_symbol_or_names_the_unpriced(positions, prices):
    missing = sorted(s for s, q in positions.items() if q and s not in prices)
    if missing:
        with pytest.raises(MissingPriceError, match=", ".join(missing)):
            AccountSnapshot(Decimal(5), positions, prices)
        return
    snap = AccountSnapshot(Decimal(5), positions, prices)
    expected = {s: q * prices[s] for s, q in positions.items() if q}
    assert snap.values == expected
    assert snap.equity == Decimal(5) + sum(expected.values(), Decimal(0))


@settings(max_examples=100, deadline=None)
@given(positions_st, prices_st)
def test_a_snapshot_built_from_its_venue_s_marks_is_the_snapshot_the_constructor_builds(positions, prices):
    prices = {**{s: Decimal(1) for s in positions}, **prices}
    built = AccountSnapshot(Decimal(5), positions, prices)
    values = marked_values(positions, prices)
    marked = AccountSnapshot.marked(Decimal(5), positions, prices, values, sum(values.values(), Decimal(0)))
    assert marked == built and marked.equity == built.equity and marked.weights() == built.weights()


price_value_st = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-5, 5) | st.just(True)


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from([*SYMBOLS, ""]), price_value_st, max_size=5))
def test_a_price_update_is_the_exact_decimal_of_each_price_or_names_every_bad_one(update):
    bad = [
        s
        for s, p in update.items()
        if not s or isinstance(p, bool) or not (isinstance(p, int | float) and 0 < p < math.inf)
    ]
    if bad:
        with pytest.raises(MissingPriceError) as exc:
            checked_prices(T0, update)
        for s in bad:
            assert (f"{s}=" if s else "symbol ''") in str(exc.value)
        return
    out = checked_prices(T0, update)
    assert out == {s: Decimal(repr(float(p))) if isinstance(p, float) else Decimal(p) for s, p in update.items()}
