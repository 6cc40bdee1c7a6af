"""Bulk orders: each phase of a rebalance is ONE signed ``order`` action carrying all its orders, every order's
status in the answer is read, and anything unreadable is looked up by cloid before anything is resent. The local
exchange verifies a bulk action as the real one does: one signature over every order, statuses in order."""

from __future__ import annotations

import time
from decimal import Decimal

import requests
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.orders import OrderStatus, Side
from defipm.venues.hyperliquid.sim import Engine, Fault, builtin_seed


def _order_actions(exchange) -> int:
    return exchange.stats.exchange_requests


def test_a_rebalance_sends_its_reductions_then_its_increases_as_two_actions(venue, exchange):
    venue.set_portfolio_weights({"BTC": 0.3, "ETH": 0.2, "SOL": -0.1, "AVAX": 0.1})
    assert _order_actions(exchange) == 1  # from cash: one phase, one action for four orders
    report = venue.set_portfolio_weights({"BTC": 0.1, "ETH": -0.2, "DOGE": 0.1, "LINK": 0.1})
    assert report.ok, [r.error for r in report.failures]
    assert _order_actions(exchange) == 3  # reductions (BTC, ETH, SOL, AVAX closes), then increases
    kinds = [r.order.reduce_only for r in report.results]
    assert kinds == sorted(kinds, reverse=True) and kinds.count(True) == 4
    for coin, w in {"BTC": 0.1, "ETH": -0.2, "DOGE": 0.1, "LINK": 0.1}.items():
        assert abs(report.weights_after[coin] - w) < 0.002, coin


def test_every_status_of_a_bulk_answer_is_read_in_order(venue, exchange):
    venue.set_leverage("BTC", 1)  # BTC at 1.5x equity on 1x leverage: the exchange refuses that one order only
    report = venue.set_portfolio_weights({"BTC": 1.5, "ETH": 0.1, "SOL": -0.1})
    assert _order_actions(exchange) == 2  # the leverage update, then one order action
    by_coin = {r.order.symbol: r for r in report.results}
    assert by_coin["BTC"].status is OrderStatus.REJECTED and "Insufficient margin" in by_coin["BTC"].error
    assert by_coin["ETH"].status is OrderStatus.FILLED and by_coin["SOL"].status is OrderStatus.FILLED
    # the fills are the exchange's own records (one userFillsByTime read for the whole action), exact fees
    fills = {f["oid"]: f for f in exchange.engine.views.user_fills(venue.address)}
    for r in (by_coin["ETH"], by_coin["SOL"]):
        (fill,) = r.fills
        assert fill.fee == Decimal(fills[int(fill.venue_order_id)]["fee"])
    assert exchange.stats.by_type["userFillsByTime"] == 1
    assert set(venue.get_positions()) == {"ETH", "SOL"}


def test_an_unreadable_status_in_a_bulk_answer_is_looked_up_by_cloid_not_resent(venue, exchange):
    garbled = {"status": "ok", "response": {"type": "order", "data": {"statuses": [
        {"filled": {"totalSz": "NaN", "avgPx": "1", "oid": 1}}, "somethingNew"]}}}  # fmt: skip
    exchange.inject(Fault("exchange", "order", answer=garbled))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.1})
    assert report.ok, [r.error for r in report.failures]  # both found filled by their cloids
    assert [r.status for r in report.results] == [OrderStatus.FILLED, OrderStatus.FILLED]
    assert exchange.stats.by_type["orderStatus"] == 2
    assert len(exchange.engine.order_log) == 2  # and neither was sent again


def test_a_bulk_answer_with_too_few_statuses_makes_every_order_a_lookup(venue, exchange):
    short = {"status": "ok", "response": {"type": "order", "data": {"statuses": [{"resting": {"oid": 5}}]}}}
    exchange.inject(Fault("exchange", "order", answer=short))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.1, "SOL": 0.1})
    assert report.ok and exchange.stats.by_type["orderStatus"] == 3
    assert len(exchange.engine.order_log) == 3


def test_a_lost_bulk_reply_leads_to_a_lookup_of_each_order(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, timeout_secs=0.5)
    exchange.inject(Fault("exchange", "order", delay=1.0))  # executed, answered too late
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.1, "SOL": -0.1})
    assert report.ok, [r.error for r in report.failures]
    assert all(r.fills and r.fills[0].fee > 0 for r in report.results)
    assert exchange.stats.by_type["orderStatus"] == 3
    cloids = [o["c"] for o in exchange.engine.order_log]
    assert len(cloids) == len(set(cloids)) == 3


def test_the_local_exchange_verifies_one_signature_over_every_order_of_a_bulk_action(venue, exchange, wallet):
    wires = [
        {"a": venue.client.asset_of(c), "b": True, "p": p, "s": s, "r": False, "t": {"limit": {"tif": "Ioc"}}}
        for c, p, s in (("ETH", "2000", "0.1"), ("SOL", "30", "1"))
    ]
    action = order_wires_to_order_action(wires)
    nonce = int(time.time() * 1000)
    sig = sign_l1_action(wallet, action, None, nonce, None, False)
    tampered = {**action, "orders": [wires[0], {**wires[1], "s": "100"}]}  # the second order changed after signing
    payload = {"action": tampered, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None}
    answer = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    assert answer["status"] == "err" and exchange.engine.order_log == []  # nothing of the action was placed
    grouped = {**action, "grouping": "normalTpsl"}
    payload = {"action": grouped, "nonce": nonce + 1, "signature": sign_l1_action(wallet, grouped, None, nonce + 1,
               None, False), "vaultAddress": None, "expiresAfter": None}  # fmt: skip
    answer = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    assert answer["status"] == "err" and "grouping" in answer["response"]
    payload = {"action": action, "nonce": nonce + 2, "signature": sign_l1_action(wallet, action, None, nonce + 2,
               None, False), "vaultAddress": None, "expiresAfter": None}  # fmt: skip
    answer = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    statuses = answer["response"]["data"]["statuses"]
    assert [next(iter(s)) for s in statuses] == ["filled", "filled"]  # one status per order, in order
    assert [o["a"] for o in exchange.engine.order_log] == [w["a"] for w in wires]


def test_the_sequential_path_sends_one_action_per_order(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, bulk_orders=False)
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.1, "SOL": -0.1})
    assert report.ok and _order_actions(exchange) == 3
    assert [r.order.side for r in report.results] == [Side.BUY, Side.BUY, Side.SELL]


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    trades=st.lists(
        st.tuples(st.sampled_from(["BTC", "ETH", "SOL", "DOGE"]), st.booleans(), st.integers(1, 40)), max_size=12
    ),
    moves=st.lists(st.tuples(st.sampled_from(["BTC", "ETH", "SOL", "DOGE"]), st.integers(80, 120)), max_size=4),
)
def test_the_engines_running_account_totals_equal_a_full_recount(trades, moves):
    """The local exchange keeps each account's value and margin up to date fill by fill (a rebalance of 100
    orders would otherwise recount the book 100 times); after any fills, price moves and leverage changes they
    equal a recount from the positions."""
    engine = Engine(builtin_seed())
    engine.add_account("0x" + "11" * 20, 1_000_000)
    acct = engine.account("0x" + "11" * 20)
    step = {"BTC": "0.001", "ETH": "0.01", "SOL": "0.1", "DOGE": "100"}
    for coin, buy, n in trades:
        size = Decimal(step[coin]) * n * 10
        px = engine.level(coin, buy, 3)[0]
        engine.place_orders(acct.address, [{"a": engine.index[coin], "b": buy, "p": str(px), "s": str(size),
                                            "r": False, "t": {"limit": {"tif": "Ioc"}}}])  # fmt: skip
    engine.update_leverage(acct.address, engine.index["ETH"], True, 7)
    for coin, pct in moves:
        engine.set_mid(coin, engine.mids[coin] * pct / 100)
    running = engine._totals(acct)
    acct.totals = None
    assert engine._totals(acct) == running
