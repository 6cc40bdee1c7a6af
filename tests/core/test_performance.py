"""Time-weighted returns with flows, as properties: a deposit or withdrawal never changes the return, and splitting
the series at a flow gives the product of the parts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.performance import time_weighted_return

T0 = datetime(2024, 1, 1, tzinfo=UTC)
returns = st.lists(st.floats(-0.5, 1.0), min_size=1, max_size=12)
flow_shares = st.lists(st.floats(-0.9, 3.0), min_size=12, max_size=12)
"""Each period's flow as a share of the equity before it: -0.9 withdraws 90%, 3.0 deposits three times as much."""


def _series(rets: list[float], shares: list[float] | None) -> tuple[list[tuple[datetime, Decimal]], list]:
    """Equity observed daily from 1,000, growing by ``rets``; each flow arrives (and is recorded) just before the
    observation it changes, as the manager records a deposit."""
    equity, flows = [(T0, Decimal(1_000))], []
    for i, r in enumerate(rets, 1):
        grown = equity[-1][1] * Decimal(repr(1 + r))
        flow = grown * Decimal(repr(shares[i - 1])) if shares else Decimal(0)
        t = T0 + timedelta(days=i)
        if flow:
            flows.append((t - timedelta(hours=1), flow))
        equity.append((t, grown + flow))
    return equity, flows


@settings(max_examples=100, deadline=None)
@given(rets=returns, shares=flow_shares)
def test_a_deposit_or_withdrawal_never_changes_the_time_weighted_return(rets, shares):
    with_flows = time_weighted_return(*_series(rets, shares))
    without = time_weighted_return(*_series(rets, None))
    expected = 1.0
    for r in rets:
        expected *= 1 + r
    assert with_flows == pytest.approx(without, rel=1e-9, abs=1e-12)
    assert with_flows == pytest.approx(expected - 1, rel=1e-9, abs=1e-12)


@settings(max_examples=100, deadline=None)
@given(rets=returns, shares=flow_shares, cut=st.integers(0, 12))
def test_splitting_at_a_flow_gives_the_product_of_the_parts(rets, shares, cut):
    equity, flows = _series(rets, shares)
    k = min(cut, len(equity) - 1)  # the second part starts at the observation the flow before it changed
    at = equity[k][0]
    first = time_weighted_return(equity[: k + 1], [f for f in flows if f[0] <= at])
    second = time_weighted_return(equity[k:], [f for f in flows if f[0] > at])
    whole = time_weighted_return(equity, flows)
    assert (1 + whole) == pytest.approx((1 + first) * (1 + second), rel=1e-9)
