"""Prometheus metrics of the arbitrage loop, fed from the event bus.

``ArbMetrics(registry).attach(bus)`` subscribes to the bus and keeps: opportunities found (by strategy type),
executions (by engine and outcome), realised profit and gas (native units), and latency histograms for
scans, pool updates and executions (``observe_scan`` / ``observe_update`` are called by the loop). Pass your own
``CollectorRegistry`` (the service's /metrics) or let it make a private one (tests).
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram

from defipm.arb.events import ArbitrageOpportunity, EventBus, ExecutionResult, RiskAlert

__all__ = ["ArbMetrics"]

_LATENCY_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ArbMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.opportunities = Counter(
            "defipm_arb_opportunities_found", "Opportunities found", ["strategy_type"], registry=r
        )
        self.executions = Counter("defipm_arb_executions", "Execution attempts", ["engine", "outcome"], registry=r)
        self.profit = Counter("defipm_arb_profit_native", "Realised profit, native token units", registry=r)
        self.loss = Counter("defipm_arb_loss_native", "Realised losses, native token units", registry=r)
        self.gas = Counter("defipm_arb_gas_used", "Gas used by executions", registry=r)
        self.gas_usd = Counter("defipm_arb_gas_cost_usd", "Gas cost of executions, USD", registry=r)
        self.alerts = Counter("defipm_arb_risk_alerts", "Risk alerts", ["check", "level"], registry=r)
        self.scan_seconds = Histogram(
            "defipm_arb_scan_seconds", "Full scan latency", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.update_seconds = Histogram(
            "defipm_arb_update_seconds", "Re-check latency after one pool update", buckets=_LATENCY_BUCKETS, registry=r
        )
        self.execution_seconds = Histogram(
            "defipm_arb_execution_seconds", "Execution latency", buckets=_LATENCY_BUCKETS, registry=r
        )

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(ArbitrageOpportunity, self._on_opportunity)
        bus.subscribe(ExecutionResult, self._on_execution)
        bus.subscribe(RiskAlert, self._on_alert)

    def observe_scan(self, seconds: float) -> None:
        self.scan_seconds.observe(seconds)

    def observe_update(self, seconds: float) -> None:
        self.update_seconds.observe(seconds)

    def _on_opportunity(self, e: ArbitrageOpportunity) -> None:
        self.opportunities.labels(e.strategy_type).inc()

    def _on_execution(self, e: ExecutionResult) -> None:
        self.executions.labels(e.engine, "success" if e.success else "failure").inc()
        if e.actual_profit_native is not None:
            value = e.actual_profit_native / 1e18
            (self.profit if value >= 0 else self.loss).inc(abs(value))
        self.gas.inc(e.gas_used)
        self.gas_usd.inc(e.gas_cost_usd)
        self.execution_seconds.observe(e.execution_time_ms / 1000)

    def _on_alert(self, e: RiskAlert) -> None:
        self.alerts.labels(e.check, e.level).inc()
