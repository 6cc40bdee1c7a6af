"""The loop under failures: risk limits hold when orders fail, an unexpected exception while sending is looked up
before anything else is sent, a restart resumes only the latest plan, an open order of unknown outcome stops every
send (resends included), and every venue error is a FAILED cycle, never an exception out of manage_portfolio."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defipm import (
    CycleStatus,
    InvalidWeightsError,
    Order,
    OrderResult,
    OrderStatus,
    PaperVenue,
    PlannerConfig,
    PortfolioManager,
    RiskLimits,
    Side,
    SlippageModel,
    Store,
    WeightConstraints,
    Weights,
)
from defipm.core.errors import (
    MissingPriceError,
    OrderRejectedError,
    UnknownSymbolError,
    VenueError,
    VenueUnavailableError,
)
from defipm.journal import SqlJournal
from defipm.manager import set_kill_switch
from defipm.oracles.base import Oracle
from defipm.testing.faults import FaultyVenue

PRICES = {"A": 100.0, "B": 50.0, "C": 20.0, "D": 10.0}


class Scripted(Oracle):
    """Returns ``next``; its constraints allow the gross a test needs."""

    name = "scripted"

    def __init__(self, weights: dict[str, float] | None = None, max_gross: float = 3.0) -> None:
        super().__init__()
        self.next = dict(weights or {})
        self.constraints = WeightConstraints(max_gross=max_gross)

    def fetch_portfolio_weights(self, timestamp, universe):  # type: ignore[no-untyped-def]
        return Weights(self.next)


def faulty(store=None, **kw):  # type: ignore[no-untyped-def]
    v = FaultyVenue(initial_cash=Decimal(100_000), store=store, max_leverage=5, **kw)
    v.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    return v


def test_increases_that_rely_on_failed_reductions_are_not_sent(store: Store):
    """Issue 11.6: {A 0.75, B -0.75} -> {C 0.75, D -0.75} with max_gross_leverage 1.5, both reductions rejected:
    the increases used to go out anyway and the book ended at gross 3.0."""
    venue = faulty(store, fail_on={3: "reject", 4: "reject"})
    oracle = Scripted({"A": 0.75, "B": -0.75})
    m = PortfolioManager(oracle, venue, store=store, risk=RiskLimits(max_gross_leverage=1.5))
    t = datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert m.manage_portfolio(t).ok
    oracle.next = {"C": 0.75, "D": -0.75}
    report = m.manage_portfolio(t + timedelta(hours=1))
    assert report.status is CycleStatus.FAILED
    statuses = {r.order.symbol: r.status for r in report.rebalance.results}
    assert statuses == {
        "A": OrderStatus.REJECTED,
        "B": OrderStatus.REJECTED,
        "C": OrderStatus.CANCELLED,
        "D": OrderStatus.CANCELLED,
    }
    assert set(venue.get_positions()) == {"A", "B"}
    assert report.rebalance.weights_after.gross == pytest.approx(1.5, abs=0.01)
    journal = {o.symbol: o.status for o in m.journal.orders(report.cycle_id)}
    assert journal == {"A": "rejected", "B": "rejected", "C": "cancelled", "D": "cancelled"}
    assert "not sent: an earlier order of this rebalance failed" in report.error


def test_an_increase_that_fits_the_book_that_resulted_is_still_sent():
    """Only one of the two reductions fails: A 0.5 stays; C 0.75 fits within the plan's gross of 1.5 on top of
    it, D -0.75 would not (2.0)."""
    venue = faulty(fail_on={3: "reject"})
    oracle = Scripted({"A": 0.5, "B": -0.5})
    m = PortfolioManager(oracle, venue, risk=RiskLimits(max_gross_leverage=1.5))
    m.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    oracle.next = {"C": 0.75, "D": -0.75}
    report = m.manage_portfolio(datetime(2024, 1, 1, 2, tzinfo=UTC))
    statuses = [(r.order.symbol, r.status) for r in report.rebalance.results]
    assert statuses == [
        ("A", OrderStatus.REJECTED),
        ("B", OrderStatus.FILLED),
        ("C", OrderStatus.FILLED),
        ("D", OrderStatus.CANCELLED),
    ]
    assert report.rebalance.weights_after.gross <= 1.5 + 1e-9


FAULTS = st.sampled_from(
    ["reject", "unavailable", "lost_reply", "garbled_reply", "exception", "exception_after", "broken_lookup"]
)
targets = st.dictionaries(st.sampled_from(sorted(PRICES)), st.floats(-0.9, 0.9, allow_nan=False), max_size=4)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    steps=st.lists(st.tuples(targets, st.fixed_dictionaries({s: st.floats(0.8, 1.25) for s in PRICES})), min_size=1,
                   max_size=5),
    faults=st.dictionaries(st.integers(1, 20), FAULTS, max_size=6),
    limits=st.tuples(st.floats(0.5, 2.0), st.none() | st.floats(0.2, 0.9)),
)  # fmt: skip
def test_no_cycle_ends_above_a_risk_limit_because_of_its_own_orders(tmp_path_factory, steps, faults, limits):
    """Property (issue 11.6): whatever fails, a cycle's own orders never leave the book above max_gross_leverage
    or max_weight, nor above where it already was when prices had pushed it there."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('risk') / 'db.sqlite'}")
    max_gross, max_weight = limits
    venue = FaultyVenue(
        fail_on=faults, initial_cash=Decimal(100_000), store=store, max_leverage=4, slippage=SlippageModel(fixed_bps=3)
    )
    oracle = Scripted()
    m = PortfolioManager(
        oracle, venue, store=store, risk=RiskLimits(max_gross_leverage=max_gross, max_weight=max_weight)
    )
    prices = dict(PRICES)
    t = datetime(2024, 1, 1, tzinfo=UTC)
    for weights, moves in steps:
        t += timedelta(hours=1)
        prices = {s: p * moves[s] for s, p in prices.items()}
        venue.update_market(t, prices)
        before = venue.snapshot().weights()
        oracle.next = weights
        with contextlib.suppress(InvalidWeightsError):
            m.manage_portfolio(t)
        after = venue.snapshot().weights()
        slack = 1e-3  # fees and slippage shrink equity a little after the sizes were fixed
        assert after.gross <= max(max_gross, before.gross) * (1 + slack) + 1e-9, (before, after)
        for s, w in after.items():
            bound = max(max_weight if max_weight is not None else abs(w), abs(before.get(s, 0.0)))
            assert abs(w) <= bound * (1 + slack) + 1e-9, (s, before, after)
    store.close()


def test_an_unexpected_exception_while_sending_fails_the_cycle_and_is_never_resent_late(store: Store):
    """Issue 11.8: a non-VenueError from submit_order left the intent unresolved; later cycles did not reconcile
    it, and a restart within resume_window sent it after two later cycles had re-planned (gross 1.0 against a
    target of B 0.5)."""
    venue = faulty(store, fail_on={1: "exception"})
    oracle = Scripted({"A": 0.5, "C": 0.2})
    m = PortfolioManager(oracle, venue, store=store)
    t = datetime(2024, 1, 1, 1, tzinfo=UTC)
    first = m.manage_portfolio(t)
    assert first.status is CycleStatus.FAILED
    assert "unexpected RuntimeError" in first.error and "injected bug" in first.error
    statuses = {o.symbol: o.status for o in m.journal.orders(first.cycle_id)}
    assert statuses == {"A": "unknown", "C": "cancelled"}  # looked up (never seen), the rest not sent
    assert venue.submitted == 1

    oracle.next = {"B": 0.5}
    second = m.manage_portfolio(t + timedelta(hours=1))
    assert second.ok and any("reconciliation" in n for n in second.notes)
    assert {o.symbol: o.status for o in m.journal.orders(first.cycle_id)} == {"A": "cancelled", "C": "cancelled"}
    m.manage_portfolio(t + timedelta(hours=2))

    restarted = PortfolioManager(oracle, venue, store=store)
    restarted.manage_portfolio(t + timedelta(hours=3))
    assert set(venue.get_positions()) == {"B"}
    assert venue.snapshot().weights().gross == pytest.approx(0.5, abs=0.01)


def test_an_exception_after_the_venue_executed_is_found_by_client_order_id(store: Store):
    venue = faulty(store, fail_on={1: "exception_after"})
    m = PortfolioManager(Scripted({"A": 0.5, "C": 0.2}), venue, store=store)
    report = m.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    assert report.status is CycleStatus.FAILED  # the send stopped: the rest is planned afresh next cycle
    assert {o.symbol: o.status for o in m.journal.orders(report.cycle_id)} == {"A": "filled", "C": "cancelled"}
    assert venue.submitted == 1 and set(venue.get_positions()) == {"A"}


class LookupFails(FaultyVenue):
    """Its ``lookup_order`` raises a ``KeyError`` (its own code cannot read the answer) while ``broken``."""

    broken = False

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        if self.broken:
            raise KeyError("statuses")
        return super().lookup_order(client_order_id)


def test_a_lookup_that_raises_after_a_lost_reply_leaves_the_order_unknown_and_fails_cycles_not_the_loop(
    store: Store,
):
    """A reduction times out, and looking it up raises a KeyError: that used to escape manage_portfolio (and end
    `defipm run`) with the order half-recorded and the rest of the plan unsent and uncancelled. The order is
    UNKNOWN, the increases that relied on it are held back, reconciliation failing the same way fails the next
    cycle (nothing sent), and once the venue answers the book trades on."""
    venue = LookupFails(initial_cash=Decimal(100_000), store=store, max_leverage=5, fail_on={3: "unavailable"})
    venue.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    oracle = Scripted({"A": 0.75, "B": -0.75})
    m = PortfolioManager(oracle, venue, store=store, risk=RiskLimits(max_gross_leverage=1.5))
    t = datetime(2024, 1, 1, 1, tzinfo=UTC)
    assert m.manage_portfolio(t).ok
    oracle.next = {"C": 0.75, "D": -0.75}
    venue.broken = True
    report = m.manage_portfolio(t + timedelta(hours=1))
    assert report.status is CycleStatus.FAILED
    assert {o.symbol: o.status for o in m.journal.orders(report.cycle_id)} == {
        "A": "unknown", "B": "filled", "C": "cancelled", "D": "cancelled",
    }  # fmt: skip
    assert venue.snapshot().weights().gross <= 1.5 + 1e-3
    submitted = venue.submitted
    stuck = m.manage_portfolio(t + timedelta(hours=2))
    assert stuck.status is CycleStatus.FAILED and "unexpected KeyError from paper while looking up" in stuck.error
    assert venue.submitted == submitted
    venue.broken = False
    assert m.manage_portfolio(t + timedelta(hours=3)).ok
    assert set(venue.get_positions()) == {"C", "D"}


def _journal_intents(store: Store, cycle: str, orders: list[Order], created: datetime | None = None) -> list[Order]:
    journal = SqlJournal(store, "default")
    intents = journal.record_intents(orders, cycle)
    if created is not None:
        from sqlalchemy import update

        from defipm.store.models import OrderRecord

        with store.begin() as conn:
            conn.execute(update(OrderRecord).where(OrderRecord.cycle_id == cycle).values(created_at=created))
    return intents


def test_a_restart_resumes_only_the_latest_plan(store: Store):
    venue = faulty(store)
    now = datetime.now(UTC)
    older = _journal_intents(
        store, "older", [Order("A", Side.BUY, Decimal(100), reference_price=Decimal(100))], now - timedelta(minutes=5)
    )
    latest = _journal_intents(store, "latest", [Order("C", Side.BUY, Decimal(100), reference_price=Decimal(20))])
    m = PortfolioManager(Scripted({"C": 0.02}), venue, store=store)
    report = m.manage_portfolio(now)
    assert [r.order.client_order_id for r in report.resent] == [latest[0].client_order_id]
    rows = {o.client_order_id: o for o in m.journal.orders()}
    assert rows[older[0].client_order_id].status == "cancelled"
    assert "superseded" in rows[older[0].client_order_id].error
    assert "A" not in venue.get_positions()


class PendingVenue(PaperVenue):
    """Knows one order as in flight (UNKNOWN) until ``settle``: a swap still in the mempool."""

    def __init__(self, **kw: object) -> None:
        super().__init__(initial_cash=Decimal(100_000), **kw)  # type: ignore[arg-type]
        self.pending: dict[str, Order] = {}
        self.sent: list[str] = []

    def submit_order(self, order: Order) -> OrderResult:
        assert order.client_order_id is not None
        self.sent.append(order.client_order_id)
        return super().submit_order(order)

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        if client_order_id in self.pending:
            return OrderResult(self.pending[client_order_id], OrderStatus.UNKNOWN, error="tx pending")
        return super().lookup_order(client_order_id)


def test_an_open_order_of_unknown_outcome_stops_the_restart_resend(store: Store):
    """Issue 20.1: with one swap of a crashed rebalance still pending, the restart sent the others."""
    now = datetime.now(UTC)
    intents = _journal_intents(
        store,
        "crashed",
        [
            Order("A", Side.SELL, Decimal(10), reduce_only=False, reference_price=Decimal(100)),
            Order("C", Side.BUY, Decimal(100), reference_price=Decimal(20)),
            Order("D", Side.BUY, Decimal(100), reference_price=Decimal(10)),
        ],
    )
    SqlJournal(store, "default").mark_sent(intents[0].client_order_id or "")
    venue = PendingVenue(store=store)
    venue.update_market(now, PRICES)
    venue.pending[intents[0].client_order_id or ""] = intents[0]
    m = PortfolioManager(Scripted({"C": 0.02, "D": 0.01}), venue, store=store)
    report = m.manage_portfolio(now)
    assert report.status is CycleStatus.FAILED and "outcome unknown" in report.error
    assert venue.sent == [] and venue.get_positions() == {}
    statuses = [o.status for o in m.journal.orders("crashed")]
    assert statuses == ["unknown", "cancelled", "cancelled"]
    venue.pending.clear()  # the swap was dropped: the next cycle plans afresh
    assert m.manage_portfolio(now + timedelta(minutes=1)).ok


class BrokenVenue(PaperVenue):
    """Raises ``error`` from ``refresh`` (a node that is gone), or from reading the account once orders went."""

    def __init__(self, error: Exception, *, after_orders: bool = False, **kw: object) -> None:
        super().__init__(initial_cash=Decimal(100_000), **kw)  # type: ignore[arg-type]
        self.error = error
        self.after_orders = after_orders
        self.orders = 0

    def refresh(self) -> None:
        if not self.after_orders:
            raise self.error

    def submit_order(self, order: Order) -> OrderResult:
        self.orders += 1
        return super().submit_order(order)

    def get_positions(self) -> dict[str, Decimal]:
        if self.after_orders and self.orders:
            raise self.error
        return super().get_positions()


def _chain_error() -> Exception:
    chain = pytest.importorskip("defipm.chain.errors")
    return chain.RpcUnavailableError("node unreachable (ConnectionError)")


@pytest.mark.parametrize(
    "make_error",
    [
        lambda: VenueUnavailableError("timed out"),
        lambda: MissingPriceError("no mid for BTC"),
        lambda: UnknownSymbolError("XYZ: not listed"),
        lambda: OrderRejectedError("account frozen"),
        lambda: VenueError("unreadable answer"),
        _chain_error,
    ],
)
@pytest.mark.parametrize("after_orders", [False, True])
def test_every_venue_error_is_a_failed_cycle_never_an_exception(store: Store, make_error, after_orders):
    """Issue 20.5: one contract for "the node is gone", whatever the venue and whenever it happens."""
    error = make_error()
    venue = BrokenVenue(error, after_orders=after_orders, store=store)
    venue.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    m = PortfolioManager(Scripted({"A": 0.2, "C": 0.1}), venue, store=store, planner=PlannerConfig(no_trade_band=0.001))
    report = m.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    assert report.status is CycleStatus.FAILED and str(error) in report.error
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "failed" and cycle.completed and str(error) in cycle.error
    if after_orders:  # orders went out before the account could be read: counted, and reconciled first next time
        assert cycle.orders == venue.orders == 2
        venue.after_orders = False
        venue.refresh = lambda: None  # type: ignore[method-assign]
        venue.orders = 0
        nxt = m.manage_portfolio(datetime(2024, 1, 1, 2, tzinfo=UTC))
        assert nxt.ok and venue.orders == 0  # the journal already had both fills: nothing to re-send


@pytest.mark.parametrize("after_orders", [False, True])
def test_a_bug_is_a_failed_cycle_naming_it_and_is_raised_never_an_unknown_outcome(store: Store, after_orders):
    """An exception that is not a ``VenueError`` (a bug, an untranslated error) anywhere in the cycle is recorded
    as the cycle's failure, naming it, and raised; orders it may have cut short are reconciled, never resent."""
    venue = BrokenVenue(TypeError("'NoneType' object is not subscriptable"), after_orders=after_orders, store=store)
    venue.update_market(datetime(2024, 1, 1, tzinfo=UTC), PRICES)
    m = PortfolioManager(Scripted({"A": 0.2, "C": 0.1}), venue, store=store, planner=PlannerConfig(no_trade_band=0.001))
    with pytest.raises(TypeError, match="not subscriptable"):
        m.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "failed" and cycle.completed
    assert "unexpected TypeError: 'NoneType' object is not subscriptable" in cycle.error
    assert cycle.orders == (2 if after_orders else 0)
    venue.after_orders, venue.orders = False, 0
    venue.refresh = lambda: None  # type: ignore[method-assign]
    assert m.manage_portfolio(datetime(2024, 1, 1, 2, tzinfo=UTC)).ok
    assert venue.orders == (0 if after_orders else 2)  # what went out is known from the journal: not sent again
    assert all(o.status == "filled" for o in m.journal.orders())


def test_an_oracle_bug_fails_the_cycle_naming_the_oracle_and_is_raised(store: Store):
    class Buggy(Scripted):
        def fetch_portfolio_weights(self, timestamp, universe):  # type: ignore[no-untyped-def]
            return {"A": 0.1}["B"]

    venue = faulty(store)
    with pytest.raises(KeyError):
        PortfolioManager(Buggy(), venue, store=store).manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    [cycle] = store.recent_cycles("default")
    assert cycle.status == "failed" and cycle.error == "oracle scripted: unexpected KeyError: 'B'"


def test_without_a_store_an_unknown_outcome_is_still_reconciled_before_trading_on():
    """The in-memory journal reconciles like the persistent one: the order a bug cut short is asked about by its
    client order id before the next plan, never left open or resent."""
    venue = faulty(fail_on={1: "exception"})
    oracle = Scripted({"A": 0.5})
    m = PortfolioManager(oracle, venue)
    first = m.manage_portfolio(datetime(2024, 1, 1, 1, tzinfo=UTC))
    assert first.status is CycleStatus.FAILED and [i.order.symbol for i in m.journal.open_intents()] == ["A"]
    second = m.manage_portfolio(datetime(2024, 1, 1, 2, tzinfo=UTC))
    assert second.ok and any("1 never sent (abandoned)" in n for n in second.notes)
    assert m.journal.open_intents() == [] and m.last_reconciliation is not None
    assert venue.submitted == 2 and set(venue.get_positions()) == {"A"}


def test_an_empty_kill_switch_reason_is_refused_as_on_the_command_line(store: Store):
    m = PortfolioManager(Scripted({"A": 0.5}), faulty(store), store=store)
    for reason in ("", "   "):
        with pytest.raises(ValueError, match="give a reason"):
            m.engage_kill_switch(reason)
        with pytest.raises(ValueError, match="give a reason"):
            set_kill_switch(store, "default", reason)
    assert m.halt_reason() is None
    m.engage_kill_switch("operator: maintenance")
    assert m.halt_reason() == "operator: maintenance"
