"""A point-in-time view of an account: cash, positions and prices, and the figures derived from them.

Books are kept in the "cash + marked positions" form for spot and perpetuals alike: buying moves quote currency
out of ``cash`` and into a position (for perpetuals ``cash`` is collateral minus entry notional and may go
negative), so ``equity == cash + sum(quantity * price)`` always holds exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from operator import mul

from defipm.core.errors import MissingPriceError
from defipm.core.weights import Weights

_ZERO = Decimal(0)


def marked_values(positions: Mapping[str, Decimal], prices: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """Quantity x price of every non-zero position, each held symbol's price required (``MissingPriceError``
    naming every one without). A backtest marks every bar: the usual case (no zero, every price known) runs in
    C-level loops, anything else one position at a time."""
    if _ZERO not in positions.values():
        try:
            return dict(zip(positions, map(mul, positions.values(), map(prices.__getitem__, positions)), strict=True))
        except KeyError:
            pass
    values: dict[str, Decimal] = {}
    missing = []
    for s, q in positions.items():
        if q:
            p = prices.get(s)
            if p is None:
                missing.append(s)
            else:
                values[s] = q * p
    if missing:
        raise MissingPriceError(f"no price for held asset(s): {', '.join(sorted(missing))}")
    return values


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    cash: Decimal
    positions: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]

    values: Mapping[str, Decimal] = field(init=False)
    """Marked value of each non-zero position (quantity x price)."""
    equity: Decimal = field(init=False)
    """``cash + sum(values)``, exact."""
    _weights: Weights | None = field(init=False, default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        values = marked_values(self.positions, self.prices)
        object.__setattr__(self, "values", values)
        object.__setattr__(self, "equity", self.cash + sum(values.values(), Decimal(0)))

    @classmethod
    def marked(
        cls,
        cash: Decimal,
        positions: Mapping[str, Decimal],
        prices: Mapping[str, Decimal],
        values: Mapping[str, Decimal],
        value: Decimal,
    ) -> AccountSnapshot:
        """The snapshot of a book its venue has just marked: ``values`` exactly as ``marked_values(positions,
        prices)`` gives them, ``value`` their sum in their order (so ``equity`` is what the constructor computes).
        The paper venue marks its book once per price update and reuses the marks here instead of marking twice."""
        snap = cls.__new__(cls)
        for name, field_value in (
            ("cash", cash),
            ("positions", positions),
            ("prices", prices),
            ("values", values),
            ("equity", cash + value),
            ("_weights", None),
        ):
            object.__setattr__(snap, name, field_value)
        return snap

    def position_value(self, symbol: str) -> Decimal:
        return self.values.get(symbol, Decimal(0))

    def weights(self) -> Weights:
        """Current signed weights (position value / equity); empty when equity is not positive. Computed once."""
        cached = self._weights
        if cached is None:
            equity = self.equity
            cached = Weights({s: float(v / equity) for s, v in self.values.items()}) if equity > 0 else Weights({})
            object.__setattr__(self, "_weights", cached)
        return cached
