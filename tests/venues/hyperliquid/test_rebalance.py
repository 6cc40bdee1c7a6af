"""The real SDK over HTTP to the local exchange: rebalances from cash, flips and closes, leverage."""

from __future__ import annotations

from decimal import Decimal

from defipm.core.orders import OrderStatus
from defipm.core.weights import Weights


def test_rebalance_from_cash_reaches_targets(venue, exchange, start_usdc):
    target = Weights({"BTC": 0.4, "ETH": 0.3, "SOL": -0.2, "kPEPE": 0.05})
    report = venue.set_portfolio_weights(target)
    assert report.ok, [r.error for r in report.failures]
    assert {r.order.symbol for r in report.results} == set(target)
    assert all(r.status is OrderStatus.FILLED for r in report.results)
    # every order went out once, with the journal's cloid
    cloids = [o["c"] for o in exchange.engine.order_log]
    assert len(cloids) == len(set(cloids)) == 4
    for coin, w in target.items():
        assert abs(report.weights_after[coin] - w) < 0.002, coin
    positions = venue.get_positions()
    assert positions["SOL"] < 0 and positions["BTC"] > 0
    # equity == cash + marked positions, and equals the exchange's accountValue
    snap = venue.snapshot()
    assert snap.equity == venue.get_equity()
    assert Decimal(start_usdc) - snap.equity < Decimal(start_usdc) * Decimal("0.002")  # fees + spread only


def test_second_rebalance_flips_and_closes(venue, exchange):
    venue.set_portfolio_weights({"BTC": 0.4, "ETH": 0.3, "SOL": -0.2})
    report = venue.set_portfolio_weights({"BTC": -0.3, "SOL": 0.25, "DOGE": 0.1})
    assert report.ok, [r.error for r in report.failures]
    positions = venue.get_positions()
    assert "ETH" not in positions
    assert positions["BTC"] < 0 and positions["SOL"] > 0 and positions["DOGE"] > 0
    closes = [r.order for r in report.results if r.order.reduce_only]
    assert {o.symbol for o in closes} == {"BTC", "ETH", "SOL"}
    # reductions come first
    kinds = [r.order.reduce_only for r in report.results]
    assert kinds == sorted(kinds, reverse=True)
    assert abs(report.weights_after["BTC"] + 0.3) < 0.002
    # and back to cash
    report = venue.set_portfolio_weights({})
    assert report.ok and venue.get_positions() == {}


def test_leverage_changes(venue, exchange, wallet):
    venue.set_leverage("ETH", 5)
    venue.set_portfolio_weights({"ETH": 2.0})
    assert venue.current_leverage("ETH") == 5
    state = exchange.engine.clearinghouse_state(wallet.address)
    used = Decimal(state["marginSummary"]["totalMarginUsed"])
    value = Decimal(state["marginSummary"]["accountValue"])
    assert abs(used / value - Decimal("0.4")) < Decimal("0.01")
    venue.set_leverage("ETH", 10)
    state = exchange.engine.clearinghouse_state(wallet.address)
    assert abs(Decimal(state["marginSummary"]["totalMarginUsed"]) / value - Decimal("0.2")) < Decimal("0.01")


def test_leverage_from_config_is_applied(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, leverage={"BTC": 3}, default_leverage=7)
    venue.set_portfolio_weights({"BTC": 0.5, "ETH": 0.5})
    assert venue.current_leverage("BTC") == 3
    assert venue.current_leverage("ETH") == 7
