"""Checking a price update before the paper venue takes it: every price a positive, finite number, every volume a
number >= 0, the time zone-aware. A bad value is refused with one ``MissingPriceError`` naming every offending
symbol and value, and nothing of the update is applied (a feed's null, text, boolean or NaN is never traded)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from numbers import Real
from typing import cast

from defipm.core.errors import MissingPriceError

_INF = float("inf")


def _price(value: object) -> Decimal | None:
    """The exact decimal of a usable price, or None. Floats go through their shortest repr."""
    if isinstance(value, bool):  # True is an int to Python, never a price
        return None
    if isinstance(value, Decimal):
        return value if value.is_finite() and value > 0 else None
    if isinstance(value, int):
        return Decimal(value) if value > 0 else None
    if isinstance(value, Real):  # numpy floats and the like
        f = float(value)
        return Decimal(repr(f)) if 0.0 < f < _INF else None
    return None


def _all_plain_floats(prices: Mapping[str, object]) -> dict[str, Decimal] | None:
    """The common update (a backtest's bar: symbol names to positive, finite floats) converted with C-level loops,
    or None when any entry needs the careful path below (which then names it)."""
    raw = list(prices.values())
    if not raw or set(map(type, raw)) != {float} or set(map(type, prices)) != {str} or "" in prices:
        return None
    values = cast(list[float], raw)
    if not min(values) > 0.0 or not max(values) < _INF or any(map(math.isnan, values)):
        return None
    return dict(zip(prices, map(Decimal, map(repr, values)), strict=True))


def checked_prices(timestamp: object, prices: Mapping[str, object]) -> dict[str, Decimal]:
    """``prices`` as exact decimals, or ``MissingPriceError`` naming every bad entry (and a naive timestamp)."""
    if not isinstance(timestamp, datetime) or timestamp.tzinfo is None:
        raise MissingPriceError(f"price update stamped {timestamp!r}: the time must be a timezone-aware datetime")
    fast = _all_plain_floats(prices)
    if fast is not None:
        return fast
    out: dict[str, Decimal] = {}
    bad = []
    for s, p in prices.items():
        if type(p) is float and type(s) is str and s:  # the common case (a backtest's bars), checked inline
            if 0.0 < p < _INF:
                out[s] = Decimal(repr(p))
            else:
                bad.append(f"{s}={p!r}")
            continue
        if not isinstance(s, str) or not s:
            bad.append(f"symbol {s!r} (not a symbol name)")
            continue
        d = _price(p)
        if d is None:
            bad.append(f"{s}={'missing' if p is None else repr(p)}")
        else:
            out[s] = d
    if bad:
        raise MissingPriceError(
            f"price update at {timestamp.isoformat()} refused: not a positive, finite number: {', '.join(bad)}"
        )
    return out


def checked_volumes(timestamp: datetime, volumes: Mapping[str, object] | None) -> dict[str, float]:
    """Bar dollar volumes as floats (NaN = unknown, left out), or ``MissingPriceError`` naming the bad ones."""
    if not volumes:
        return {}
    out: dict[str, float] = {}
    bad = []
    for s, v in volumes.items():
        if type(v) is float:  # the common case, checked without the slower ABC test below
            f = v
        elif isinstance(v, bool) or not isinstance(v, Real | Decimal):
            bad.append(f"{s}={'missing' if v is None else repr(v)}")
            continue
        else:
            f = float(v)
        if f != f:
            continue
        if not 0.0 <= f < _INF:
            bad.append(f"{s}={v!r}")
        else:
            out[s] = f
    if bad:
        raise MissingPriceError(
            f"volume update at {timestamp.isoformat()} refused: not a finite number >= 0: {', '.join(bad)}"
        )
    return out
