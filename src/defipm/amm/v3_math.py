"""Uniswap V3 FullMath, SqrtPriceMath, SwapMath and LiquidityMath in exact integers.

Ports of the v3-core libraries with the EVM's uint256 overflow behaviour reproduced where the contract
depends on it (``get_next_sqrt_price_from_amount0_rounding_up`` takes another path when ``amount * sqrtP``
overflows).
Every ``require`` of the contracts becomes an ``AmmError``. Amounts are token base units; prices are Q64.96.

- ``mul_div`` / ``mul_div_rounding_up``: FullMath (floor / ceil of a*b/d, result must fit uint256)
- ``get_amount0_delta`` / ``get_amount1_delta``: token amounts between two prices for a liquidity
- ``get_next_sqrt_price_from_input`` / ``..._from_output``: price after adding / removing an amount
- ``compute_swap_step``: one step of a swap toward a target price, with the fee in pips (1e-6)
- ``add_delta``: LiquidityMath.addDelta
"""

from __future__ import annotations

from typing import NamedTuple

from defipm.amm.errors import AmmError

Q96 = 1 << 96
RESOLUTION = 96
UINT128_MAX = (1 << 128) - 1
UINT160_MAX = (1 << 160) - 1
UINT256_MAX = (1 << 256) - 1
FEE_DENOMINATOR = 1_000_000


def mul_div(a: int, b: int, denominator: int) -> int:
    """floor(a * b / denominator); AmmError when the denominator is 0 or the result overflows uint256."""
    if denominator == 0:
        raise AmmError("mulDiv: division by zero")
    result = a * b // denominator
    if result > UINT256_MAX:
        raise AmmError("mulDiv: result overflows uint256")
    return result


def mul_div_rounding_up(a: int, b: int, denominator: int) -> int:
    """ceil(a * b / denominator); AmmError when the denominator is 0 or the result overflows uint256."""
    if denominator == 0:
        raise AmmError("mulDivRoundingUp: division by zero")
    result = -(-(a * b) // denominator)
    if result > UINT256_MAX:
        raise AmmError("mulDivRoundingUp: result overflows uint256")
    return result


def div_rounding_up(x: int, y: int) -> int:
    """UnsafeMath.divRoundingUp: ceil(x / y) for y > 0."""
    return -(-x // y)


def _to_uint160(x: int) -> int:
    if x > UINT160_MAX:
        raise AmmError("sqrt price overflows uint160")
    return x


def get_next_sqrt_price_from_amount0_rounding_up(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (``add``) or removing ``amount`` of token0, rounded up."""
    if amount == 0:
        return sqrt_p
    numerator1 = liquidity << RESOLUTION
    product = amount * sqrt_p
    if add:
        if product <= UINT256_MAX:
            denominator = numerator1 + product
            if denominator <= UINT256_MAX:
                return _to_uint160(mul_div_rounding_up(numerator1, sqrt_p, denominator))
        return _to_uint160(div_rounding_up(numerator1, numerator1 // sqrt_p + amount))
    if product > UINT256_MAX or numerator1 <= product:
        raise AmmError("not enough token0 liquidity to remove the amount")
    return _to_uint160(mul_div_rounding_up(numerator1, sqrt_p, numerator1 - product))


def get_next_sqrt_price_from_amount1_rounding_down(sqrt_p: int, liquidity: int, amount: int, add: bool) -> int:
    """Price after adding (``add``) or removing ``amount`` of token1, rounded down."""
    if add:
        quotient = (amount << RESOLUTION) // liquidity if amount <= UINT160_MAX else mul_div(amount, Q96, liquidity)
        return _to_uint160(sqrt_p + quotient)
    if amount <= UINT160_MAX:
        quotient = div_rounding_up(amount << RESOLUTION, liquidity)
    else:
        quotient = mul_div_rounding_up(amount, Q96, liquidity)
    if sqrt_p <= quotient:
        raise AmmError("not enough token1 liquidity to remove the amount")
    return sqrt_p - quotient


def get_next_sqrt_price_from_input(sqrt_p: int, liquidity: int, amount_in: int, zero_for_one: bool) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise AmmError("sqrt price and liquidity must be positive")
    if zero_for_one:
        return get_next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_in, True)
    return get_next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_in, True)


def get_next_sqrt_price_from_output(sqrt_p: int, liquidity: int, amount_out: int, zero_for_one: bool) -> int:
    if sqrt_p <= 0 or liquidity <= 0:
        raise AmmError("sqrt price and liquidity must be positive")
    if zero_for_one:
        return get_next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_out, False)
    return get_next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_out, False)


def get_amount0_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token0 between two sqrt prices for ``liquidity`` (unsigned), rounded up or down."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if sqrt_a <= 0:
        raise AmmError("sqrt price must be positive")
    numerator1 = liquidity << RESOLUTION
    numerator2 = sqrt_b - sqrt_a
    if round_up:
        return div_rounding_up(mul_div_rounding_up(numerator1, numerator2, sqrt_b), sqrt_a)
    return mul_div(numerator1, numerator2, sqrt_b) // sqrt_a


def get_amount1_delta(sqrt_a: int, sqrt_b: int, liquidity: int, round_up: bool) -> int:
    """Token1 between two sqrt prices for ``liquidity`` (unsigned), rounded up or down."""
    if sqrt_a > sqrt_b:
        sqrt_a, sqrt_b = sqrt_b, sqrt_a
    if round_up:
        return mul_div_rounding_up(liquidity, sqrt_b - sqrt_a, Q96)
    return mul_div(liquidity, sqrt_b - sqrt_a, Q96)


class SwapStep(NamedTuple):
    """Result of one ``compute_swap_step``: the new price and the step's input, output and fee amounts."""

    sqrt_price_next_x96: int
    amount_in: int
    amount_out: int
    fee_amount: int


def compute_swap_step(
    sqrt_current: int, sqrt_target: int, liquidity: int, amount_remaining: int, fee_pips: int
) -> SwapStep:
    """SwapMath.computeSwapStep. ``amount_remaining`` > 0: exact input, < 0: exact output; fee in pips.

    The token deltas between two prices are ``get_amount0_delta`` / ``get_amount1_delta`` written out in place
    (this is the quote's inner loop): with liquidity < 2**128 and prices in [MIN_SQRT_RATIO, MAX_SQRT_RATIO)
    none of their products or quotients can leave uint256, so their overflow checks could never fire here.
    """
    zero_for_one = sqrt_current >= sqrt_target
    exact_in = amount_remaining >= 0
    l96 = liquidity << RESOLUTION
    amount_in = amount_out = 0
    if exact_in:
        remaining_less_fee = mul_div(amount_remaining, FEE_DENOMINATOR - fee_pips, FEE_DENOMINATOR)
        if zero_for_one:  # get_amount0_delta(target, current, L, round up)
            amount_in = -((-(l96 * (sqrt_current - sqrt_target)) // sqrt_current) // sqrt_target)
        else:  # get_amount1_delta(current, target, L, round up)
            amount_in = -(-(liquidity * (sqrt_target - sqrt_current)) >> RESOLUTION)
        if remaining_less_fee >= amount_in:
            sqrt_next = sqrt_target
        else:
            sqrt_next = get_next_sqrt_price_from_input(sqrt_current, liquidity, remaining_less_fee, zero_for_one)
    else:
        if zero_for_one:  # get_amount1_delta(target, current, L, round down)
            amount_out = (liquidity * (sqrt_current - sqrt_target)) >> RESOLUTION
        else:  # get_amount0_delta(current, target, L, round down)
            amount_out = l96 * (sqrt_target - sqrt_current) // sqrt_target // sqrt_current
        if -amount_remaining >= amount_out:
            sqrt_next = sqrt_target
        else:
            sqrt_next = get_next_sqrt_price_from_output(sqrt_current, liquidity, -amount_remaining, zero_for_one)

    reached = sqrt_target == sqrt_next
    if zero_for_one:
        if not (reached and exact_in):
            amount_in = -((-(l96 * (sqrt_current - sqrt_next)) // sqrt_current) // sqrt_next)
        if not (reached and not exact_in):
            amount_out = (liquidity * (sqrt_current - sqrt_next)) >> RESOLUTION
    else:
        if not (reached and exact_in):
            amount_in = -(-(liquidity * (sqrt_next - sqrt_current)) >> RESOLUTION)
        if not (reached and not exact_in):
            amount_out = l96 * (sqrt_next - sqrt_current) // sqrt_next // sqrt_current

    if not exact_in and amount_out > -amount_remaining:
        amount_out = -amount_remaining
    if exact_in and sqrt_next != sqrt_target:
        fee_amount = amount_remaining - amount_in
    else:
        fee_amount = -(-(amount_in * fee_pips) // (FEE_DENOMINATOR - fee_pips))
    return SwapStep(sqrt_next, amount_in, amount_out, fee_amount)


def add_delta(liquidity: int, delta: int) -> int:
    """LiquidityMath.addDelta: liquidity + signed delta, refusing to go below 0 or above uint128."""
    result = liquidity + delta
    if result < 0:
        raise AmmError("liquidity underflow (LS)")
    if result > UINT128_MAX:
        raise AmmError("liquidity overflow (LA)")
    return result
