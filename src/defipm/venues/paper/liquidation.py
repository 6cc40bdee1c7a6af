"""Liquidation on the paper perpetual venue: when equity falls below the maintenance margin, the exchange closes
every position at the mark (with the fill model's slippage and the taker fee), as Hyperliquid does.

Hyperliquid's maintenance margin is half the initial margin at the coin's maximum leverage
(https://hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations): ``gross notional / (2 x max_leverage)``.
A liquidation that leaves cash below zero is absorbed by the exchange (its liquidator vault or insurance fund),
so an account never owes more than it holds; the absorbed amount is recorded as ``shortfall``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from defipm.core.amounts import format_amount
from defipm.core.orders import Fill

LIQUIDATION_ID_PREFIX = "liquidation-"
"""Client order ids of the exchange's own closing fills (they have no journal intent: nobody sent them)."""


def default_maintenance_fraction(max_leverage: Decimal) -> Decimal:
    """Maintenance margin as a fraction of gross notional: half the initial margin ``1 / max_leverage``."""
    return 1 / (2 * max_leverage)


@dataclass(frozen=True, slots=True)
class Liquidation:
    """One liquidation: every position closed because equity fell below the maintenance margin."""

    timestamp: datetime | None
    """Market time of the mark that triggered it."""
    equity: Decimal
    """Equity at that mark, quote currency."""
    maintenance: Decimal
    """Maintenance margin required at that mark, quote currency."""
    fills: tuple[Fill, ...]
    shortfall: Decimal
    """Cash below zero after the closes, absorbed by the exchange (0 when the account covered its losses)."""

    def describe(self) -> str:
        closed = ", ".join(
            f"{f.symbol} {f.side.value} {format_amount(f.quantity)} at {format_amount(f.price, 6)}" for f in self.fills
        )
        text = (
            f"liquidated: equity {self.equity:,.2f} below maintenance margin {self.maintenance:,.2f}; closed {closed}"
        )
        if self.shortfall:
            text += f"; shortfall {self.shortfall:,.2f} absorbed by the exchange"
        return text
