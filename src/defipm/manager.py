"""``PortfolioManager``: the one loop that runs a portfolio, whether live, on paper or in a backtest.

``manage_portfolio(timestamp)``: universe from the venue -> weights from the oracle -> validate -> risk checks ->
plan -> execute through the journal -> record. It never knows whether it is replaying history: the backtester
hands it a paper venue fed with historical bars and a historical timestamp.

On its first cycle it reconciles the order journal with the venue: intents the venue executed are recorded;
intents the venue never saw are sent once if they are recent (the rebalance a crash interrupted), or abandoned;
intents whose outcome the venue cannot tell yet (a transaction still pending) are kept open, never resent, and
the manager does not trade until a later cycle's reconciliation resolves them.
"""

from __future__ import annotations

import json
import math
import uuid
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from defipm.core.errors import DefipmError, InvalidWeightsError, TradingHaltedError
from defipm.core.journal import MemoryJournal, OrderJournal
from defipm.core.orders import OrderResult, OrderStatus, OrderType
from defipm.core.planner import PlannerConfig
from defipm.core.reports import CycleReport, CycleStatus
from defipm.core.risk import RiskLimits, apply_risk_limits
from defipm.core.validation import WeightConstraints, check_weights
from defipm.core.weights import Weights
from defipm.journal import Reconciliation, SqlJournal
from defipm.oracles.base import Oracle
from defipm.store.database import Store
from defipm.store.lock import RunLock
from defipm.venues.base import Venue, to_decimal

KILL_SWITCH = "kill_switch"
PEAK_EQUITY = "peak_equity"
RISK_LIMITS = "risk_limits"
"""Setting holding the limits the run's process trades with (JSON of ``RiskLimits``), for readers such as the
service; written when a process that holds the run's lock builds its manager."""


def set_kill_switch(store: Store, run: str, reason: str | None) -> None:
    """Engage (with a reason) or release (None) the persisted kill switch of ``run`` without building a venue.
    Releasing also restarts drawdown measurement from the next cycle's equity."""
    store.set_setting(run, KILL_SWITCH, reason)
    if reason is None:
        store.set_setting(run, PEAK_EQUITY, None)


class PortfolioManager:
    """Runs ``oracle`` on ``venue``.

    store: where cycles, the journal and equity are recorded (None = in memory only, e.g. fast backtests).
    run: name of this portfolio in the store (several portfolios may share one database).
    constraints: weight constraints to enforce (default: the oracle's own).
    risk: operator risk limits. planner: how weights become orders (None = the venue's default).
    resume_window: how old an unsent intent may be and still be sent after a restart.
    lock: this process's hold on the run (``RunLock``), renewed before every cycle and manual trade: a process whose
    lock was taken over raises ``PortfolioLockedError`` there and sends nothing.
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
    ) -> None:
        self.oracle = oracle
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
        self._reconciled = store is None
        self._peak: Decimal | None = None
        self._halt: str | None = None
        self._unresolved = False
        """Some order's outcome is unknown (a transport error): reconcile before the next cycle trades."""
        self.last_reconciliation: Reconciliation | None = None

    # -- kill switch and breaker ----------------------------------------------------------------------------
    def halt_reason(self) -> str | None:
        if self.store is None:
            return self._halt
        return self.store.get_setting(self.run, KILL_SWITCH)

    def engage_kill_switch(self, reason: str) -> None:
        """Stop all trading for this run until ``release_kill_switch`` (persisted)."""
        if self.store is None:
            self._halt = reason
        else:
            set_kill_switch(self.store, self.run, reason)

    def release_kill_switch(self) -> None:
        if self.store is None:
            self._halt = None
        else:
            set_kill_switch(self.store, self.run, None)
        self._peak = None

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
        """Deposit quote currency on a venue that supports it (the paper venue) and record the flow."""
        deposit = getattr(self.venue, "deposit", None)
        if deposit is None:
            raise DefipmError(f"{self.venue.name} does not take deposits through defipm")
        value = to_decimal(amount)
        before = self.venue.get_equity()
        deposit(value)
        self.record_flow(value, "deposit", timestamp, equity_before=before)

    def withdraw(self, amount: Decimal | float | str, timestamp: datetime | None = None) -> None:
        withdraw = getattr(self.venue, "withdraw", None)
        if withdraw is None:
            raise DefipmError(f"{self.venue.name} does not take withdrawals through defipm")
        value = to_decimal(amount)
        before = self.venue.get_equity()
        withdraw(value)
        self.record_flow(-value, "withdrawal", timestamp, equity_before=before)

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
        """One manual order (signed quantity), journalled like a rebalance and refused while trading is halted."""
        if self.lock is not None:
            self.lock.renew()
        halted = self.halt_reason()
        if not self._reconciled or self._unresolved:
            self.reconcile(resume=not self._reconciled and not halted)
        if halted:
            raise TradingHaltedError(f"trading halted: {halted}")
        if self._unresolved:
            raise TradingHaltedError(
                "an earlier order's outcome is still unknown: not trading until the venue confirms it"
            )
        self.venue.refresh()
        result = self.venue.execute_trade(
            symbol, quantity, order_type, limit_price=limit_price, reduce_only=reduce_only, journal=self.journal
        )
        if result.status is OrderStatus.UNKNOWN:
            self._unresolved = True  # the next cycle (or trade) reconciles before trading on top of it
        return result

    # -- restart --------------------------------------------------------------------------------------------
    def reconcile(self, *, resume: bool = True) -> Reconciliation:
        """Match the journal with the venue: record what the venue executed, keep orders of unknown outcome open.

        ``resume`` (after a restart): intents the venue never saw are sent once if recent (the rebalance a crash
        interrupted), else abandoned. Without ``resume`` (during a run, after a transport error) they are
        abandoned: the cycle that follows plans afresh from the venue's positions."""
        if not isinstance(self.journal, SqlJournal):
            self._reconciled = True
            return Reconciliation()
        rec = self.journal.reconcile(self.venue)
        now = datetime.now(UTC)
        resend = []
        for intent in rec.unsent:
            assert intent.order.client_order_id is not None
            if resume and now - intent.created_at <= self.resume_window:
                resend.append(intent.order)
            else:
                reason = (
                    "abandoned after restart: older than resume_window"
                    if resume
                    else "not received by the venue; replaced by the next plan"
                )
                self.journal.cancel(intent.order.client_order_id, reason)
        still_unknown = bool(rec.unknown)
        if resend:
            self.venue.refresh()
            results, _ = self.venue.send_intents(resend, self.journal)
            still_unknown = still_unknown or any(r.status is OrderStatus.UNKNOWN for r in results)
        # Orders of unknown outcome (e.g. a swap still pending) stay open: ask again next cycle.
        self._reconciled = True
        self._unresolved = still_unknown
        self.last_reconciliation = rec
        return rec

    # -- the cycle ------------------------------------------------------------------------------------------
    def manage_portfolio(self, timestamp: datetime | None = None) -> CycleReport:
        """Run one cycle at ``timestamp`` (now by default). Raises ``InvalidWeightsError`` (after recording the
        rejected cycle) when the oracle's weights are invalid; otherwise returns the cycle report."""
        ts = timestamp or datetime.now(UTC)
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {ts!r} is naive: pass a timezone-aware UTC datetime")
        if self.lock is not None:
            self.lock.renew()  # before anything, reconciliation included: another process may have taken over
        report = CycleReport(cycle_id=uuid.uuid4().hex, timestamp=ts, status=CycleStatus.TRADED)
        halted = self.halt_reason()
        if not self._reconciled or self._unresolved:
            startup = not self._reconciled
            what = "restart reconciliation" if startup else "reconciliation"
            # while halted nothing is sent, not even the intents a crash interrupted: they are abandoned
            rec = self.reconcile(resume=startup and not halted)
            if not rec.clean:
                report.notes.append(
                    f"{what}: {len(rec.confirmed)} order(s) confirmed by the venue, "
                    f"{len(rec.unsent)} never sent ({'resent if recent, else abandoned' if startup else 'abandoned'}), "
                    f"{len(rec.unknown)} of unknown outcome (kept open, not resent)"
                )
            if rec.unknown:
                # Trading on top of orders that may still execute could double them: wait until they resolve.
                report.status = CycleStatus.FAILED
                report.error = (
                    f"{what}: outcome unknown for "
                    + ", ".join(
                        f"{r.order.symbol} {r.order.side.value} {r.order.quantity} ({r.order.client_order_id}: {r.error})"
                        for r in rec.unknown
                    )
                    + "; not trading until the venue confirms them"
                )
                self._record(report)
                return report

        if halted:
            report.status = CycleStatus.HALTED
            report.error = f"trading halted: {halted}"
            self._record(report)
            return report

        self.venue.refresh()
        universe = self.venue.get_universe()
        try:
            weights = self.oracle.fetch_portfolio_weights(ts, universe)
        except DefipmError as exc:
            report.status = CycleStatus.FAILED
            report.error = f"oracle {self.oracle.name}: {exc}"
            report.notes.extend(self.oracle.pop_notes())
            self._record(report)
            raise
        if not isinstance(weights, Weights):
            weights = Weights(weights)
        report.target = weights
        report.notes.extend(self.oracle.pop_notes())

        constraints = self.constraints or self.oracle.constraints
        if not self.venue.allows_shorts and not constraints.long_only:
            constraints = replace(constraints, long_only=True)
        problems = check_weights(weights, universe, constraints)
        if problems:
            report.status = CycleStatus.REJECTED
            report.error = "; ".join(problems)
            self._record(report)
            raise InvalidWeightsError(problems)

        snapshot = self.venue.snapshot()
        equity = snapshot.equity
        report.equity = equity
        peak = self._update_peak(equity)
        decision = apply_risk_limits(
            weights, snapshot.weights, self.risk, equity=float(equity), peak_equity=float(peak)
        )
        report.breaches.extend(decision.breaches)
        if decision.halt:
            reason = decision.breaches[-1].detail
            self.engage_kill_switch(f"drawdown circuit breaker: {reason}")
            report.status = CycleStatus.HALTED
            report.error = f"trading halted by the drawdown circuit breaker: {reason}"
            self._record(report)
            return report

        report.executed_target = decision.weights
        rebalance = self.venue.set_portfolio_weights(
            decision.weights, planner=self.planner, journal=self.journal, cycle_id=report.cycle_id, snapshot=snapshot
        )
        report.rebalance = rebalance
        self._unresolved = rebalance.has_unknown
        report.equity = rebalance.equity_after
        for skipped in rebalance.skipped:
            if "no-trade band" not in skipped.reason:
                report.notes.append(f"skipped {skipped.symbol} {skipped.signed_quantity}: {skipped.reason}")
        if not rebalance.ok:
            report.status = CycleStatus.FAILED
            report.error = "; ".join(
                f"{r.order.symbol} {r.order.side.value} {r.order.quantity}: {r.status.value} ({r.error})"
                for r in rebalance.failures
            )
        self._record(report)
        return report

    def _record(self, report: CycleReport) -> None:
        if self.store is None:
            return
        targets: dict[str, tuple[float | None, float]] = {}
        if report.target is not None:
            executed = report.executed_target or Weights({})
            for s in sorted(set(report.target) | set(executed)):
                asked = report.target.get(s, 0.0)
                targets[s] = (asked if math.isfinite(asked) else None, executed.get(s, 0.0))
        snapshot = None
        rb = report.rebalance
        if rb is not None:
            after = rb.weights_after
            snapshot = (rb.equity_after, self.venue.get_cash(), after.gross, after.net)
        self.store.record_cycle(
            run=self.run,
            cycle_id=report.cycle_id,
            timestamp=report.timestamp,
            status=report.status.value,
            equity=report.equity,
            fees=rb.fees if rb is not None else None,
            turnover=rb.turnover if rb is not None else None,
            error=report.error,
            notes=report.notes + [f"risk {b.limit}: {b.detail} ({b.action})" for b in report.breaches],
            targets=targets,
            risk_events=[(b.limit, b.detail, b.action) for b in report.breaches],
            snapshot=snapshot,
        )


__all__ = ["PortfolioManager"]
