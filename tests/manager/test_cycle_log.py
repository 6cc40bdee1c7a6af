"""How loud a cycle's log line is: a cycle that did not trade warns, once per outcome, not once per cycle (a halted
backtest wrote one WARNING per remaining bar to stderr), and a cycle with nothing due under a rebalance policy, the
policy's normal answer, does not warn at all."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from defipm import CycleStatus, PaperVenue, PortfolioManager, StaticOracle
from defipm.core.triggers import RebalancePolicy

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0}


def cycles(manager: PortfolioManager, venue: PaperVenue, count: int, caplog: pytest.LogCaptureFixture) -> list:
    """Run ``count`` hourly cycles; the WARNING records the manager's cycles logged."""
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="defipm"):
        for hour in range(count):
            venue.update_market(T0 + timedelta(hours=hour), PRICES)
            manager.manage_portfolio(T0 + timedelta(hours=hour))
    return [r for r in caplog.records if r.name == "defipm.manager" and r.levelno >= logging.WARNING]


def test_a_halted_run_warns_once_not_once_per_cycle(caplog: pytest.LogCaptureFixture):
    venue = PaperVenue(initial_cash=Decimal(10_000))
    manager = PortfolioManager(StaticOracle({"BTC": 0.5}), venue)
    manager.engage_kill_switch("maintenance")
    warned = cycles(manager, venue, 6, caplog)
    assert manager.store is None and len(warned) == 1
    manager.release_kill_switch()
    assert cycles(manager, venue, 2, caplog) == []  # traded
    manager.engage_kill_switch("again")
    assert len(cycles(manager, venue, 3, caplog)) == 1  # a new halt after trading warns again, once


def test_cycles_with_nothing_due_do_not_warn(caplog: pytest.LogCaptureFixture):
    venue = PaperVenue(initial_cash=Decimal(10_000))
    manager = PortfolioManager(StaticOracle({"BTC": 0.5}), venue, rebalance=RebalancePolicy(every=timedelta(days=1)))
    assert cycles(manager, venue, 5, caplog) == []  # the first traded, the other four waited
    assert manager.manage_portfolio(T0 + timedelta(hours=6)).status is CycleStatus.WAITING
