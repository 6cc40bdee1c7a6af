"""Resting limit orders (post-only or Gtc), orders left open by an earlier run (cancel and replace, never stacked
on, or refused), exchange stop losses (trigger orders), and the journal's record of all of them."""

from __future__ import annotations

from decimal import Decimal

import pytest

from defipm.core.errors import VenueError
from defipm.core.orders import OrderStatus, OrderType, Side
from defipm.core.weights import Weights
from defipm.journal import SqlJournal
from defipm.store.database import Store

TARGET = {"BTC": 0.2, "ETH": 0.1, "SOL": -0.1}


def _open(exchange, address):
    return exchange.engine.views.frontend_open_orders(address)


def _open_size(exchange, address) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for o in _open(exchange, address):
        if not o["isTrigger"]:
            out[o["coin"]] = out.get(o["coin"], Decimal(0)) + Decimal(o["sz"])
    return out


def test_limit_orders_rest_post_only_and_fill_when_the_market_comes_to_them(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.001)
    report = venue.set_portfolio_weights(TARGET)
    assert report.ok and [r.status for r in report.results] == [OrderStatus.RESTING] * 3
    assert venue.get_positions() == {}
    orders = {o["coin"]: o for o in _open(exchange, wallet.address)}
    assert {o["tif"] for o in orders.values()} == {"Alo"}
    mids = venue.get_prices()
    assert Decimal(orders["BTC"]["limitPx"]) <= mids["BTC"] * Decimal("0.999")  # a buy rests 10 bps below the mid
    assert Decimal(orders["SOL"]["limitPx"]) >= mids["SOL"] * Decimal("1.001")  # a sell above
    exchange.engine.set_mid("BTC", mids["BTC"] * Decimal("0.995"))  # the market comes down to the buy
    venue.mark_stale()
    assert set(venue.get_positions()) == {"BTC"}
    fill = exchange.engine.views.user_fills(wallet.address)[0]
    assert fill["crossed"] is False and Decimal(fill["fee"]) == (
        Decimal(fill["px"]) * Decimal(fill["sz"]) * Decimal("0.00015")
    ).quantize(Decimal("0.000001"))  # a maker's fee


def test_a_post_only_order_that_would_cross_is_refused_by_the_exchange(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, order_type="limit")
    order = venue.plan(Weights({"ETH": 0.1}))[1].orders[0]
    mid = venue.get_prices()["ETH"]
    crossing = type(order)(order.symbol, order.side, order.quantity, OrderType.LIMIT, mid * Decimal("1.01"))
    result = venue.execute_trade("ETH", order.quantity, OrderType.LIMIT, limit_price=crossing.limit_price)
    assert result.status is OrderStatus.REJECTED and "Post only order would have immediately matched" in result.error


def test_a_gtc_limit_rests_when_it_is_away_and_takes_when_it_crosses(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, order_type="limit", time_in_force="Gtc", limit_offset=0.001)
    report = venue.set_portfolio_weights({"BTC": 0.2})
    assert [r.status for r in report.results] == [OrderStatus.RESTING]
    assert [o["tif"] for o in _open(exchange, wallet.address)] == ["Gtc"]
    order = venue.plan(Weights({"ETH": 0.1}))[1].orders[0]
    mid = venue.get_prices()["ETH"]
    result = venue.execute_trade("ETH", order.quantity, OrderType.LIMIT, limit_price=mid * Decimal("1.01"))
    assert result.status is OrderStatus.FILLED and result.filled_quantity == order.quantity
    (fill,) = [f for f in exchange.engine.views.user_fills(wallet.address) if f["coin"] == "ETH"]
    assert fill["crossed"] is True and Decimal(fill["px"]) <= mid * Decimal("1.01")  # a taker, at the book


def test_orders_left_open_by_an_earlier_run_are_cancelled_and_replaced_never_stacked(exchange, wallet, make_venue):
    first = make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.01)
    first.set_portfolio_weights(TARGET)  # three orders rest, far from the market
    before = _open_size(exchange, wallet.address)
    second = make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.01)  # a new process
    report = second.set_portfolio_weights(TARGET)
    assert report.ok
    assert _open_size(exchange, wallet.address) == before  # replaced: the same sizes, not twice as much
    statuses = [o.status for o in exchange.engine.accounts[wallet.address.lower()].orders.values()]
    assert statuses.count("canceled") == 3 and statuses.count("open") == 3
    # and with market orders the new plan trades the whole target once: nothing rests beside it
    third = make_venue(exchange.url, wallet)
    report = third.set_portfolio_weights(TARGET)
    assert report.ok and _open(exchange, wallet.address) == []
    for coin, w in TARGET.items():
        assert abs(report.weights_after[coin] - w) < 0.002, coin


def test_the_refuse_policy_fails_the_rebalance_naming_the_open_orders_and_sends_nothing(exchange, wallet, make_venue):
    make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.01).set_portfolio_weights({"BTC": 0.2})
    venue = make_venue(exchange.url, wallet, open_orders="refuse")
    sent = len(exchange.engine.order_log)
    with pytest.raises(VenueError, match=r"1 order\(s\) open on .*BTC buy .*cancel them"):
        venue.set_portfolio_weights(TARGET)
    assert len(exchange.engine.order_log) == sent and len(_open(exchange, wallet.address)) == 1


def test_stop_losses_are_trigger_orders_replaced_at_every_rebalance(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, stop_loss={"fraction": 0.1, "sides": "both"})
    report = venue.set_portfolio_weights(TARGET)
    assert report.ok, [r.error for r in report.failures]
    stops = [r for r in report.results if r.order.order_type is OrderType.STOP]
    assert [r.status for r in stops] == [OrderStatus.RESTING] * 3
    entries, marks, held = venue.entry_prices(), venue.get_prices(), venue.get_positions()
    for r in stops:
        coin, trigger = r.order.symbol, r.order.limit_price
        # 10% against the worse of entry and mark (a stop never triggers on placement), then price-rounded
        long = held[coin] > 0
        expected = (
            min(entries[coin], marks[coin]) * Decimal("0.9")
            if long
            else max(entries[coin], marks[coin]) * Decimal("1.1")
        )
        assert abs(trigger / expected - 1) < Decimal("0.0001"), coin
        assert r.order.reduce_only and r.order.quantity == abs(venue.get_positions()[coin])
    triggers = [o for o in _open(exchange, wallet.address) if o["isTrigger"]]
    assert {o["orderType"] for o in triggers} == {"Stop Market"} and len(triggers) == 3
    venue.set_portfolio_weights(TARGET)  # again: the old stops are cancelled, three new ones placed
    assert len([o for o in _open(exchange, wallet.address) if o["isTrigger"]]) == 3


def test_a_stop_that_triggers_closes_the_position_and_is_recorded_at_the_next_rebalance(
    exchange, wallet, make_venue, tmp_path
):
    store = Store(f"sqlite:///{tmp_path / 'j.db'}")
    journal = SqlJournal(store, "hl")
    venue = make_venue(exchange.url, wallet, stop_loss={"fraction": 0.05, "sides": "long"})
    report = venue.set_portfolio_weights({"BTC": 0.2, "SOL": -0.1}, journal=journal)
    (stop,) = [r for r in report.results if r.order.order_type is OrderType.STOP]  # longs only
    assert stop.order.symbol == "BTC" and stop.order.side is Side.SELL
    exchange.engine.set_mid("BTC", stop.order.limit_price * Decimal("0.99"))  # through the stop
    venue.refresh()
    assert "BTC" not in venue.get_positions()
    venue.set_portfolio_weights({"SOL": -0.1}, journal=journal)
    (row,) = [o for o in journal.orders() if o.client_order_id == stop.order.client_order_id]
    assert row.status == OrderStatus.FILLED.value and row.filled_quantity == stop.order.quantity
    assert row.fee > 0
    store.close()


def test_resting_orders_are_reconciled_after_a_restart_and_their_outcome_journalled(
    exchange, wallet, make_venue, tmp_path
):
    from defipm.manager import PortfolioManager
    from defipm.oracles.static import StaticOracle

    url = f"sqlite:///{tmp_path / 'j.db'}"
    first = make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.002)
    store = Store(url)
    PortfolioManager(StaticOracle({"BTC": 0.2, "ETH": 0.1}), first, store=store, run="r").manage_portfolio()
    store.close()
    mids = first.get_prices()
    exchange.engine.set_mid("BTC", mids["BTC"] * Decimal("0.99"))  # BTC's buy fills while no process runs
    second = make_venue(exchange.url, wallet, order_type="limit", limit_offset=0.002)
    store = Store(url)
    manager = PortfolioManager(StaticOracle({"BTC": 0.2, "ETH": 0.1}), second, store=store, run="r")
    manager.manage_portfolio()
    assert isinstance(manager.journal, SqlJournal)
    rows = manager.journal.orders()
    store.close()
    by_status = {(o.symbol, o.status) for o in rows}
    assert ("BTC", "filled") in by_status  # found filled at the restart (with its fill)
    assert ("ETH", "cancelled") in by_status  # cancelled by the new rebalance, then replaced
    assert sum(1 for o in rows if o.symbol == "ETH" and o.status == "resting") == 1  # the replacement


def test_a_position_too_small_for_a_stop_is_noted(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, stop_loss={"fraction": 0.5})
    venue.set_portfolio_weights({"ETH": 0.00015})  # ~$15: worth under $10 at a stop 50% down
    notes = venue.pop_notices()
    assert any("ETH" in n and "no stop loss placed" in n for n in notes)
    assert [o for o in _open(exchange, wallet.address) if o["isTrigger"]] == []


def test_the_local_exchange_answers_user_fees_and_the_venue_reads_them(venue, exchange):
    assert venue.fees.taker == Decimal("0.00045") and venue.fees.maker == Decimal("0.00015")
    answer = exchange.engine.views.user_fees(venue.address)
    assert answer["userCrossRate"] == "0.00045" and answer["userAddRate"] == "0.00015"
    assert venue.get_rules("BTC").taker_fee == Decimal("0.00045")
