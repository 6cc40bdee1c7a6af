"""The flash-loan engine: one transaction through ``ArbExecutor`` borrowing the start token from an Aave V3 pool.

``prepare(plan)`` encodes the hops, simulates ``execute`` with ``eth_call`` (the simulated profit must equal the
plan's exact estimate, else the state moved and the plan is refused) and builds the transaction with its gas limit
fixed. ``send(prepared)`` broadcasts it; when the state has moved since (the mispricing vanished), the executor
reverts on chain and the report shows the gas paid and a profit of 0. The realised profit is read from the
wallet's start-token balance around the transaction's block.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.arb.execution.contracts import bind, erc20
from defipm.arb.execution.plan import ExecutionPlan, gas_limit
from defipm.arb.execution.report import ExecutionReport
from defipm.chain.artifacts import to_checksum
from defipm.chain.errors import TransactionRevertedError, translate_web3_error

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
        except Exception as exc:
            raise translate_web3_error(exc, "simulate flash-loan arbitrage") from exc
        if profit < plan.expected_profit:
            raise TransactionRevertedError(
                f"simulated profit {profit} is below the estimate {plan.expected_profit}: state moved",
                reason="stale estimate",
            )
        tx, estimate = self.sender.build(call)
        tx["gas"] = gas_limit(estimate, plan.hops)
        return PreparedFlash(plan, tx, estimate, profit, block)

    def send(self, prepared: PreparedFlash) -> ExecutionReport:
        """Broadcast a prepared transaction and measure what it did."""
        started = time.perf_counter()
        plan = prepared.plan
        token = erc20(self.sender, plan.start_token)
        me = self.sender.address
        try:
            outcome = self.sender.send_built(prepared.tx, prepared.gas_estimate, "flash-loan arbitrage")
        except TransactionRevertedError as exc:
            if exc.tx_hash is None:
                raise
            # mined and reverted: gas was paid; measuring it must not lose the report if the node stalls
            try:
                receipt = self.sender.w3.eth.get_transaction_receipt(exc.tx_hash)  # type: ignore[arg-type]
                gas_used = int(receipt["gasUsed"])
                block = int(receipt["blockNumber"])
                gas_cost = gas_used * int(receipt.get("effectiveGasPrice", 0) or 0)
                profit = _balance_change(token, me, block)
                unmeasured = ""
            except Exception as read_exc:
                gas_used = gas_cost = profit = 0
                block = None
                unmeasured = f"; gas and balance unmeasured ({translate_web3_error(read_exc, 'read the receipt')})"
            return ExecutionReport(
                engine=self.name,
                success=False,
                profit=profit,
                gas_used=gas_used,
                gas_cost_wei=gas_cost,
                tx_hashes=(exc.tx_hash,),
                block_number=block,
                simulated_profit=prepared.simulated_profit,
                elapsed_ms=(time.perf_counter() - started) * 1000,
                reason=f"reverted on chain: {exc.reason or exc}{unmeasured}",
            )
        reason = "ok"
        try:
            profit = _balance_change(token, me, outcome.block_number)
        except Exception as read_exc:  # mined and succeeded: the contract guaranteed at least the minimum
            profit = prepared.simulated_profit
            reason = (
                f"profit not measured ({translate_web3_error(read_exc, 'read balances')}): the simulated one is "
                "reported"
            )
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
            reason=reason,
        )

    def execute(self, plan: ExecutionPlan) -> ExecutionReport:
        return self.send(self.prepare(plan))


def _balance_change(token: Any, owner: str, block: int) -> int:
    """``owner``'s balance of ``token`` after ``block`` minus before it."""
    after = int(token.functions.balanceOf(owner).call(block_identifier=block))
    before = int(token.functions.balanceOf(owner).call(block_identifier=block - 1))
    return after - before
