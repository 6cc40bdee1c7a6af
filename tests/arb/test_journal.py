"""The arbitrage journal and the persisted risk state on SQLite and PostgreSQL, the routes back to the start token,
and the runner's start-up settlement (scripted pools; tests/arb/test_journal_chain.py does the same on anvil)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.arb.execution.plan import ExecutionPlan, plan_execution
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxStep
from defipm.arb.graph import PoolGraph
from defipm.arb.journal import ArbJournal
from defipm.arb.opportunity import CostModel
from defipm.arb.pools import Token, V2Pool
from defipm.arb.risk import ArbRiskConfig, ArbRiskManager
from defipm.arb.risk_state import StoredRiskState
from defipm.arb.runner import ArbRunner
from defipm.arb.scanner import Scanner
from defipm.arb.unwind import routes_back
from defipm.chain.transactions import SignedTx
from defipm.core.errors import JournalError
from defipm.store import Store
from defipm.testing.arb import ScriptedPoolReader

WETH, X, Y = "0x" + "1" * 40, "0x" + "2" * 40, "0x" + "3" * 40
E18 = 10**18
T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _triangle(gap_bps: int = 500) -> list[V2Pool]:
    return [
        V2Pool("0x" + "a1" * 20, WETH, X, 1000 * E18, 1000 * E18),
        V2Pool("0x" + "a2" * 20, X, Y, 1000 * E18, 1000 * E18),
        V2Pool("0x" + "a3" * 20, WETH, Y, 1000 * E18 * (10_000 + gap_bps) // 10_000, 1000 * E18),
    ]


def _plan(opportunity_id: str = "op1") -> ExecutionPlan:
    """The triangle's cycle from WETH, sized exactly (WETH -> Y -> X -> WETH)."""
    tokens = {t: Token(t, s, 18) for t, s in ((WETH, "WETH"), (X, "X"), (Y, "Y"))}
    graph = PoolGraph(_triangle(), tokens)
    scanner = Scanner(graph, 3, costs=CostModel(gas_price_wei=0), preferred_starts=(WETH,))
    scanner.scan()
    (best,) = scanner.best(1)
    return plan_execution(graph, best, opportunity_id, min_profit=1)


def _signed(n: int) -> SignedTx:
    return SignedTx(n, "0x" + f"{n:064x}", b"")


def test_journal_records_before_sending_and_refuses_an_opportunity_twice(store: Store) -> None:
    journal = ArbJournal(store, "alpha")
    plan = _plan()
    journal.begin(plan, "capital")
    with pytest.raises(JournalError, match="journalled before"):
        journal.begin(plan, "capital")  # a second execution of one opportunity is refused, whatever the process
    (planned,) = journal.open_executions()
    assert planned.status == "planned" and planned.hops == plan.hops and planned.amount_in == plan.amount_in
    assert planned.min_profit == 1 and planned.expected_profit == plan.expected_profit

    log = journal.tx_log(plan.opportunity_id)
    log.signed(_signed(7), TxStep("approve", token_in=WETH))
    log.signed(_signed(8), TxStep("hop", 0, WETH, X, plan.amount_in))
    assert journal.execution(plan.opportunity_id).status == "sent"
    txs = journal.transactions(plan.opportunity_id)
    assert [(t.seq, t.nonce, t.status, t.step.purpose) for t in txs] == [(0, 7, "signed", "approve"),
                                                                         (1, 8, "signed", "hop")]  # fmt: skip
    assert txs[1].step == TxStep("hop", 0, WETH, X, plan.amount_in)  # exact amounts of any size survive

    journal.record_outcome(_signed(8).tx_hash, "mined", block=3, gas_used=90_000, gas_cost_wei=9 * 10**13,
                           flows={WETH: -plan.amount_in, X: 2**80})  # fmt: skip
    assert journal.transactions(plan.opportunity_id)[1].flows == {WETH: -plan.amount_in, X: 2**80}
    journal.settle(plan.opportunity_id, "held", profit=-plan.amount_in, held={X: 2**80}, reason="stopped")
    assert journal.open_executions()[0].held == {X: 2**80}
    journal.settle(plan.opportunity_id, "settled", profit=-5, profit_native=-(10**15), gas_cost_wei=10**15)
    assert journal.open_executions() == []
    assert journal.ledger() == [(plan.opportunity_id, "settled", -5, -(10**15), 10**15, {})]
    assert ArbJournal(store, "beta").executions() == []  # runs are kept apart


def test_breaker_daily_loss_and_pause_survive_a_restart(store: Store) -> None:
    clock = [T0]
    config = ArbRiskConfig(breaker_failures=2, breaker_cooldown_s=600, daily_loss_limit_native=10**18)

    def manager() -> ArbRiskManager:
        return ArbRiskManager(config, clock=lambda: clock[0], state=StoredRiskState(store, "alpha"))

    first = manager()
    first.record_execution(False, -4 * 10**17)
    first.record_execution(False, -(10**17))
    assert first.breaker_open() and first.daily_loss() == 5 * 10**17

    again = manager()  # a restarted process
    assert again.breaker_open() and again.breaker_open_until == first.breaker_open_until
    assert again.daily_loss() == 5 * 10**17 and again.consecutive_failures == 2
    assert not ArbRiskManager(config, clock=lambda: clock[0], state=StoredRiskState(store, "beta")).breaker_open()

    again.record_execution(False, -6 * 10**17)
    assert manager().daily_loss() == 11 * 10**17  # limit reached, and still after a restart
    clock[0] = T0 + timedelta(minutes=11)
    assert not manager().breaker_open()  # the cool-down ends on time after a restart too
    clock[0] = T0 + timedelta(days=1)
    assert manager().daily_loss() == 0  # a new UTC day
    manager().pause("operator")
    assert manager().paused
    manager().resume()
    assert not manager().paused


def test_unreadable_risk_state_is_an_error_naming_the_setting(store: Store) -> None:
    store.set_setting("alpha", "arb_risk", "{not json")
    with pytest.raises(JournalError, match="arb_risk"):
        ArbRiskManager(state=StoredRiskState(store, "alpha"))


# -- routes back to the start token -----------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    gap=st.integers(-300, 800),
    done=st.integers(1, 2),
    amount=st.integers(10**15, 50 * E18),
    slip=st.integers(0, 200),
)
def test_routes_back_end_in_the_start_token_best_first(gap: int, done: int, amount: int, slip: int) -> None:
    plan = _plan()
    pools = {p.address: p for p in _triangle(gap)}
    token = plan.hops[done - 1].token_out  # what a cycle stopped after ``done`` hops holds
    routes = routes_back(plan.hops, token, amount, pools, slip)
    assert {r.name for r in routes} == {"complete", "unwind"}
    assert [r.amount_out for r in routes] == sorted((r.amount_out for r in routes), reverse=True)
    for route in routes:
        assert route.hops[0].token_in == token and route.hops[-1].token_out == WETH
        assert all(a.token_out == b.token_in for a, b in zip(route.hops, route.hops[1:], strict=False))
        assert route.hops[0].amount_in == amount
        expected = amount
        for hop in route.hops:  # each minimum is the exact quote less the slippage allowance
            out = pools[hop.pool].amount_out(hop.zero_for_one, expected)
            assert hop.amount_out == out * (10_000 - slip) // 10_000
            expected = out
        assert route.amount_out == expected
    assert len(next(r for r in routes if r.name == "complete").hops) == len(plan.hops) - done


def test_no_route_back_through_a_paused_pool() -> None:
    plan = _plan()
    pools = {p.address: p for p in _triangle()}
    token = plan.hops[0].token_out
    for hop in plan.hops:
        pools[hop.pool] = V2Pool(**{**_fields(pools[hop.pool]), "paused": True})
    assert routes_back(plan.hops, token, E18, pools) == []
    assert routes_back(plan.hops, WETH, E18, pools) == []  # the start token needs no route


def _fields(pool: V2Pool) -> dict[str, object]:
    return {f: getattr(pool, f) for f in V2Pool.__slots__}


# -- the runner settles what a killed process left before it trades -------------------------------------------


def _reader() -> ScriptedPoolReader:
    """Scripted pools at a fixed block."""
    tokens = {t: Token(t, s, 18) for t, s in ((WETH, "WETH"), (X, "X"), (Y, "Y"))}
    return ScriptedPoolReader([(1, _triangle(), [])], tokens)


class Engine:
    name = "capital"
    flash_loan = False
    sender = None

    def __init__(self) -> None:
        self.plans: list[object] = []

    def execute(self, plan, log=None):  # type: ignore[no-untyped-def]
        self.plans.append(plan)
        return ExecutionReport(self.name, True, plan.expected_profit, 250_000, 10**14)


def test_a_planned_execution_is_abandoned_at_start_then_trading_resumes(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    journal = ArbJournal(store, "alpha")
    journal.begin(_plan("killed-after-prepare"), "capital")  # the process died before signing anything
    engine = Engine()
    runner = ArbRunner(_reader(), engine, native=WETH, journal=journal, gas_price_wei=10**9)  # type: ignore[arg-type]
    report = runner.step()
    (resolution,) = report.resolved[:1]
    assert resolution.execution_id == "killed-after-prepare" and resolution.status == "abandoned"
    assert report.blocked is None and report.execution is not None and report.execution.success
    assert len(engine.plans) == 1  # the open gap traded once, as a new execution
    ledger = journal.ledger()
    assert [(status, profit) for _, status, profit, *_ in ledger] == [
        ("abandoned", 0),
        ("settled", engine.plans[0].expected_profit),  # type: ignore[attr-defined]
    ]
    store.close()


def test_a_journalled_transaction_without_a_sender_is_never_ignored(sqlite_url: str) -> None:
    store = Store(sqlite_url)
    journal = ArbJournal(store, "alpha")
    plan = _plan("sent-then-killed")
    journal.begin(plan, "capital")
    journal.tx_log(plan.opportunity_id).signed(_signed(1), TxStep("hop", 0, WETH, X, plan.amount_in))
    engine = Engine()
    runner = ArbRunner(_reader(), engine, native=WETH, journal=journal, gas_price_wei=10**9)  # type: ignore[arg-type]
    report = runner.step()
    assert report.blocked and "cannot settle" in report.blocked  # no way to read the chain: refuse to trade
    assert engine.plans == [] and journal.open_executions()[0].id == plan.opportunity_id
    store.close()
