"""Stop losses for a Hyperliquid book: which trigger orders protect the positions a rebalance left.

Each position of the configured sides gets one reduce-only ``STOP`` order for its whole size, triggering
``fraction`` against its entry price (a long's at ``entry x (1 - fraction)``, a short's at ``entry x (1 +
fraction)``). When the mark is already beyond that trigger (the position is down more than ``fraction``), the
trigger is taken from the mark instead, so placing a stop never closes the position at once. A stop worth under
the exchange's $10 minimum at its trigger cannot be placed; it is reported instead. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from defipm.core.orders import Order, OrderType, Side
from defipm.venues.hyperliquid.config import StopLossConfig
from defipm.venues.hyperliquid.rules import MIN_NOTIONAL


def stop_trigger(size: Decimal, entry: Decimal, mark: Decimal, fraction: Decimal) -> Decimal:
    """The trigger price of the stop of a position of signed ``size`` (module doc)."""
    if size > 0:
        return min(entry, mark) * (1 - fraction)
    return max(entry, mark) * (1 + fraction)


def stop_orders(
    positions: Mapping[str, Decimal],
    entries: Mapping[str, Decimal],
    marks: Mapping[str, Decimal],
    config: StopLossConfig,
) -> tuple[list[Order], list[str]]:
    """(the stop orders for ``positions``, one note per position too small to protect), in symbol order."""
    fraction = Decimal(repr(config.fraction))
    orders: list[Order] = []
    notes: list[str] = []
    for coin, size in sorted(positions.items()):
        if not size or (config.sides == "long" and size < 0) or (config.sides == "short" and size > 0):
            continue
        mark = marks.get(coin)
        if mark is None:
            notes.append(f"{coin}: no mark price: no stop loss placed")
            continue
        trigger = stop_trigger(size, entries.get(coin, mark), mark, fraction)
        if abs(size) * trigger < MIN_NOTIONAL:
            notes.append(
                f"{coin}: the position is worth {abs(size) * trigger:.2f} at its stop {trigger:.6g}, under the "
                f"${MIN_NOTIONAL} minimum: no stop loss placed"
            )
            continue
        side = Side.SELL if size > 0 else Side.BUY
        orders.append(Order(coin, side, abs(size), OrderType.STOP, trigger, True, None, mark))
    return orders, notes
