"""Holding back the orders that relied on one that failed.

A plan sends reductions before increases so that the increases fit within the risk limits once the reductions are
done. When an order of the plan fails (rejected, partly filled, cancelled or of unknown outcome), the increases
after it may rely on exposure that was never shed. ``ExposureGuard`` re-checks each later order on the book that
actually resulted: an order that would raise exposure is sent only if, at current marks,

- the gross notional after it stays within the gross notional the whole plan would have reached, and
- its symbol's position stays within the size the plan would have given that symbol.

Orders of unknown outcome count as possibly filled (whichever is worse for exposure). Pure: the venue hands in its
positions and prices; everything is exact ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal

from defipm.core.orders import Order, OrderResult, OrderStatus

ZERO = Decimal(0)


class ExposureGuard:
    """Built when an order of a plan fails; asked about every later order of that plan (``hold_back``)."""

    def __init__(
        self,
        intents: Sequence[Order],
        results: Sequence[OrderResult],
        positions: Mapping[str, Decimal],
        prices: Mapping[str, Decimal],
    ) -> None:
        """``intents``: the whole plan in order; ``results``: the outcomes so far; ``positions`` and ``prices``:
        the account as it is now (after those outcomes)."""
        self.blind_reason: str | None = None
        self.positions = {s: q for s, q in positions.items() if q}
        self.prices = {s: p for s, p in prices.items() if p.is_finite() and p > 0}
        for o in intents:
            if o.symbol not in self.prices and o.reference_price is not None:
                self.prices[o.symbol] = o.reference_price
        self.pending: dict[str, Decimal] = {}
        """Unfilled signed size of orders of unknown outcome, by symbol."""
        start = dict(self.positions)
        for r in results:
            for f in r.fills:
                start[f.symbol] = start.get(f.symbol, ZERO) - f.signed_quantity
            self._note_unknown(r)
        planned = dict(start)
        for o in intents:
            planned[o.symbol] = planned.get(o.symbol, ZERO) + o.signed_quantity
        self.planned_size = {s: abs(q) for s, q in planned.items()}
        self.cap = sum((abs(q) * self._price(s) for s, q in planned.items()), ZERO)
        """Gross notional the plan would have reached had every order filled, at current marks."""

    @classmethod
    def blind(cls, reason: str) -> ExposureGuard:
        """A guard for when the account cannot be read: only reduce-only orders go through."""
        guard = cls((), (), {}, {})
        guard.blind_reason = reason
        return guard

    def _price(self, symbol: str) -> Decimal:
        return self.prices.get(symbol, ZERO)

    def _note_unknown(self, result: OrderResult) -> None:
        if result.status is OrderStatus.UNKNOWN:
            o = result.order
            unfilled = o.quantity - result.filled_quantity
            if unfilled > 0:
                signed = unfilled if o.signed_quantity > 0 else -unfilled
                self.pending[o.symbol] = self.pending.get(o.symbol, ZERO) + signed

    def _size(self, symbol: str, position: Decimal) -> Decimal:
        """Worst-case size of ``symbol``: with or without its orders of unknown outcome."""
        pending = self.pending.get(symbol, ZERO)
        return max(abs(position), abs(position + pending))

    def gross(self) -> Decimal:
        symbols = set(self.positions) | set(self.pending)
        return sum((self._size(s, self.positions.get(s, ZERO)) * self._price(s) for s in symbols), ZERO)

    def hold_back(self, order: Order) -> str | None:
        """Why ``order`` must not be sent now, or None when it is safe (it does not raise exposure, or it fits)."""
        if self.blind_reason is not None:
            return (
                None
                if order.reduce_only
                else f"not sent: an earlier order of this rebalance failed, and {self.blind_reason}"
            )
        s = order.symbol
        position = self.positions.get(s, ZERO)
        before = self._size(s, position)
        after = self._size(s, position + order.signed_quantity)
        if after <= before:
            return None
        price = self._price(s)
        if after > self.planned_size.get(s, ZERO):
            return (
                f"not sent: an earlier order of this rebalance failed, and {s} would reach size {after}, above the "
                f"{self.planned_size.get(s, ZERO)} the plan gave it"
            )
        gross_after = self.gross() + (after - before) * price
        if gross_after > self.cap:
            return (
                f"not sent: an earlier order of this rebalance failed, and this increase would take gross notional "
                f"to {gross_after:.2f}, above the {self.cap:.2f} the plan would have reached"
            )
        return None

    def record(self, result: OrderResult) -> None:
        """Account for the outcome of an order that was sent."""
        for f in result.fills:
            q = self.positions.get(f.symbol, ZERO) + f.signed_quantity
            if q:
                self.positions[f.symbol] = q
            else:
                self.positions.pop(f.symbol, None)
        self._note_unknown(result)
