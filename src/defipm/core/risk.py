"""Risk limits the operator sets on top of whatever the oracle asks for, and the pure function applying them.

Limits act visibly: each one that changes the target returns a ``RiskBreach`` saying what it did (clipped,
scaled, halted); the manager puts every breach in the cycle report and the store. The drawdown breaker halts
trading (persisted by the manager) until an operator resets it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from defipm.core.reports import RiskBreach
from defipm.core.weights import Weights


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Operator limits; ``None`` disables one.

    max_gross_leverage: cap on sum |w| (scales every weight down proportionally).
    max_weight: cap on any single |w| (clips that weight; the excess stays in cash).
    max_turnover: cap on sum |w_target - w_current| per cycle (moves only that far toward the target; the weight
        and gross caps still hold afterwards, even when that takes more turnover).
    max_drawdown: halt trading once equity is this fraction below its (flow-adjusted) peak, e.g. 0.25.
    """

    max_gross_leverage: float | None = None
    max_weight: float | None = None
    max_turnover: float | None = None
    max_drawdown: float | None = None

    def __post_init__(self) -> None:
        for name in ("max_gross_leverage", "max_weight", "max_turnover", "max_drawdown"):
            value = getattr(self, name)
            if value is not None and (not math.isfinite(value) or value <= 0):
                raise ValueError(f"risk limit {name} must be a positive number, got {value}")
        if self.max_drawdown is not None and self.max_drawdown >= 1:
            raise ValueError(f"risk limit max_drawdown must be below 1 (a fraction), got {self.max_drawdown}")


@dataclass(slots=True)
class RiskDecision:
    weights: Weights
    breaches: list[RiskBreach] = field(default_factory=list)
    halt: bool = False


def drawdown(equity: float, peak: float) -> float:
    """Fractional distance of ``equity`` below ``peak`` (0 at or above the peak)."""
    if peak <= 0:
        return 0.0
    return max(0.0, 1.0 - equity / peak)


def _within_caps(
    weights: dict[str, float], limits: RiskLimits, breaches: list[RiskBreach], when: str = ""
) -> dict[str, float]:
    """``weights`` clipped to ``max_weight`` and scaled to ``max_gross_leverage``, one breach per cap that acted."""
    if limits.max_weight is not None:
        cap = limits.max_weight
        for s, w in weights.items():
            if abs(w) > cap:
                detail = f"{s}: |weight| {abs(w):.4g} clipped to {cap:.4g}{when}"
                breaches.append(RiskBreach("max_weight", detail, "clipped"))
                weights[s] = math.copysign(cap, w)
    if limits.max_gross_leverage is not None:
        gross = math.fsum(abs(w) for w in weights.values())
        if gross > limits.max_gross_leverage:
            k = limits.max_gross_leverage / gross
            breaches.append(
                RiskBreach(
                    "max_gross_leverage",
                    f"gross {gross:.4g} above {limits.max_gross_leverage:.4g}{when}: every weight scaled by {k:.4g}",
                    "scaled",
                )
            )
            weights = {s: w * k for s, w in weights.items()}
    return weights


def apply_risk_limits(
    target: Weights,
    current: Weights | Callable[[], Weights],
    limits: RiskLimits,
    *,
    equity: float | None = None,
    peak_equity: float | None = None,
) -> RiskDecision:
    """The weights to trade after ``limits``, with one breach per limit that acted.

    ``current`` (the account's weights now) may be a function returning them: it is called only when a limit
    needs them (turnover, or the breaker holding the book), which spares a backtest one pass over the book."""
    breaches: list[RiskBreach] = []
    if limits.max_drawdown is not None and equity is not None and peak_equity is not None:
        dd = drawdown(equity, peak_equity)
        if dd >= limits.max_drawdown:
            breaches.append(
                RiskBreach(
                    "max_drawdown",
                    f"equity {equity:,.2f} is {dd:.2%} below peak {peak_equity:,.2f} (limit {limits.max_drawdown:.2%})",
                    "halted",
                )
            )
            return RiskDecision(current() if callable(current) else current, breaches, halt=True)

    weights = _within_caps(dict(target.items()), limits, breaches)
    if limits.max_turnover is not None:
        if callable(current):
            current = current()
        symbols = set(weights) | set(current)
        turnover = math.fsum(abs(weights.get(s, 0.0) - current.get(s, 0.0)) for s in symbols)
        if turnover > limits.max_turnover:
            k = limits.max_turnover / turnover
            breaches.append(
                RiskBreach(
                    "max_turnover",
                    f"turnover {turnover:.4g} above {limits.max_turnover:.4g}: moved {k:.2%} of the way to the target",
                    "scaled",
                )
            )
            weights = {
                s: current.get(s, 0.0) + k * (weights.get(s, 0.0) - current.get(s, 0.0)) for s in sorted(symbols)
            }
            # part of the way from a book beyond the caps can still be beyond them: the caps are hard limits
            weights = _within_caps(weights, limits, breaches, " after the turnover cap")
    return RiskDecision(Weights(weights) if breaches else target, breaches)
