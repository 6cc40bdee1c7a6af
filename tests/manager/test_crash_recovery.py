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
