"""End to end on the local chain: mispricings across V2 pairs and a V3 pool detected, validated, executed by each
engine, realised profit equal to the exact estimate at the execution block, gas accounted in ETH, records stored."""

from __future__ import annotations

from pathlib import Path

import pytest
from web3 import Web3

from defipm.arb.chain_pools import ChainPoolReader, PoolRef
from defipm.arb.events import EventBus, ExecutionResult, RiskAlert
from defipm.arb.execution.capital import CapitalEngine
from defipm.arb.execution.flash import FlashLoanEngine, PreparedFlash
from defipm.arb.execution.plan import ExecutionPlan
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxLog
from defipm.arb.local_world import ArbLocalWorld
from defipm.arb.recorder import ArbRecorder
from defipm.arb.runner import ArbRunner
from defipm.store import Store

pytestmark = pytest.mark.chain

WEI = 10**18


def _engine(arb: ArbLocalWorld, kind: str) -> FlashLoanEngine | CapitalEngine:
    if kind == "flash":
        return FlashLoanEngine(arb.sender, arb.executor)
    arb.fund_wallet(100 * WEI)
    dep = arb.world.deployment
    return CapitalEngine(arb.sender, dep.v2_router, dep.swap_router)


def _eth(arb: ArbLocalWorld) -> int:
    return int(arb.world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]


@pytest.mark.parametrize("engine_kind", ["flash", "capital"])
@pytest.mark.parametrize("scenario", ["two-hop", "triangle", "five-hop"])
def test_cycle_detected_and_executed_exactly(
    arb: ArbLocalWorld, scenario: str, engine_kind: str, tmp_path: Path
) -> None:
    ring = arb.scenario(scenario)
    engine = _engine(arb, engine_kind)
    bus = EventBus()
    store = Store(f"sqlite:///{tmp_path / 'arb.db'}")
    recorder = ArbRecorder(store)
    recorder.attach(bus)
    runner = ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), engine, native=arb.address("WETH"),
                       max_len=ring.length, bus=bus)  # fmt: skip
    weth_before, eth_before = arb.balance("WETH"), _eth(arb)

    report = runner.step()

    assert report.error is None and not report.skipped
    assert report.opportunities and len(report.opportunities[0].edges) == ring.length
    decision = report.decision
    assert decision is not None and decision.approved, decision
    estimate = decision.opportunity
    assert estimate is not None and set(estimate.pools) == {p.address for p in ring.pools}
    execution = report.execution
    assert execution is not None and execution.success, execution
    weth_gain = arb.balance("WETH") - weth_before
    eth_spent = eth_before - _eth(arb)
    # the token profit is the exact off-chain quote at the execution block; gas is paid in ETH, to the wei
    assert weth_gain == execution.profit == estimate.gross_profit > 0
    assert eth_spent == execution.gas_cost_wei > 0
    assert weth_gain - eth_spent == estimate.gross_profit - execution.gas_cost_wei
    if engine_kind == "flash":
        assert execution.simulated_profit == estimate.gross_profit
        assert estimate.premium == -(-estimate.amount_in * 5 // 10_000)  # percentMulCeil, as Aave V3.4+
        assert arb.balance("WETH", arb.executor) == 0
    else:
        assert estimate.premium == 0
    assert runner.risk.consecutive_failures == 0
    (opp_row,) = recorder.opportunities()
    (ex_row,) = recorder.executions()
    assert ex_row.opportunity_id == opp_row.id and ex_row.success and ex_row.engine == engine_kind
    assert int(ex_row.actual_profit) == estimate.gross_profit and ex_row.gas_used == execution.gas_used
    assert int(opp_row.amount_in) == estimate.amount_in and opp_row.strategy_type in (
        "simple",
        "triangular",
        "compound",
    )
    store.close()


class FrontRunFlash:
    """A flash engine whose mispricing is taken by someone else between simulation and sending."""

    name = "flash"
    flash_loan = True

    def __init__(self, arb: ArbLocalWorld) -> None:
        self.arb = arb
        self.inner = FlashLoanEngine(arb.sender, arb.executor)
        self.sender = arb.sender
        self.prepared: PreparedFlash | None = None

    def execute(self, plan: ExecutionPlan, log: TxLog | None = None) -> ExecutionReport:
        self.prepared = self.inner.prepare(plan)  # simulation passes: the mispricing is still there
        self.arb.swap_v2("USDC", "WETH", self.arb.amount_of("USDC", 12))  # another trader closes the gap
        return self.inner.send(self.prepared, log)


def test_vanished_mispricing_reverts_and_costs_only_gas(arb: ArbLocalWorld, store: Store) -> None:
    ring = arb.scenario("two-hop")
    bus = EventBus()
    ArbRecorder(store).attach(bus)
    alerts: list[RiskAlert] = []
    results: list[ExecutionResult] = []
    bus.subscribe(RiskAlert, alerts.append)
    bus.subscribe(ExecutionResult, results.append)
    engine = FrontRunFlash(arb)
    runner = ArbRunner(
        ChainPoolReader(arb.world.w3, ring.pools), engine, native=arb.address("WETH"), max_len=2, bus=bus
    )
    weth_before, eth_before = arb.balance("WETH"), _eth(arb)
    lender_before = arb.balance("WETH", arb.lender)

    report = runner.step()

    assert report.decision is not None and report.decision.approved
    execution = report.execution
    assert execution is not None and not execution.success and "reverted on chain" in execution.reason
    assert execution.tx_hash is not None and execution.gas_used > 0 and execution.profit == 0
    assert arb.balance("WETH") == weth_before and arb.balance("WETH", arb.lender) == lender_before
    assert eth_before - _eth(arb) == execution.gas_cost_wei  # the front-runner's swap is paid by the deployer
    assert runner.risk.consecutive_failures == 1
    assert results[0].actual_profit_native == -execution.gas_cost_wei
    recorder = ArbRecorder(store)
    (row,) = recorder.executions()
    assert not row.success and row.tx_hash == execution.tx_hash and "reverted" in row.reason
    assert recorder.opportunities()[0].id == row.opportunity_id


def test_unprofitable_plan_is_refused_in_simulation(arb: ArbLocalWorld) -> None:
    ring = arb.scenario("two-hop")
    engine = FlashLoanEngine(arb.sender, arb.executor)
    runner = ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), engine, native=arb.address("WETH"), max_len=2)
    runner.step()  # executes the opportunity: now it is gone
    again = runner.step()
    assert again.execution is None
    assert not again.opportunities or (again.decision is not None and not again.decision.approved)


def test_rpc_failures_skip_pools_and_never_crash_the_loop(arb: ArbLocalWorld) -> None:
    ring = arb.scenario("two-hop")
    eoa = PoolRef(arb.world.wallets[5].address.lower(), "v2")
    reader = ChainPoolReader(arb.world.w3, [*ring.pools, eoa])
    engine = FlashLoanEngine(arb.sender, arb.executor)
    runner = ArbRunner(reader, engine, native=arb.address("WETH"), max_len=2)
    first = reader.refresh()
    assert [s.address for s in first.skipped] == [eoa.address] and len(first.pools) == 2
    # the node stops answering: every pool is skipped with the reason, the loop reports and goes on
    reader.w3 = Web3(Web3.HTTPProvider("http://127.0.0.1:9", request_kwargs={"timeout": 0.5}))
    down = reader.refresh(block=first.block)
    reasons = {s.address: s.reason for s in down.skipped}
    assert not down.pools and "cannot read tokens" in reasons.pop(eoa.address)
    assert set(reasons) == {p.address for p in ring.pools}
    assert all("RpcUnavailableError" in r for r in reasons.values()), reasons
    report = runner.step()
    assert report.error is not None and report.execution is None
    dead = ArbRunner(ChainPoolReader(reader.w3, ring.pools), engine, native=arb.address("WETH"))
    assert dead.step().error is not None


def test_a_cycle_sized_above_the_per_token_limit_trades_the_limit(arb: ArbLocalWorld) -> None:
    """A cycle whose best size is above ``max_trade_per_token`` is re-quoted at the limit and traded there while
    that still pays (it was refused, round after round: the runner only tries its best opportunity)."""
    from defipm.arb.risk import ArbRiskConfig, ArbRiskManager

    ring = arb.scenario("two-hop")
    weth = arb.address("WETH")

    def runner(config: ArbRiskConfig) -> ArbRunner:
        engine = FlashLoanEngine(arb.sender, arb.executor)
        return ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), engine, native=weth, max_len=2,
                         risk=ArbRiskManager(config))  # fmt: skip

    looked = runner(ArbRiskConfig(min_profit_native=10**30)).step()  # detects, trades nothing
    assert looked.execution is None and looked.opportunities
    best = looked.opportunities[0].amount_in
    cap = best // 2
    weth_before = arb.balance("WETH")

    report = runner(ArbRiskConfig(max_trade_per_token={Web3.to_checksum_address(weth): cap})).step()

    decision = report.decision
    assert decision is not None and decision.approved, decision
    sized = decision.opportunity
    assert sized is not None and cap * 0.99 < sized.amount_in <= cap < best  # at the limit, not the best size
    execution = report.execution
    assert execution is not None and execution.success, execution
    assert arb.balance("WETH") - weth_before == execution.profit == sized.gross_profit > 0
