"""A restart finds an intent the venue saw but cannot settle yet (e.g. a swap still pending on chain): the journal
keeps it open as UNKNOWN, the manager never resends it and does not trade until a later cycle resolves it."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from defipm import CycleStatus, Order, OrderResult, OrderStatus, PaperVenue, PortfolioManager, Side, StaticOracle
from defipm.journal import SqlJournal
from defipm.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0}


class PendingVenue(PaperVenue):
    """Knows one order as in flight (UNKNOWN) until ``settle`` executes it."""

    def __init__(self, **kw: object) -> None:
        super().__init__(initial_cash=Decimal(10_000), **kw)  # type: ignore[arg-type]
        self.pending: dict[str, Order] = {}
        self.sent: list[str] = []

    def submit_order(self, order: Order) -> OrderResult:
        assert order.client_order_id is not None
        self.sent.append(order.client_order_id)
        return super().submit_order(order)

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        if client_order_id in self.pending:
            order = self.pending[client_order_id]
            return OrderResult(order, OrderStatus.UNKNOWN, error="tx 0xabc sent, not mined yet")
        return super().lookup_order(client_order_id)

    def settle(self, client_order_id: str) -> None:
        order = self.pending.pop(client_order_id)
        super().submit_order(order)


def test_unknown_outcome_is_kept_open_not_resent_and_blocks_trading(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    journal = SqlJournal(store, "pending")
    [intent] = journal.record_intents([Order("BTC", Side.BUY, Decimal("0.05"), reference_price=Decimal(40_000))])
    assert intent.client_order_id is not None
    journal.mark_sent(intent.client_order_id)  # ... and the process died with the transaction in the mempool

    venue = PendingVenue()
    venue.update_market(T0, PRICES)
    venue.pending[intent.client_order_id] = intent
    manager = PortfolioManager(StaticOracle({"BTC": 0.2}), venue, store=store, run="pending")

    report = manager.manage_portfolio(T0)
    rec = manager.last_reconciliation
    assert rec is not None and not rec.unsent and not rec.confirmed
    assert [r.order.client_order_id for r in rec.unknown] == [intent.client_order_id]
    assert report.status is CycleStatus.FAILED and "outcome unknown" in (report.error or "")
    assert "1 of unknown outcome" in " ".join(report.notes)
    assert venue.sent == []  # neither resent nor traded around
    assert [o.status for o in journal.orders()] == ["unknown"]
    assert journal.open_intents()[0].status is OrderStatus.UNKNOWN

    venue.settle(intent.client_order_id)  # mined: the next cycle confirms it, then trades the rest only
    report = manager.manage_portfolio(T0)
    rec = manager.last_reconciliation
    assert [r.order.client_order_id for r in rec.confirmed] == [intent.client_order_id]
    assert report.status is CycleStatus.TRADED and report.ok
    assert intent.client_order_id not in venue.sent
    assert journal.orders()[0].status == "filled"
    assert venue.get_positions()["BTC"] <= Decimal("0.05") + Decimal("0.001")
    store.close()
