"""Exact integer Uniswap V2 constant-product math, matching ``UniswapV2Library`` to the wei.

``get_amount_out`` and ``get_amount_in`` are the library's ``getAmountOut`` / ``getAmountIn`` with the
pool fee as a parameter: either basis points (``fee_bps=30`` is Uniswap's 0.3%) or an explicit
``fee=(numerator, denominator)`` pair where ``numerator / denominator`` is the share of the input that stays
after the fee (Uniswap: ``(997, 1000)``). Both spellings give identical results because the library's
rounding only depends on the fee ratio. Bad amounts raise ``AmmError``; empty reserves or an output at or
above the reserve raise ``InsufficientLiquidityError`` (the contract's ``require``s).

All amounts are integers in token base units (wei). Nothing here uses floats.
"""

from __future__ import annotations

from defipm.amm.errors import AmmError, InsufficientLiquidityError

BPS = 10_000
UNISWAP_V2_FEE_BPS = 30

__all__ = [
    "BPS",
    "UNISWAP_V2_FEE_BPS",
    "fee_fraction",
    "get_amount_in",
    "get_amount_out",
    "get_amounts_in",
    "get_amounts_out",
    "quote",
]


def fee_fraction(fee_bps: int | None = None, fee: tuple[int, int] | None = None) -> tuple[int, int]:
    """Return ``(numerator, denominator)``: the part of an input amount that remains after the pool fee.

    ``fee_bps`` is the fee in basis points (0 <= fee_bps < 10,000); ``fee`` is an explicit kept-fraction pair.
    Give one or neither (neither means Uniswap's 30 bps).
    """
    if fee is not None:
        if fee_bps is not None:
            raise AmmError("give fee_bps or fee, not both")
        num, den = fee
        if not (isinstance(num, int) and isinstance(den, int)) or den <= 0 or not 0 < num <= den:
            raise AmmError(f"fee fraction must be integers with 0 < numerator <= denominator, got {fee!r}")
        return num, den
    bps = UNISWAP_V2_FEE_BPS if fee_bps is None else fee_bps
    if not isinstance(bps, int) or not 0 <= bps < BPS:
        raise AmmError(f"fee_bps must be an integer in [0, 10000), got {bps!r}")
    return BPS - bps, BPS


def _check_reserves(reserve_in: int, reserve_out: int) -> None:
    if reserve_in <= 0 or reserve_out <= 0:
        raise InsufficientLiquidityError(
            f"insufficient liquidity: reserves ({reserve_in}, {reserve_out}) must both be > 0"
        )


def quote(amount_a: int, reserve_a: int, reserve_b: int) -> int:
    """``UniswapV2Library.quote``: the equivalent amount of B at the current reserve ratio (no fee)."""
    if amount_a <= 0:
        raise AmmError(f"insufficient amount: {amount_a}")
    _check_reserves(reserve_a, reserve_b)
    return amount_a * reserve_b // reserve_a


def get_amount_out(
    amount_in: int,
    reserve_in: int,
    reserve_out: int,
    fee_bps: int | None = None,
    *,
    fee: tuple[int, int] | None = None,
) -> int:
    """Output amount for an exact input, rounded down like ``UniswapV2Library.getAmountOut``."""
    if amount_in <= 0:
        raise AmmError(f"insufficient input amount: {amount_in}")
    _check_reserves(reserve_in, reserve_out)
    num, den = fee_fraction(fee_bps, fee)
    amount_in_with_fee = amount_in * num
    return amount_in_with_fee * reserve_out // (reserve_in * den + amount_in_with_fee)


def get_amount_in(
    amount_out: int,
    reserve_in: int,
    reserve_out: int,
    fee_bps: int | None = None,
    *,
    fee: tuple[int, int] | None = None,
) -> int:
    """Input amount needed for an exact output, rounded up like ``UniswapV2Library.getAmountIn``."""
    if amount_out <= 0:
        raise AmmError(f"insufficient output amount: {amount_out}")
    _check_reserves(reserve_in, reserve_out)
    if amount_out >= reserve_out:
        raise InsufficientLiquidityError(f"insufficient liquidity: output {amount_out} >= reserve {reserve_out}")
    num, den = fee_fraction(fee_bps, fee)
    return reserve_in * amount_out * den // ((reserve_out - amount_out) * num) + 1


def get_amounts_out(amount_in: int, reserves: list[tuple[int, int]], fees_bps: list[int] | None = None) -> list[int]:
    """Chained ``getAmountOut`` over ``(reserve_in, reserve_out)`` hops; returns every intermediate amount."""
    amounts = [amount_in]
    for i, (r_in, r_out) in enumerate(reserves):
        amounts.append(get_amount_out(amounts[-1], r_in, r_out, None if fees_bps is None else fees_bps[i]))
    return amounts


def get_amounts_in(amount_out: int, reserves: list[tuple[int, int]], fees_bps: list[int] | None = None) -> list[int]:
    """Chained ``getAmountIn`` backwards over the hops; returns amounts from first input to final output."""
    amounts = [amount_out]
    for i in range(len(reserves) - 1, -1, -1):
        r_in, r_out = reserves[i]
        amounts.append(get_amount_in(amounts[-1], r_in, r_out, None if fees_bps is None else fees_bps[i]))
    amounts.reverse()
    return amounts
