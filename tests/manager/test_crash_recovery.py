"""A rebalance killed with SIGKILL after its k-th order, then restarted: every intent executes exactly once."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from sqlalchemy import func, select

from defipm import PaperVenue, Store
from defipm.store.models import OrderRecord, PaperFill

SCRIPT = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import UTC, datetime
    from decimal import Decimal
    from defipm import PaperVenue, PlannerConfig, PortfolioManager, StaticOracle, Store

    url, phase, k = sys.argv[1], sys.argv[2], int(sys.argv[3])
    TARGET = {"BTC": 0.25, "ETH": -0.15, "SOL": 0.2, "AVAX": -0.1, "LINK": 0.1, "DOGE": 0.1}
    PRICES = {"BTC": 40000.0, "ETH": 2000.0, "SOL": 100.0, "AVAX": 30.0, "LINK": 15.0, "DOGE": 0.1}

    class CrashAfterK(PaperVenue):
        sent = 0
        def submit_order(self, order):
            result = super().submit_order(order)   # the exchange has executed and recorded it
            CrashAfterK.sent += 1
            if CrashAfterK.sent == k:
                os.kill(os.getpid(), signal.SIGKILL)   # die before the journal hears back
            return result

    store = Store(url)
    cls = CrashAfterK if phase == "crash" else PaperVenue
    venue = cls(initial_cash=Decimal(100000), store=store, account="crash")
    venue.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    manager = PortfolioManager(StaticOracle(TARGET), venue, store=store, run="crash", planner=PlannerConfig(no_trade_band=0.005))
    report = manager.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    print("orders-in-new-cycle", len(report.rebalance.results))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("k", [1, 4])
def test_sigkill_mid_rebalance_then_restart(store: Store, tmp_path: Path, k: int):
    script = tmp_path / "rebalance.py"
    script.write_text(SCRIPT)
    crashed = subprocess.run([sys.executable, str(script), store.url, "crash", str(k)], capture_output=True, text=True)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr

    with store.engine.connect() as conn:
        statuses = conn.execute(select(OrderRecord.status).order_by(OrderRecord.seq)).scalars().all()
    assert len(statuses) == 6
    assert statuses.count("filled") == k - 1  # the k-th executed but was never recorded by the journal
    assert statuses[k - 1] == "sent"

    restarted = subprocess.run([sys.executable, str(script), store.url, "restart", "0"], capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr
    assert "orders-in-new-cycle 0" in restarted.stdout  # the resumed intents already reached the target

    with store.engine.connect() as conn:
        intents = conn.execute(select(OrderRecord.client_order_id, OrderRecord.status, OrderRecord.quantity)).all()
        per_cloid = dict(
            conn.execute(select(PaperFill.client_order_id, func.count()).group_by(PaperFill.client_order_id)).all()
        )
    assert len(intents) == 6
    assert all(status == "filled" for _, status, _ in intents)
    assert per_cloid == {cloid: 1 for cloid, _, _ in intents}  # every intent executed exactly once

    venue = PaperVenue(store=store, account="crash")
    equity = venue.get_equity()
    target = {"BTC": 0.25, "ETH": -0.15, "SOL": 0.2, "AVAX": -0.1, "LINK": 0.1, "DOGE": 0.1}
    weights = venue.snapshot().weights()
    for s, w in target.items():
        assert weights[s] == pytest.approx(w, abs=1e-3), s
    assert equity > 99_000


@pytest.mark.slow
def test_a_restart_with_a_changed_target_plans_afresh_instead_of_resuming(store: Store, tmp_path: Path):
    """Killed after its first order; the target then changes (the config was edited): the interrupted plan's unsent
    orders are abandoned with the reason, not sent only to be traded back, and the new target is reached."""
    script = tmp_path / "rebalance.py"
    script.write_text(SCRIPT)
    assert subprocess.run([sys.executable, str(script), store.url, "crash", "1"]).returncode == -signal.SIGKILL
    changed = tmp_path / "changed.py"
    changed.write_text(
        SCRIPT.replace(
            'TARGET = {"BTC": 0.25,',
            'TARGET = {"BTC": 0.5, "ETH": 0.0, "SOL": 0.0, "AVAX": 0.0, "LINK": 0.0, "DOGE": 0.0} or {"BTC": 0.25,',
        )
    )
    restarted = subprocess.run(
        [sys.executable, str(changed), store.url, "restart", "0"], capture_output=True, text=True
    )
    assert restarted.returncode == 0, restarted.stderr

    with store.engine.connect() as conn:
        rows = conn.execute(
            select(OrderRecord.symbol, OrderRecord.status, OrderRecord.error).order_by(OrderRecord.seq)
        ).all()
    cancelled = [(symbol, error or "") for symbol, status, error in rows if status == "cancelled"]
    assert len(cancelled) == 5  # the first plan's unsent orders: never sent, not resumed
    assert all("target changed since the interrupted plan" in e and "BTC +0.25 -> +0.5" in e for _, e in cancelled)
    assert [symbol for symbol, status, _ in rows if status == "filled"].count("BTC") == 1  # the new plan's buy
    weights = PaperVenue(store=store, account="crash").snapshot().weights()
    assert weights["BTC"] == pytest.approx(0.5, abs=1e-3)
    assert all(abs(w) < 1e-3 for s, w in weights.items() if s != "BTC")
