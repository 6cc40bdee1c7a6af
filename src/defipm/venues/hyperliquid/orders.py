"""How a defipm ``Order`` goes on Hyperliquid's wire, and how the exchange's answer about it becomes an outcome.

Terms of each order type (prices rounded to the coin's valid prices, see ``rules.py``):

- ``MARKET`` (and any order without a limit price but ``LIMIT``/``STOP``): IOC at the mid moved by the slippage cap
  against us, rounded back toward the mid (never past the cap).
- ``LIMIT_IOC``: IOC at its limit price, rounded to the safe side (a buy down, a sell up).
- ``LIMIT``: a resting order ("Alo" post-only or "Gtc") at its limit price, or without one at the mid moved by the
  offset away from the book (a buy below the mid, a sell above), rounded further away.
- ``STOP``: a reduce-only trigger order ("sl") whose trigger is the order's ``limit_price``, executed at market
  once triggered, no worse than the trigger moved by the stop's slippage.

A status entry of an ``order`` action is ``{"filled": {...}}``, ``{"resting": {...}}``, ``{"error": "..."}`` or
(for grouped take-profit/stop-loss orders) the strings "waitingForFill"/"waitingForTrigger"; ``status_outcome``
reads one (numbers checked as in ``parsing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from defipm.core.orders import Order, OrderStatus, OrderType, Side
from defipm.venues.hyperliquid.parsing import MalformedAnswerError, get, integer, parse_filled
from defipm.venues.hyperliquid.rules import round_price

_WAITING = ("waitingForFill", "waitingForTrigger")


@dataclass(frozen=True, slots=True)
class OrderTerms:
    """What goes on the wire for one order besides coin, side, size and cloid."""

    price: Decimal
    """The limit price (for a stop: the worst price of its market execution)."""
    tif: str | None
    """"Ioc", "Gtc" or "Alo"; None for a trigger order."""
    trigger: Decimal | None = None
    """The trigger price of a stop loss."""


@dataclass(frozen=True, slots=True)
class TermsPolicy:
    """The venue's settings that decide prices: the IOC slippage cap, the resting orders' time in force and
    offset from the mid, and the stops' slippage beyond their trigger (all fractions of a price)."""

    slippage: Decimal
    time_in_force: str = "Alo"
    limit_offset: Decimal = Decimal(0)
    stop_slippage: Decimal = Decimal("0.05")


def order_terms(order: Order, mid: Decimal, sz_decimals: int, policy: TermsPolicy) -> OrderTerms:
    """The wire terms of ``order`` at ``mid`` (module doc). Raises ``ValueError`` for a non-positive price."""
    buy = order.side is Side.BUY
    kind, limit = order.order_type, order.limit_price
    if kind is OrderType.STOP and limit is not None:
        trigger = round_price(limit, sz_decimals, up=not buy)  # a sell stop triggers no lower, a buy no higher
        worst = trigger * (1 + policy.stop_slippage) if buy else trigger * (1 - policy.stop_slippage)
        return OrderTerms(round_price(worst, sz_decimals, up=buy), None, trigger)
    if kind is OrderType.LIMIT:
        if limit is None:
            limit = mid * (1 - policy.limit_offset) if buy else mid * (1 + policy.limit_offset)
        return OrderTerms(round_price(limit, sz_decimals, up=not buy), policy.time_in_force)
    if kind is OrderType.LIMIT_IOC and limit is not None:
        return OrderTerms(round_price(limit, sz_decimals, up=not buy), "Ioc")
    raw = mid * (1 + policy.slippage) if buy else mid * (1 - policy.slippage)
    return OrderTerms(round_price(raw, sz_decimals, up=not buy), "Ioc")


@dataclass(frozen=True, slots=True)
class StatusOutcome:
    """One order's status entry, read: FILLED (possibly in part: ``quantity`` below the order's), RESTING or
    REJECTED (with the exchange's ``error``)."""

    status: OrderStatus
    oid: int | None = None
    quantity: Decimal = Decimal(0)
    average_price: Decimal | None = None
    error: str | None = None


def status_outcome(entry: Any, order: Order) -> StatusOutcome:
    """Read one status entry about ``order``. Raises ``MalformedAnswerError`` (a ``VenueError``: the order is then
    looked up by its cloid) for an entry that is none of the known shapes or holds an unusable number."""
    coin = order.symbol
    if isinstance(entry, dict) and "error" in entry:
        return StatusOutcome(OrderStatus.REJECTED, error=f"{coin}: {entry['error']}")
    if isinstance(entry, dict) and "filled" in entry:
        qty, avg, oid = parse_filled(entry, coin)
        done = OrderStatus.FILLED if qty >= order.quantity else OrderStatus.PARTIALLY_FILLED
        return StatusOutcome(done, oid, qty, avg)
    if isinstance(entry, dict) and "resting" in entry:
        oid = integer(get(entry["resting"], "oid", "order status", f"{coin} oid"), "order status", f"{coin} oid")
        return StatusOutcome(OrderStatus.RESTING, oid)
    if entry in _WAITING:
        return StatusOutcome(OrderStatus.RESTING)
    shown = repr(entry)[:60]
    raise MalformedAnswerError(f"Hyperliquid order status: {coin}: an entry of unknown shape ({shown})")
