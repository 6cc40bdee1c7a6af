"""A point-in-time view of an account: cash, positions and prices, and the figures derived from them.

Books are kept in the "cash + marked positions" form for spot and perpetuals alike: buying moves quote currency
out of ``cash`` and into a position (for perpetuals ``cash`` is collateral minus entry notional and may go
negative), so ``equity == cash + sum(quantity * price)`` always holds exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal

from defipm.core.errors import MissingPriceError
from defipm.core.weights import Weights


@dataclass(frozen=True, slots=True)
class AccountSnapshot:
    cash: Decimal
    positions: Mapping[str, Decimal]
    prices: Mapping[str, Decimal]

    def __post_init__(self) -> None:
        missing = sorted(s for s, q in self.positions.items() if q and s not in self.prices)
        if missing:
            raise MissingPriceError(f"no price for held asset(s): {', '.join(missing)}")

    def position_value(self, symbol: str) -> Decimal:
        qty = self.positions.get(symbol, Decimal(0))
        return qty * self.prices[symbol] if qty else Decimal(0)

    @property
    def equity(self) -> Decimal:
        return self.cash + sum((self.position_value(s) for s in self.positions), Decimal(0))

    @property
    def gross_exposure(self) -> Decimal:
        return sum((abs(self.position_value(s)) for s in self.positions), Decimal(0))

    def weights(self) -> Weights:
        """Current signed weights (position value / equity); empty when equity is not positive."""
        equity = self.equity
        if equity <= 0:
            return Weights({})
        return Weights({s: float(self.position_value(s) / equity) for s, q in self.positions.items() if q})
