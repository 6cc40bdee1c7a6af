"""PortfolioManager cycles on the paper venue: validation, risk limits, halts, faults, records."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from defipm import (
    CycleStatus,
    EqualWeightOracle,
    InvalidWeightsError,
    Oracle,
    OrderStatus,
    PaperVenue,
    PortfolioManager,
    RiskLimits,
    StaticOracle,
    Store,
    Weights,
)
from defipm.core.performance import time_weighted_return
from defipm.testing.faults import FaultyVenue

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0, "SOL": 100.0, "DOGE": 0.1}


def paper(store=None, cls=PaperVenue, **kw):
    v = cls(initial_cash=Decimal(10_000), store=store, **kw)
    v.update_market(T0, PRICES)
    return v


def test_cycle_reaches_target_and_is_recorded(store: Store):
    v = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.4, "ETH": -0.3, "SOL": 0.2}), v, store=store)
    report = m.manage_portfolio(T0)
    assert report.status is CycleStatus.TRADED and report.ok
    after = report.rebalance.weights_after
    for s, w in {"BTC": 0.4, "ETH": -0.3, "SOL": 0.2}.items():
        assert after[s] == pytest.approx(w, abs=2e-3)
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "traded" and cycle.equity == report.equity
    assert store.targets_of(cycle.id)["ETH"] == (-0.3, -0.3)
    orders = m.journal.orders(report.cycle_id)
    assert [o.status for o in orders] == ["filled"] * 3


def test_invalid_weights_raise_one_error_and_trade_nothing(store: Store):
    v = paper(store)
    bad = StaticOracle({"BTC": float("nan"), "XYZ": 0.5, "ETH": 0.7})
    m = PortfolioManager(bad, v, store=store)
    with pytest.raises(InvalidWeightsError) as exc:
        m.manage_portfolio(T0)
    msg = str(exc.value)
    assert "BTC: weight is nan" in msg and "XYZ: not in the venue's universe" in msg
    assert v.get_positions() == {} and v.get_cash() == Decimal(10_000)
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "rejected" and "XYZ" in cycle.error


def test_spot_venue_rejects_short_weights():
    v = paper(mode="spot")
    m = PortfolioManager(StaticOracle({"BTC": 0.5, "ETH": -0.2}), v)
    with pytest.raises(InvalidWeightsError, match="ETH: negative weight"):
        m.manage_portfolio(T0)


def test_risk_limits_scale_and_clip_visibly(store: Store):
    v = paper(store)
    oracle = StaticOracle({"BTC": 0.9, "ETH": 0.6, "SOL": 0.5}, max_gross=2.0)
    m = PortfolioManager(oracle, v, store=store, risk=RiskLimits(max_weight=0.5, max_gross_leverage=1.2))
    report = m.manage_portfolio(T0)
    limits = [b.limit for b in report.breaches]
    assert limits == ["max_weight", "max_weight", "max_gross_leverage"]  # BTC and ETH clipped, then scaled
    assert report.executed_target.gross == pytest.approx(1.2)
    assert report.executed_target["BTC"] == pytest.approx(0.5 * 1.2 / 1.5)
    assert [e.limit for e in store.risk_events("default")] == limits


def test_turnover_limit_moves_part_way():
    v = paper()
    m = PortfolioManager(StaticOracle({"BTC": 0.5, "ETH": 0.5}), v, risk=RiskLimits(max_turnover=0.4))
    report = m.manage_portfolio(T0)
    assert report.executed_target.gross == pytest.approx(0.4)
    assert report.breaches[0].action == "scaled"


def test_drawdown_breaker_halts_and_persists(store: Store):
    v = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 1.0}), v, store=store, risk=RiskLimits(max_drawdown=0.2))
    m.manage_portfolio(T0)
    v.update_market(T0 + timedelta(days=1), {**PRICES, "BTC": 30_000.0})  # -25%
    report = m.manage_portfolio(T0 + timedelta(days=1))
    assert report.status is CycleStatus.HALTED and "drawdown" in report.error
    positions = v.get_positions()
    # a restarted manager stays halted and sends nothing
    m2 = PortfolioManager(StaticOracle({"ETH": 1.0}), v, store=store, risk=RiskLimits(max_drawdown=0.2))
    assert m2.manage_portfolio(T0 + timedelta(days=2)).status is CycleStatus.HALTED
    assert v.get_positions() == positions
    m2.release_kill_switch()
    assert m2.manage_portfolio(T0 + timedelta(days=3)).status is CycleStatus.TRADED


def test_deposit_is_not_profit(store: Store):
    v = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), v, store=store)
    m.manage_portfolio(T0)
    m.deposit(Decimal(10_000), timestamp=T0 + timedelta(hours=12))
    m.manage_portfolio(T0 + timedelta(days=1))
    history = store.equity_history("default")
    assert history[-1][1] > Decimal(19_000)
    twr = time_weighted_return(history, store.flows("default"))
    assert abs(twr) < 0.01  # costs only, no 100% "gain" from the deposit


@pytest.mark.parametrize("fault", ["reject", "unavailable"])
def test_venue_failing_on_kth_order_keeps_books_consistent(store: Store, fault):
    v = paper(store, cls=FaultyVenue, fail_on={2: fault})
    m = PortfolioManager(StaticOracle({"BTC": 0.3, "ETH": 0.3, "SOL": 0.3}), v, store=store)
    report = m.manage_portfolio(T0)
    assert report.status is CycleStatus.FAILED
    assert "ETH" in report.error
    statuses = {o.symbol: o.status for o in m.journal.orders(report.cycle_id)}
    expected_fail = "rejected" if fault == "reject" else "unknown"
    assert statuses == {"BTC": "filled", "ETH": expected_fail, "SOL": "filled"}
    assert set(v.get_positions()) == {"BTC", "SOL"}
    snap = v.snapshot()
    assert snap.cash + sum(q * snap.prices[s] for s, q in snap.positions.items()) == v.get_equity()


def test_lost_reply_is_found_by_client_order_id_not_resent(store: Store):
    v = paper(store, cls=FaultyVenue, fail_on={1: "lost_reply"})
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), v, store=store)
    report = m.manage_portfolio(T0)
    assert report.ok  # the base venue asked the exchange by cloid and found the fill
    assert v.submitted == 1
    [order] = m.journal.orders(report.cycle_id)
    assert order.status == "filled"


def test_an_unreadable_answer_is_looked_up_and_the_rest_of_the_rebalance_goes_on(store: Store):
    v = paper(store, cls=FaultyVenue, fail_on={1: "garbled_reply"})
    m = PortfolioManager(StaticOracle({"BTC": 0.3, "ETH": 0.3}), v, store=store)
    report = m.manage_portfolio(T0)
    assert report.ok and v.submitted == 2  # the first order was found filled by its cloid, the second sent
    assert {o.symbol: o.status for o in m.journal.orders(report.cycle_id)} == {"BTC": "filled", "ETH": "filled"}


def test_missing_price_for_held_asset_fails_the_cycle_naming_it(store: Store):
    """A venue error is a FAILED cycle (recorded, returned), never an exception out of manage_portfolio."""
    v = paper(store)
    v.positions["LUNA"] = Decimal(5)  # held, but never quoted
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), v, store=store)
    report = m.manage_portfolio(T0)
    assert report.status is CycleStatus.FAILED and "LUNA" in report.error and "no price" in report.error
    assert "BTC" not in v.get_positions()
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "failed" and "LUNA" in cycle.error


def test_oracle_notes_reach_the_report():
    class Noisy(Oracle):
        def fetch_portfolio_weights(self, timestamp, universe):
            self.note("only 2 symbols had a signal")
            return Weights({"BTC": 0.5, "ETH": 0.5})

    m = PortfolioManager(Noisy(), paper())
    assert "only 2 symbols had a signal" in m.manage_portfolio(T0).notes


def test_equal_weight_oracle_over_universe():
    m = PortfolioManager(EqualWeightOracle(exclude=["DOGE"]), paper())
    report = m.manage_portfolio(T0)
    assert set(report.target) == {"BTC", "ETH", "SOL"}
    assert all(r.status is OrderStatus.FILLED for r in report.rebalance.results)


def test_oracle_data_error_is_recorded_as_failed_cycle_and_raised(store: Store):
    from defipm import DataError

    class Broken(Oracle):
        name = "broken"

        def fetch_portfolio_weights(self, timestamp, universe):
            raise DataError("signal file is stale (last row 2023-12-01)")

    v = paper(store)
    m = PortfolioManager(Broken(), v, store=store)
    with pytest.raises(DataError, match="stale"):
        m.manage_portfolio(T0)
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "failed" and "oracle broken: signal file is stale" in cycle.error
    assert v.get_positions() == {}


def test_static_weights_above_their_gross_limit_are_rejected_not_scaled():
    v = paper()
    with pytest.raises(InvalidWeightsError, match=r"gross exposure 1\.5 above max_gross 1"):
        PortfolioManager(StaticOracle({"BTC": 1.0, "ETH": -0.5}), v).manage_portfolio(T0)
    report = PortfolioManager(StaticOracle({"BTC": 1.0, "ETH": -0.5}, max_gross=1.5), v).manage_portfolio(T0)
    assert report.rebalance.weights_after.gross == pytest.approx(1.5, abs=0.01)


def test_manual_trade_is_journalled_and_respects_the_kill_switch(store: Store):
    from defipm import TradingHaltedError

    v = paper(store)
    m = PortfolioManager(StaticOracle({"BTC": 0.5}), v, store=store)
    result = m.execute_trade("ETH", "-0.5")
    assert result.status is OrderStatus.FILLED and v.get_positions() == {"ETH": Decimal("-0.5")}
    [row] = m.journal.orders()
    assert row.symbol == "ETH" and row.status == "filled" and row.client_order_id == result.order.client_order_id
    m.engage_kill_switch("maintenance")
    with pytest.raises(TradingHaltedError, match="maintenance"):
        m.execute_trade("ETH", "0.5")
    assert v.get_positions() == {"ETH": Decimal("-0.5")}


def test_transport_error_is_reconciled_before_the_next_cycle_trades(store: Store):
    v = paper(store, cls=FaultyVenue, fail_on={2: "unavailable"})
    m = PortfolioManager(StaticOracle({"BTC": 0.3, "ETH": 0.3, "SOL": 0.3}), v, store=store)
    first = m.manage_portfolio(T0)
    [lost] = [o for o in m.journal.orders(first.cycle_id) if o.status == "unknown"]
    second = m.manage_portfolio(T0 + timedelta(hours=1))
    assert any("reconciliation: 0 order(s) confirmed by the venue, 1 never sent (abandoned)" in n for n in second.notes)
    statuses = {o.client_order_id: o.status for o in m.journal.orders()}
    assert statuses[lost.client_order_id] == "cancelled"  # never resent: the new plan bought ETH instead
    assert set(v.get_positions()) == {"BTC", "ETH", "SOL"}
    assert second.ok
