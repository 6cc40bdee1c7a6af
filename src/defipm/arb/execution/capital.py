"""The capital-based engine: the cycle as sequential swaps from the wallet through Uniswap's routers.

Each hop is one transaction: ``UniswapV2Router02.swapExactTokensForTokens`` for V2 pairs or
``SwapRouter.exactInputSingle`` for V3 pools, always with ``amountOutMinimum`` = the hop's exact expected output
less ``slippage_bps``. Routers find pools through their factory, so ``prepare`` checks that every pool of the
plan belongs to the router's factory. Before each hop is sent it is simulated with ``eth_call``; a hop that would
return less than its minimum stops the cycle, and the report lists the tokens left in hand (``held``). Missing
allowances are granted on the way (unlimited, once per token and router) and their gas is counted.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from defipm.arb.execution.contracts import erc20
from defipm.arb.execution.plan import ExecutionPlan, HopPlan, gas_limit
from defipm.arb.execution.report import ExecutionReport
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import MAX_UINT256
from defipm.chain.errors import TransactionRevertedError, translate_web3_error
from defipm.chain.transactions import TxOutcome, deadline_in
from defipm.core.errors import DefipmError, OrderRejectedError

if TYPE_CHECKING:
    from defipm.chain.transactions import TransactionSender

__all__ = ["CapitalEngine", "PreparedCapital"]


@dataclass
class _Totals:
    gas_used: int = 0
    gas_cost_wei: int = 0
    tx_hashes: list[str] = field(default_factory=list)

    def add(self, outcome: TxOutcome) -> None:
        self.gas_used += outcome.gas_used
        self.gas_cost_wei += outcome.gas_cost_wei
        self.tx_hashes.append(outcome.tx_hash)


@dataclass(frozen=True, slots=True)
class PreparedCapital:
    """A plan checked against the wallet and the routers, its first hop simulated. ``setup``: approvals sent
    so the first hop could be simulated (their gas counts in the report)."""

    plan: ExecutionPlan
    first_hop_out: int
    block_number: int
    setup: _Totals


class CapitalEngine:
    """Runs plans with the wallet's own tokens through a V2 Router02 and a V3 SwapRouter."""

    name = "capital"
    flash_loan = False

    def __init__(
        self,
        sender: TransactionSender,
        v2_router: str,
        v3_router: str,
        *,
        slippage_bps: int = 0,
        deadline_s: int = 600,
    ) -> None:
        w3 = sender.w3
        self.sender = sender
        self.v2_router = w3.eth.contract(address=to_checksum(v2_router), abi=abi_of("UniswapV2Router02"))
        self.v3_router = w3.eth.contract(address=to_checksum(v3_router), abi=abi_of("SwapRouter"))
        self.slippage_bps = slippage_bps
        self.deadline_s = deadline_s
        self._factory_ok: dict[str, bool] = {}
        self._allowed: set[tuple[str, str]] = set()

    # -- checks --------------------------------------------------------------------------------------------
    def _router_of(self, hop: HopPlan) -> Any:
        return self.v2_router if hop.kind == "v2" else self.v3_router

    def _check_factory(self, hop: HopPlan) -> None:
        if hop.pool in self._factory_ok:
            ok = self._factory_ok[hop.pool]
        else:
            w3 = self.sender.w3
            abi = abi_of("UniswapV2Pair" if hop.kind == "v2" else "UniswapV3Pool")
            pool = w3.eth.contract(address=to_checksum(hop.pool), abi=abi)
            try:
                ok = pool.functions.factory().call() == self._router_of(hop).functions.factory().call()
            except Exception as exc:
                raise translate_web3_error(exc, f"read factory of pool {hop.pool}") from exc
            self._factory_ok[hop.pool] = ok
        if not ok:
            raise OrderRejectedError(f"pool {hop.pool} is not from the {hop.kind} router's factory")

    def _min_out(self, hop: HopPlan) -> int:
        return hop.amount_out * (10_000 - self.slippage_bps) // 10_000

    def _swap_call(self, hop: HopPlan, amount_in: int, deadline: int) -> Any:
        me = self.sender.address
        if hop.kind == "v2":
            path = [to_checksum(hop.token_in), to_checksum(hop.token_out)]
            return self.v2_router.functions.swapExactTokensForTokens(amount_in, self._min_out(hop), path, me, deadline)
        params = (
            to_checksum(hop.token_in), to_checksum(hop.token_out), hop.fee, me, deadline, amount_in, self._min_out(hop), 0
        )  # fmt: skip
        return self.v3_router.functions.exactInputSingle(params)

    def _simulate(self, call: Any, hop: HopPlan) -> int:
        try:
            out = call.call({"from": self.sender.address})
        except Exception as exc:
            raise translate_web3_error(exc, f"simulate swap on {hop.pool}") from exc
        return int(out[-1] if isinstance(out, list | tuple) else out)

    # -- the two steps ---------------------------------------------------------------------------------------
    def prepare(self, plan: ExecutionPlan) -> PreparedCapital:
        """Check balance, allowances' routers and pools, and simulate the first hop (raises if it would fail)."""
        for hop in plan.hops:
            self._check_factory(hop)
        token = erc20(self.sender, plan.start_token)
        try:
            balance = int(token.functions.balanceOf(self.sender.address).call())
            block = int(self.sender.w3.eth.block_number)
        except Exception as exc:
            raise translate_web3_error(exc, "read start-token balance") from exc
        if balance < plan.amount_in:
            raise OrderRejectedError(f"wallet holds {balance} of {plan.start_token}, the plan needs {plan.amount_in}")
        first = plan.hops[0]
        setup = _Totals()
        self._ensure_allowance(first, setup)  # a first-time approval is needed before simulating
        out = self._simulate(
            self._swap_call(first, plan.amount_in, deadline_in(self.sender.w3, self.deadline_s)), first
        )
        if out < self._min_out(first):
            raise TransactionRevertedError(
                f"first hop would return {out} < minimum {self._min_out(first)}: state moved", reason="stale estimate"
            )
        return PreparedCapital(plan, out, block, setup)

    def approve(self, tokens: Sequence[str]) -> None:
        """Grant both routers unlimited allowances for ``tokens`` now (else the first trade of each does)."""
        for token in tokens:
            for kind in ("v2", "v3"):
                hop = HopPlan("", kind, token.lower(), "", True, 0, 0, 0)
                self._ensure_allowance(hop, _Totals())

    def _ensure_allowance(self, hop: HopPlan, totals: _Totals) -> None:
        router = self._router_of(hop)
        key = (hop.token_in, router.address)
        if key in self._allowed:
            return
        token = erc20(self.sender, hop.token_in)
        if int(token.functions.allowance(self.sender.address, router.address).call()) < MAX_UINT256 // 2:
            totals.add(self.sender.send(token.functions.approve(router.address, MAX_UINT256)))
        self._allowed.add(key)

    def send(self, prepared: PreparedCapital) -> ExecutionReport:
        """Run the hops in order; stop at the first that would miss its minimum or fails."""
        started = time.perf_counter()
        plan = prepared.plan
        me = self.sender.address
        start = erc20(self.sender, plan.start_token)
        start_before = int(start.functions.balanceOf(me).call())
        totals = _Totals(prepared.setup.gas_used, prepared.setup.gas_cost_wei, list(prepared.setup.tx_hashes))
        amount = plan.amount_in
        reason = "ok"
        held: dict[str, int] = {}
        deadline = deadline_in(self.sender.w3, self.deadline_s)
        for i, hop in enumerate(plan.hops):
            out_token = erc20(self.sender, hop.token_out)
            try:
                self._ensure_allowance(hop, totals)
                call = self._swap_call(hop, amount, deadline)
                simulated = self._simulate(call, hop)
                if simulated < self._min_out(hop):
                    raise TransactionRevertedError(
                        f"hop {i + 1} would return {simulated} < minimum {self._min_out(hop)}", reason="slippage"
                    )
                before = int(out_token.functions.balanceOf(me).call())
                tx, estimate = self.sender.build(call)
                tx["gas"] = gas_limit(estimate, [hop])
                totals.add(self.sender.send_built(tx, estimate, f"swap hop {i + 1} on {hop.pool}"))
                amount = int(out_token.functions.balanceOf(me).call()) - before
            except DefipmError as exc:
                reason = f"hop {i + 1} ({hop.pool}) failed: {exc}"
                if i > 0:
                    held[hop.token_in] = amount
                break
        start_after = int(start.functions.balanceOf(me).call())
        return ExecutionReport(
            engine=self.name,
            success=reason == "ok",
            profit=start_after - start_before,
            gas_used=totals.gas_used,
            gas_cost_wei=totals.gas_cost_wei,
            tx_hashes=tuple(totals.tx_hashes),
            block_number=int(self.sender.w3.eth.block_number),
            simulated_profit=None,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            reason=reason,
            held=held,
        )

    def execute(self, plan: ExecutionPlan) -> ExecutionReport:
        return self.send(self.prepare(plan))
