"""Property: whatever the targets, prices, flows and venue faults, the books and the journal agree.

After every cycle: cash + sum(quantity x price) == equity exactly; every position equals the sum of the venue's
fills; every journal order marked filled has exactly one fill at the venue with its client order id, and no fill
exists without a journal order (except the venue's own liquidation fills).
"""

from __future__ import annotations

import contextlib
from collections import Counter
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from defipm import InvalidWeightsError, PlannerConfig, PortfolioManager, RiskLimits, SlippageModel, Store, Weights
from defipm.oracles.base import Oracle
from defipm.store.models import PaperFill
from defipm.testing.faults import FaultyVenue
from defipm.venues.paper.liquidation import LIQUIDATION_ID_PREFIX

SYMBOLS = ["BTC", "ETH", "SOL", "DOGE"]
START = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0, "DOGE": 0.1}


class Scripted(Oracle):
    def __init__(self) -> None:
        super().__init__()
        self.next: dict[str, float] = {}

    def fetch_portfolio_weights(self, timestamp, universe):  # type: ignore[no-untyped-def]
        return Weights(self.next)


weights_st = st.dictionaries(st.sampled_from(SYMBOLS), st.floats(-0.4, 0.4, allow_nan=False), max_size=4)
step_st = st.tuples(
    weights_st,
    st.fixed_dictionaries({s: st.floats(0.7, 1.4) for s in SYMBOLS}),
    st.sampled_from([None, None, None, "deposit", "withdraw"]),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(step_st, min_size=1, max_size=6), faults=st.dictionaries(st.integers(1, 12),
       st.sampled_from(["reject", "unavailable", "lost_reply", "garbled_reply", "exception", "exception_after"]), max_size=3))  # fmt: skip
def test_books_and_journal_always_agree(tmp_path_factory, steps, faults):
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('inv') / 'db.sqlite'}")
    venue = FaultyVenue(
        fail_on=faults, initial_cash=Decimal(50_000), store=store, slippage=SlippageModel(fixed_bps=3), max_leverage=3
    )
    oracle = Scripted()
    manager = PortfolioManager(
        oracle, venue, store=store, planner=PlannerConfig(no_trade_band=0.001), risk=RiskLimits(max_gross_leverage=1.5)
    )
    prices = dict(START)
    t = datetime(2024, 1, 1, tzinfo=UTC)
    for weights, moves, flow in steps:
        prices = {s: p * moves[s] for s, p in prices.items()}
        t += timedelta(hours=1)
        venue.update_market(t, prices)
        if flow == "deposit":
            manager.deposit(Decimal(1_000), t)
        elif flow == "withdraw" and venue.withdrawable() > 500:
            manager.withdraw(Decimal(500), t)
        oracle.next = weights
        with contextlib.suppress(InvalidWeightsError):  # e.g. an empty target: rejected, nothing traded
            manager.manage_portfolio(t)

        snap = venue.snapshot()
        assert snap.cash + sum(q * snap.prices[s] for s, q in snap.positions.items()) == venue.get_equity()
        with store.engine.connect() as conn:
            fills = conn.execute(
                select(PaperFill.client_order_id, PaperFill.symbol, PaperFill.side, PaperFill.quantity)
            ).all()
        held: dict[str, Decimal] = {}
        for _cloid, symbol, side, qty in fills:
            held[symbol] = held.get(symbol, Decimal(0)) + (qty if side == "buy" else -qty)
        assert {s: q for s, q in held.items() if q} == venue.get_positions()
        liquidated = {f.client_order_id for liq in venue.liquidations for f in liq.fills}
        assert all(c.startswith(LIQUIDATION_ID_PREFIX) for c in liquidated)  # the exchange's own, not our orders
        per_cloid = Counter(c for c, *_ in fills if c not in liquidated)
        journal = {o.client_order_id: o.status for o in manager.journal.orders()}
        assert all(n == 1 for n in per_cloid.values())
        assert set(per_cloid) <= set(journal)  # no fill without an intent
        assert {c for c, s in journal.items() if s == "filled"} == set(per_cloid)
    store.close()
