"""Risk limits the operator sets on top of whatever the oracle asks for, and the pure function applying them.

Limits act visibly: each one that changes the target returns a ``RiskBreach`` saying what it did (clipped,
scaled, halted); the manager puts every breach in the cycle report and the store. The drawdown breaker halts
trading (persisted by the manager) until an operator resets it; ``on_breach`` says what happens to the book
meanwhile (``halted_book_target``): "freeze" sends nothing, "reduce" (the default) keeps bringing it back within
``max_weight`` and the gross limit with reduce-only orders, "flatten" closes it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

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
    on_breach: what the tripped drawdown breaker does with the book while trading is halted: "freeze" (send
        nothing), "reduce" (reduce-only orders back within max_weight and the gross limit) or "flatten" (close
        every position). The operator's kill switch always freezes.
    """

    max_gross_leverage: float | None = None
    max_weight: float | None = None
    max_turnover: float | None = None
    max_drawdown: float | None = None
    on_breach: Literal["freeze", "reduce", "flatten"] = "reduce"

    def __post_init__(self) -> None:
        for name in ("max_gross_leverage", "max_weight", "max_turnover", "max_drawdown"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0
            ):
                raise ValueError(f"risk limit {name} must be a positive number, got {value!r}")
        if self.on_breach not in ("freeze", "reduce", "flatten"):
            raise ValueError(f"risk on_breach must be 'freeze', 'reduce' or 'flatten', got {self.on_breach!r}")
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
            capped, acted = weights, len(breaches)
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
            if all(
                math.isclose(weights.get(x, 0.0), capped.get(x, 0.0), rel_tol=1e-12, abs_tol=1e-15) for x in symbols
            ):
                # the caps undid the turnover cap (from a book beyond them, the target is the way back inside):
                # nothing acted in the end, so nothing is reported for it
                weights = capped
                del breaches[acted:]
    return RiskDecision(Weights(weights) if breaches else target, breaches)


def halted_book_target(
    current: Weights, limits: RiskLimits, gross_limit: float | None
) -> tuple[Weights | None, list[RiskBreach]]:
    """What a halted book should be brought to under ``limits.on_breach``, or None when nothing should be sent.

    "reduce": ``current`` clipped to ``max_weight`` and scaled to ``gross_limit`` (the manager passes
    ``max_gross_leverage``, else the oracle's ``max_gross``); None when both already hold. "flatten": no
    position at all. "freeze": None. Every weight of the result is no larger in size than it is now and has the
    same sign, so every order toward it is reduce-only."""
    if limits.on_breach == "freeze" or not current:
        return None, []
    if limits.on_breach == "flatten":
        return Weights({}), [
            RiskBreach("on_breach", "halted: closing every position (on_breach = flatten)", "flattened")
        ]
    breaches: list[RiskBreach] = []
    caps = RiskLimits(max_weight=limits.max_weight, max_gross_leverage=gross_limit)
    reduced = _within_caps(dict(current.items()), caps, breaches, " while halted")
    if not breaches:
        return None, []
    return Weights(reduced), breaches
