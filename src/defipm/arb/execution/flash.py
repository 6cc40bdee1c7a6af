"""The flash-loan engine: one transaction through ``ArbExecutor`` borrowing the start token from an Aave V3 pool.

``prepare(plan)`` encodes the hops, simulates ``execute`` with ``eth_call`` (the simulated profit must equal the
plan's exact estimate, else the state moved and the plan is refused) and builds the transaction with its gas limit
fixed. ``send(prepared, log)`` signs it, hands nonce and hash to the ``TxLog`` and broadcasts it; when the state has
moved since (the mispricing vanished), the executor reverts on chain and the report shows the gas paid (from the
receipt) and a profit of 0. The realised profit is the start token the executor paid the wallet, read from the
receipt's Transfer logs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.arb.execution.contracts import bind
from defipm.arb.execution.plan import ExecutionPlan, gas_limit
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxLog, TxStep
from defipm.chain.artifacts import to_checksum
from defipm.chain.errors import TransactionRevertedError, node_errors, translate_web3_error
from defipm.chain.receipts import wallet_flows
from defipm.core.errors import DefipmError

if TYPE_CHECKING:
    from defipm.chain.transactions import TransactionSender

__all__ = ["FlashLoanEngine", "PreparedFlash", "encode_hops"]

KIND_CODES = {"v2": 0, "v3": 1}


@dataclass(frozen=True, slots=True)
class PreparedFlash:
    """A simulated, built flash-loan transaction (not yet signed or sent)."""

    plan: ExecutionPlan
    tx: dict[str, Any]
    gas_estimate: int
    simulated_profit: int
    block_number: int


def encode_hops(plan: ExecutionPlan) -> list[tuple[str, str, str, bool, int, int]]:
    """The plan's hops as ``ArbExecutor.Hop`` tuples (pool, tokenIn, tokenOut, zeroForOne, kind, feeBps)."""
    return [
        (
            to_checksum(h.pool),
            to_checksum(h.token_in),
            to_checksum(h.token_out),
            h.zero_for_one,
            KIND_CODES[h.kind],
            h.fee if h.kind == "v2" else 0,
        )
        for h in plan.hops
    ]


class FlashLoanEngine:
    """Executes plans through a deployed ``ArbExecutor`` owned by ``sender``'s wallet."""

    name = "flash"
    flash_loan = True

    def __init__(self, sender: TransactionSender, executor: str) -> None:
        self.sender = sender
        self.executor = bind(sender, "ArbExecutor", executor)

    def _call(self, plan: ExecutionPlan) -> Any:
        return self.executor.functions.execute(
            to_checksum(plan.start_token), plan.amount_in, encode_hops(plan), plan.min_profit
        )

    def prepare(self, plan: ExecutionPlan) -> PreparedFlash:
        """Simulate at the latest block and build; raises TransactionRevertedError if it would not pay."""
        call = self._call(plan)
        w3 = self.sender.w3
        try:
            block = int(w3.eth.block_number)
            profit = int(call.call({"from": self.sender.address}, block_identifier=block))
        except node_errors() as exc:
            raise translate_web3_error(exc, "simulate flash-loan arbitrage") from exc
        if profit < plan.expected_profit:
            raise TransactionRevertedError(
                f"simulated profit {profit} is below the estimate {plan.expected_profit}: state moved",
                reason="stale estimate",
            )
        tx, estimate = self.sender.build(call)
        tx["gas"] = gas_limit(estimate, plan.hops)
        return PreparedFlash(plan, tx, estimate, profit, block)

    def send(self, prepared: PreparedFlash, log: TxLog | None = None) -> ExecutionReport:
        """Sign, journal (``log``), broadcast and measure a prepared transaction."""
        started = time.perf_counter()
        plan = prepared.plan
        step = TxStep("flash", None, plan.start_token, plan.start_token, plan.amount_in)
        on_signed = None if log is None else (lambda tx: log.signed(tx, step))
        try:
            outcome = self.sender.send_built(prepared.tx, prepared.gas_estimate, "flash-loan arbitrage",
                                             on_signed=on_signed)  # fmt: skip
        except TransactionRevertedError as exc:
            if exc.tx_hash is None:
                raise
            # mined and reverted: gas was paid; measuring it must not lose the report if the node stalls
            try:
                mined = self.sender.outcome_of(exc.tx_hash)
                unmeasured = "" if mined is not None else "; gas unmeasured (no receipt)"
            except DefipmError as read_exc:
                mined, unmeasured = None, f"; gas unmeasured ({read_exc})"
            return ExecutionReport(
                engine=self.name,
                success=False,
                profit=0,
                gas_used=mined.gas_used if mined else 0,
                gas_cost_wei=mined.gas_cost_wei if mined else 0,
                tx_hashes=(exc.tx_hash,),
                block_number=mined.block_number if mined else None,
                simulated_profit=prepared.simulated_profit,
                elapsed_ms=(time.perf_counter() - started) * 1000,
                reason=f"reverted on chain: {exc.reason or exc}{unmeasured}",
            )
        profit = wallet_flows(self.sender.w3, outcome.receipt, self.sender.address).get(plan.start_token.lower(), 0)
        return ExecutionReport(
            engine=self.name,
            success=True,
            profit=profit,
            gas_used=outcome.gas_used,
            gas_cost_wei=outcome.gas_cost_wei,
            tx_hashes=(outcome.tx_hash,),
            block_number=outcome.block_number,
            simulated_profit=prepared.simulated_profit,
            elapsed_ms=(time.perf_counter() - started) * 1000,
        )

    def execute(self, plan: ExecutionPlan, log: TxLog | None = None) -> ExecutionReport:
        return self.send(self.prepare(plan), log)
