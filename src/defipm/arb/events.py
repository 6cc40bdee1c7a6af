"""Typed arbitrage events and the in-process bus the dashboard, metrics and records subscribe to.

Events are frozen dataclasses: ``ArbitrageOpportunity`` (a costed cycle was found), ``ExecutionResult`` (an attempt
finished, successfully or not), ``RiskAlert`` (a risk check refused or the breaker changed state) and
``StrategyPerformance`` (running totals). ``EventBus.subscribe(EventType, handler)`` registers by type;
``publish`` calls every handler of the event's type (and of its base classes) in order. A failing handler is
reported in ``errors`` and never stops the others or the publisher.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

__all__ = [
    "ArbEvent",
    "ArbitrageOpportunity",
    "EventBus",
    "ExecutionResult",
    "RiskAlert",
    "StrategyPerformance",
]


@dataclass(frozen=True, slots=True)
class ArbEvent:
    """Base of every arbitrage event. ``at``: when it happened (UTC)."""

    at: datetime


@dataclass(frozen=True, slots=True)
class ArbitrageOpportunity(ArbEvent):
    """A sized, costed cycle. Amounts in raw units of ``start_token``; ``net_profit_native`` in wei."""

    opportunity_id: str
    strategy_type: str
    tokens: tuple[str, ...]
    venues: tuple[str, ...]
    amount_in: int
    estimated_profit: int
    net_profit_native: int | None
    confidence_score: float
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def start_token(self) -> str:
        return self.tokens[0]


@dataclass(frozen=True, slots=True)
class ExecutionResult(ArbEvent):
    """Outcome of one execution attempt. ``actual_profit`` in raw start-token units (negative = loss)."""

    opportunity_id: str
    engine: str
    success: bool
    tx_hash: str | None
    actual_profit: int
    gas_used: int
    gas_cost_usd: float
    execution_time_ms: float
    reason: str = ""
    actual_profit_native: int | None = None
    """Profit net of gas in native wei (tokens left over valued at market), when every token involved is priced."""
    gas_cost_wei: int = 0
    """Gas paid over every transaction of the execution, wei of the native coin."""


@dataclass(frozen=True, slots=True)
class RiskAlert(ArbEvent):
    """A risk check refused a trade, or the circuit breaker / pause changed. ``level``: info, warning, critical."""

    level: str
    check: str
    message: str
    opportunity_id: str | None = None


@dataclass(frozen=True, slots=True)
class StrategyPerformance(ArbEvent):
    """Running totals of the arbitrage loop (profit in native wei)."""

    opportunities_found: int
    executions: int
    successes: int
    realized_profit_native: int
    gas_spent_native: int


E = TypeVar("E", bound=ArbEvent)


class EventBus:
    """Synchronous in-process publish/subscribe keyed by event type."""

    def __init__(self) -> None:
        self._handlers: dict[type, list[Callable[[Any], None]]] = defaultdict(list)
        self.errors: list[tuple[ArbEvent, Exception]] = []

    def subscribe(self, event_type: type[E], handler: Callable[[E], None]) -> Callable[[], None]:
        """Register ``handler`` for ``event_type`` and its subclasses; returns an unsubscribe function."""
        self._handlers[event_type].append(handler)
        return lambda: self._handlers[event_type].remove(handler)

    def publish(self, event: ArbEvent) -> None:
        for cls in type(event).__mro__:
            for handler in list(self._handlers.get(cls, ())):
                try:
                    handler(event)
                except Exception as exc:  # a subscriber's bug must not stop trading
                    self.errors.append((event, exc))
