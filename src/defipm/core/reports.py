"""What a rebalance and a manager cycle report: execution figures, risk breaches, notes.

Money figures are ``Decimal`` in quote currency. ``slippage_cost`` is what fills cost against the mid the planner
sized with (positive = paid). ``turnover`` is traded notional over equity before the rebalance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import NamedTuple

from defipm.core.account import AccountSnapshot
from defipm.core.orders import Fill, OrderResult, OrderStatus, Side, SkippedOrder
from defipm.core.weights import Weights

ZERO = Decimal(0)
_BUY = Side.BUY
_FILLED, _UNKNOWN, _RESTING = OrderStatus.FILLED, OrderStatus.UNKNOWN, OrderStatus.RESTING
_CANCELLED, _PLANNED = OrderStatus.CANCELLED, OrderStatus.PLANNED


class _Tally(NamedTuple):
    fees: Decimal
    traded: Decimal
    slippage: Decimal
    unfilled: int
    unknown: int


def tally_results(results: tuple[OrderResult, ...] | list[OrderResult]) -> _Tally:
    """Fees, traded notional (fill quantity x fill price) and slippage cost against each order's reference price
    (positive = paid), all quote currency, and the counts of orders not filled completely and of unknown outcome,
    in one pass over ``results``. The one sum behind ``RebalanceReport`` and ``CycleReport``."""
    fees = traded = slippage = ZERO
    unfilled = unknown = 0
    for r in results:
        status = r.status
        if status is not _FILLED and status is not _RESTING:  # a resting order is placed as asked
            unfilled += 1
            if status is _UNKNOWN:
                unknown += 1
        ref = r.order.reference_price
        for f in r.fills:
            fees += f.fee
            price = f.price
            traded += f.quantity * price
            if ref is not None and price is not ref and price != ref:  # a fill at the mid is often its very object
                slippage += (price - ref) * f.quantity if f.side is _BUY else (ref - price) * f.quantity
    return _Tally(fees, traded, slippage, unfilled, unknown)


@dataclass(frozen=True, slots=True)
class RebalanceReport:
    """One rebalance: the target, the account before and after, every order's result and every skipped trade."""

    target: Weights
    before: AccountSnapshot
    after: AccountSnapshot
    results: tuple[OrderResult, ...] = ()
    skipped: tuple[SkippedOrder, ...] = ()
    stopped_early: bool = False
    """True when a failure stopped the plan before every order was sent."""
    _tally: _Tally | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def weights_after(self) -> Weights:
        return self.after.weights()

    @property
    def equity_before(self) -> Decimal:
        return self.before.equity

    @property
    def equity_after(self) -> Decimal:
        return self.after.equity

    @property
    def fills(self) -> list[Fill]:
        return [f for r in self.results for f in r.fills]

    def _sums(self) -> _Tally:
        """Fees, traded notional, slippage cost and the failure counts, in one pass over the results."""
        tally = self._tally
        if tally is None:
            tally = tally_results(self.results)
            object.__setattr__(self, "_tally", tally)
        return tally

    @property
    def fees(self) -> Decimal:
        return self._sums().fees

    @property
    def network_fees(self) -> Decimal:
        """Gas and other costs paid outside fills (quote currency)."""
        return sum((r.network_fee for r in self.results), ZERO)

    @property
    def traded_notional(self) -> Decimal:
        return self._sums().traded

    @property
    def slippage_cost(self) -> Decimal:
        return self._sums().slippage

    @property
    def turnover(self) -> float:
        if self.equity_before <= 0:
            return 0.0
        return float(self.traded_notional / self.equity_before)

    @property
    def failures(self) -> list[OrderResult]:
        """Orders that did not fill completely (rejected, cancelled, partially filled, outcome unknown); a resting
        order (a limit or a stop, placed as asked) is not one."""
        if not self._sums().unfilled:
            return []
        return [r for r in self.results if r.status is not _FILLED and r.status is not _RESTING]

    @property
    def has_unknown(self) -> bool:
        """Some order's outcome is unknown (a transport error): the journal must reconcile it before trading on."""
        return self._sums().unknown > 0

    @property
    def ok(self) -> bool:
        return not self.stopped_early and not self._sums().unfilled


class CycleStatus(StrEnum):
    TRADED = "traded"
    """The cycle rebalanced (possibly with nothing to trade)."""
    HALTED = "halted"
    """The kill switch or the drawdown breaker stopped trading: the oracle's target was not traded. Under the
    breaker's ``on_breach`` policy "reduce" or "flatten", risk-reducing orders may have been sent (``rebalance``)."""
    REJECTED = "rejected"
    """The oracle's weights failed validation; nothing was sent."""
    FAILED = "failed"
    """Some orders failed, the venue could not be read or reached, or an order of unknown outcome is still open;
    ``error`` says which."""
    WAITING = "waiting"
    """The rebalance policy had nothing due (no schedule, no new signal, no drift past its threshold): the oracle
    was not asked and nothing was sent."""


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
    resent: tuple[OrderResult, ...] = ()
    """Orders of an interrupted earlier cycle that this cycle sent after a restart (they count in this cycle)."""

    @property
    def results(self) -> tuple[OrderResult, ...]:
        """Every order result of the cycle in the order sent: the resent orders first, then its rebalance's."""
        return self.resent + (self.rebalance.results if self.rebalance is not None else ())

    @property
    def sent(self) -> list[OrderResult]:
        """The orders this cycle sent to the venue, resent ones included (an intent cancelled before sending, or
        still only planned, did not go out). What the table, the line per cycle, ``--json`` and the store count."""
        return [r for r in self.results if r.status is not _CANCELLED and r.status is not _PLANNED]

    @property
    def has_execution(self) -> bool:
        """The cycle reached a rebalance or resent orders, so its execution figures (fees, slippage, turnover)
        mean something; False for a cycle that stopped before (halted, rejected, failed early, waiting)."""
        return self.rebalance is not None or bool(self.resent)

    @property
    def fees(self) -> Decimal:
        """Fees of every order this cycle sent (its rebalance and any resent orders), quote currency."""
        return tally_results(self.results).fees

    @property
    def slippage_cost(self) -> Decimal:
        """Slippage of every order this cycle sent against each order's reference price, quote currency."""
        return tally_results(self.results).slippage

    @property
    def traded_notional(self) -> Decimal:
        """Fill notional (quantity x fill price) of every order this cycle sent, quote currency."""
        return tally_results(self.results).traded

    @property
    def turnover(self) -> float:
        """Traded notional of every order this cycle sent over the equity before its rebalance (the cycle's equity
        when it did not rebalance); 0.0 when that equity is unknown or not positive."""
        equity = self.rebalance.equity_before if self.rebalance is not None else self.equity
        if equity is None or equity <= 0:
            return 0.0
        return float(self.traded_notional / equity)

    @property
    def ok(self) -> bool:
        if self.status is CycleStatus.WAITING:
            return True
        return self.status is CycleStatus.TRADED and (self.rebalance is None or self.rebalance.ok)
