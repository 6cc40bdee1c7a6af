"""Rolling metrics against pandas' rolling windows, period returns and drawdown periods against hand-worked curves,
and the identities that tie them to the whole-run figures (property tests)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from defipm.core.metrics import (
    DrawdownPeriod,
    drawdown_periods,
    max_drawdown,
    max_drawdown_duration,
    returns_by_period,
    returns_from_equity,
    rolling_beta,
    rolling_sharpe,
    rolling_volatility,
    sharpe,
    total_return,
)

RNG = np.random.default_rng(7)
R = RNG.normal(0.001, 0.02, 200)
B = 0.6 * R + RNG.normal(0.0, 0.01, 200)


def test_rolling_figures_equal_pandas_windows() -> None:
    window, ppy = 30, 365.0
    r, b = pd.Series(R), pd.Series(B)
    expected_vol = r.rolling(window).std(ddof=1) * math.sqrt(ppy)
    expected_sharpe = r.rolling(window).mean() / r.rolling(window).std(ddof=1) * math.sqrt(ppy)
    expected_beta = r.rolling(window).cov(b, ddof=0) / b.rolling(window).var(ddof=0)
    np.testing.assert_allclose(rolling_volatility(R, window, ppy), expected_vol.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(rolling_sharpe(R, window, ppy), expected_sharpe.to_numpy(), rtol=1e-9)
    np.testing.assert_allclose(rolling_beta(R, B, window), expected_beta.to_numpy(), rtol=1e-9)
    assert np.isnan(rolling_sharpe(R, window, ppy)[: window - 1]).all()
    assert rolling_sharpe(R, window, ppy)[-1] == pytest.approx(sharpe(R[-window:], ppy))  # the last window's Sharpe


def test_rolling_edges() -> None:
    assert np.isnan(rolling_volatility(R[:5], 10, 365.0)).all() and rolling_volatility(R[:5], 10, 365.0).size == 5
    flat = np.zeros(20)
    assert np.isnan(rolling_sharpe(flat, 5, 365.0)).all()  # no volatility: undefined, not infinite
    assert np.isnan(rolling_beta(R[:20], flat, 5)).all()  # a benchmark that never moved
    with pytest.raises(ValueError, match="at least 2 bars"):
        rolling_volatility(R, 1, 365.0)
    with pytest.raises(ValueError, match="same bars"):
        rolling_beta(R, B[:-1], 5)


def test_returns_by_period_compounds_each_label() -> None:
    r = np.array([0.1, -0.1, 0.5, 0.0, -0.5])
    labels = np.array(["2020", "2020", "2021", "2021", "2022"])
    assert returns_by_period(r, labels) == [
        ("2020", pytest.approx(1.1 * 0.9 - 1)),
        ("2021", pytest.approx(0.5)),
        ("2022", pytest.approx(-0.5)),
    ]
    with pytest.raises(ValueError, match="one label per bar"):
        returns_by_period(r, labels[:-1])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=60), st.integers(1, 6))
def test_period_returns_compound_to_the_total(values: list[float], period_length: int) -> None:
    r = np.array(values)
    labels = np.arange(r.size) // period_length
    growth = math.prod(1 + g for _, g in returns_by_period(r, labels))
    assert growth - 1 == pytest.approx(total_return(r), rel=1e-9, abs=1e-12)


def test_drawdown_periods_of_a_worked_curve() -> None:
    equity = np.array([100, 110, 99, 121, 110, 100, 105.0])
    assert drawdown_periods(equity) == [
        DrawdownPeriod(start=3, trough=5, recovery=None, depth=pytest.approx(100 / 121 - 1), duration=3),
        DrawdownPeriod(start=1, trough=2, recovery=3, depth=pytest.approx(-0.1), duration=1),
    ]
    assert drawdown_periods(equity, top=1)[0].start == 3
    assert drawdown_periods(np.array([1.0, 2.0, 3.0])) == []


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(-0.4, 0.4), min_size=2, max_size=80))
@example([0.125, 0.11957876809729862, -0.125, 0.0, 0.375, -0.125])  # two episodes of one depth: the earlier wins
@example([-0.25, -0.25, -0.375, -2.220446049250313e-16])  # a trough one ulp below the bar before it
def test_the_deepest_period_is_the_max_drawdown(values: list[float]) -> None:
    equity = 100 * np.cumprod(np.concatenate(([1.0], 1 + np.array(values))))
    periods = drawdown_periods(equity, top=100)
    mdd = max_drawdown(returns_from_equity(equity))
    assert (periods[0].depth if periods else 0.0) == pytest.approx(mdd, abs=1e-12)
    assert max_drawdown_duration(returns_from_equity(equity)) == (periods[0].duration if periods else 0)
    for p in periods:  # each episode starts at a running high, bottoms at its trough and ends back at the high
        assert p.duration == int(np.count_nonzero(equity[p.start + 1 : p.recovery or equity.size] < equity[p.start]))
        assert equity[p.start] == equity[: p.start + 1].max()
        assert equity[p.trough] == equity[p.start : (p.recovery or equity.size)].min()
        assert p.recovery is None or equity[p.recovery] >= equity[p.start] > equity[p.recovery - 1]
