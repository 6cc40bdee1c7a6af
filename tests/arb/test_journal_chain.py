"""The arbitrage journal on anvil: honest P&L when a capital cycle stops half-way, gas above the ceiling, and SIGKILL
trials of ``arb run`` (after prepare, after sending with the transaction pending, between capital hops) that end
with no second execution of one opportunity and a ledger that matches the wallet."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from defipm.arb.chain_pools import ChainPoolReader
from defipm.arb.events import EventBus, ExecutionResult
from defipm.arb.execution.capital import CapitalEngine
from defipm.arb.execution.flash import FlashLoanEngine
from defipm.arb.execution.plan import ExecutionPlan, HopPlan
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxLog, TxStep
from defipm.arb.journal import ArbJournal
from defipm.arb.local_world import ARB_WALLET, ArbLocalWorld, Scenario
from defipm.arb.opportunity import CostModel
from defipm.arb.risk import ArbRiskManager
from defipm.arb.runner import ArbRunner
from defipm.chain.artifacts import to_checksum
from defipm.chain.errors import GasPriceTooHighError
from defipm.chain.transactions import GasPolicy, TransactionSender
from defipm.store import Store

pytestmark = pytest.mark.chain

WEI = 10**18
GWEI = 10**9


def _eth(arb: ArbLocalWorld) -> int:
    return int(arb.world.w3.eth.get_balance(arb.wallet.address))  # type: ignore[arg-type]


class FrontRunBetweenHops(CapitalEngine):
    """Another wallet closes the gap after hop 2 was simulated and before it is mined: hop 2 reverts on chain on its
    amountOutMinimum (the sender skips gas estimation, so the revert happens on chain and costs gas)."""

    def __init__(self, arb: ArbLocalWorld, sender: TransactionSender) -> None:
        dep = arb.world.deployment
        super().__init__(sender, dep.v2_router, dep.swap_router)
        self.arb = arb
        self.simulated = 0

    def _simulate(self, call: Any, hop: HopPlan) -> int:
        out = super()._simulate(call, hop)
        self.simulated += 1
        if self.simulated == 3:  # prepare simulated hop 1, the run hop 1 again, now hop 2
            self.arb.swap_v2("USDC", "WETH", self.arb.amount_of("USDC", 12))
        return out


def test_a_capital_cycle_stopped_by_a_reverted_hop_is_unwound_and_booked_honestly(
    arb: ArbLocalWorld, tmp_path: Path
) -> None:
    ring = arb.scenario("two-hop")
    arb.fund_wallet(100 * WEI)
    sender = TransactionSender(arb.world.w3, arb.wallet, GasPolicy(fixed_gas_limit=400_000))
    engine = FrontRunBetweenHops(arb, sender)
    store = Store(f"sqlite:///{tmp_path / 'arb.db'}")
    journal = ArbJournal(store, "pnl")
    bus = EventBus()
    results: list[ExecutionResult] = []
    bus.subscribe(ExecutionResult, results.append)
    runner = ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), engine, native=arb.address("WETH"), max_len=2,
                       costs=CostModel.for_engine(False), bus=bus, journal=journal, unwinder=engine)  # fmt: skip
    weth_before, eth_before = arb.balance("WETH"), _eth(arb)

    report = runner.step()

    execution = report.execution
    assert execution is not None and not execution.success, execution
    assert "hop 2" in execution.reason and ("unwound" in execution.reason or "completed" in execution.reason)
    assert execution.held == {} and report.blocked is None
    (result,) = results
    weth_change, eth_spent = arb.balance("WETH") - weth_before, eth_before - _eth(arb)
    # the ledger is the wallet: start-token change and gas to the wei, the reverted hop's gas included
    assert result.actual_profit == execution.profit == weth_change
    assert result.gas_cost_wei == execution.gas_cost_wei == eth_spent
    (settled,) = journal.executions()
    txs = journal.transactions(settled.id)
    reverted = [t for t in txs if t.status == "reverted"]
    assert len(reverted) == 1 and reverted[0].step.hop == 1 and reverted[0].gas_used > 0
    assert sum(t.gas_cost_wei for t in txs) == eth_spent
    # the real loss is fees, slippage and gas, not the 2nd hop's whole input
    assert result.actual_profit_native == weth_change - eth_spent
    assert -settled.amount_in // 50 < weth_change < 0
    assert runner.risk.daily_loss() == eth_spent - weth_change < settled.amount_in // 50
    assert journal.ledger() == [(settled.id, "settled", weth_change, weth_change - eth_spent, eth_spent, {})]
    store.close()


class SpedUp(FlashLoanEngine):
    """Journals its transaction, then the wallet re-signs the same call with a higher tip (a "speed up") and only
    that one is broadcast; the process then dies before it learns the outcome."""

    def execute(self, plan: ExecutionPlan, log: TxLog | None = None) -> ExecutionReport:
        prepared = self.prepare(plan)
        assert log is not None
        log.signed(self.sender.sign(prepared.tx), TxStep("flash", None, plan.start_token, plan.start_token, 1))
        faster = {**prepared.tx, "maxPriorityFeePerGas": prepared.tx["maxPriorityFeePerGas"] + GWEI,
                  "maxFeePerGas": prepared.tx["maxFeePerGas"] + GWEI}  # fmt: skip
        self.sender.w3.eth.send_raw_transaction(self.sender.sign(faster).raw)
        raise RuntimeError("killed before the receipt")


def test_a_replaced_transaction_is_found_by_its_nonce_and_a_taken_nonce_is_not_ours(
    arb: ArbLocalWorld, tmp_path: Path
) -> None:
    ring = arb.scenario("two-hop")
    sender = TransactionSender(arb.world.w3, arb.wallet)
    store = Store(f"sqlite:///{tmp_path / 'arb.db'}")
    journal = ArbJournal(store, "speed-up")
    runner = ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), SpedUp(sender, arb.executor),
                       native=arb.address("WETH"), max_len=2, journal=journal)  # fmt: skip
    weth_before, eth_before = arb.balance("WETH"), _eth(arb)

    report = runner.step()

    execution = report.execution
    assert execution is not None and execution.success and report.blocked is None, report
    (tx,) = journal.transactions(journal.executions()[0].id)
    assert tx.status == "mined" and tx.replaced_by is not None and tx.replaced_by != tx.tx_hash
    assert execution.tx_hashes == (tx.tx_hash,) and execution.profit == arb.balance("WETH") - weth_before > 0
    assert execution.gas_cost_wei == eth_before - _eth(arb)

    # a journalled transaction whose nonce went to another call was never mined: nothing to account
    plan = ExecutionPlan("taken", arb.address("WETH"), 1, (), 0, 0, 1, None)  # type: ignore[arg-type]
    journal.begin(plan, "flash")
    w3 = arb.world.w3
    call = {"to": arb.wallet.address, "value": 0, "gas": 30_000, "chainId": sender.chain_id,
            "maxFeePerGas": 10 * GWEI, "maxPriorityFeePerGas": GWEI}  # fmt: skip
    sender.resync_nonce()
    journal.tx_log("taken").signed(sender.sign({**call, "data": "0x01"}), TxStep("flash"))
    w3.eth.send_raw_transaction(sender.sign({**call, "data": "0x02"}).raw)  # the same nonce, another call
    resolution = runner.settlement.resolve(journal.execution("taken"))
    assert resolution.status == "abandoned" and [t.status for t in journal.transactions("taken")] == ["dropped"]
    store.close()


def test_no_arbitrage_while_gas_is_above_the_ceiling(arb: ArbLocalWorld) -> None:
    ring = arb.scenario("two-hop")
    with arb.world.base_fee(3_000 * GWEI):
        _no_arbitrage_at_3000_gwei(arb, ring)


def _no_arbitrage_at_3000_gwei(arb: ArbLocalWorld, ring: Scenario) -> None:
    sender = TransactionSender(arb.world.w3, arb.wallet, GasPolicy(max_fee_per_gas_wei=300 * GWEI))
    engine = FlashLoanEngine(sender, arb.executor)
    # costed at 1 gwei the gap pays (at 3,000 gwei nothing would be found): the ceiling must still refuse it
    runner = ArbRunner(ChainPoolReader(arb.world.w3, ring.pools), engine, native=arb.address("WETH"), max_len=2,
                       risk=ArbRiskManager(), gas_price_wei=GWEI)  # fmt: skip  # default ceiling: 300 gwei
    nonce = arb.world.w3.eth.get_transaction_count(arb.wallet.address)

    report = runner.step()

    assert report.decision is not None and not report.decision.approved
    assert "above max_gas_price_wei" in report.decision.reason and report.execution is None
    with pytest.raises(GasPriceTooHighError, match=r"above the ceiling of 300\.00 gwei"):
        sender.build(engine.executor.functions.owner())  # nothing is even signed at this base fee
    assert arb.world.w3.eth.get_transaction_count(arb.wallet.address, "pending") == nonce


# -- SIGKILL trials of ``arb run`` -------------------------------------------------------------------------------

ARB_RUN = """
import os, signal, sys

kill_at, args = sys.argv[1], sys.argv[2:]
if kill_at == "after-prepare":
    from defipm.arb.execution.flash import FlashLoanEngine

    def execute(self, plan, log=None):
        self.prepare(plan)  # simulated and built, never signed
        os.kill(os.getpid(), signal.SIGKILL)

    FlashLoanEngine.execute = execute
elif kill_at == "between-hops":
    from defipm.arb import journal

    signed = journal._JournalTxLog.signed

    def signed_then_killed(self, tx, step):
        signed(self, tx, step)  # hop 2 journalled, never broadcast; hop 1 is mined
        if step.purpose == "hop" and step.hop == 1:
            os.kill(os.getpid(), signal.SIGKILL)

    journal._JournalTxLog.signed = signed_then_killed
from defipm.arb.cli import app

app(args, prog_name="defipm arb")
"""


def _private_key(index: int) -> str:
    from eth_account import Account

    from defipm.chain.anvil import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


def _cycle_txs(arb: ArbLocalWorld, after_block: int) -> list[str]:
    """The arbitrage wallet's transactions that start a cycle: a flash-loan call, or a V3 swap out of WETH (the
    two-hop cycle's first hop; completing or unwinding it swaps into WETH)."""
    w3, me = arb.world.w3, arb.wallet.address
    executor, router = to_checksum(arb.executor), to_checksum(arb.world.deployment.swap_router)
    weth = bytes.fromhex(arb.address("WETH")[2:])
    found = []
    for number in range(after_block + 1, w3.eth.block_number + 1):
        for tx in w3.eth.get_block(number, full_transactions=True)["transactions"]:
            token_in = bytes(tx["input"])[16:36]  # exactInputSingle's first field: tokenIn
            if tx["from"] == me and (tx["to"] == executor or (tx["to"] == router and token_in == weth)):
                found.append(tx["hash"].to_0x_hex())
    return found


@pytest.mark.slow
@pytest.mark.parametrize("kill_at", ["after-prepare", "pending", "between-hops"])
def test_sigkill_of_arb_run_never_executes_an_opportunity_twice_and_the_ledger_matches_the_wallet(
    arb: ArbLocalWorld, tmp_path: Path, kill_at: str
) -> None:
    world, node = arb.world, arb.world.node
    capital = kill_at == "between-hops"
    ring = arb.scenario("two-hop")
    if capital:
        arb.fund_wallet(100 * WEI)
    pools = tmp_path / "pools.json"
    pools.write_text("[" + ",".join(f'{{"address": "{p.address}", "kind": "{p.kind}"}}' for p in ring.pools) + "]")
    script = tmp_path / "arb_run.py"
    script.write_text(ARB_RUN)
    db = tmp_path / "arb.db"
    dep = world.deployment
    engine = ["--engine", "capital"] if capital else ["--executor", arb.executor]
    args = ["run", "--rpc", world.url, "--pools", str(pools), "--native", arb.address("WETH"), "--max-len", "2",
            *engine, "--v2-router", dep.v2_router, "--v3-router", dep.swap_router, "--db", f"sqlite:///{db}",
            "--poll-interval", "0.1"]  # fmt: skip
    env = {**os.environ, "DEFIPM_PRIVATE_KEY": _private_key(ARB_WALLET)}

    def arb_run(point: str, rounds: int) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(script), point, *args, "--max-iterations", str(rounds)]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)

    start_block = world.w3.eth.block_number
    weth_before, eth_before = arb.balance("WETH"), _eth(arb)
    w3, me = world.w3, arb.wallet.address
    try:
        if kill_at == "pending":
            node.rpc("evm_setAutomine", False)  # block production paused: the flash transaction stays pending
            proc = subprocess.Popen([sys.executable, str(script), "none", *args, "--max-iterations", "5"], env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
            deadline = time.monotonic() + 120
            while w3.eth.get_transaction_count(me, "pending") == w3.eth.get_transaction_count(me, "latest"):
                assert time.monotonic() < deadline and proc.poll() is None, proc.communicate()
                time.sleep(0.1)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            waiting = arb_run("none", 2)  # restarted while the transaction is still pending
            assert waiting.returncode == 0, waiting.stderr
            assert "not trading" in waiting.stdout and "pending" in waiting.stdout, waiting.stdout
            assert w3.eth.get_transaction_count(me, "pending") == w3.eth.get_transaction_count(me, "latest") + 1
            node.rpc("evm_mine")
            node.rpc("evm_setAutomine", True)
        else:
            crashed = arb_run(kill_at, 5)
            assert crashed.returncode == -signal.SIGKILL, crashed.stdout + crashed.stderr
        restarted = arb_run("none", 3)
        assert restarted.returncode == 0, restarted.stdout + restarted.stderr
    finally:
        node.rpc("evm_setAutomine", True)

    store = Store(f"sqlite:///{db}")
    ledger = ArbJournal(store, "arb").ledger()
    store.close()
    statuses = [status for _, status, *_ in ledger]
    assert "held" not in statuses and all(s in ("settled", "abandoned") for s in statuses), ledger
    expected = {"after-prepare": ["abandoned", "settled"], "pending": ["settled"], "between-hops": ["settled"]}
    assert statuses == expected[kill_at], ledger
    assert len(_cycle_txs(arb, start_block)) == 1  # one opportunity, executed once on chain
    assert sum(profit for _, _, profit, *_ in ledger) == arb.balance("WETH") - weth_before
    assert sum(gas for *_, gas, _held in ledger) == eth_before - _eth(arb)
