"""The audit trail (issue 11.9): a cycle's row exists before its first order is sent and is completed after; every
order and fill carries its cycle and its time; orders resent after a restart count in the cycle that sent them."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from defipm import Order, OrderResult, PaperVenue, PortfolioManager, StaticOracle, Store
from defipm.store.models import Cycle, FillRecord, OrderRecord

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0}


class WitnessVenue(PaperVenue):
    """Looks in the store, as each order goes out, for the row of the cycle that sends it."""

    def __init__(self, store: Store) -> None:
        super().__init__(initial_cash=Decimal(10_000), store=store)
        self.store = store
        self.seen: list[tuple[str, bool, int]] = []

    def submit_order(self, order: Order) -> OrderResult:
        with self.store.engine.connect() as conn:
            cycle_id = conn.execute(
                select(OrderRecord.sent_cycle_id).where(OrderRecord.client_order_id == order.client_order_id)
            ).scalar_one()
            row = conn.execute(select(Cycle.status, Cycle.completed).where(Cycle.id == cycle_id)).one()
        self.seen.append((row.status, row.completed, len(self.store.targets_of(cycle_id))))
        return super().submit_order(order)


def test_the_cycle_row_is_written_before_the_first_order_and_completed_after(store: Store):
    venue = WitnessVenue(store)
    venue.update_market(T0, PRICES)
    m = PortfolioManager(StaticOracle({"BTC": 0.4, "ETH": -0.3}), venue, store=store)
    report = m.manage_portfolio(T0)
    assert venue.seen == [("running", False, 2), ("running", False, 2)]  # row and targets there before sending
    [cycle] = store.recent_cycles("default")
    assert (cycle.id, cycle.status, cycle.completed, cycle.orders) == (report.cycle_id, "traded", True, 2)
    assert cycle.fees == report.fees > 0
    with store.engine.connect() as conn:
        fills = conn.execute(select(FillRecord.cycle_id, FillRecord.timestamp)).all()
    assert [c for c, _ in fills] == [report.cycle_id] * 2 and all(t == T0 for _, t in fills)


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
            result = super().submit_order(order)
            CrashAfterK.sent += 1
            if CrashAfterK.sent == k:
                os.kill(os.getpid(), signal.SIGKILL)
            return result

    store = Store(url)
    cls = CrashAfterK if phase == "crash" else PaperVenue
    venue = cls(initial_cash=Decimal(100000), store=store, account="audit")
    venue.update_market(datetime.now(UTC), PRICES)
    band = PlannerConfig(no_trade_band=0.005)
    manager = PortfolioManager(StaticOracle(TARGET), venue, store=store, run="audit", planner=band)
    report = manager.manage_portfolio(datetime.now(UTC))
    print("cycle", report.cycle_id, "resent", len(report.resent), "new", len(report.rebalance.results))
    """
)


@pytest.mark.slow
def test_after_a_sigkill_the_killed_and_the_restart_cycles_account_for_every_order(store: Store, tmp_path: Path):
    """Issue 11.9: the killed cycle's orders pointed to a cycle absent from `cycles`, and the restart's row showed
    0 orders and $0 fees although it resent them."""
    k = 2
    script = tmp_path / "audit.py"
    script.write_text(SCRIPT)
    crashed = subprocess.run([sys.executable, str(script), store.url, "crash", str(k)], capture_output=True, text=True)
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    restarted = subprocess.run([sys.executable, str(script), store.url, "restart", "0"], capture_output=True, text=True)
    assert restarted.returncode == 0, restarted.stderr
    restart_id = restarted.stdout.split()[1]
    assert f"resent {6 - k} new 0" in restarted.stdout

    with Session(store.engine) as session:
        orders = session.scalars(select(OrderRecord).where(OrderRecord.run == "audit")).all()
        cycles = {c.id: c for c in session.scalars(select(Cycle).where(Cycle.run == "audit")).all()}
        fills = session.scalars(select(FillRecord).where(FillRecord.run == "audit")).all()
    [killed_id] = {o.cycle_id for o in orders}
    killed, restart = cycles[killed_id], cycles[restart_id]
    assert killed.completed and killed.status == "failed" and "interrupted" in (killed.error or "")
    assert killed.equity == Decimal(100_000) and len(store.targets_of(killed_id)) == 6
    by_sender: dict[str, list[OrderRecord]] = {}
    for o in orders:
        assert o.status == "filled" and o.sent_cycle_id in cycles
        by_sender.setdefault(o.sent_cycle_id, []).append(o)
    assert len(by_sender[killed_id]) == k and len(by_sender[restart_id]) == 6 - k
    assert killed.orders == k and killed.fees == sum(o.fee for o in by_sender[killed_id])
    assert restart.orders == 6 - k and restart.fees == sum(o.fee for o in by_sender[restart_id]) > 0
    assert len(fills) == 6
    sender = {o.client_order_id: o.sent_cycle_id for o in orders}
    for f in fills:
        assert f.cycle_id == sender[f.client_order_id] and f.timestamp is not None
