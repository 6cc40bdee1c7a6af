"""Per-symbol trading rules of a venue: size step, price rounding, minimum notional, fees.

Sizes and prices are ``Decimal`` so rounding is exact. Price rounding covers both a fixed tick (most venues) and
Hyperliquid's rule (at most ``price_sig_figs`` significant figures and ``max_price_decimals`` decimals).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, localcontext

ZERO = Decimal(0)
PRICE_DIGITS = 28
"""Significant digits of the default decimal context, the precision of the books' arithmetic."""


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
        from (a buy's down, a sell's up), so rounding never allows more slippage than asked.

        Exact for any price: computed in a decimal context wide enough for the price and the grid (in the default
        28 digits, 1e30 on a 0.01 tick overflows and 1.48106e26 on a 0.03 tick rounds off the grid). Raises
        ``ValueError`` for a price that is not positive and finite, and for one whose rounded value needs more
        than ``PRICE_DIGITS`` significant digits (the books' precision): a price no order can carry exactly."""
        if not price.is_finite() or price <= 0:
            raise ValueError(f"price must be a positive finite number, got {price}")
        # in a context wide enough for every digit of the price and the grid: in the default 28 digits, a quotient
        # by the tick can overflow (1e30 on 0.01) or ``ticks * tick`` silently round off the grid (1.48106e26 on 0.03)
        exponents = [price.as_tuple().exponent, 0]
        if self.price_tick is not None:
            exponents.append(self.price_tick.as_tuple().exponent)
        if self.max_price_decimals is not None:
            exponents.append(-self.max_price_decimals)
        span = price.adjusted() - min(int(e) for e in exponents) + 3
        with localcontext(prec=max(PRICE_DIGITS, span)):
            out = self._on_grid(price, up)
        if len(out.as_tuple().digits) > PRICE_DIGITS:
            raise ValueError(
                f"price {price} on the grid (tick {self.price_tick}, {self.price_sig_figs} significant figures, "
                f"{self.max_price_decimals} decimals) needs more than {PRICE_DIGITS} significant digits, more than "
                "exact order arithmetic holds: check the price source and the symbol's price rules"
            )
        return out

    def _on_grid(self, price: Decimal, up: bool) -> Decimal:
        """``round_price``'s arithmetic in the current decimal context (``round_price`` makes it wide enough)."""
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
