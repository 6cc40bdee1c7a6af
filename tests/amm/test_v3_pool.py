"""Pure V3 maths: tick math against known values, swap-simulation invariants (the chain tests prove exactness)."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from defipm.amm.errors import AmmError, InsufficientLiquidityError
from defipm.amm.v3_math import (
    compute_swap_step,
    get_amount0_delta,
    get_amount1_delta,
    get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
    mul_div,
    mul_div_rounding_up,
)
from defipm.amm.v3_pool import V3PoolState
from defipm.amm.v3_tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    Q96,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)


def test_tick_math_known_values() -> None:
    assert get_sqrt_ratio_at_tick(MIN_TICK) == MIN_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(MAX_TICK) == MAX_SQRT_RATIO
    assert get_sqrt_ratio_at_tick(0) == Q96
    assert get_sqrt_ratio_at_tick(50) == 79426470787362580746886972461  # v3-core test vector
    with pytest.raises(AmmError):
        get_sqrt_ratio_at_tick(MAX_TICK + 1)


@given(st.integers(MIN_TICK, MAX_TICK - 1))
def test_tick_at_sqrt_ratio_inverts(tick: int) -> None:
    ratio = get_sqrt_ratio_at_tick(tick)
    assert get_tick_at_sqrt_ratio(ratio) == tick
    assert get_tick_at_sqrt_ratio(get_sqrt_ratio_at_tick(tick + 1) - 1) == tick


def test_full_math_rounding() -> None:
    assert mul_div(7, 3, 2) == 10
    assert mul_div_rounding_up(7, 3, 2) == 11
    with pytest.raises(AmmError):
        mul_div(1, 1, 0)


def test_swap_step_exact_in_spends_everything_when_target_not_reached() -> None:
    step = compute_swap_step(Q96, Q96 * 2, 10**18, 10**15, 3000)
    assert step.amount_in + step.fee_amount == 10**15
    assert Q96 < step.sqrt_price_next_x96 < Q96 * 2


def _pool(spacing: int = 10) -> V3PoolState:
    # liquidity in [-100, 100] plus a wider band [-3000, 3000] that spans a bitmap word boundary (2560)
    return V3PoolState(
        sqrt_price_x96=get_sqrt_ratio_at_tick(5),
        tick=5,
        liquidity=3 * 10**18,
        fee=500,
        tick_spacing=spacing,
        ticks={-100: 2 * 10**18, 100: -2 * 10**18, -3000: 10**18, 3000: -(10**18)},
    )


@settings(max_examples=200)
@given(st.booleans(), st.integers(1, 10**20))
def test_exact_output_of_a_quote_costs_at_most_the_input(zero_for_one: bool, amount_in: int) -> None:
    pool = _pool()
    result = pool.simulate(zero_for_one, amount_in)
    assert 0 < result.amount_in <= amount_in
    assert result.amount_out >= 0
    if result.amount_out:
        needed = pool.quote_exact_output(zero_for_one, result.amount_out)
        assert needed <= result.amount_in


def test_large_swap_crosses_ticks_and_word_boundaries() -> None:
    pool = _pool()
    result = pool.simulate(False, 10**19)
    assert result.ticks_crossed == 2  # 100 and 3000
    assert result.state_after.tick > 3000
    assert result.state_after.liquidity == 0
    assert result.state_after.sqrt_price_x96 > pool.sqrt_price_x96


def test_exact_output_beyond_liquidity_raises() -> None:
    pool = _pool()
    with pytest.raises(InsufficientLiquidityError):
        pool.quote_exact_output(True, 10**30)


def test_next_initialized_tick_stops_at_word_boundary() -> None:
    pool = _pool()
    assert pool.next_initialized_tick_within_one_word(150, lte=False) == (2550, False)
    assert pool.next_initialized_tick_within_one_word(2560, lte=False) == (3000, True)
    assert pool.next_initialized_tick_within_one_word(-150, lte=True) == (-2560, False)
    assert pool.next_initialized_tick_within_one_word(5, lte=True) == (0, False)
    assert pool.next_initialized_tick_within_one_word(-5, lte=True) == (-100, True)


@settings(max_examples=200)
@given(st.booleans(), st.integers(1, 10**20).flatmap(lambda a: st.sampled_from([a, -a])))
@example(True, 750_243_891_630_610)  # ends exactly on tick 0, a bitmap word's edge: the pool's tick is then -1
def test_quote_fast_path_equals_the_full_simulation(zero_for_one: bool, amount: int) -> None:
    """``swap_amounts`` (what quotes use) gives ``simulate``'s amounts; the state after equals a validated one."""
    pool = _pool()
    try:
        result = pool.simulate(zero_for_one, amount)
    except AmmError:
        with pytest.raises(AmmError):
            pool.swap_amounts(zero_for_one, amount)
        return
    assert pool.swap_amounts(zero_for_one, amount) == (result.amount_in, result.amount_out)
    after = result.state_after
    rebuilt = V3PoolState(after.sqrt_price_x96, after.tick, after.liquidity, pool.fee, pool.tick_spacing, pool.ticks)
    assert after == rebuilt
    on_tick = get_sqrt_ratio_at_tick(get_tick_at_sqrt_ratio(after.sqrt_price_x96)) == after.sqrt_price_x96
    if not on_tick:  # a swap falling exactly onto a tick (initialized or a bitmap word's edge) leaves tick - 1
        assert after.tick == get_tick_at_sqrt_ratio(after.sqrt_price_x96)
    assert after.next_initialized_tick_within_one_word(after.tick, True) == (
        rebuilt.next_initialized_tick_within_one_word(rebuilt.tick, True)
    )


def _reference_swap_step(cur: int, tgt: int, liq: int, remaining: int, fee: int) -> tuple[int, int, int, int]:
    """SwapMath.computeSwapStep written with the delta helpers, as the contract reads (the inlined step's check)."""
    zero_for_one, exact_in = cur >= tgt, remaining >= 0
    if exact_in:
        less_fee = mul_div(remaining, 1_000_000 - fee, 1_000_000)
        need = get_amount0_delta(tgt, cur, liq, True) if zero_for_one else get_amount1_delta(cur, tgt, liq, True)
        nxt = tgt if less_fee >= need else get_next_sqrt_price_from_input(cur, liq, less_fee, zero_for_one)
    else:
        can = get_amount1_delta(tgt, cur, liq, False) if zero_for_one else get_amount0_delta(cur, tgt, liq, False)
        nxt = tgt if -remaining >= can else get_next_sqrt_price_from_output(cur, liq, -remaining, zero_for_one)
    lo, hi = min(cur, nxt), max(cur, nxt)
    amount_in = (get_amount0_delta if zero_for_one else get_amount1_delta)(lo, hi, liq, True)
    amount_out = (get_amount1_delta if zero_for_one else get_amount0_delta)(lo, hi, liq, False)
    if not exact_in:
        amount_out = min(amount_out, -remaining)
    if exact_in and nxt != tgt:
        fee_amount = remaining - amount_in
    else:
        fee_amount = mul_div_rounding_up(amount_in, fee, 1_000_000 - fee)
    return nxt, amount_in, amount_out, fee_amount


_prices = st.integers(MIN_SQRT_RATIO, MAX_SQRT_RATIO - 1) | st.integers(2**90, 2**100)


@settings(max_examples=400)
@given(
    _prices,
    _prices,
    st.integers(0, 2**128 - 1) | st.integers(10**15, 10**22),
    st.integers(-(2**200), 2**200) | st.integers(-(10**20), 10**20),
    st.sampled_from([0, 100, 500, 3000, 10_000, 999_999]),
)
def test_inlined_swap_step_equals_the_contract_reading(cur: int, tgt: int, liq: int, rem: int, fee: int) -> None:
    try:
        expected: object = _reference_swap_step(cur, tgt, liq, rem, fee)
    except AmmError:
        expected = AmmError
    try:
        got: object = tuple(compute_swap_step(cur, tgt, liq, rem, fee))
    except AmmError:
        got = AmmError
    assert got == expected


@st.composite
def _random_pool(draw: st.DrawFn) -> V3PoolState:
    """A pool with a few positions around a random price: ranges spanning bitmap words, ticks where positions
    meet (liquidityNet 0), prices near the ends of the tick range, fees from 0 to the maximum."""
    spacing = draw(st.sampled_from([1, 10, 60, 200, 16_000]))  # 16,000: one bitmap word spans most prices
    lowest, highest = -(-MIN_TICK // spacing) * spacing, MAX_TICK // spacing * spacing
    tick = draw(
        st.integers(MIN_TICK, MAX_TICK - 1) | st.integers(-3000, 3000) | st.sampled_from([MIN_TICK, MAX_TICK - 1])
    )
    ticks: dict[int, int] = {}
    liquidity = 0
    for _ in range(draw(st.integers(0, 6))):
        word_edge = ((tick // spacing >> 8) << 8) + draw(st.sampled_from([-257, -256, -1, 0, 255, 256, 511]))
        lo = max(
            lowest, draw(st.just(word_edge) | st.integers(tick // spacing - 1200, tick // spacing + 300)) * spacing
        )
        hi = min(highest, lo + draw(st.integers(1, 1500) | st.sampled_from([255, 256, 257])) * spacing)
        if lo >= hi:
            continue
        amount = draw(st.integers(1, 10**12) | st.integers(1, 2**124))
        ticks[lo], ticks[hi] = ticks.get(lo, 0) + amount, ticks.get(hi, 0) - amount
        liquidity += amount if lo <= tick < hi else 0
    low, high = get_sqrt_ratio_at_tick(tick), get_sqrt_ratio_at_tick(tick + 1) - 1
    sqrt_price = draw(st.sampled_from([low, high]) | st.integers(low, high))
    fee = draw(st.sampled_from([0, 100, 500, 3000, 10_000, 999_999]))
    return V3PoolState(sqrt_price, tick, liquidity, fee, spacing, ticks)


_amounts = (
    st.integers(1, 10**6)
    | st.integers(1, 10**30)
    | st.integers(1, 2**256)
    | st.integers(2**256, 2**262)  # past int256: the general loop's mulDiv refuses these
    | st.sampled_from([2**255 - 1, 2**255])
)


def _swap_loop_amounts(pool: V3PoolState, zero_for_one: bool, amount: int) -> object:
    try:
        result = pool.simulate(zero_for_one, amount)
    except AmmError:
        return AmmError
    return result.amount_in, result.amount_out


def _quote_amounts(pool: V3PoolState, zero_for_one: bool, amount: int) -> object:
    try:
        got = pool.swap_amounts(zero_for_one, amount)
    except AmmError:
        return AmmError
    assert pool.quote_exact_input(zero_for_one, amount) == got[1]
    return got


@settings(max_examples=400, deadline=None)
@given(_random_pool(), st.lists(st.tuples(st.booleans(), _amounts), min_size=1, max_size=5))
def test_exact_input_loops_equal_the_swap_loop(pool: V3PoolState, swaps: list[tuple[bool, int]]) -> None:
    """The quote's own exact-input loops give the general swap loop's amounts, or its refusal, on any pool, for
    several quotes against one state (the first step is planned once per state and direction) and after a swap."""
    for zero_for_one, amount in swaps:
        assert _quote_amounts(pool, zero_for_one, amount) == _swap_loop_amounts(pool, zero_for_one, amount)
    zero_for_one, amount = swaps[0]
    try:
        after = pool.simulate(zero_for_one, amount).state_after
    except AmmError:
        return
    fresh = V3PoolState(after.sqrt_price_x96, after.tick, after.liquidity, pool.fee, pool.tick_spacing, pool.ticks)
    for zero_for_one, amount in swaps:  # the state after a swap plans its own first steps
        assert _quote_amounts(after, zero_for_one, amount) == _swap_loop_amounts(fresh, zero_for_one, amount)


def test_exact_input_loop_takes_the_contracts_other_rounding_when_amount_times_price_overflows() -> None:
    """getNextSqrtPriceFromAmount0RoundingUp divides differently once ``amount * sqrtP`` leaves uint256: the fast
    loop must too (a high price, deep liquidity and a wide tick spacing make a step long enough for it)."""
    sqrt_price, liquidity = get_sqrt_ratio_at_tick(800_000) + 12_345, 2**127 - 1
    pool = V3PoolState(sqrt_price, 800_000, liquidity, 3000, 16_000, {})
    amount = 2**103 + 7
    less_fee = amount * 997 // 1000
    assert (liquidity << 96) + less_fee * sqrt_price > 2**256 - 1  # the other branch of the contract
    plain = -(-((liquidity << 96) * sqrt_price) // ((liquidity << 96) + less_fee * sqrt_price))
    assert get_next_sqrt_price_from_input(sqrt_price, liquidity, less_fee, True) != plain, "the branches must differ"
    result = pool.simulate(True, amount)
    assert result.ticks_crossed == 0 and result.amount_in == amount  # one step, ended by the input running out
    assert pool.swap_amounts(True, amount) == (result.amount_in, result.amount_out)
