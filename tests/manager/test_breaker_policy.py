"""A tripped drawdown breaker does not leave the book unmanaged (issue 11.7): ``on_breach`` "reduce" keeps it within
the caps with reduce-only orders, "flatten" closes it, "freeze" sends nothing; the operator's kill switch always
freezes; a backtest marks halts, breaches and liquidations, and never shows a book an exchange would not keep."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pytest

from defipm import (
    CycleStatus,
    OrderStatus,
    PaperVenue,
    PortfolioManager,
    RiskLimits,
    StaticOracle,
    Store,
    TradingHaltedError,
)
from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.backtest.report import summary_table, write_html
from defipm.data.panel import PricePanel
from defipm.manager import set_kill_switch

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0}
TARGET = {"BTC": 0.4, "ETH": 0.3, "SOL": -0.2}
CRASH = {"BTC": 24_000.0, "ETH": 1_200.0, "SOL": 150.0}  # equity -38%, gross 7.2k on 6.2k: 1.16


def tripped(policy: str, store: Store | None = None) -> tuple[PaperVenue, PortfolioManager]:
    """A manager whose breaker (max_drawdown 0.2) trips at the crash, with ``policy``."""
    venue = PaperVenue(initial_cash=Decimal(10_000), store=store, taker_fee=0)
    venue.update_market(T0, PRICES)
    limits = RiskLimits(max_drawdown=0.2, on_breach=policy)  # type: ignore[arg-type]
    m = PortfolioManager(StaticOracle(TARGET), venue, store=store, risk=limits)
    assert m.manage_portfolio(T0).ok
    venue.update_market(T0 + timedelta(days=1), CRASH)
    return venue, m


def test_reduce_brings_the_halted_book_back_within_the_gross_limit_with_reduce_only_orders():
    venue, m = tripped("reduce")
    before = venue.get_positions()
    report = m.manage_portfolio(T0 + timedelta(days=1))
    assert report.status is CycleStatus.HALTED and "drawdown circuit breaker" in report.error
    assert [b.limit for b in report.breaches] == ["max_drawdown", "max_gross_leverage"]
    assert all(r.order.reduce_only and r.status is OrderStatus.FILLED for r in report.rebalance.results)
    after = venue.get_positions()
    assert {s: abs(q) <= abs(before[s]) and (q > 0) == (before[s] > 0) for s, q in after.items()} == dict.fromkeys(
        before, True
    )
    assert venue.snapshot().weights().gross == pytest.approx(1.0, abs=2e-3)  # the oracle's max_gross

    venue.update_market(T0 + timedelta(days=2), {**CRASH, "SOL": 260.0})  # the short runs away: gross ~1.4
    again = m.manage_portfolio(T0 + timedelta(days=2))
    assert again.status is CycleStatus.HALTED and again.rebalance is not None
    assert venue.snapshot().weights().gross <= 1.0 + 2e-3
    assert abs(venue.get_positions()["SOL"]) < abs(after["SOL"])


def test_reduce_uses_max_gross_leverage_and_max_weight_when_set():
    venue = PaperVenue(initial_cash=Decimal(10_000), taker_fee=0)
    venue.update_market(T0, PRICES)
    limits = RiskLimits(max_drawdown=0.2, max_gross_leverage=0.8, max_weight=0.3)
    m = PortfolioManager(StaticOracle({"BTC": 0.3, "ETH": 0.3, "SOL": -0.2}), venue, risk=limits)
    m.manage_portfolio(T0)
    venue.update_market(T0 + timedelta(days=1), CRASH)
    m.manage_portfolio(T0 + timedelta(days=1))
    w = venue.snapshot().weights()
    assert w.gross <= 0.8 + 2e-3 and max(abs(x) for x in w.values()) <= 0.3 + 2e-3


def test_flatten_closes_the_book_and_freeze_sends_nothing():
    venue, m = tripped("flatten")
    report = m.manage_portfolio(T0 + timedelta(days=1))
    assert report.status is CycleStatus.HALTED and venue.get_positions() == {}
    assert m.manage_portfolio(T0 + timedelta(days=2)).rebalance is None  # nothing left to do

    venue, m = tripped("freeze")
    before = venue.get_positions()
    report = m.manage_portfolio(T0 + timedelta(days=1))
    assert report.status is CycleStatus.HALTED and report.rebalance is None and venue.get_positions() == before


def test_the_operators_kill_switch_always_freezes(store: Store):
    venue, m = tripped("reduce", store)
    m.manage_portfolio(T0 + timedelta(days=1))  # the breaker trips and reduces
    set_kill_switch(store, "default", "operator: hands off")  # then the operator steps in
    reduced = venue.get_positions()
    venue.update_market(T0 + timedelta(days=2), {**CRASH, "SOL": 260.0})
    report = m.manage_portfolio(T0 + timedelta(days=2))
    assert report.status is CycleStatus.HALTED and report.rebalance is None and venue.get_positions() == reduced
    with pytest.raises(TradingHaltedError, match="hands off"):
        m.execute_trade("SOL", 1)


def test_a_restarted_manager_keeps_managing_the_halted_book(store: Store):
    venue, m = tripped("reduce", store)
    m.manage_portfolio(T0 + timedelta(days=1))
    venue.update_market(T0 + timedelta(days=2), {**CRASH, "SOL": 260.0})
    restarted = PortfolioManager(StaticOracle(TARGET), venue, store=store, risk=RiskLimits(max_drawdown=0.2))
    report = restarted.manage_portfolio(T0 + timedelta(days=2))
    assert report.status is CycleStatus.HALTED and report.rebalance is not None
    assert venue.snapshot().weights().gross <= 1.0 + 2e-3


def test_a_manual_trade_under_the_breaker_may_only_reduce():
    venue, m = tripped("reduce")
    m.manage_portfolio(T0 + timedelta(days=1))
    sol = venue.get_positions()["SOL"]
    with pytest.raises(TradingHaltedError, match="only orders that reduce"):
        m.execute_trade("SOL", sol)  # adds to the short
    result = m.execute_trade("SOL", -sol / 2)
    assert result.status is OrderStatus.FILLED and result.order.reduce_only
    assert venue.get_positions()["SOL"] == sol / 2


def runaway_panel(days: int = 160) -> PricePanel:
    """BTC and ETH fall 1% a day, SOL rises 4% a day: a static long/short book loses on every leg."""
    t = np.arange(days)
    close = np.column_stack([40_000 * 0.99**t, 2_000 * 0.99**t, 20 * 1.04**t])
    stamps = np.datetime64("2021-01-02") + t.astype("timedelta64[D]")
    return PricePanel.from_arrays(stamps, ["BTC", "ETH", "SOL"], close, volume=np.full_like(close, 1e9))


def test_a_backtest_with_a_tripped_breaker_keeps_the_book_within_its_gross_limit():
    """The issue's case, on a synthetic runaway: before, the halted book held the short until it was -9x equity."""
    panel = runaway_panel()
    cfg = BacktestConfig(benchmark=None, risk=RiskLimits(max_drawdown=0.3))
    result = run_backtest(panel, StaticOracle(TARGET), cfg)
    halts = [e for e in result.events if e.kind == "halt"]
    assert len(halts) == 1 and result.halted_cycles > 0
    after_halt = result.weights[halts[0].bar :]
    assert np.abs(after_halt).sum(axis=1).max() <= 1.0 + 0.1  # drift between daily rebalances, then reduced
    assert not [e for e in result.events if e.kind == "liquidation"]
    assert any(e.kind == "breach" and "while halted" in e.detail for e in result.events)
    assert result.to_dict()["events"]["halt"] == 1


def test_a_frozen_book_is_liquidated_at_the_maintenance_margin_and_the_report_marks_it(tmp_path):
    panel = runaway_panel()
    cfg = BacktestConfig(benchmark=None, risk=RiskLimits(max_drawdown=0.3, on_breach="freeze"))
    result = run_backtest(panel, StaticOracle(TARGET), cfg)
    liquidations = [e for e in result.events if e.kind == "liquidation"]
    assert len(liquidations) == 1 and "below maintenance margin" in liquidations[0].detail
    bar = liquidations[0].bar
    assert (result.weights[bar:] == 0).all() and (result.equity[bar:] >= 0).all()
    gross = np.abs(result.weights[:bar]).sum(axis=1)
    assert gross.max() < 2 * cfg.max_leverage  # never past the maintenance margin (gross / 6 of equity)
    html = write_html(result, tmp_path / "report.html").read_text()
    assert "<h3>Events</h3>" in html and "liquidated: equity" in html and '"name":"liquidation"' in html
    rows = {r.plain if hasattr(r, "plain") else str(r) for r in summary_table(result).columns[0]._cells}
    assert "liquidations" in rows


def test_funding_between_marks_liquidates_the_backtest_book_on_the_bar_it_drains_it():
    """Flat prices, a 2.9x long and funding of 50% a day: the first day's funding leaves equity below zero. The
    book used to stay open, its equity recorded negative, until the next bar's mark liquidated it."""
    days = 4
    stamps = np.datetime64("2024-01-02") + np.arange(days).astype("timedelta64[D]")
    panel = PricePanel.from_arrays(stamps, ["BTC"], np.full((days, 1), 40_000.0))
    cfg = BacktestConfig(benchmark=None, schedule="1000bars", costs=CostModel(funding_rate=0.5))
    result = run_backtest(panel, StaticOracle({"BTC": 2.9}, max_gross=3.0), cfg)
    [liquidation] = [e for e in result.events if e.kind == "liquidation"]
    assert liquidation.bar == 1 and "below maintenance margin" in liquidation.detail
    assert (result.equity >= 0).all() and (result.weights[1:] == 0).all()
