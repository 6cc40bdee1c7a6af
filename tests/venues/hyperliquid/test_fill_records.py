"""Every fill of a run on the local exchange is stored with the exchange's own time, price levels and fee."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import select

from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.store.database import Store
from defipm.store.models import FillRecord
from defipm.venues.hyperliquid.rules import TAKER_FEE
from defipm.venues.hyperliquid.sim import BookConfig, Fault, LocalExchange

TARGET = {"BTC": 0.3, "ETH": -0.2, "SOL": 0.1, "kPEPE": 0.05}


def _stored_fills(store: Store) -> list[FillRecord]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(FillRecord)).all())


def test_a_run_stores_each_fill_with_the_exchanges_time_and_fee(make_venue, wallet, tmp_path):
    book = BookConfig(level_notional=Decimal(4_000))  # a $30,000 BTC order takes eight price levels
    with LocalExchange(accounts={wallet.address: 100_000}, book=book) as exchange:
        venue = make_venue(exchange.url, wallet)
        store = Store(f"sqlite:///{tmp_path / 'db.sqlite'}")
        report = PortfolioManager(StaticOracle(TARGET), venue, store=store, run="hl").manage_portfolio()
    assert report.ok, report.error
    stored = _stored_fills(store)
    on_exchange = exchange.engine.account(wallet.address).fills
    assert len(stored) == len(on_exchange) > 2 * len(TARGET)
    assert len({f.price for f in stored if f.symbol == "BTC"}) > 1
    by_tid = sorted(on_exchange, key=lambda f: f["tid"])
    for row, fill in zip(sorted(stored, key=lambda r: r.id), by_tid, strict=True):
        assert row.timestamp == datetime.fromtimestamp(fill["time"] / 1000, UTC)
        assert (row.symbol, row.price, row.quantity, row.fee) == (
            fill["coin"],
            Decimal(fill["px"]),
            Decimal(fill["sz"]),
            Decimal(fill["fee"]),
        )
        assert row.venue_order_id == str(fill["oid"]) and row.client_order_id is not None
    assert report.rebalance.fees == sum((Decimal(f["fee"]) for f in on_exchange), Decimal(0))


def test_unreadable_fill_records_leave_one_fill_at_the_average_stamped_on_arrival(venue, exchange, wallet):
    exchange.inject(Fault("info", "userFillsByTime", status=500, times=100))
    before = datetime.now(UTC)
    report = venue.set_portfolio_weights({"BTC": 0.3})
    after = datetime.now(UTC)
    exchange.faults.clear()
    (result,) = report.results
    (fill,) = result.fills
    assert before <= fill.timestamp <= after
    assert fill.fee == (fill.quantity * fill.price * TAKER_FEE).quantize(Decimal("0.000001"))
    assert fill.quantity == result.order.quantity
