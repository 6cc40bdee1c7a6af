"""``PortfolioManager``: the one loop that runs a portfolio, whether live, on paper or in a backtest.

``manage_portfolio(timestamp)``: universe from the venue -> weights from the oracle -> validate -> risk checks ->
plan -> execute through the journal -> record. It never knows whether it is replaying history: the backtester
hands it a paper venue fed with historical bars and a historical timestamp.

On its first cycle it reconciles the order journal with the venue: intents the venue executed are recorded;
intents the venue never saw are sent once if they are recent and belong to the latest plan (the rebalance a crash
interrupted), or abandoned; intents whose outcome the venue cannot tell yet (a transaction still pending) are kept
open, never resent, and while any is open nothing at all is sent, resends included, until a later cycle's
reconciliation resolves them.

The contract for failures (pinned by tests/manager): an error of the venue (any ``VenueError``: an outage, a node
that is gone, a stale or bad price, an account that cannot be read) never escapes ``manage_portfolio``; the cycle
is recorded as FAILED with the error, and if orders may have been sent, the next cycle reconciles the journal
before it trades. Invalid weights (``InvalidWeightsError``) and oracle failures are recorded, then raised.

The audit trail: the cycle row is written before the cycle's first order is sent (status "running") and
completed afterwards; a row left running by a stopped process is closed at the restart.
"""

from __future__ import annotations

import json
import logging
import math
import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from defipm.core.account import AccountSnapshot
from defipm.core.amounts import format_amount, to_decimal
from defipm.core.errors import DefipmError, InvalidWeightsError, TradingHaltedError, VenueError
from defipm.core.journal import Intent, MemoryJournal, OrderJournal, Reconciliation
from defipm.core.orders import OrderResult, OrderStatus, OrderType, Plan, SkipReason
from defipm.core.planner import PlannerConfig
from defipm.core.reports import CycleReport, CycleStatus
from defipm.core.risk import RiskLimits, apply_risk_limits, halted_book_target
from defipm.core.triggers import LastRebalance, RebalancePolicy
from defipm.core.validation import WeightConstraints, check_weights, weights_from
from defipm.core.weights import Weights
from defipm.journal import SqlJournal
from defipm.oracles.base import Oracle
from defipm.store.database import Store
from defipm.store.lock import RunLock
from defipm.venues.base import CashTransfers, Venue

logger = logging.getLogger(__name__)

KILL_SWITCH = "kill_switch"
PEAK_EQUITY = "peak_equity"
HALTED_BY = "halted_by"
"""Who engaged the kill switch: "breaker" (the drawdown circuit breaker) or absent (the operator)."""
RUNNING = "running"
"""Status of a cycle row written before its first order is sent, until the cycle is recorded in full."""
ROUTINE_SKIPS = frozenset({SkipReason.NO_TRADE_BAND, SkipReason.STEP_ROUNDING})
"""Skipped trades too common to note in a cycle's report (they are in its rebalance report)."""
LAST_REBALANCE = "last_rebalance"
"""The setting that keeps what the last rebalance left (``LastRebalance`` as JSON), for the rebalance policy."""
HALTED_BAND = 0.001
"""No-trade band (share of equity) of the risk-reducing orders sent while halted: a cap that acts by less is left."""
RISK_LIMITS = "risk_limits"
"""Setting holding the limits the run's process trades with (JSON of ``RiskLimits``), for readers such as the
service; written when a process that holds the run's lock builds its manager."""


RELEASE_HINT = "resume with: defipm kill-switch off -c CONFIG"
"""The fix every halt names: releasing the persisted kill switch (or a tripped drawdown breaker)."""


def set_kill_switch(store: Store, run: str, reason: str | None, *, breaker: bool = False) -> None:
    """Engage (with a reason) or release (None) the persisted kill switch of ``run`` without building a venue.
    Engaged by the operator (``breaker=False``) it freezes the book: nothing is sent. Releasing also releases a
    tripped drawdown breaker and restarts drawdown measurement from the next cycle's equity. An empty reason is
    refused (``ValueError``): it would read back as "off"."""
    if reason is not None:
        reason = _halt_reason(reason)
    store.set_setting(run, KILL_SWITCH, reason)
    store.set_setting(run, HALTED_BY, "breaker" if breaker and reason is not None else None)
    if reason is None:
        store.set_setting(run, PEAK_EQUITY, None)


def _order_line(result: OrderResult) -> str:
    """``BTC buy 0.5``: an order as messages name it (the quantity a plain decimal)."""
    order = result.order
    return f"{order.symbol} {order.side.value} {format_amount(order.quantity)}"


def _log_cycle(report: CycleReport, raised: bool, repeated: bool) -> None:
    """The cycle's line in the log: status, equity and orders, at WARNING when it did not trade, or INFO: a cycle that
    traded or waited (nothing due is the rebalance policy's normal answer), one whose error is ``raised`` to the
    caller (the caller reports that error, once: a command prints one ``error:`` line, not a log line before it),
    and one ``repeated`` with the same status and error as the run's previous cycle (a halted backtest warned once
    per bar)."""
    quiet = raised or repeated or report.status in (CycleStatus.TRADED, CycleStatus.WAITING)
    level = logging.INFO if quiet else logging.WARNING
    if not logger.isEnabledFor(level):
        return
    orders = len(report.rebalance.results) if report.rebalance is not None else 0
    logger.log(
        level,
        "cycle %s recorded: status %s, equity %s, %d orders%s",
        report.cycle_id,
        report.status.value,
        format_amount(report.equity) if report.equity is not None else "unknown",
        orders,
        f", error: {report.error}" if report.error else "",
    )


def _halt_reason(reason: str) -> str:
    """``reason`` for a kill switch, refused when empty: a switch stored with no reason would read as off."""
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"kill switch: give a reason (it is shown while trading is stopped), got {reason!r}")
    return reason


class PortfolioManager:
    """Runs ``oracle`` on ``venue``.

    store: where cycles, the journal and equity are recorded (None = in memory only, e.g. fast backtests).
    run: name of this portfolio in the store (several portfolios may share one database).
    constraints: weight constraints to enforce (default: the oracle's own).
    risk: operator risk limits (and ``on_breach``, what the drawdown breaker does with the book).
    planner: how weights become orders (None = the venue's default).
    resume_window: how old an unsent intent may be and still be sent after a restart.
    lock: this process's hold on the run (``RunLock``), renewed before every cycle and manual trade: a process whose
    lock was taken over raises ``PortfolioLockedError`` there and sends nothing.
    rebalance: when a cycle trades (``RebalancePolicy``: a schedule, a new signal publication, drift); None trades
    every cycle. A cycle with nothing due is WAITING: the oracle is not asked, nothing is sent.
    """

    def __init__(
        self,
        oracle: Oracle,
        venue: Venue,
        *,
        store: Store | None = None,
        run: str = "default",
        constraints: WeightConstraints | None = None,
        risk: RiskLimits | None = None,
        planner: PlannerConfig | None = None,
        resume_window: timedelta = timedelta(minutes=15),
        lock: RunLock | None = None,
        rebalance: RebalancePolicy | None = None,
    ) -> None:
        self.oracle = oracle
        self.rebalance = rebalance
        self.venue = venue
        self.store = store
        self.run = run
        self.constraints = constraints
        self.risk = risk or RiskLimits()
        self.planner = planner
        self.resume_window = resume_window
        self.lock = lock
        if store is not None and lock is not None:
            store.set_setting(run, RISK_LIMITS, json.dumps(asdict(self.risk)))
        self.journal: OrderJournal = SqlJournal(store, run) if store is not None else MemoryJournal()
        self._reconciled = False
        """The journal has been reconciled with the venue since this manager started."""
        self._peak: Decimal | None = None
        self._halt: str | None = None
        self._halt_by_breaker = False
        self._unresolved = False
        """Some order's outcome is unknown (a transport error): reconcile before the next cycle trades."""
        self._opened: tuple[str, int, int] | None = None
        """(cycle id, targets, breaches) of the row written before the cycle's first order, until completed."""
        self.last_reconciliation: Reconciliation | None = None
        self._last: LastRebalance | None = None
        self._publication: datetime | None = None
        self._outcome: tuple[CycleStatus, str | None] | None = None
        """(status, error) of this manager's previous cycle: the same again is logged at INFO, not WARNING."""

    # -- kill switch and breaker ----------------------------------------------------------------------------
    def halt_reason(self) -> str | None:
        if self.store is None:
            return self._halt
        return self.store.get_setting(self.run, KILL_SWITCH)

    def breaker_tripped(self) -> bool:
        """Whether the halt is the drawdown breaker's (its ``on_breach`` policy applies) and not the operator's."""
        if self.store is None:
            return self._halt is not None and self._halt_by_breaker
        return self.store.get_setting(self.run, HALTED_BY) == "breaker"

    def engage_kill_switch(self, reason: str) -> None:
        """Stop all trading for this run until ``release_kill_switch`` (persisted). Nothing is sent meanwhile.
        ``reason`` is shown while trading is stopped; an empty one is refused (``ValueError``)."""
        self._set_halt(_halt_reason(reason), breaker=False)

    def release_kill_switch(self) -> None:
        """Release the kill switch, or a tripped drawdown breaker; drawdown is measured afresh from here."""
        self._set_halt(None, breaker=False)
        self._peak = None

    def _halted(self, reason: str, *also: str) -> str:
        """``trading halted: REASON (...)``, naming the fix: with a store the halt persists until the operator's
        ``defipm kill-switch off``; without one (a backtest) it lasts to the end of the run."""
        fix = RELEASE_HINT if self.store is not None else "a run without a store stays halted to its end"
        return f"trading halted: {reason} ({'; '.join((*also, fix))})"

    def _set_halt(self, reason: str | None, *, breaker: bool) -> None:
        if reason is None:
            logger.info("run %s: kill switch released", self.run)
        else:
            logger.warning("run %s: trading halted (%s): %s", self.run, "breaker" if breaker else "operator", reason)
        if self.store is None:
            self._halt, self._halt_by_breaker = reason, breaker and reason is not None
        else:
            set_kill_switch(self.store, self.run, reason, breaker=breaker)

    def _stored_peak(self) -> Decimal | None:
        """The drawdown breaker's equity peak, read from the store when there is one (another process, such as
        ``defipm kill-switch off``, may have reset it)."""
        if self.store is not None:
            stored = self.store.get_setting(self.run, PEAK_EQUITY)
            self._peak = Decimal(stored) if stored else None
        return self._peak

    def _set_peak(self, peak: Decimal) -> None:
        self._peak = peak
        if self.store is not None:
            self.store.set_setting(self.run, PEAK_EQUITY, str(peak))

    def _update_peak(self, equity: Decimal) -> Decimal:
        peak = self._stored_peak()
        if peak is None or equity > peak:
            self._set_peak(equity)
            return equity
        return peak

    # -- flows ----------------------------------------------------------------------------------------------
    def record_flow(
        self,
        amount: Decimal,
        kind: str,
        timestamp: datetime | None = None,
        note: str | None = None,
        *,
        equity_before: Decimal | None = None,
    ) -> None:
        """Record a deposit (+) or withdrawal (-) so performance stays time-weighted and drawdown ignores it.

        With ``equity_before`` (the equity just before the flow) the breaker's peak is scaled by the flow's
        ratio, which leaves the measured drawdown exactly where it was; without it the peak moves by ``amount``."""
        ts = timestamp or datetime.now(UTC)
        if self.store is not None:
            self.store.record_flow(self.run, ts, amount, kind, note)
        peak = self._stored_peak()
        if peak is not None:
            if equity_before is not None and equity_before > 0 and equity_before + amount > 0:
                self._set_peak(peak * (equity_before + amount) / equity_before)
            else:
                self._set_peak(max(peak + amount, Decimal(0)))

    def deposit(self, amount: Decimal | float | str, timestamp: datetime | None = None) -> None:
        """Deposit quote currency on a venue that takes deposits (``Venue.cash_transfers``) and record the flow."""
        transfers = self._transfers("deposits")
        value = to_decimal(amount)
        before = self.venue.get_equity()
        transfers.deposit(value)
        self.record_flow(value, "deposit", timestamp, equity_before=before)

    def withdraw(self, amount: Decimal | float | str, timestamp: datetime | None = None) -> None:
        """Withdraw quote currency from a venue that takes withdrawals and record the flow."""
        transfers = self._transfers("withdrawals")
        value = to_decimal(amount)
        before = self.venue.get_equity()
        transfers.withdraw(value)
        self.record_flow(-value, "withdrawal", timestamp, equity_before=before)

    def _transfers(self, what: str) -> CashTransfers:
        transfers = self.venue.cash_transfers()
        if transfers is None:
            raise DefipmError(f"{self.venue.name} does not take {what} through defipm")
        return transfers

    # -- manual trades --------------------------------------------------------------------------------------
    def execute_trade(
        self,
        symbol: str,
        quantity: Decimal | float | int | str,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        limit_price: Decimal | float | str | None = None,
        reduce_only: bool = False,
    ) -> OrderResult:
        """One manual order (signed quantity), journalled like a rebalance. Refused while trading is halted,
        except, under a tripped drawdown breaker whose ``on_breach`` is not "freeze", an order that only reduces
        a position (sent reduce-only)."""
        if self.lock is not None:
            self.lock.renew()
        halted = self.halt_reason()
        if not self._reconciled or self._unresolved:
            self._reconcile(None, startup=not self._reconciled, halted=halted is not None)
        if self._unresolved:
            raise TradingHaltedError(
                "an earlier order's outcome is still unknown: not trading until the venue confirms it"
            )
        may_reduce = halted is not None and self.breaker_tripped() and self.risk.on_breach != "freeze"
        if halted and not may_reduce:
            raise TradingHaltedError(self._halted(halted))
        self.venue.refresh()
        if halted:
            if not self._reduces(symbol, quantity):
                raise TradingHaltedError(self._halted(halted, "only orders that reduce a position are taken"))
            reduce_only = True
        self._unresolved = True  # until the venue answers: an exception while sending is reconciled first
        result = self.venue.execute_trade(
            symbol, quantity, order_type, limit_price=limit_price, reduce_only=reduce_only, journal=self.journal
        )
        self._unresolved = result.status is OrderStatus.UNKNOWN  # if so, reconcile before trading on top of it
        return result

    def _reduces(self, symbol: str, quantity: Decimal | float | int | str) -> bool:
        """Whether a signed ``quantity`` of ``symbol`` only reduces the position held (never past zero)."""
        qty = to_decimal(quantity, f"{symbol}: quantity")
        held = self.venue.get_positions().get(symbol, Decimal(0))
        return qty.is_finite() and bool(held) and (held > 0) != (qty > 0) and abs(qty) <= abs(held)

    # -- restart --------------------------------------------------------------------------------------------
    def reconcile(self, *, resume: bool = True) -> Reconciliation:
        """Match the journal with the venue: record what the venue executed, keep orders of unknown outcome open.

        ``resume`` (after a restart): intents the venue never saw are sent once if they are recent and of the
        latest plan (the rebalance a crash interrupted), else abandoned; while any order's outcome is unknown,
        nothing is sent. Without ``resume`` (during a run, after a transport error) they are abandoned: the cycle
        that follows plans afresh from the venue's positions."""
        return self._reconcile(None, startup=resume, halted=not resume)

    def _reconcile(self, report: CycleReport | None, *, startup: bool, halted: bool) -> Reconciliation:
        rec = self.journal.reconcile(self.venue)
        if startup:
            self._close_interrupted_cycles(report)
        at = report.timestamp if report is not None else datetime.now(UTC)
        resend = self._resumable(rec, resume=startup and not halted, at=at)
        still_unknown = bool(rec.unknown)
        if resend:
            if report is not None:
                self.journal.adopt(
                    [i.order.client_order_id for i in resend if i.order.client_order_id], report.cycle_id
                )
                self._record(report, completed=False)  # the row exists before the first order is sent
            self.venue.refresh()
            self._unresolved = True  # until the venue answers
            results, _ = self.venue.send_intents([i.order for i in resend], self.journal)
            still_unknown = still_unknown or any(r.status is OrderStatus.UNKNOWN for r in results)
            if report is not None:
                report.resent = tuple(results)
        self._reconciled = True
        self._unresolved = still_unknown  # orders of unknown outcome stay open: ask again next cycle
        self.last_reconciliation = rec
        if not rec.clean:
            logger.warning(
                "run %s: reconciliation: %d confirmed, %d never sent (%d resent), %d still unknown",
                self.run,
                len(rec.confirmed),
                len(rec.unsent),
                len(resend),
                len(rec.unknown),
            )
        return rec

    def _resumable(self, rec: Reconciliation, *, resume: bool, at: datetime) -> list[Intent]:
        """The never-sent intents to send now (of the latest plan, recent, and planned for the target the oracle
        still gives at ``at``); the others are cancelled in the journal with the reason."""
        newest = self.journal.newest_order() if resume and rec.unsent else None
        now = datetime.now(UTC)
        resend = []
        changes: dict[str, str | None] = {}
        for intent in rec.unsent:
            cloid = intent.order.client_order_id
            assert cloid is not None
            latest = newest is not None and (
                intent.cycle_id == newest[0] if intent.cycle_id is not None else cloid == newest[1]
            )
            if not resume:
                reason = "not received by the venue; replaced by the next plan"
            elif rec.unknown:
                reason = "not sent after restart: an order of unknown outcome is open; the next plan replaces it"
            elif not latest:
                reason = "abandoned after restart: a later plan superseded it"
            elif now - intent.created_at > self.resume_window:
                reason = "abandoned after restart: older than resume_window"
            elif (changed := self._target_change(intent.cycle_id, at, changes)) is not None:
                reason = (
                    f"abandoned after restart: the target changed since the interrupted plan ({changed}); this "
                    "cycle plans afresh"
                )
            else:
                resend.append(intent)
                continue
            self.journal.cancel(cloid, reason)
        return resend

    def _target_change(self, cycle_id: str | None, at: datetime, seen: dict[str, str | None]) -> str | None:
        """How the oracle's target now differs from the one the interrupted cycle ``cycle_id`` planned for (its
        stored target rows), or None when it is the same, unknown (no store, no rows: a manual trade) or the
        oracle cannot answer now (the cycle that follows will say why). Asked once per cycle (``seen``)."""
        if self.store is None or cycle_id is None:
            return None
        if cycle_id in seen:
            return seen[cycle_id]
        stored = {s: asked for s, (asked, _) in self.store.targets_of(cycle_id).items() if asked}
        change = None
        if stored:
            try:
                self.venue.refresh()
                now = weights_from(self.oracle.fetch_portfolio_weights(at, self.venue.get_universe()))
            except Exception:  # the cycle asks again and reports the failure itself
                now = None
            self.oracle.pop_notes()  # the cycle's own call reports them
            if now is not None:
                moved = sorted(
                    s for s in set(stored) | set(now) if abs(now.get(s, 0.0) - (stored.get(s) or 0.0)) > 1e-9
                )
                change = (
                    ", ".join(f"{s} {stored.get(s) or 0.0:+.4g} -> {now.get(s, 0.0):+.4g}" for s in moved[:5]) or None
                )
        seen[cycle_id] = change
        return change

    def _close_interrupted_cycles(self, report: CycleReport | None) -> None:
        """Complete the rows of cycles a stopped process left open, with the orders they sent and their fees."""
        if self.store is None:
            return
        for cycle in self.store.incomplete_cycles(self.run):
            if report is not None and cycle.id == report.cycle_id:
                continue
            orders, fees = self.store.orders_sent(self.run, cycle.id)
            by = f" (cycle {report.cycle_id} resumes its unsent orders if recent)" if report is not None else ""
            error = f"interrupted: the process stopped during this cycle; reconciled at restart{by}"
            self.store.close_cycle(cycle.id, status=CycleStatus.FAILED.value, error=error, fees=fees, orders=orders)

    # -- the cycle ------------------------------------------------------------------------------------------
    def manage_portfolio(self, timestamp: datetime | None = None) -> CycleReport:
        """Run one cycle at ``timestamp`` (now by default) and return its report.

        A venue error fails the cycle (FAILED report, recorded, not raised). Invalid weights raise
        ``InvalidWeightsError`` and an oracle failure raises its error, both after the cycle is recorded. Any other
        exception (a bug, an error no boundary translated) is recorded as the cycle's failure, naming it, and
        raised: it is never taken for a venue outage, and if orders may have gone out the next cycle reconciles
        them by client order id before it trades."""
        report = self._open_cycle(timestamp)
        logger.info("cycle %s start: run %s at %s", report.cycle_id, self.run, report.timestamp)
        raised: Exception | None = None
        try:
            raised = self._cycle(report)
        except VenueError as exc:
            self._fail(report, f"venue {self.venue.name}: {exc}")
        except Exception as exc:
            self._fail(report, _describe_unexpected(exc))
            raised = exc
        self._record(report)
        outcome = (report.status, report.error)
        _log_cycle(report, raised is not None, repeated=outcome == self._outcome)
        self._outcome = outcome
        if raised is not None:
            raise raised
        return report

    def plan_cycle(self, timestamp: datetime | None = None) -> tuple[CycleReport, Plan]:
        """What ``manage_portfolio`` would send now, sending and recording nothing (``defipm rebalance --dry-run``):
        the same steps (market refresh, oracle, constraints, risk limits against the stored peak) up to the
        venue's plan. The report holds the target, the weights after risk limits, the breaches, notes and equity.
        Raises ``TradingHaltedError`` while halted; the oracle's and the weights' errors as ``manage_portfolio``."""
        halted = self.halt_reason()
        if halted:
            raise TradingHaltedError(f"trading halted: {halted}: nothing would be sent")
        report = CycleReport(cycle_id="dry-run", timestamp=timestamp or datetime.now(UTC), status=CycleStatus.TRADED)
        weights = self._target_weights(report, self._refresh_market(report))
        snapshot = self.venue.snapshot()
        peak = max(self._stored_peak() or snapshot.equity, snapshot.equity)
        decision = apply_risk_limits(
            weights, snapshot.weights, self.risk, equity=float(snapshot.equity), peak_equity=float(peak)
        )
        report.breaches.extend(decision.breaches)
        report.equity = snapshot.equity
        if decision.halt:
            raise TradingHaltedError(f"the drawdown circuit breaker would trip: {decision.breaches[-1].detail}")
        report.executed_target = decision.weights
        return report, self.venue.plan(decision.weights, self.planner, snapshot)[1]

    def _open_cycle(self, timestamp: datetime | None) -> CycleReport:
        """The report of a new cycle at ``timestamp``, once this process is known to still hold the run."""
        ts = timestamp or datetime.now(UTC)
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {ts!r} is naive: pass a timezone-aware UTC datetime")
        if self.lock is not None:
            self.lock.renew()  # before anything, reconciliation included: another process may have taken over
        return CycleReport(cycle_id=uuid.uuid4().hex, timestamp=ts, status=CycleStatus.TRADED)

    @staticmethod
    def _fail(report: CycleReport, failure: str) -> None:
        """Mark the cycle failed with ``failure`` (a halted cycle stays halted, with the failure added)."""
        if report.status is not CycleStatus.HALTED:
            report.status = CycleStatus.FAILED
        report.error = f"{report.error}; {failure}" if report.error else failure

    def _cycle(self, report: CycleReport) -> Exception | None:
        """The steps of one cycle, filling ``report``; returns the error to raise once it is recorded."""
        halted = self.halt_reason()
        if (not self._reconciled or self._unresolved) and not self._reconcile_first(report, halted is not None):
            return None  # an order's outcome is still unknown
        if halted:
            self._stay_halted(report, halted)
            return None
        universe = self._refresh_market(report)
        if self.rebalance is not None and not self._rebalance_due(report):
            return None
        if self.oracle.reads_account:  # a policy that observes its own book (a venue error fails the cycle)
            self.oracle.observe_account(self.venue.snapshot())
        try:
            weights = self._target_weights(report, universe)
        except Exception as exc:  # the oracle's failure or its invalid weights: in the report, raised once recorded
            return exc
        self._trade(report, weights, self.venue.snapshot())
        if self.rebalance is not None and report.status is CycleStatus.TRADED and report.executed_target is not None:
            self._remember(LastRebalance(report.timestamp, report.executed_target, self._publication))
        return None

    def _stay_halted(self, report: CycleReport, halted: str) -> None:
        """A halted cycle: nothing is sent, except under a tripped breaker whose ``on_breach`` manages the book."""
        report.status = CycleStatus.HALTED
        report.error = self._halted(halted)
        if self.breaker_tripped() and self.risk.on_breach != "freeze":
            self._refresh_market(report)
            self._manage_halted_book(report, self.venue.snapshot())

    def _refresh_market(self, report: CycleReport) -> list[str]:
        """Bring the venue up to date, note what it did on its own (a liquidation); return its universe."""
        self.venue.refresh()
        report.notes.extend(self.venue.pop_notices())
        return self.venue.get_universe()

    def _target_weights(self, report: CycleReport, universe: list[str]) -> Weights:
        """The oracle's weights for ``universe``, checked against the constraints. An oracle failure (FAILED) or
        invalid weights (REJECTED, ``InvalidWeightsError`` with every problem) are put in the report and raised."""
        try:
            weights = weights_from(self.oracle.fetch_portfolio_weights(report.timestamp, universe))
        except InvalidWeightsError as exc:
            report.status, report.error = CycleStatus.REJECTED, "; ".join(exc.problems)
            raise
        except Exception as exc:
            detail = str(exc) if isinstance(exc, DefipmError) else _describe_unexpected(exc)
            report.status, report.error = CycleStatus.FAILED, f"oracle {self.oracle.name}: {detail}"
            logger.info("cycle %s: oracle %s failed: %s", report.cycle_id, self.oracle.name, detail)  # raised below
            report.notes.extend(self.oracle.pop_notes())
            raise
        report.target = weights
        report.notes.extend(self.oracle.pop_notes())
        problems = check_weights(weights, universe, self._constraints())
        if problems:
            report.status, report.error = CycleStatus.REJECTED, "; ".join(problems)
            raise InvalidWeightsError(problems)
        return weights

    # -- the rebalance policy -------------------------------------------------------------------------------
    def last_rebalance(self) -> LastRebalance | None:
        """What the last rebalance left (kept in the store, so a restart knows it)."""
        if self._last is None and self.store is not None:
            stored = self.store.get_setting(self.run, LAST_REBALANCE)
            self._last = LastRebalance.from_json(stored) if stored else None
        return self._last

    def _remember(self, last: LastRebalance) -> None:
        self._last = last
        if self.store is not None:
            self.store.set_setting(self.run, LAST_REBALANCE, last.to_json())

    def _rebalance_due(self, report: CycleReport) -> bool:
        """Whether the policy says to rebalance now; if not the cycle is WAITING (with the book's equity)."""
        assert self.rebalance is not None
        snapshot = self.venue.snapshot()
        try:
            self._publication = self.oracle.publication(report.timestamp)
        except DefipmError:  # the oracle cannot tell now; if a rebalance is due, its own call will say why
            self._publication = None
        why = self.rebalance.due(report.timestamp, self.last_rebalance(), snapshot.weights(), self._publication)
        if why is None:
            report.status = CycleStatus.WAITING
            report.equity = snapshot.equity
            return False
        report.notes.append(f"rebalance: {why}")
        return True

    def _reconcile_first(self, report: CycleReport, halted: bool) -> bool:
        """Reconcile before trading (first cycle after a start, or after an order of unknown outcome). False when
        the cycle must stop here: some order's outcome is still unknown."""
        startup = not self._reconciled
        what = "restart reconciliation" if startup else "reconciliation"
        # while halted nothing is sent, not even the intents a crash interrupted: they are abandoned
        rec = self._reconcile(report, startup=startup, halted=halted)
        if not rec.clean or report.resent:
            unsent = f"{len(report.resent)} resent, the rest abandoned" if startup else "abandoned"
            report.notes.append(
                f"{what}: {len(rec.confirmed)} order(s) confirmed by the venue, "
                f"{len(rec.unsent)} never sent ({unsent}), "
                f"{len(rec.unknown)} of unknown outcome (kept open, not resent)"
            )
        if not rec.unknown:
            return True
        # Trading on top of orders that may still execute could double them: wait until they resolve.
        report.status = CycleStatus.FAILED
        report.error = (
            f"{what}: outcome unknown for "
            + ", ".join(f"{_order_line(r)} ({r.order.client_order_id}: {r.error or 'no answer'})" for r in rec.unknown)
            + "; not trading until the venue confirms them"
        )
        return False

    def _constraints(self) -> WeightConstraints:
        constraints = self.constraints or self.oracle.constraints
        if not self.venue.allows_shorts and not constraints.long_only:
            constraints = replace(constraints, long_only=True)
        return constraints

    def _trade(self, report: CycleReport, weights: Weights, snapshot: AccountSnapshot) -> None:
        """Risk limits, then the rebalance (or, when the drawdown breaker trips now, its ``on_breach`` policy)."""
        equity = snapshot.equity
        report.equity = equity
        peak = self._update_peak(equity)
        decision = apply_risk_limits(
            weights, snapshot.weights, self.risk, equity=float(equity), peak_equity=float(peak)
        )
        report.breaches.extend(decision.breaches)
        if decision.halt:
            reason = decision.breaches[-1].detail
            logger.warning("run %s: drawdown circuit breaker tripped: %s", self.run, reason)
            self._set_halt(f"drawdown circuit breaker: {reason}", breaker=True)
            report.status = CycleStatus.HALTED
            report.error = self._halted(f"drawdown circuit breaker: {reason}")
            self._manage_halted_book(report, snapshot)
            return
        report.executed_target = decision.weights
        self._rebalance(report, decision.weights, snapshot, self.planner, reduce_only=False)

    def _manage_halted_book(self, report: CycleReport, snapshot: AccountSnapshot) -> None:
        """Under a tripped breaker: reduce-only orders toward the caps ("reduce") or to flat ("flatten")."""
        report.equity = snapshot.equity
        gross_limit = self.risk.max_gross_leverage
        if gross_limit is None:
            gross_limit = self._constraints().max_gross if self._constraints().max_gross > 0 else None
        target, breaches = halted_book_target(snapshot.weights(), self.risk, gross_limit)
        if target is None:
            return
        report.breaches.extend(breaches)
        report.executed_target = target
        base = self.planner or self.venue.planner or PlannerConfig()
        planner = replace(base, no_trade_band=max(base.no_trade_band, HALTED_BAND))
        self._rebalance(report, target, snapshot, planner, reduce_only=True)

    def _rebalance(
        self,
        report: CycleReport,
        target: Weights,
        snapshot: AccountSnapshot,
        planner: PlannerConfig | None,
        *,
        reduce_only: bool,
    ) -> None:
        if self.store is not None:
            self._record(report, completed=False)  # the row exists before the first order is sent
        self._unresolved = True  # until the rebalance reports back: an exception while sending is reconciled first
        rebalance = self.venue.set_portfolio_weights(
            target,
            planner=planner,
            journal=self.journal,
            cycle_id=report.cycle_id,
            snapshot=snapshot,
            reduce_only=reduce_only,
        )
        report.rebalance = rebalance
        self._unresolved = rebalance.has_unknown
        report.equity = rebalance.equity_after
        for skipped in rebalance.skipped:
            if skipped.reason not in ROUTINE_SKIPS:
                report.notes.append(
                    f"skipped {skipped.symbol} {format_amount(skipped.signed_quantity)}: {skipped.detail}"
                )
        if not rebalance.ok and report.status is CycleStatus.TRADED:
            report.status = CycleStatus.FAILED
        if rebalance.failures or rebalance.stopped_early:
            failed = "; ".join(
                f"{_order_line(r)}: {r.status.value}" + (f" ({r.error})" if r.error else "") for r in rebalance.failures
            )
            report.error = f"{report.error}; {failed}" if report.error else failed

    def _record(self, report: CycleReport, *, completed: bool = True) -> None:
        """Write the cycle's row: open (status "running") before its first order, or complete. A completion of a
        row opened with the same targets and breaches leaves those child rows as they are."""
        if self.store is None:
            return
        targets: dict[str, tuple[float | None, float]] = {}
        if report.target is not None or report.executed_target is not None:
            asked_all = report.target or Weights({})
            executed = report.executed_target or Weights({})
            for s in sorted(set(asked_all) | set(executed)):
                asked = asked_all.get(s, 0.0)
                targets[s] = (asked if math.isfinite(asked) else None, executed.get(s, 0.0))
        children = (report.cycle_id, len(targets), len(report.breaches))
        opened = self._opened is not None and self._opened[0] == report.cycle_id  # orders may have gone out
        unchanged = self._opened == children
        self._opened = None if completed else children
        rb = report.rebalance
        snapshot = None
        if rb is not None and completed:
            after = rb.weights_after
            snapshot = (rb.equity_after, rb.after.cash, after.gross, after.net)
        orders, fees = self._sent(report, opened=opened)
        self.store.record_cycle(
            run=self.run,
            cycle_id=report.cycle_id,
            timestamp=report.timestamp,
            status=report.status.value if completed else RUNNING,
            equity=report.equity,
            fees=fees,
            turnover=report.turnover if report.has_execution else None,
            error=report.error,
            notes=report.notes + [f"risk {b.limit}: {b.detail} ({b.action})" for b in report.breaches],
            targets=None if unchanged else targets,
            risk_events=None if unchanged else [(b.limit, b.detail, b.action) for b in report.breaches],
            snapshot=snapshot,
            completed=completed,
            orders=orders,
        )

    def _sent(self, report: CycleReport, *, opened: bool) -> tuple[int, Decimal | None]:
        """(orders the cycle sent, their fees): from its report, or from the journal when an error cut the report
        short after the row was opened (some orders may have gone out)."""
        rb = report.rebalance
        if rb is None and opened and self.store is not None:
            return self.store.orders_sent(self.run, report.cycle_id)
        sent = report.sent
        if rb is None and not sent:
            return 0, None
        return len(sent), sum((r.fees for r in sent), Decimal(0))


def _describe_unexpected(exc: BaseException) -> str:
    """How an exception that is not defipm's own is named in a cycle's error (a bug, or an untranslated error)."""
    return f"unexpected {type(exc).__name__}: {exc}"


__all__ = ["PortfolioManager"]
