"""The real SDK over HTTP to the local exchange: rebalances from cash, flips and closes, leverage."""

from __future__ import annotations

from decimal import Decimal

from defipm.core.orders import OrderStatus, SkipReason
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
    state = exchange.engine.views.clearinghouse_state(wallet.address)
    used = Decimal(state["marginSummary"]["totalMarginUsed"])
    value = Decimal(state["marginSummary"]["accountValue"])
    assert abs(used / value - Decimal("0.4")) < Decimal("0.01")
    venue.set_leverage("ETH", 10)
    state = exchange.engine.views.clearinghouse_state(wallet.address)
    assert abs(Decimal(state["marginSummary"]["totalMarginUsed"]) / value - Decimal("0.2")) < Decimal("0.01")


def test_leverage_from_config_is_applied(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, leverage={"BTC": 3}, default_leverage=7)
    venue.set_portfolio_weights({"BTC": 0.5, "ETH": 0.5})
    assert venue.current_leverage("BTC") == 3
    assert venue.current_leverage("ETH") == 7


def test_leverage_is_capped_at_each_coins_maximum_and_a_refusal_skips_only_that_coin(wallet, make_venue):
    from defipm.venues.hyperliquid.sim import LocalExchange
    from defipm.venues.hyperliquid.sim.seed import Seed

    seed = Seed(
        universe=[
            {"name": "BTC", "szDecimals": 5, "maxLeverage": 50},
            {"name": "XYZ", "szDecimals": 1, "maxLeverage": 3},
        ],
        mids={"BTC": Decimal("30135"), "XYZ": Decimal("2.5")},
    )
    with LocalExchange(seed=seed, accounts={wallet.address: 100_000}) as ex:
        venue = make_venue(ex.url, wallet, default_leverage=10)
        report = venue.set_portfolio_weights({"BTC": 0.3, "XYZ": 0.1})
        assert report.ok and {r.order.symbol for r in report.results} == {"BTC", "XYZ"}
        assert venue.current_leverage("BTC") == 10 and venue.current_leverage("XYZ") == 3  # capped, not refused

        # a coin whose leverage the exchange refuses (here: XYZ's maximum lowered under the account's feet) is
        # left as it is and reported; the rest of the rebalance goes on
        ex.engine.universe[ex.engine.index["XYZ"]]["maxLeverage"] = 1
        venue._leverage_set.pop("XYZ")  # the venue asks again (its cached rules still say 3x)
        report = venue.set_portfolio_weights({"BTC": 0.2, "XYZ": 0.2})
        assert [r.order.symbol for r in report.results] == ["BTC"]
        assert any(
            s.symbol == "XYZ" and s.reason is SkipReason.LEVERAGE_REFUSED and "leverage" in s.detail
            for s in report.skipped
        )
