"""The capital-based engine: the cycle as sequential swaps from the wallet through Uniswap's routers.

Each hop is one transaction: ``UniswapV2Router02.swapExactTokensForTokens`` for V2 pairs or
``SwapRouter.exactInputSingle`` for V3 pools, always with ``amountOutMinimum`` = the hop's exact expected output
less ``slippage_bps``. Routers find pools through their factory, so ``prepare`` checks that every pool of the
plan belongs to the router's factory. Before each hop is sent it is simulated with ``eth_call``; a hop that would
return less than its minimum stops the cycle. Missing allowances are granted on the way (unlimited, once per token
and router) and their gas is counted; a hop that reverts on chain counts its gas from the receipt.

What each transaction did is read from its receipt's Transfer logs (``defipm.chain.receipts.wallet_flows``): the
profit is the wallet's change of the start token, and a cycle that stops half-way reports the tokens it left in hand
(``held``), which the runner then unwinds (``swap_hops`` runs any route of hops, the unwinding too). Balances and
allowances are read in the pending state. Every transaction is passed to the ``TxLog`` before it is broadcast.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from defipm.arb.execution.contracts import erc20
from defipm.arb.execution.plan import ExecutionPlan, HopPlan, gas_limit
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxLog, TxStep
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import MAX_UINT256
from defipm.chain.errors import TransactionRevertedError, node_errors, translate_web3_error
from defipm.chain.receipts import wallet_flows
from defipm.chain.transactions import SignedTx, TxOutcome, deadline_in
from defipm.core.errors import DefipmError, OrderRejectedError

if TYPE_CHECKING:
    from collections.abc import Callable

    from defipm.chain.transactions import TransactionSender

__all__ = ["CapitalEngine", "HopRun", "PreparedCapital"]


@dataclass
class _Totals:
    gas_used: int = 0
    gas_cost_wei: int = 0
    tx_hashes: list[str] = field(default_factory=list)
    last_block: int | None = None

    def add(self, outcome: TxOutcome) -> None:
        self.gas_used += outcome.gas_used
        self.gas_cost_wei += outcome.gas_cost_wei
        self.tx_hashes.append(outcome.tx_hash)
        self.last_block = max(self.last_block or 0, outcome.block_number)


@dataclass
class HopRun:
    """What running a route of hops did: hops mined (``done``), the last one's output, the wallet's token flows
    and the gas over every transaction (approvals and reverted hops included), and why it stopped ("ok")."""

    done: int = 0
    amount_out: int = 0
    flows: dict[str, int] = field(default_factory=dict)
    totals: _Totals = field(default_factory=_Totals)
    reason: str = "ok"

    def merge(self, flows: dict[str, int]) -> None:
        for token, change in flows.items():
            self.flows[token] = self.flows.get(token, 0) + change


def _on_signed(log: TxLog | None, step: TxStep) -> Callable[[SignedTx], None] | None:
    return None if log is None else lambda tx: log.signed(tx, step)


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
            except node_errors() as exc:
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
        except node_errors() as exc:
            raise translate_web3_error(exc, f"simulate swap on {hop.pool}") from exc
        return int(out[-1] if isinstance(out, list | tuple) else out)

    # -- the two steps ---------------------------------------------------------------------------------------
    def prepare(self, plan: ExecutionPlan, log: TxLog | None = None) -> PreparedCapital:
        """Check balance, allowances' routers and pools, and simulate the first hop (raises if it would fail)."""
        for hop in plan.hops:
            self._check_factory(hop)
        token = erc20(self.sender, plan.start_token)
        try:
            balance = int(token.functions.balanceOf(self.sender.address).call(block_identifier="pending"))
            block = int(self.sender.w3.eth.block_number)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read start-token balance") from exc
        if balance < plan.amount_in:
            raise OrderRejectedError(f"wallet holds {balance} of {plan.start_token}, the plan needs {plan.amount_in}")
        first = plan.hops[0]
        setup = _Totals()
        self._ensure_allowance(first, setup, log)  # a first-time approval is needed before simulating
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
                self._ensure_allowance(hop, _Totals(), None)

    def _ensure_allowance(self, hop: HopPlan, totals: _Totals, log: TxLog | None) -> None:
        router = self._router_of(hop)
        key = (hop.token_in, router.address)
        if key in self._allowed:
            return
        token = erc20(self.sender, hop.token_in)
        try:
            allowance = token.functions.allowance(self.sender.address, router.address).call(block_identifier="pending")
        except node_errors() as exc:
            raise translate_web3_error(exc, f"read allowance of {hop.token_in}") from exc
        if int(allowance) < MAX_UINT256 // 2:
            step = TxStep("approve", token_in=hop.token_in)
            totals.add(self.sender.send(token.functions.approve(router.address, MAX_UINT256),
                                        on_signed=_on_signed(log, step)))  # fmt: skip
        self._allowed.add(key)

    def swap_hops(
        self, hops: Sequence[HopPlan], amount_in: int, log: TxLog | None = None, purpose: str = "hop"
    ) -> HopRun:
        """Swap ``amount_in`` through ``hops`` in order, each hop spending what the previous one returned (read
        from its receipt); stops at the first hop that would miss its minimum, reverts or fails."""
        run = HopRun(amount_out=amount_in)
        try:
            deadline = deadline_in(self.sender.w3, self.deadline_s)
        except node_errors() as exc:
            run.reason = f"not started: {translate_web3_error(exc, 'read the latest block')}"
            return run
        for i, hop in enumerate(hops):
            amount = run.amount_out
            try:
                self._ensure_allowance(hop, run.totals, log)
                call = self._swap_call(hop, amount, deadline)
                simulated = self._simulate(call, hop)
                if simulated < self._min_out(hop):
                    raise TransactionRevertedError(
                        f"hop {i + 1} would return {simulated} < minimum {self._min_out(hop)}", reason="slippage"
                    )
                tx, estimate = self.sender.build(call)
                tx["gas"] = gas_limit(estimate, [hop])
                step = TxStep(purpose, i if purpose == "hop" else None, hop.token_in, hop.token_out, amount)
                outcome = self.sender.send_built(tx, estimate, f"swap hop {i + 1} on {hop.pool}",
                                                 on_signed=_on_signed(log, step))  # fmt: skip
            except DefipmError as exc:
                self._count_reverted(exc, run.totals)
                run.reason = f"hop {i + 1} ({hop.pool}) failed: {exc}"
                return run
            run.totals.add(outcome)
            flows = wallet_flows(self.sender.w3, outcome.receipt, self.sender.address)
            run.merge(flows)
            run.amount_out = flows.get(hop.token_out, 0)
            run.done += 1
        return run

    def _count_reverted(self, exc: DefipmError, totals: _Totals) -> None:
        """Add the gas of a hop that reverted on chain (read from its receipt; nothing if it cannot be read)."""
        if isinstance(exc, TransactionRevertedError) and exc.tx_hash:
            try:
                outcome = self.sender.outcome_of(exc.tx_hash)
            except DefipmError:
                outcome = None
            if outcome is not None:
                totals.add(outcome)

    def send(self, prepared: PreparedCapital, log: TxLog | None = None) -> ExecutionReport:
        """Run the hops in order; stop at the first that would miss its minimum or fails."""
        started = time.perf_counter()
        plan = prepared.plan
        run = self.swap_hops(plan.hops, plan.amount_in, log)
        setup = prepared.setup
        start = plan.start_token
        held = {t: v for t, v in run.flows.items() if t != start and v > 0}
        return ExecutionReport(
            engine=self.name,
            success=run.reason == "ok",
            profit=run.flows.get(start, 0),
            gas_used=setup.gas_used + run.totals.gas_used,
            gas_cost_wei=setup.gas_cost_wei + run.totals.gas_cost_wei,
            tx_hashes=(*setup.tx_hashes, *run.totals.tx_hashes),
            block_number=run.totals.last_block,
            simulated_profit=None,
            elapsed_ms=(time.perf_counter() - started) * 1000,
            reason=run.reason,
            held=held,
        )

    def execute(self, plan: ExecutionPlan, log: TxLog | None = None) -> ExecutionReport:
        return self.send(self.prepare(plan, log), log)
