"""The manager's rebalance policy, tranches and stop losses against the local exchange through the real SDK: a
WAITING cycle sends no action at all (the stops it placed stay), drift past the threshold (a price move, a stop
that fired) rebalances, and a restarted process derives the same tranched book from the signal alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from defipm.core.orders import OrderStatus, OrderType
from defipm.core.reports import CycleStatus
from defipm.core.triggers import RebalancePolicy
from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.store.database import Store

pd = pytest.importorskip("pandas")

from defipm.data.numerai import MetaModelHistory  # noqa: E402
from defipm.oracles.tbn import TBNOracle  # noqa: E402
from defipm.oracles.tranches import TranchedOracle  # noqa: E402
from defipm.testing.numerai import synthetic_meta_model  # noqa: E402

TARGET = {"BTC": 0.3, "ETH": -0.2}
T0 = datetime(2026, 1, 5, 1, tzinfo=UTC)
COINS = ["BTC", "ETH", "SOL", "AVAX", "LINK", "DOGE"]


def _actions(exchange, address) -> tuple[int, int]:
    """Orders ever placed by ``address`` and orders of it ever cancelled: any signed action moves one of them."""
    orders = exchange.engine.accounts[address.lower()].orders.values()
    return len(exchange.engine.order_log), sum(1 for o in orders if o.status == "canceled")


def _triggers(exchange, address) -> list[dict]:
    return [o for o in exchange.engine.views.frontend_open_orders(address) if o["isTrigger"]]


@pytest.fixture
def store(tmp_path):
    s = Store(f"sqlite:///{tmp_path / 'j.db'}")
    yield s
    s.close()


def test_a_waiting_cycle_sends_no_action_and_leaves_the_stops_in_place(exchange, wallet, make_venue, store):
    venue = make_venue(exchange.url, wallet, stop_loss={"fraction": 0.1, "sides": "both"})
    policy = RebalancePolicy(every=timedelta(days=1), drift=0.05)
    manager = PortfolioManager(StaticOracle(TARGET), venue, store=store, run="hl", rebalance=policy)
    assert manager.manage_portfolio(T0).status is CycleStatus.TRADED
    stops, before = _triggers(exchange, wallet.address), _actions(exchange, wallet.address)
    assert len(stops) == 2
    mids = venue.get_prices()
    exchange.engine.set_mid("BTC", mids["BTC"] * Decimal("1.02"))  # a 2% move: BTC drifts ~0.006, under 0.05
    for hours in (1, 6, 23):
        report = manager.manage_portfolio(T0 + timedelta(hours=hours))
        assert report.status is CycleStatus.WAITING and report.ok and report.rebalance is None, report.notes
    assert _actions(exchange, wallet.address) == before  # nothing signed: no order, no cancel
    assert _triggers(exchange, wallet.address) == stops
    due = manager.manage_portfolio(T0 + timedelta(days=1))  # the schedule: a rebalance, and the stops replaced
    assert due.status is CycleStatus.TRADED and "rebalance: schedule" in " ".join(due.notes), due.notes
    assert len(_triggers(exchange, wallet.address)) == 2 and _actions(exchange, wallet.address) != before


def test_drift_past_the_threshold_on_the_exchange_rebalances_to_the_target(exchange, wallet, make_venue, store):
    venue = make_venue(exchange.url, wallet)
    manager = PortfolioManager(
        StaticOracle(TARGET), venue, store=store, run="hl", rebalance=RebalancePolicy(drift=0.05)
    )
    manager.manage_portfolio(T0)
    mids = venue.get_prices()
    exchange.engine.set_mid("BTC", mids["BTC"] * Decimal("1.05"))  # BTC ~0.313 of equity: drift 0.013
    assert manager.manage_portfolio(T0 + timedelta(hours=1)).status is CycleStatus.WAITING
    exchange.engine.set_mid("BTC", mids["BTC"] * Decimal("1.4"))  # BTC ~0.41 of a smaller equity: past 0.05
    report = manager.manage_portfolio(T0 + timedelta(hours=2))
    assert report.status is CycleStatus.TRADED and report.ok
    assert any(n.startswith("rebalance: drift") and "BTC" in n for n in report.notes), report.notes
    sells = [r for r in report.rebalance.results if r.order.symbol == "BTC"]
    assert sells and sells[0].order.side.value == "sell"
    for coin, w in TARGET.items():
        assert abs(report.rebalance.weights_after[coin] - w) < 0.005, coin


def test_a_stop_that_fires_between_cycles_is_drift_and_the_next_cycle_restores_the_book(
    exchange, wallet, make_venue, store
):
    venue = make_venue(exchange.url, wallet, stop_loss={"fraction": 0.05, "sides": "long"})
    policy = RebalancePolicy(every=timedelta(days=7), drift=0.05)
    manager = PortfolioManager(StaticOracle(TARGET), venue, store=store, run="hl", rebalance=policy)
    first = manager.manage_portfolio(T0)
    (stop,) = [r for r in first.rebalance.results if r.order.order_type is OrderType.STOP]
    assert stop.order.symbol == "BTC" and stop.status is OrderStatus.RESTING
    exchange.engine.set_mid("BTC", stop.order.limit_price * Decimal("0.99"))  # through the stop
    report = manager.manage_portfolio(T0 + timedelta(hours=1))
    assert report.status is CycleStatus.TRADED, report.notes  # BTC went from 0.3 to 0: drift, not the schedule
    assert any(n.startswith("rebalance: drift") and "BTC" in n for n in report.notes), report.notes
    assert abs(report.rebalance.weights_after["BTC"] - TARGET["BTC"]) < 0.005
    assert manager.journal is not None
    (row,) = [o for o in manager.journal.orders() if o.client_order_id == stop.order.client_order_id]
    assert row.status == OrderStatus.FILLED.value and row.filled_quantity == stop.order.quantity


def _tranched() -> TranchedOracle:
    history = MetaModelHistory.from_frame(synthetic_meta_model(COINS, T0 - timedelta(days=20), 30, seed=3))
    return TranchedOracle(TBNOracle(2, history=history, max_staleness=None), 3)


def test_a_restarted_process_derives_the_same_tranched_book_and_trades_only_the_new_tranche(
    exchange, wallet, make_venue, tmp_path
):
    url = f"sqlite:///{tmp_path / 'j.db'}"
    days = [T0 + timedelta(days=d) for d in range(3)]
    reference = _tranched()  # one process that never stops
    expected = [reference.fetch_portfolio_weights(t, COINS) for t in days]
    assert expected[1] != expected[2]  # the restart below has something to get right
    for i, (t, book) in enumerate(zip(days, expected, strict=True)):  # a new process (venue, store, oracle) a day
        store = Store(url)
        manager = PortfolioManager(_tranched(), make_venue(exchange.url, wallet), store=store, run="hl")
        report = manager.manage_portfolio(t)
        store.close()
        assert report.status is CycleStatus.TRADED and report.ok, report.notes
        assert report.target == book
        traded = {r.order.symbol for r in report.rebalance.results if r.status is OrderStatus.FILLED}
        if i:  # only the names whose averaged weight moved are traded, not the whole book
            moved = {s for s in COINS if abs(book.get(s, 0.0) - expected[i - 1].get(s, 0.0)) > 0.002}
            assert traded and traded <= moved, (traded, moved)


def test_planning_signs_nothing_and_leverage_is_set_only_for_the_coins_an_order_adds_to(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, default_leverage=3, leverage={"ETH": 2})
    account = exchange.engine.accounts[wallet.address.lower()]
    plan = venue.plan({"BTC": 0.3, "ETH": -0.2})[1]
    assert {o.symbol for o in plan.orders} == {"BTC", "ETH"}
    assert account.leverage == {} and _actions(exchange, wallet.address) == (0, 0)  # a plan is only reads
    assert venue.set_portfolio_weights({"BTC": 0.3, "ETH": -0.2}).ok
    assert account.leverage == {"BTC": (3, True), "ETH": (2, True)}  # cross margin by default
    other = make_venue(exchange.url, wallet, default_leverage=5)  # a new process, configured otherwise
    report = other.set_portfolio_weights({"BTC": 0.1, "ETH": -0.2})  # a reduction of BTC only
    assert [r.order.symbol for r in report.results] == ["BTC"]
    assert account.leverage == {"BTC": (3, True), "ETH": (2, True)}  # no leverage action for a reduction
