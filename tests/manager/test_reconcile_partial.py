"""A restart must not call a partial fill complete: the venue finds the order again by its fills alone (the paper
venue's book keeps fills, not the size sent), and the journal measures them against the intent's size."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from defipm import Order, OrderStatus, PaperVenue, Side, SlippageModel
from defipm.journal import SqlJournal
from defipm.store import Store

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def _capped_venue(store: Store) -> PaperVenue:
    venue = PaperVenue(
        initial_cash=Decimal(100_000), store=store, account="capped", slippage=SlippageModel(max_participation=0.1)
    )
    venue.update_market(T0, {"BTC": 40_000.0}, {"BTC": 40_000.0})  # a bar of $40,000: at most $4,000 fills
    return venue


def test_a_partial_fill_found_after_a_restart_is_recorded_as_partial(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    journal = SqlJournal(store, "capped")
    [intent] = journal.record_intents([Order("BTC", Side.BUY, Decimal("0.5"), reference_price=Decimal(40_000))])
    assert intent.client_order_id is not None
    journal.mark_sent(intent.client_order_id)
    sent = _capped_venue(store).submit_order(intent)
    assert sent.status is OrderStatus.PARTIALLY_FILLED and sent.filled_quantity == Decimal("0.1")
    # ... the process died before the answer reached the journal

    restarted = _capped_venue(store)
    rec = SqlJournal(store, "capped").reconcile(restarted)
    [confirmed] = rec.confirmed
    assert confirmed.status is OrderStatus.PARTIALLY_FILLED
    assert confirmed.order.quantity == Decimal("0.5") and confirmed.filled_quantity == Decimal("0.1")
    [record] = SqlJournal(store, "capped").orders()
    assert record.status == OrderStatus.PARTIALLY_FILLED
    assert not rec.unsent and not rec.unknown


def test_a_complete_fill_found_after_a_restart_stays_filled(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    journal = SqlJournal(store, "capped")
    [intent] = journal.record_intents([Order("BTC", Side.BUY, Decimal("0.05"), reference_price=Decimal(40_000))])
    assert intent.client_order_id is not None
    journal.mark_sent(intent.client_order_id)
    assert _capped_venue(store).submit_order(intent).status is OrderStatus.FILLED
    [confirmed] = SqlJournal(store, "capped").reconcile(_capped_venue(store)).confirmed
    assert confirmed.status is OrderStatus.FILLED and confirmed.filled_quantity == Decimal("0.05")
