"""The on-chain arbitrage loop: watch blocks, refresh pools, detect, validate, execute, record.

``ArbRunner.step()`` does one round. First it settles what earlier rounds (or an earlier process) left open in
the execution journal (``defipm.arb.journal``, ``defipm.arb.settlement``): while a transaction is pending or a
half-done capital cycle holds tokens it cannot turn back into the start token, it trades nothing and says why
(``StepReport.blocked``). Then, when a new block has arrived, it reads every watched pool at that block
(``ChainPoolReader``), feeds changed pools to the scanner (only the cycles through them are re-evaluated; the first
round scans everything), and for the best opportunity asks the risk manager, which re-quotes it on the latest block.
An approved opportunity becomes an ``ExecutionPlan`` whose amounts are the exact off-chain quote at that block; it
is journalled before anything is signed, each transaction is journalled before it is broadcast, and after the
engine (flash loan or capital) returns, the execution is settled from the receipts: profit in the start token, gas,
and any token left over unwound (or completed when still profitable). Each opportunity is published as
``ArbitrageOpportunity`` with the decision and its reason in ``metadata``, each settled execution as
``ExecutionResult``, and the outcome is fed back to the risk manager (daily loss, circuit breaker). ``run()`` repeats
until ``max_iterations`` or ``stop()``, keeping the last ``history`` step reports.

Pools that fail to refresh stay in the graph as paused (cycles through them are rejected with the reason) and are
listed in the step report; nothing a pool or the RPC does crashes the loop.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.exc import SQLAlchemyError

from defipm.arb.chain_pools import PoolRefresh, SkippedPool
from defipm.arb.costs import PriceBook
from defipm.arb.events import ArbitrageOpportunity, EventBus, ExecutionResult
from defipm.arb.execution.plan import ExecutionPlan, plan_execution
from defipm.arb.execution.report import ExecutionReport
from defipm.arb.execution.txlog import TxLog
from defipm.arb.graph import PoolGraph
from defipm.arb.journal import ArbJournal
from defipm.arb.metrics import ArbMetrics
from defipm.arb.opportunity import CostModel, Opportunity, Rejection, evaluate_cycle
from defipm.arb.pools import Pool, Token
from defipm.arb.risk import ArbRiskManager, Decision
from defipm.arb.scanner import Scanner
from defipm.arb.settlement import HopSwapper, Resolution, Settlement
from defipm.core.errors import DefipmError

if TYPE_CHECKING:
    from defipm.chain.transactions import TransactionSender

__all__ = ["ArbRunner", "ExecutionEngine", "PoolReader", "StepReport"]

HISTORY = 100
"""Step reports ``run`` keeps by default (the newest)."""


class PoolReader(Protocol):
    """Where the loop reads pools and the gas price (``ChainPoolReader``; ``defipm.testing.arb.ScriptedPoolReader``
    in tests). Errors are ``DefipmError``s."""

    @property
    def tokens(self) -> Mapping[str, Token]: ...

    def block_number(self) -> int: ...

    def refresh(self, block: int | None = None) -> PoolRefresh: ...

    def gas_price(self) -> int: ...


class ExecutionEngine(Protocol):
    """What the loop needs from an engine (``FlashLoanEngine``, ``CapitalEngine``)."""

    name: str
    flash_loan: bool

    @property
    def sender(self) -> TransactionSender | None:
        """The wallet's sender (settlement reads receipts through it); None only for engines that send nothing."""
        ...

    def execute(self, plan: ExecutionPlan, log: TxLog | None = None) -> ExecutionReport: ...


@dataclass
class StepReport:
    """One round of the loop."""

    block: int | None
    new_block: bool = False
    pools: int = 0
    skipped: list[SkippedPool] = field(default_factory=list)
    opportunities: list[Opportunity] = field(default_factory=list)
    decision: Decision | None = None
    execution: ExecutionReport | None = None
    error: str | None = None
    resolved: list[Resolution] = field(default_factory=list)
    """Executions settled (or still open) this round, before any trading."""
    blocked: str | None = None
    """Why nothing was traded this round: a transaction in flight or tokens held (None: free to trade)."""


GAS_RESCAN_DIVISOR = 10
"""A full scan when the gas price moved by more than 1/10 of the last full scan's: cycles a dearer gas price had
dropped are looked at again (between full scans only the cycles through changed pools are)."""


class ArbRunner:
    """Detect-validate-execute loop over the pools of ``reader``, trading with ``engine``.

    native: the native token's ERC-20 (WETH) address, to price gas. starts: tokens to count profit in.
    max_len: longest cycle. costs: cost model (its ``flash_loan`` should match the engine's).
    gas_price_wei: fixed gas price for costing, or None to ask the node every round (the node's price is what the
        risk manager's gas ceiling is checked against either way).
    journal: the execution journal (default: an in-memory one, lost with the process). unwinder: swaps tokens a
    half-done capital cycle left back into its start token (the capital engine; default: none, they stay held).
    unwind_slippage_bps: allowance below the quote on each hop of such a route back.
    """

    def __init__(
        self,
        reader: PoolReader,
        engine: ExecutionEngine,
        *,
        native: str,
        starts: tuple[str, ...] = (),
        max_len: int = 4,
        costs: CostModel | None = None,
        risk: ArbRiskManager | None = None,
        bus: EventBus | None = None,
        metrics: ArbMetrics | None = None,
        max_amount: int | None = None,
        gas_price_wei: int | None = None,
        journal: ArbJournal | None = None,
        unwinder: HopSwapper | None = None,
        unwind_slippage_bps: int = 50,
    ) -> None:
        self.reader = reader
        self.engine = engine
        if journal is None:
            from defipm.store import Store

            journal = ArbJournal(Store("sqlite://"))
        self.journal = journal
        self.settlement = Settlement(journal, engine.sender, pools=self._latest_pools, prices=lambda: self.prices,
                                     unwinder=unwinder, slippage_bps=unwind_slippage_bps)  # fmt: skip
        self._settled = False
        """No execution of the journal is open (checked on the first round, then after each execution)."""
        self._gas_now: int | None = None
        self.native = native.lower()
        self.starts = tuple(s.lower() for s in starts) or (self.native,)
        self.max_len = max_len
        self.costs = costs or CostModel.for_engine(engine.flash_loan)
        self.bus = bus or EventBus()
        self.risk = risk or ArbRiskManager(bus=self.bus)
        if self.risk.bus is None:
            self.risk.bus = self.bus
        self.metrics = metrics
        if metrics is not None:
            metrics.attach(self.bus)
        self.max_amount = max_amount
        self.gas_price_wei = gas_price_wei
        self.scanner: Scanner | None = None
        self.graph: PoolGraph | None = None
        self.prices: PriceBook | None = None
        self.last_block: int | None = None
        self._stop = threading.Event()
        self._full_scan_due = True
        """Set when the scanner is rebuilt (e.g. by a re-quote): the next round scans every cycle."""
        self._scan_gas_price: int | None = None
        """Gas price of the last full scan: cycles dropped as too costly are looked at again when it moves."""

    # -- state -----------------------------------------------------------------------------------------------
    def _apply(self, refresh: PoolRefresh) -> list[Pool]:
        """Bring graph and scanner to ``refresh``; returns the pools whose state changed (all when rebuilt)."""
        fresh = {p.address: p for p in refresh.pools}
        if self.graph is None or any(a not in self.graph.pool_index for a in fresh):
            known = [] if self.graph is None else self.graph.pools
            kept = {p.address: p for p in known}
            kept.update(fresh)
            for s in refresh.skipped:
                if s.address in kept:
                    kept[s.address] = replace(kept[s.address], paused=True)  # type: ignore[type-var]
            self._rebuild(list(kept.values()))
            return list(kept.values())
        changed: list[Pool] = []
        for s in refresh.skipped:
            i = self.graph.pool_index.get(s.address)
            if i is not None and not getattr(self.graph.pools[i], "paused", False):
                changed.append(replace(self.graph.pools[i], paused=True))  # type: ignore[type-var]
        for p in fresh.values():
            if p != self.graph.pools[self.graph.pool_index[p.address]]:
                changed.append(p)
        return changed

    def _rebuild(self, pools: list[Pool]) -> None:
        self.graph = PoolGraph(pools, self.reader.tokens)
        self.prices = PriceBook.from_graph(self.graph, self.native)
        self.scanner = Scanner(
            self.graph,
            self.max_len,
            costs=self.costs,
            prices=self.prices,
            preferred_starts=self.starts,
            max_amount=self.max_amount,
        )
        self._full_scan_due = True

    def _value_native(self, opportunity: Opportunity) -> int | None:
        """The trade's input in native wei at the latest prices (after any re-quote), None when unpriced."""
        if self.prices is None:
            return None
        return self.prices.to_native(opportunity.start_token, opportunity.amount_in)

    def _node_gas_price(self) -> int | None:
        """The node's gas price now (checked against the risk manager's ceiling), None when it cannot tell."""
        try:
            return self.reader.gas_price()
        except DefipmError:
            return None

    def _latest_pools(self) -> Mapping[str, Pool]:
        """Every watched pool at the latest block, by address (refreshes graph and prices)."""
        refresh = self.reader.refresh()
        changed = self._apply(refresh)
        if self.scanner is not None:
            for pool in changed:
                self.scanner.update_pool(pool)
        assert self.graph is not None
        return {p.address: p for p in self.graph.pools}

    def requote(self, opportunity: Opportunity) -> Opportunity | Rejection:
        """The same cycle sized and costed again on the latest block's state (the estimate executed), at most the
        risk limit's size for its start token (``max_trade_per_token``): a cycle whose best size is above the limit
        trades the limit, if that still pays, instead of being refused round after round."""
        assert self.scanner is not None and self.graph is not None
        try:
            refresh = self.reader.refresh()
        except DefipmError as exc:
            return Rejection(opportunity.edges, "stale", f"cannot re-read pools: {exc}")
        graph = self.graph
        changed = self._apply(refresh)
        if self.graph is not graph:  # new pools appeared: edge ids were renumbered, detect again next round
            return Rejection(opportunity.edges, "stale", "the pool set changed since detection")
        for pool in changed:
            self.scanner.update_pool(pool)
        self.last_block = refresh.block
        caps = [self.max_amount, self.risk.config.max_trade_per_token.get(opportunity.start_token.lower())]
        limit = min((c for c in caps if c is not None), default=None)
        return evaluate_cycle(
            self.graph,
            opportunity.edges,
            self.scanner.costs,
            self.prices,
            limit,
            log_rate=opportunity.log_rate,
        )

    # -- one round -------------------------------------------------------------------------------------------
    def step(self) -> StepReport:
        """One round: settle what is open; then, on a new block, refresh, detect, validate and execute the best
        opportunity."""
        try:
            block = self.reader.block_number()
        except DefipmError as exc:
            return StepReport(None, error=str(exc))
        report = StepReport(block)
        if not self._settled and not self._settle_open(report):
            return report
        if block == self.last_block and self.scanner is not None:
            return report
        report.new_block = True
        started = time.perf_counter()
        try:
            refresh = self.reader.refresh(block)
        except DefipmError as exc:
            report.error = str(exc)
            return report
        changed = self._apply(refresh)
        assert self.scanner is not None
        self._gas_now = self._node_gas_price()
        gas_price = self.gas_price_wei if self.gas_price_wei is not None else self._gas_now or self.costs.gas_price_wei
        self.scanner.costs = replace(self.scanner.costs, gas_price_wei=gas_price)
        last = self._scan_gas_price
        gas_moved = last is None or abs(gas_price - last) * GAS_RESCAN_DIVISOR > last
        if self._full_scan_due or gas_moved or len(changed) == self.graph.n_pools:  # type: ignore[union-attr]
            self.scanner.scan()
            self._full_scan_due = False
            self._scan_gas_price = gas_price
            if self.metrics is not None:
                self.metrics.observe_scan(time.perf_counter() - started)
        else:
            for pool in changed:
                t = time.perf_counter()
                self.scanner.update_pool(pool)
                if self.metrics is not None:
                    self.metrics.observe_update(time.perf_counter() - t)
        self.last_block = block
        report.pools = len(refresh.pools)
        report.skipped = refresh.skipped
        report.opportunities = self.scanner.best(5)
        if report.opportunities:
            self._trade(report.opportunities[0], report)
        return report

    def _settle_open(self, report: StepReport) -> bool:
        """Settle every open execution of the journal; False (and ``report.blocked``) while any stays open."""
        try:
            executions = self.journal.open_executions()
            blocked = []
            for execution in executions:
                resolution = self.settlement.resolve(execution)
                report.resolved.append(resolution)
                if resolution.final:
                    self._account(resolution)
                else:
                    blocked.append(resolution.reason)
        except Exception as exc:  # whatever it is, trading on top of an unsettled execution could double it
            blocked = [f"cannot settle the executions in flight: {_describe(exc)}"]
        if blocked:
            report.blocked = "; ".join(blocked)
            return False
        self._settled = True
        return True

    def _trade(self, opportunity: Opportunity, report: StepReport) -> None:
        opportunity_id = uuid.uuid4().hex
        decision = self.risk.check(
            opportunity, self.requote, value_native=self._value_native, gas_price_wei=self._gas_now
        )
        report.decision = decision
        chosen = decision.opportunity or opportunity
        self._publish_opportunity(opportunity_id, opportunity, chosen, decision)
        if not decision.approved or decision.opportunity is None:
            return
        assert self.graph is not None
        plan = plan_execution(self.graph, decision.opportunity, opportunity_id, min_profit=self._min_profit(chosen))
        try:
            self.journal.begin(plan, self.engine.name)
        except (DefipmError, SQLAlchemyError) as exc:
            report.error = f"not executed: the journal could not record it ({exc})"
            return
        self._settled = False
        engine_report = self._execute(plan)
        try:
            resolution = self.settlement.resolve(self.journal.execution(opportunity_id), engine_report)
        except Exception as exc:  # settled again next round, before anything else is traded
            report.execution = engine_report
            report.blocked = f"execution {opportunity_id} not settled yet: {_describe(exc)}"
            return
        report.resolved.append(resolution)
        report.execution = resolution.report or engine_report
        if resolution.final:
            self._account(resolution)
            self._settled = True
        else:
            report.blocked = resolution.reason

    def _execute(self, plan: ExecutionPlan) -> ExecutionReport:
        """Run the engine; an error becomes a failed report (the settlement then reads what reached the chain)."""
        log = self.journal.tx_log(plan.opportunity_id)
        try:
            return self.engine.execute(plan, log)
        except DefipmError as exc:
            return ExecutionReport(self.engine.name, False, 0, 0, 0, reason=f"not sent: {exc}")
        except Exception as exc:  # e.g. a node timeout mid-execution: count it (breaker, records), keep running
            reason = f"engine error, a transaction may have been sent: {exc!r}"
            return ExecutionReport(self.engine.name, False, 0, 0, 0, reason=reason)

    def _account(self, resolution: Resolution) -> None:
        """Feed a settled execution to the risk manager and publish it."""
        execution = resolution.report
        assert execution is not None
        profit_native = resolution.profit_native
        self.risk.record_execution(
            execution.success, profit_native if profit_native is not None else -execution.gas_cost_wei
        )
        self.bus.publish(
            ExecutionResult(
                at=datetime.now(UTC),
                opportunity_id=resolution.execution_id,
                engine=execution.engine,
                success=execution.success,
                tx_hash=execution.tx_hash,
                actual_profit=execution.profit,
                gas_used=execution.gas_used,
                gas_cost_usd=execution.gas_cost_wei / 10**18 * self.costs.native_price_usd,
                execution_time_ms=execution.elapsed_ms,
                reason=execution.reason,
                actual_profit_native=profit_native,
                gas_cost_wei=execution.gas_cost_wei,
            )
        )

    def _min_profit(self, opportunity: Opportunity) -> int:
        """The executor reverts below this: the trade must at least pay its gas (and at least 1 unit)."""
        return max(1, opportunity.gas_cost or 0)

    def _publish_opportunity(
        self, opportunity_id: str, found: Opportunity, chosen: Opportunity, decision: Decision
    ) -> None:
        net = chosen.net_profit if chosen.net_profit is not None else chosen.gross_profit
        confidence = 0.0
        if decision.opportunity is not None and found.gross_profit > 0:
            confidence = max(0.0, min(1.0, decision.opportunity.gross_profit / found.gross_profit))
        self.bus.publish(
            ArbitrageOpportunity(
                at=found.detected_at,
                opportunity_id=opportunity_id,
                strategy_type=found.strategy_type,
                tokens=chosen.tokens,
                venues=chosen.pools,
                amount_in=chosen.amount_in,
                estimated_profit=net,
                net_profit_native=chosen.net_profit_native,
                confidence_score=confidence,
                metadata={
                    "block": self.last_block,
                    "engine": self.engine.name,
                    "kinds": list(chosen.kinds),
                    "gross_profit": str(chosen.gross_profit),
                    "premium": str(chosen.premium),
                    "gas_units": chosen.gas_units,
                    "approved": decision.approved,
                    "decision": decision.reason,
                },
            )
        )

    # -- the loop --------------------------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask ``run`` to return after the current round (thread-safe; also what Ctrl-C does)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking early when ``stop()`` is called."""
        self._stop.wait(seconds)

    def run(
        self,
        max_iterations: int | None = None,
        poll_interval_s: float = 1.0,
        *,
        history: int = HISTORY,
        on_step: Callable[[StepReport], None] | None = None,
    ) -> list[StepReport]:
        """Repeat ``step`` every ``poll_interval_s`` until ``max_iterations`` rounds or ``stop()``; ``on_step`` sees
        every report as it comes. Returns the last ``history`` reports (memory stays bounded on long runs)."""
        reports: deque[StepReport] = deque(maxlen=history)
        rounds = 0
        while not self._stop.is_set():
            report = self.step()
            rounds += 1
            reports.append(report)
            if on_step is not None:
                on_step(report)
            if max_iterations is not None and rounds >= max_iterations:
                break
            self._stop.wait(poll_interval_s)
        return list(reports)


def _describe(exc: Exception) -> str:
    """An error for a report: defipm's own message, or the type and message of anything else (a fault to fix)."""
    return str(exc) if isinstance(exc, DefipmError | SQLAlchemyError) else f"{type(exc).__name__}: {exc}"
