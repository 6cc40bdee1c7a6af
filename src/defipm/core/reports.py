"""What a rebalance and a manager cycle report: execution figures, risk breaches, notes.

Money figures are ``Decimal`` in quote currency. ``slippage_cost`` is what fills cost against the mid the planner
sized with (positive = paid). ``turnover`` is traded notional over equity before the rebalance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from defipm.core.orders import OrderResult, OrderStatus, SkippedOrder
from defipm.core.weights import Weights

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RebalanceReport:
    target: Weights
    weights_before: Weights
    weights_after: Weights
    equity_before: Decimal
    equity_after: Decimal
    results: tuple[OrderResult, ...] = ()
    skipped: tuple[SkippedOrder, ...] = ()
    stopped_early: bool = False
    """True when a failure stopped the plan before every order was sent."""

    @property
    def fills(self) -> list:
        return [f for r in self.results for f in r.fills]

    @property
    def fees(self) -> Decimal:
        return sum((r.fees for r in self.results), ZERO)

    @property
    def network_fees(self) -> Decimal:
        """Gas and other costs paid outside fills (quote currency)."""
        return sum((r.network_fee for r in self.results), ZERO)

    @property
    def traded_notional(self) -> Decimal:
        return sum((f.notional for f in self.fills), ZERO)

    @property
    def slippage_cost(self) -> Decimal:
        total = ZERO
        for r in self.results:
            ref = r.order.reference_price
            if ref is None:
                continue
            for f in r.fills:
                total += f.side.sign * (f.price - ref) * f.quantity
        return total

    @property
    def turnover(self) -> float:
        if self.equity_before <= 0:
            return 0.0
        return float(self.traded_notional / self.equity_before)

    @property
    def failures(self) -> list[OrderResult]:
        return [r for r in self.results if r.status not in (OrderStatus.FILLED,)]

    @property
    def ok(self) -> bool:
        return not self.failures and not self.stopped_early


class CycleStatus(StrEnum):
    TRADED = "traded"
    """The cycle rebalanced (possibly with nothing to trade)."""
    HALTED = "halted"
    """The kill switch or the drawdown breaker stopped trading; nothing was sent."""
    REJECTED = "rejected"
    """The oracle's weights failed validation; nothing was sent."""
    FAILED = "failed"
    """Some orders failed; the report says which."""


@dataclass(frozen=True, slots=True)
class RiskBreach:
    """A risk limit that acted on the target. ``action`` says what it did: scaled, clipped, skipped, halted."""

    limit: str
    detail: str
    action: str


@dataclass(slots=True)
class CycleReport:
    cycle_id: str
    timestamp: datetime
    status: CycleStatus
    target: Weights | None = None
    """Weights the oracle asked for."""
    executed_target: Weights | None = None
    """Weights after risk limits, the ones handed to the venue."""
    rebalance: RebalanceReport | None = None
    breaches: list[RiskBreach] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    equity: Decimal | None = None

    @property
    def ok(self) -> bool:
        return self.status is CycleStatus.TRADED and (self.rebalance is None or self.rebalance.ok)
