"""Bad input and faults: each ends in a clear report and never in a second order for the same intent."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
import requests
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action

from defipm.core.errors import InsufficientMarginError, VenueUnavailableError
from defipm.core.orders import Order, OrderStatus, OrderType, Side, SkipReason
from defipm.venues.hyperliquid.sim import Fault


def _orders_sent(exchange) -> list[str]:
    return [o.get("c") for o in exchange.engine.order_log]


def test_wrong_network_is_rejected(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, network="mainnet", allow_mainnet=True)
    report = venue.set_portfolio_weights({"BTC": 0.5})
    assert report.results[0].status is OrderStatus.REJECTED
    assert "Wrong network" in report.results[0].error


def test_replayed_nonce_is_rejected(exchange, wallet, venue):
    asset = venue.client.asset_of("ETH")
    wire = {"a": asset, "b": True, "p": "2000", "s": "0.1", "r": False, "t": {"limit": {"tif": "Ioc"}}}
    action = order_wires_to_order_action([wire])
    nonce = int(time.time() * 1000)
    payload = {
        "action": action,
        "nonce": nonce,
        "signature": sign_l1_action(wallet, action, None, nonce, None, False),
        "vaultAddress": None,
        "expiresAfter": None,
    }
    first = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    again = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    assert first["status"] == "ok"
    assert again == {"status": "err", "response": again["response"]} and "duplicate nonce" in again["response"]
    assert len(exchange.engine.order_log) == 1


def test_tampered_action_recovers_another_signer(exchange, wallet, venue):
    asset = venue.client.asset_of("ETH")
    wire = {"a": asset, "b": True, "p": "2000", "s": "0.1", "r": False, "t": {"limit": {"tif": "Ioc"}}}
    action = order_wires_to_order_action([wire])
    nonce = int(time.time() * 1000)
    sig = sign_l1_action(wallet, action, None, nonce, None, False)
    action["orders"][0]["s"] = "10"  # change the size after signing
    payload = {"action": action, "nonce": nonce, "signature": sig, "vaultAddress": None, "expiresAfter": None}
    answer = requests.post(exchange.url + "/exchange", json=payload, timeout=5).json()
    assert answer["status"] == "err" and "does not exist" in answer["response"]
    assert exchange.engine.order_log == []


def test_insufficient_margin(venue, exchange):
    venue.set_leverage("BTC", 2)
    report = venue.set_portfolio_weights({"BTC": 3.0})
    assert report.results[0].status is OrderStatus.REJECTED
    assert "Insufficient margin" in report.results[0].error and "BTC" in report.results[0].error
    with pytest.raises(InsufficientMarginError):
        venue.client.order("BTC", True, Decimal("10"), Decimal("31000"), cloid="0x" + "ab" * 16)


def test_order_under_ten_dollars_is_skipped_not_sent(venue, exchange):
    report = venue.set_portfolio_weights({"ETH": 0.00005})  # $5 of ETH
    assert report.results == ()
    assert report.skipped[0].reason is SkipReason.MIN_NOTIONAL
    assert exchange.engine.order_log == []
    # sent anyway (execute_trade bypasses the planner): the exchange's refusal is reported
    result = venue.execute_trade("ETH", "0.002")
    assert result.status is OrderStatus.REJECTED and "minimum value of $10" in result.error


def test_dust_position_is_closed_in_two_steps(venue, exchange, wallet):
    venue.set_portfolio_weights({"SOL": 0.01})  # $1000
    venue.execute_trade("SOL", "-37", reduce_only=True)  # leaves ~0.7 SOL = ~$18
    exchange.engine.set_mid("SOL", "10")  # now worth ~$7: under $10
    venue.refresh()
    held = venue.get_positions()["SOL"]
    assert held * 10 < 10
    report = venue.set_portfolio_weights({})
    assert report.ok, [r.error for r in report.failures]
    assert [(r.order.side, r.order.reduce_only) for r in report.results] == [(Side.BUY, False), (Side.SELL, True)]
    assert venue.get_positions() == {}


def test_flip_with_small_close_leg_is_one_order(venue, exchange):
    venue.set_portfolio_weights({"ETH": 0.0002})  # ~$20 long
    exchange.engine.set_mid("ETH", "900")  # now ~$9.5: its close alone would be under $10
    venue.refresh()
    report = venue.set_portfolio_weights({"ETH": -0.1})
    assert report.ok, [r.error for r in report.failures]
    assert len(report.results) == 1 and not report.results[0].order.reduce_only
    assert abs(report.weights_after["ETH"] + 0.1) < 0.002


def test_coin_missing_from_all_mids_is_skipped(venue, exchange):
    exchange.engine.hidden_mids.add("SOL")
    venue.refresh()
    report = venue.set_portfolio_weights({"BTC": 0.3, "SOL": 0.3})
    assert [r.order.symbol for r in report.results] == ["BTC"]
    assert any(
        s.symbol == "SOL" and s.reason is SkipReason.STALE_PRICE and "allMids" in s.detail for s in report.skipped
    )


def test_held_coin_missing_from_all_mids_is_marked_from_position(venue, exchange):
    venue.set_portfolio_weights({"SOL": 0.3})
    exchange.engine.hidden_mids.add("SOL")
    venue.refresh()
    assert venue.get_prices()["SOL"] > 0
    assert venue.snapshot().equity == venue.get_equity()


def test_delisted_and_unknown_coins_in_weights_are_skipped(venue, exchange):
    assert "LUNA" not in venue.get_universe()
    report = venue.set_portfolio_weights({"BTC": 0.3, "LUNA": 0.2, "NOPE": 0.1})
    assert [r.order.symbol for r in report.results] == ["BTC"]
    reasons = {s.symbol: (s.reason, s.detail) for s in report.skipped}
    assert reasons["LUNA"][0] is reasons["NOPE"][0] is SkipReason.NOT_LISTED
    assert "delisted" in reasons["LUNA"][1] and "not listed" in reasons["NOPE"][1]


@pytest.mark.parametrize("status", [429, 500, 502])
def test_reads_retry_on_429_and_5xx(venue, exchange, status):
    exchange.inject(Fault("info", "clearinghouseState", status=status, times=2))
    venue.refresh()  # two failures, then success (read_retries=2)
    exchange.inject(Fault("info", "allMids", status=status, times=5))
    with pytest.raises(VenueUnavailableError, match="allMids"):
        venue.refresh()
    exchange.faults.clear()


@pytest.mark.parametrize("status", [429, 500])
def test_a_bulk_order_answered_429_or_5xx_is_looked_up_and_not_resent(venue, exchange, status):
    exchange.inject(Fault("exchange", "order", status=status, times=1))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.2})  # one phase: one action for both
    assert [r.status for r in report.results] == [OrderStatus.UNKNOWN, OrderStatus.UNKNOWN]
    assert all(str(status) in r.error for r in report.results)
    assert exchange.stats.by_type["orderStatus"] == 2  # each order was asked about by its cloid
    assert _orders_sent(exchange) == []  # the refused request never reached the book, and was not retried


@pytest.mark.parametrize("status", [429, 500])
def test_an_order_answered_429_or_5xx_is_not_resent(exchange, wallet, make_venue, status):
    venue = make_venue(exchange.url, wallet, bulk_orders=False)
    exchange.inject(Fault("exchange", "order", status=status, times=1))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.2})
    first = report.results[0]
    assert first.status is OrderStatus.UNKNOWN and str(status) in first.error
    assert report.results[1].status is OrderStatus.FILLED
    assert len(_orders_sent(exchange)) == 1  # the refused request never reached the book, and was not retried


def test_timeout_after_send_is_resolved_by_cloid(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, timeout_secs=0.5)
    exchange.inject(Fault("exchange", "order", delay=1.0, times=1))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.2})
    assert report.ok, [r.error for r in report.failures]
    first = report.results[0]
    assert first.status is OrderStatus.FILLED and first.fills and first.fills[0].fee > 0
    sent = _orders_sent(exchange)
    assert len(sent) == len(set(sent)) == 2


def test_execute_trade_market(venue):
    result = venue.execute_trade("BTC", Decimal("0.01"))
    assert result.status is OrderStatus.FILLED
    assert venue.get_positions()["BTC"] == Decimal("0.01")
    order = Order("BTC", Side.SELL, Decimal("0.01"), OrderType.LIMIT, limit_price=Decimal("40000"))
    resting = venue.submit_order(order)
    assert resting.status is OrderStatus.RESTING


def test_an_ok_answer_of_unexpected_shape_is_looked_up_by_cloid_not_taken_as_refused(venue, exchange):
    # the exchange executes the order but answers {"status": "ok"} without the order statuses
    exchange.inject(Fault("exchange", "order", answer={"status": "ok", "response": {"type": "order"}}))
    report = venue.set_portfolio_weights({"BTC": 0.2, "ETH": 0.1})
    assert report.ok, [r.error for r in report.failures]  # the first order was found filled by its cloid
    assert len(_orders_sent(exchange)) == 2  # and not sent a second time
    assert set(venue.get_positions()) == {"BTC", "ETH"}
