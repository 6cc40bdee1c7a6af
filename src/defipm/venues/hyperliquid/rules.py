"""Hyperliquid's perpetual trading rules, shared by the venue and the local exchange.

- Sizes: multiples of ``10**-szDecimals``.
- Prices: at most 5 significant figures and at most ``6 - szDecimals`` decimals; an integer price is always
  allowed, whatever its number of significant figures (e.g. 123456 for BTC).
- Orders must be worth at least $10.
- Numbers go on the wire as ``float_to_wire`` strings: at most 8 decimals, no trailing zeros, no exponent.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from defipm.core.instruments import InstrumentRules

MIN_NOTIONAL = Decimal(10)
PRICE_SIG_FIGS = 5
MAX_PERP_DECIMALS = 6
TAKER_FEE = Decimal("0.00045")
"""Base-tier perp taker fee (4.5 bps)."""
MAKER_FEE = Decimal("0.00015")
"""Base-tier perp maker fee (1.5 bps), charged on resting orders that fill."""


def rules_from_meta(asset: dict[str, Any]) -> InstrumentRules:
    """``InstrumentRules`` for one entry of ``meta["universe"]``."""
    sz_decimals = int(asset["szDecimals"])
    return InstrumentRules(
        size_step=Decimal(1).scaleb(-sz_decimals),
        min_notional=MIN_NOTIONAL,
        price_sig_figs=PRICE_SIG_FIGS,
        max_price_decimals=MAX_PERP_DECIMALS - sz_decimals,
        taker_fee=TAKER_FEE,
        max_leverage=Decimal(int(asset.get("maxLeverage", 1))),
        min_notional_on_close=True,
    )


def price_is_valid(price: Decimal, sz_decimals: int) -> bool:
    """Whether the exchange accepts ``price`` for a coin with ``sz_decimals``."""
    if price <= 0:
        return False
    if price == price.to_integral_value():
        return True
    normalized = price.normalize()
    decimals = max(0, -normalized.as_tuple().exponent)  # type: ignore[operator]
    digits = len(normalized.as_tuple().digits)
    return decimals <= MAX_PERP_DECIMALS - sz_decimals and digits <= PRICE_SIG_FIGS


def round_price(price: Decimal, sz_decimals: int, *, up: bool) -> Decimal:
    """Round to the closest valid price in one direction; at or above 100,000 round to an integer (allowed)."""
    if price <= 0:
        raise ValueError(f"price must be positive, got {price}")
    rounding = ROUND_CEILING if up else ROUND_FLOOR
    if price.adjusted() >= PRICE_SIG_FIGS:
        return price.to_integral_value(rounding=rounding)
    rules = InstrumentRules(price_sig_figs=PRICE_SIG_FIGS, max_price_decimals=MAX_PERP_DECIMALS - sz_decimals)
    return rules.round_price(price, up=up)


def size_is_valid(size: Decimal, sz_decimals: int) -> bool:
    return size > 0 and size == size.quantize(Decimal(1).scaleb(-sz_decimals), rounding=ROUND_FLOOR)


def to_wire(value: Decimal) -> str:
    """``float_to_wire`` for a Decimal (exact; raises if it needs more than 8 decimals)."""
    q = value.quantize(Decimal("0.00000001"))
    if q != value:
        raise ValueError(f"{value} needs more than 8 decimals on the wire")
    text = f"{q.normalize():f}"
    return "0" if text in ("-0", "0") else text


def fmt(value: Decimal, places: int = 6) -> str:
    """A money or size figure the way the API prints it ("1182.312496", "30135.0")."""
    q = value.quantize(Decimal(1).scaleb(-places)).normalize()
    text = f"{q:f}"
    return text if "." in text else text + ".0"
