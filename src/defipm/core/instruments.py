"""Per-symbol trading rules of a venue: size step, price rounding, minimum notional, fees.

Sizes and prices are ``Decimal`` so rounding is exact. Price rounding covers both a fixed tick (most venues) and
Hyperliquid's rule (at most ``price_sig_figs`` significant figures and ``max_price_decimals`` decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """Trading rules for one symbol.

    size_step: smallest size increment, in base units (e.g. Decimal("0.001")).
    min_notional: smallest order value in quote currency that the venue accepts.
    price_tick: price increment, or None when prices follow significant-figure rules.
    price_sig_figs: max significant figures of a price, or None.
    max_price_decimals: max decimals of a price, or None.
    taker_fee: fee as a fraction of notional for aggressive orders (0.00045 = 4.5 bps).
    max_leverage: the venue's leverage cap for the symbol.
    min_notional_on_close: whether ``min_notional`` also applies to orders that fully close a position.
    order_cost: fixed cost of sending one order, quote currency (the expected gas of a swap on a chain venue):
        the planner keeps it back like fees.
    max_cost_share: the planner skips an order whose ``order_cost`` is above this share of its notional
        (0.01 = 1%); None: no such limit.
    """

    size_step: Decimal = Decimal("0.00000001")
    min_notional: Decimal = ZERO
    price_tick: Decimal | None = None
    price_sig_figs: int | None = None
    max_price_decimals: int | None = None
    taker_fee: Decimal = ZERO
    max_leverage: Decimal = Decimal(1)
    min_notional_on_close: bool = True
    order_cost: Decimal = ZERO
    max_cost_share: Decimal | None = None

    def round_size(self, quantity: Decimal) -> Decimal:
        """Round a non-negative size down to the size step (never up: rounding must not add exposure)."""
        if quantity <= 0:
            return ZERO
        steps = quantity // self.size_step  # exact: ``/`` would round to 28 digits first, possibly up
        return (steps * self.size_step).normalize() if steps else ZERO

    def round_price(self, price: Decimal, *, up: bool) -> Decimal:
        """Round a price to the venue's grid, ``up`` or down. A limit is rounded back toward the mid it was moved
        from (a buy's down, a sell's up), so rounding never allows more slippage than asked."""
        if price <= 0:
            raise ValueError(f"price must be positive, got {price}")
        rounding = ROUND_CEILING if up else ROUND_FLOOR
        out = price
        if self.price_tick is not None:  # ``//`` is exact; ``/`` rounds to 28 digits first, possibly past a tick
            ticks = out // self.price_tick
            if up and ticks * self.price_tick < out:
                ticks += 1
            out = ticks * self.price_tick
        if self.price_sig_figs is not None:
            exponent = out.adjusted() - self.price_sig_figs + 1
            if exponent > 0:
                quantum = Decimal(1).scaleb(exponent)
                out = (out / quantum).to_integral_value(rounding=rounding) * quantum
            else:
                out = out.quantize(Decimal(1).scaleb(exponent), rounding=rounding)
        if self.max_price_decimals is not None:
            out = out.quantize(Decimal(1).scaleb(-self.max_price_decimals), rounding=rounding)
        return out.normalize()

    def fee(self, notional: Decimal) -> Decimal:
        return abs(notional) * self.taker_fee


DEFAULT_RULES = InstrumentRules()
