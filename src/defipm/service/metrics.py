"""Prometheus metrics of both loops, read from the store (so they cover every process that writes it).

Portfolio runs: cycles by status (``defipm_cycles_total``), orders by status (``defipm_orders``), fills and fees
(``defipm_fills_total``, ``defipm_fees_total``, quote currency: the history summed once in SQL, then tallied by
fill id),
equity, drawdown against the breaker's stored peak, kill switch and breaker state, whether a process holds the run's
lock, and risk limits that acted (``defipm_risk_events_total``). Arbitrage: the existing ``ArbMetrics`` (counters of
opportunities, executions, profit, gas and the execution-latency histogram), fed by replaying the recorded
opportunities and execution results into its event bus (``arb.records``), plus each arbitrage run's persisted
pause, breaker, consecutive failures, day's loss and journal counts. Scan and pool-update latency exist only inside
the arbitrage process: ``defipm arb run --metrics-port`` serves them.

``store_registry(connect)`` builds the registry; ``connect`` opens a read connection (a context manager).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, or_, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from defipm.arb.events import EventBus
from defipm.arb.metrics import ArbMetrics
from defipm.arb.records import execution_event, opportunity_event
from defipm.service.arbitrage import arb_runs, risk_state
from defipm.service.runs import latest_snapshot, list_runs, risk_view, run_settings
from defipm.service.watermark import IdWatermark, TimeWatermark
from defipm.store.arbitrage import ArbExecutionRecord, ArbitrageOpportunityRecord, ExecutionResultRecord
from defipm.store.lock import read_holder
from defipm.store.models import Cycle, OrderRecord, RiskEvent

__all__ = ["ArbRecordsReplay", "FillTally", "StoreMetrics", "store_registry"]

Connect = Callable[[], AbstractContextManager[Connection]]
BATCH = 50_000


class FillTally:
    """Fills and fees per run. The first call sums the history in SQL up to ``SETTLED`` ids below the newest (one
    scan); after that fills are tallied by id (``IdWatermark``), so each is counted once, late PostgreSQL commits
    included. Fees are summed as floats, as Prometheus holds them."""

    SETTLED = 10_000

    def __init__(self) -> None:
        self.mark: IdWatermark | None = None
        self.count: dict[str, int] = defaultdict(int)
        self.fees: dict[str, float] = defaultdict(float)

    def _history(self, conn: Connection) -> IdWatermark:
        top = max(0, (conn.execute(text("SELECT MAX(id) FROM fills")).scalar() or 0) - self.SETTLED)
        rows = conn.execute(
            text("SELECT run, COUNT(*), SUM(CAST(fee AS REAL)) FROM fills WHERE id <= :top GROUP BY run"), {"top": top}
        )
        for run, n, fees in rows:
            self.count[run] += n
            self.fees[run] += fees or 0.0
        return IdWatermark(top, gap_timeout=300.0)

    def advance(self, conn: Connection) -> None:
        """Count the fills written since the last call."""
        mark = self.mark = self.mark or self._history(conn)
        while True:
            gaps = mark.gaps[-1000:]
            where = "id > :top" + (f" OR id IN ({','.join(str(g) for g in gaps)})" if gaps else "")
            rows = conn.execute(
                text(f"SELECT id, run, fee FROM fills WHERE {where} ORDER BY id LIMIT {BATCH}"), {"top": mark.top}
            ).all()
            fresh = set(mark.accept(r[0] for r in rows))
            for fill_id, run, fee in rows:
                if fill_id in fresh:
                    self.count[run] += 1
                    self.fees[run] += float(fee)
            if len(rows) < BATCH:
                return


class ArbRecordsReplay:
    """Publishes each recorded opportunity and execution result once into ``metrics``' event bus."""

    def __init__(self, metrics: ArbMetrics) -> None:
        self.bus = EventBus()
        metrics.attach(self.bus)
        self.opportunities = TimeWatermark(None, lookback=timedelta(seconds=30))
        self.results = IdWatermark(0, gap_timeout=300.0)

    def advance(self, conn: Connection) -> None:
        o, e = ArbitrageOpportunityRecord, ExecutionResultRecord
        with Session(bind=conn) as session:
            since = self.opportunities.since()
            query = select(o) if since is None else select(o).where(o.detected_at > since)
            found = {r.id: r for r in session.scalars(query.order_by(o.detected_at))}
            for key in self.opportunities.accept((k, r.detected_at) for k, r in found.items()):
                self.bus.publish(opportunity_event(found[str(key)]))
            gaps = self.results.gaps
            where = or_(e.id > self.results.top, e.id.in_(gaps)) if gaps else e.id > self.results.top
            results = {r.id: r for r in session.scalars(select(e).where(where).order_by(e.id))}
            for key in self.results.accept(results):
                self.bus.publish(execution_event(results[key]))


def _labelled(
    kind: type[GaugeMetricFamily | CounterMetricFamily], name: str, doc: str, labels: list[str],
    values: Mapping[Any, float],
) -> Metric:  # fmt: skip
    family = kind(name, doc, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key), value)
    return family


class StoreMetrics(Collector):
    """The store's figures at every scrape (see the module docstring). ``runs``: only these portfolio runs."""

    def __init__(self, connect: Connect, *, runs: list[str] | None = None, arb_state: bool = False) -> None:
        self.connect = connect
        self.runs = runs
        self.arb_state = arb_state
        """Also the arbitrage runs' stored risk state and journal counts (on whenever ``arb`` replays records)."""
        self.fills = FillTally()
        self.arb: ArbRecordsReplay | None = None
        self._lock = threading.Lock()

    def describe(self) -> list[Metric]:
        return []  # no database read when registered

    def collect(self) -> Iterator[Metric]:
        with self._lock, self.connect() as conn:
            self.fills.advance(conn)
            if self.arb is not None:
                self.arb.advance(conn)
            arbitrage = self.arb is not None or self.arb_state
            families = [*self._portfolio(conn), *(self._arbitrage(conn) if arbitrage else [])]
        yield from families

    def _wanted(self, run: str) -> bool:
        return self.runs is None or run in self.runs

    def _portfolio(self, conn: Connection) -> list[Metric]:
        cycles = {(r, s): n for r, s, n in conn.execute(
            select(Cycle.run, Cycle.status, func.count()).group_by(Cycle.run, Cycle.status)) if self._wanted(r)}  # fmt: skip
        orders = {(r, s): n for r, s, n in conn.execute(
            select(OrderRecord.run, OrderRecord.status, func.count()).group_by(OrderRecord.run, OrderRecord.status))
            if self._wanted(r)}  # fmt: skip
        limits = {(r, lim): n for r, lim, n in conn.execute(
            select(RiskEvent.run, RiskEvent.limit, func.count()).group_by(RiskEvent.run, RiskEvent.limit))
            if self._wanted(r)}  # fmt: skip
        per_run: dict[str, dict[tuple[str, ...], float]] = defaultdict(dict)
        for run in filter(self._wanted, list_runs(conn)):
            snapshot = latest_snapshot(conn, run)
            equity = snapshot.equity if snapshot is not None else None
            risk = risk_view(run_settings(conn, run), equity)
            holder = read_holder(conn, run)
            if equity is not None:
                per_run["equity"][(run,)] = float(equity)
            if risk["drawdown"] is not None:
                per_run["drawdown"][(run,)] = risk["drawdown"]
            per_run["kill_switch"][(run,)] = float(risk["kill_switch"]["engaged"])
            per_run["breaker"][(run,)] = float(risk["breaker_tripped"])
            per_run["running"][(run,)] = float(holder is not None and holder.expires_in >= 0)
        fills = {(r,): float(n) for r, n in self.fills.count.items() if self._wanted(r)}
        fees = {(r,): float(v) for r, v in self.fills.fees.items() if self._wanted(r)}
        g, c = GaugeMetricFamily, CounterMetricFamily
        return [
            _labelled(c, "defipm_cycles", "Cycles recorded, by status", ["run", "status"], cycles),
            _labelled(g, "defipm_orders", "Journalled orders, by status", ["run", "status"], orders),
            _labelled(c, "defipm_fills", "Fills recorded", ["run"], fills),
            _labelled(c, "defipm_fees", "Fees paid, quote currency", ["run"], fees),
            _labelled(c, "defipm_risk_events", "Risk limits that acted", ["run", "limit"], limits),
            _labelled(g, "defipm_equity", "Latest equity, quote currency", ["run"], per_run["equity"]),
            _labelled(g, "defipm_drawdown", "Drawdown below the breaker's peak (fraction)", ["run"], per_run["drawdown"]),
            _labelled(g, "defipm_kill_switch", "1 while the kill switch is engaged", ["run"], per_run["kill_switch"]),
            _labelled(g, "defipm_breaker_tripped", "1 while the drawdown breaker holds the kill switch", ["run"],
                      per_run["breaker"]),
            _labelled(g, "defipm_running", "1 while a process holds the run's lock", ["run"], per_run["running"]),
        ]  # fmt: skip

    def _arbitrage(self, conn: Connection) -> list[Metric]:
        states: dict[str, dict[tuple[str, ...], float]] = defaultdict(dict)
        for run in arb_runs(conn):
            state = risk_state(conn, run)
            if not state["readable"]:
                continue
            states["paused"][(run,)] = float(state["paused"])
            states["breaker"][(run,)] = float(state["breaker_open"])
            states["failures"][(run,)] = float(state["consecutive_failures"])
            states["loss"][(run,)] = float(Decimal(state["day_loss_native"]) / Decimal(10**18))
        journal = {(r, s): n for r, s, n in conn.execute(
            select(ArbExecutionRecord.run, ArbExecutionRecord.status, func.count())
            .group_by(ArbExecutionRecord.run, ArbExecutionRecord.status))}  # fmt: skip
        g = GaugeMetricFamily
        return [
            _labelled(g, "defipm_arb_paused", "1 while the arbitrage run is paused", ["run"], states["paused"]),
            _labelled(g, "defipm_arb_breaker_open", "1 while the circuit breaker is open", ["run"], states["breaker"]),
            _labelled(g, "defipm_arb_consecutive_failures", "Failed or losing executions in a row", ["run"],
                      states["failures"]),
            _labelled(g, "defipm_arb_daily_loss_native", "Loss today, native token units", ["run"], states["loss"]),
            _labelled(g, "defipm_arb_journal_executions", "Journalled executions, by status", ["run", "status"], journal),
        ]  # fmt: skip


def store_registry(connect: Connect, *, runs: list[str] | None = None, arbitrage: bool = True) -> CollectorRegistry:
    """A registry with the store's metrics (``runs``: only these portfolio runs) and, with ``arbitrage``, the
    arbitrage engine's ``ArbMetrics`` fed from the records."""
    registry = CollectorRegistry()
    collector = StoreMetrics(connect, runs=runs)
    registry.register(collector)  # first: its scrape replays the records before ArbMetrics' counters are read
    if arbitrage:
        collector.arb = ArbRecordsReplay(ArbMetrics(registry))
    return registry
