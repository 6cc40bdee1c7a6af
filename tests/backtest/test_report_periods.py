"""The report's calendar figures and drawdown figures agree with each other and with the run: a run started on the
first of a year (or month) has no year (or month) before it made of the initial point's costs, and the metrics'
drawdown duration is the worst drawdown's in the table."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.backtest.engine import BacktestResult
from defipm.backtest.figures import rolling_window, strategy_returns, yearly_returns
from defipm.backtest.report import _drawdowns_panel, _metrics_panel, monthly_returns
from defipm.data.panel import PricePanel
from defipm.oracles.static import StaticOracle


def run_from(start: datetime) -> BacktestResult:
    """Daily closes of two assets from 2023-12-01 to 2024-04-30 (small moves, a deep dip in February recovered in
    March), a 0.1% fee, an equal weight book replayed from ``start`` (the history before it stays visible)."""
    days = np.datetime64("2023-12-01T00:00") + np.arange(152) * np.timedelta64(1, "D")
    rng = np.random.default_rng(7)
    moves = rng.normal(0.001, 0.005, (days.size, 2))
    moves[70:80] -= 0.03  # 2024-02-09 to 2024-02-18
    moves[80:100] += 0.02
    close = 100 * np.cumprod(1 + moves, axis=0)
    panel = PricePanel.from_arrays(days, ["A", "B"], close)
    config = BacktestConfig(benchmark="A", start=start, costs=CostModel(taker_fee=0.001))
    return run_backtest(panel, StaticOracle({"A": 0.5, "B": 0.5}), config)


@pytest.mark.parametrize("start", [datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 3, 1, tzinfo=UTC)])
def test_the_initial_point_makes_no_year_or_month_of_its_own(start: datetime) -> None:
    result = run_from(start)
    assert result.timestamps[0] == np.datetime64(start.replace(tzinfo=None))
    assert result.fees[0] > 0  # the first close's trades cost something: the padded point's return is not 0
    curve = result.equity_curve
    years = yearly_returns(result)
    assert [y for y, _, _ in years] == [2024]
    assert years[0][1] == pytest.approx(curve[-1] / curve[0] - 1, rel=1e-12)  # the first bar's costs counted in
    months = monthly_returns(result)
    assert list(months) == [2024] and min(months[2024]) == start.month
    first_month_end = int(np.searchsorted(result.timestamps, np.datetime64(f"2024-{start.month + 1:02d}-01T00:00")))
    assert months[2024][start.month] == pytest.approx(curve[first_month_end + 1] / curve[0] - 1, rel=1e-12)
    # the rolling figures: one value per bar at the bar's own time, the first bar included, nothing before it
    assert strategy_returns(result).size == result.timestamps.size and rolling_window(result) >= 2


def test_the_metrics_drawdown_duration_is_the_worst_drawdowns_in_the_table() -> None:
    result = run_from(datetime(2024, 1, 1, tzinfo=UTC))
    metrics = {row[0]: row[2] for row in _metrics_panel(result).rows}
    worst = _drawdowns_panel(result).rows[0]
    assert worst[2] != "not recovered" and metrics["max drawdown"] == worst[3]
    assert worst[4].removesuffix(" so far") == metrics["max drawdown duration"]
    bars = result.summary().max_drawdown_duration
    curve = result.equity_curve
    under = curve < np.maximum.accumulate(curve)
    assert bars > 1 and metrics["max drawdown duration"].startswith(f"{bars} bars")
    # worked from the curve: the bars under water of the episode around the deepest point
    trough = int(np.argmin(curve / np.maximum.accumulate(curve)))
    first, last = trough, trough
    while under[first - 1]:
        first -= 1
    while last + 1 < curve.size and under[last + 1]:
        last += 1
    assert bars == last - first + 1
