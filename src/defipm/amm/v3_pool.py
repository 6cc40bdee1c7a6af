"""A Uniswap V3 pool's swap-relevant state and an exact off-chain swap simulation over its initialized ticks.

``V3PoolState`` holds what ``UniswapV3Pool.swap`` reads: sqrt price (Q64.96), current tick, active liquidity,
fee (pips, 1e-6), tick spacing and ``liquidityNet`` per initialized tick. ``simulate_swap`` replays the pool's
swap loop step by step, including the tick bitmap's one-word search limit (a step also stops at a bitmap word
boundary, which changes rounding), so its amounts equal the contract's and QuoterV2's to the wei.

Typical use::

    state = V3PoolState(sqrt_price_x96=..., tick=..., liquidity=..., fee=3000, tick_spacing=60,
                        ticks={-600: 10**18, 600: -10**18})
    out = state.quote_exact_input(zero_for_one=True, amount_in=10**18)     # token1 received
    need = state.quote_exact_output(zero_for_one=True, amount_out=10**15)  # token0 to pay
    result = state.simulate(zero_for_one=True, amount_specified=10**18)    # amounts + state after

States are immutable; ``simulate`` returns the post-swap state in ``SwapResult.state_after``.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from defipm.amm.errors import AmmError, InsufficientLiquidityError
from defipm.amm.v3_math import (
    FEE_DENOMINATOR,
    UINT256_MAX,
    add_delta,
    compute_swap_step,
    get_next_sqrt_price_from_input,
)
from defipm.amm.v3_tick_math import (
    MAX_SQRT_RATIO,
    MAX_TICK,
    MIN_SQRT_RATIO,
    MIN_TICK,
    get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
)

INT256_MAX = (1 << 255) - 1
"""The largest ``amountSpecified`` the pool's ``swap`` takes (an int256)."""

FEE_TIER_TICK_SPACING: Mapping[int, int] = MappingProxyType({100: 1, 500: 10, 3000: 60, 10000: 200})
"""Fee tiers (pips) enabled by the V3 factory and their tick spacings."""


@dataclass(frozen=True, slots=True)
class SwapResult:
    """Outcome of a simulated swap.

    amount0 / amount1: the pool's signed balance changes (positive = paid into the pool, negative = sent out),
    exactly what ``UniswapV3Pool.swap`` returns.
    amount_in / amount_out: unsigned input paid and output received by the swapper.
    fee_amount: total fee paid, in the input token (included in ``amount_in``).
    ticks_crossed: number of initialized ticks crossed.
    state_after: the pool state after the swap.
    """

    amount0: int
    amount1: int
    amount_in: int
    amount_out: int
    fee_amount: int
    ticks_crossed: int
    state_after: V3PoolState


@dataclass(frozen=True, slots=True)
class V3PoolState:
    """Swap-relevant state of one V3 pool. ``ticks`` maps each initialized tick to its ``liquidityNet``."""

    sqrt_price_x96: int
    tick: int
    liquidity: int
    fee: int
    tick_spacing: int
    ticks: Mapping[int, int] = field(default_factory=dict)
    _sorted: tuple[int, ...] = field(init=False, repr=False, compare=False)
    _nets: tuple[int, ...] = field(init=False, repr=False, compare=False)
    """``liquidityNet`` of each initialized tick, in ``_sorted``'s order (the quote reads it by position)."""
    _first_steps: list[tuple[int, ...] | None] = field(init=False, repr=False, compare=False)
    """The first swap step from this state down and up, as the quote plans it (computed once, then shared: it does
    not depend on the amount)."""

    def __post_init__(self) -> None:
        if self.tick_spacing <= 0:
            raise AmmError(f"tick spacing must be positive, got {self.tick_spacing}")
        if not 0 <= self.fee < 1_000_000:
            raise AmmError(f"fee must be in pips [0, 1e6), got {self.fee}")
        if self.liquidity < 0:
            raise AmmError(f"liquidity must be non-negative, got {self.liquidity}")
        if not MIN_SQRT_RATIO <= self.sqrt_price_x96 < MAX_SQRT_RATIO:  # 0: a pool never initialized
            raise AmmError(f"sqrtPriceX96 {self.sqrt_price_x96} outside [MIN_SQRT_RATIO, MAX_SQRT_RATIO)")
        bad = [t for t in self.ticks if t % self.tick_spacing]
        if bad:
            raise AmmError(f"ticks not multiples of tick spacing {self.tick_spacing}: {sorted(bad)[:5]}")
        # every tick in the map is initialized, including one whose liquidityNet is 0 (a position ends where an
        # equal one starts): the pool's bitmap marks ticks by liquidityGross, and a swap step stops there too
        initialized = tuple(sorted(self.ticks))
        object.__setattr__(self, "_sorted", tuple(t // self.tick_spacing for t in initialized))
        object.__setattr__(self, "_nets", tuple(self.ticks[t] for t in initialized))
        object.__setattr__(self, "_first_steps", [None, None])

    # -- the tick bitmap's search, as TickBitmap.nextInitializedTickWithinOneWord ---------------------------

    def next_initialized_tick_within_one_word(self, tick: int, lte: bool) -> tuple[int, bool]:
        """Next initialized tick at/left of (``lte``) or right of ``tick``, searching one bitmap word."""
        spacing = self.tick_spacing
        compressed = tick // spacing
        words = self._sorted
        if lte:
            word_start = (compressed >> 8) << 8
            i = bisect_right(words, compressed) - 1
            if i >= 0 and words[i] >= word_start:
                return words[i] * spacing, True
            return word_start * spacing, False
        start = compressed + 1
        word_end = ((start >> 8) << 8) + 255
        i = bisect_left(words, start)
        if i < len(words) and words[i] <= word_end:
            return words[i] * spacing, True
        return word_end * spacing, False

    # -- swapping --------------------------------------------------------------------------------------------

    def simulate(self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int = 0) -> SwapResult:
        """Replay ``UniswapV3Pool.swap``: ``amount_specified`` > 0 exact input, < 0 exact output.

        ``sqrt_price_limit_x96`` = 0 means no limit (the extreme price, as the router and quoter use).
        Raises AmmError on input the pool rejects (zero amount, limit on the wrong side of the price).
        """
        amount0, amount1, fees, crossed, sqrt_price, tick, liquidity = self._swap(
            zero_for_one, amount_specified, sqrt_price_limit_x96
        )
        if tick is None:
            tick = get_tick_at_sqrt_ratio(sqrt_price)
        amount_in, amount_out = (amount0, -amount1) if zero_for_one else (amount1, -amount0)
        after = self._moved(sqrt_price, tick, liquidity)
        return SwapResult(amount0, amount1, amount_in, amount_out, fees, crossed, after)

    def swap_amounts(self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int = 0) -> tuple[int, int]:
        """``(amount_in, amount_out)`` of ``simulate`` without building the state after (the quoting fast path)."""
        if amount_specified > 0:
            return self._exact_input(zero_for_one, amount_specified, sqrt_price_limit_x96)
        amount0, amount1, *_ = self._swap(zero_for_one, amount_specified, sqrt_price_limit_x96)
        return (amount0, -amount1) if zero_for_one else (amount1, -amount0)

    def _moved(self, sqrt_price: int, tick: int, liquidity: int) -> V3PoolState:
        # the same pool at a new price: ticks, fee and spacing were validated when this state was built
        after = object.__new__(V3PoolState)
        for name, value in (
            ("sqrt_price_x96", sqrt_price),
            ("tick", tick),
            ("liquidity", liquidity),
            ("fee", self.fee),
            ("tick_spacing", self.tick_spacing),
            ("ticks", self.ticks),
            ("_sorted", self._sorted),
            ("_nets", self._nets),
            ("_first_steps", [None, None]),
        ):
            object.__setattr__(after, name, value)
        return after

    def _swap(
        self, zero_for_one: bool, amount_specified: int, sqrt_price_limit_x96: int
    ) -> tuple[int, int, int, int, int, int | None, int]:
        """The swap loop: ``(amount0, amount1, fees, ticks crossed, sqrt price, tick or None, liquidity)``.

        The tick after the swap is None when the price stopped between ticks (the caller derives it if needed:
        a quote does not).
        """
        if amount_specified == 0:
            raise AmmError("amount_specified must be non-zero (AS)")
        limit = sqrt_price_limit_x96 or (MIN_SQRT_RATIO + 1 if zero_for_one else MAX_SQRT_RATIO - 1)
        if zero_for_one:
            if not (MIN_SQRT_RATIO < limit < self.sqrt_price_x96):
                raise AmmError("price limit must be below the current price and above MIN_SQRT_RATIO (SPL)")
        elif not (self.sqrt_price_x96 < limit < MAX_SQRT_RATIO):
            raise AmmError("price limit must be above the current price and below MAX_SQRT_RATIO (SPL)")

        exact_input = amount_specified > 0
        remaining = amount_specified
        calculated = fees = crossed = 0
        sqrt_price, liquidity, fee = self.sqrt_price_x96, self.liquidity, self.fee
        tick: int | None = self.tick
        next_tick = self.next_initialized_tick_within_one_word
        while remaining != 0 and sqrt_price != limit:
            if tick is None:
                tick = get_tick_at_sqrt_ratio(sqrt_price)
            start_price = sqrt_price
            tick_next, initialized = next_tick(tick, zero_for_one)
            if tick_next < MIN_TICK:
                tick_next = MIN_TICK
            elif tick_next > MAX_TICK:
                tick_next = MAX_TICK
            sqrt_next = get_sqrt_ratio_at_tick(tick_next)
            if zero_for_one:
                target = limit if sqrt_next < limit else sqrt_next
            else:
                target = limit if sqrt_next > limit else sqrt_next
            sqrt_price, step_in, step_out, step_fee = compute_swap_step(sqrt_price, target, liquidity, remaining, fee)
            fees += step_fee
            if exact_input:
                remaining -= step_in + step_fee
                calculated -= step_out
            else:
                remaining += step_out
                calculated += step_in + step_fee
            if sqrt_price == sqrt_next:
                if initialized:
                    net = self.ticks[tick_next]
                    liquidity = add_delta(liquidity, -net if zero_for_one else net)
                    crossed += 1
                tick = tick_next - 1 if zero_for_one else tick_next
            elif sqrt_price != start_price:
                tick = None  # between ticks: derived from the price only when someone needs it

        if zero_for_one == exact_input:
            amount0, amount1 = amount_specified - remaining, calculated
        else:
            amount0, amount1 = calculated, amount_specified - remaining
        return amount0, amount1, fees, crossed, sqrt_price, tick, liquidity

    def _exact_input(self, zero_for_one: bool, amount: int, sqrt_price_limit_x96: int) -> tuple[int, int]:
        """``(amount_in, amount_out)`` of an exact-input swap (``amount`` > 0): the quote's fast loops when no price
        limit is set and the amount is an int256, else ``_swap``. ``test_v3_pool`` holds the two equal."""
        if amount <= INT256_MAX and sqrt_price_limit_x96 == 0:
            if zero_for_one and self.sqrt_price_x96 > MIN_SQRT_RATIO + 1:
                return self._exact_input_down(amount)
            if not zero_for_one and self.sqrt_price_x96 < MAX_SQRT_RATIO - 1:
                return self._exact_input_up(amount)
        amount0, amount1, *_ = self._swap(zero_for_one, amount, sqrt_price_limit_x96)
        return (amount0, -amount1) if zero_for_one else (amount1, -amount0)

    # The two loops below are ``_swap`` for an exact input without a price limit, one per direction, in one frame
    # each. A step is planned from the price, liquidity and tick alone (``_step_down`` / ``_step_up``: the next
    # initialized tick found by bisection on the compressed ticks as ``next_initialized_tick_within_one_word``,
    # the input that reaches it, and that input plus its fee), so the first step from a state is planned once for
    # every quote against it. Then ``compute_swap_step``'s exact-input branch is written out: a step either reaches
    # its target (the next tick, or the price limit) or ends the swap; when the input less fee is short of the
    # target, the price it reaches stays short of it too (both round toward the current price), the step's fee is
    # the rest of the input, and nothing remains.

    def _exact_input_down(self, amount: int) -> tuple[int, int]:
        """Token0 in, the price falls (``zero_for_one``); ``(amount_in, amount_out)``."""
        sqrt_price, liquidity, tick, keep = self.sqrt_price_x96, self.liquidity, self.tick, FEE_DENOMINATOR - self.fee
        limit, nets = MIN_SQRT_RATIO + 1, self._nets
        step = self._first_steps[0]
        if step is None:
            step = self._first_steps[0] = self._step_down(sqrt_price, liquidity, tick)
        remaining, out = amount, 0
        while True:
            i, initialized, tick_next, sqrt_next, target, step_in, cost = step
            less_fee = remaining * keep // FEE_DENOMINATOR
            if less_fee < step_in:  # getNextSqrtPriceFromAmount0RoundingUp, adding
                l96, product = liquidity << 96, less_fee * sqrt_price
                if l96 + product <= UINT256_MAX:
                    after = -(-(l96 * sqrt_price) // (l96 + product))
                else:
                    after = get_next_sqrt_price_from_input(sqrt_price, liquidity, less_fee, True)
                return amount, out + ((liquidity * (sqrt_price - after)) >> 96)
            out += (liquidity * (sqrt_price - target)) >> 96
            remaining -= cost
            sqrt_price = target
            if target == sqrt_next:
                if initialized:
                    liquidity = add_delta(liquidity, -nets[i])
                tick = tick_next - 1
            if not remaining or sqrt_price == limit:
                return amount - remaining, out
            step = self._step_down(sqrt_price, liquidity, tick)

    def _step_down(self, sqrt_price: int, liquidity: int, tick: int) -> tuple[int, ...]:
        """``(tick index, initialized, next tick, its sqrt price, target, input to reach it, input plus fee)``."""
        words, spacing = self._sorted, self.tick_spacing
        compressed = tick // spacing
        i = bisect_right(words, compressed) - 1
        edge = (compressed >> 8) << 8
        initialized = i >= 0 and words[i] >= edge
        tick_next = (words[i] if initialized else edge) * spacing
        sqrt_next = get_sqrt_ratio_at_tick(tick_next if tick_next > MIN_TICK else MIN_TICK)
        target = MIN_SQRT_RATIO + 1 if sqrt_next <= MIN_SQRT_RATIO else sqrt_next
        step_in = -(((liquidity << 96) * (target - sqrt_price)) // sqrt_price // target)  # amount0, rounded up
        return (
            i,
            initialized,
            tick_next,
            sqrt_next,
            target,
            step_in,
            step_in - (-(step_in * self.fee) // (FEE_DENOMINATOR - self.fee)),
        )

    def _exact_input_up(self, amount: int) -> tuple[int, int]:
        """Token1 in, the price rises (one for zero); ``(amount_in, amount_out)``."""
        sqrt_price, liquidity, tick, keep = self.sqrt_price_x96, self.liquidity, self.tick, FEE_DENOMINATOR - self.fee
        limit, nets = MAX_SQRT_RATIO - 1, self._nets
        step = self._first_steps[1]
        if step is None:
            step = self._first_steps[1] = self._step_up(sqrt_price, liquidity, tick)
        remaining, out = amount, 0
        while True:
            i, initialized, tick_next, sqrt_next, target, step_in, cost = step
            less_fee = remaining * keep // FEE_DENOMINATOR
            if less_fee < step_in:  # getNextSqrtPriceFromAmount1RoundingDown, adding (mulDiv or shift: one floor)
                after = sqrt_price + (less_fee << 96) // liquidity
                return amount, out + (liquidity << 96) * (after - sqrt_price) // after // sqrt_price
            out += (liquidity << 96) * (target - sqrt_price) // target // sqrt_price
            remaining -= cost
            sqrt_price = target
            if target == sqrt_next:
                if initialized:
                    liquidity = add_delta(liquidity, nets[i])
                tick = tick_next
            if not remaining or sqrt_price == limit:
                return amount - remaining, out
            step = self._step_up(sqrt_price, liquidity, tick)

    def _step_up(self, sqrt_price: int, liquidity: int, tick: int) -> tuple[int, ...]:
        """``_step_down``'s plan for a rising price."""
        words, spacing = self._sorted, self.tick_spacing
        start = tick // spacing + 1
        i = bisect_left(words, start)
        edge = ((start >> 8) << 8) + 255
        initialized = i < len(words) and words[i] <= edge
        tick_next = (words[i] if initialized else edge) * spacing
        sqrt_next = get_sqrt_ratio_at_tick(tick_next if tick_next < MAX_TICK else MAX_TICK)
        target = MAX_SQRT_RATIO - 1 if sqrt_next >= MAX_SQRT_RATIO else sqrt_next
        step_in = -((liquidity * (sqrt_price - target)) >> 96)  # amount1, rounded up
        return (
            i,
            initialized,
            tick_next,
            sqrt_next,
            target,
            step_in,
            step_in - (-(step_in * self.fee) // (FEE_DENOMINATOR - self.fee)),
        )

    def quote_exact_input(self, zero_for_one: bool, amount_in: int, sqrt_price_limit_x96: int = 0) -> int:
        """Output received for exactly ``amount_in`` of the input token (token0 when ``zero_for_one``).

        Equals QuoterV2.quoteExactInputSingle and the SwapRouter's exactInputSingle output. If the pool runs
        out of liquidity the swap stops early (the router then takes less input); ``simulate`` shows that.
        """
        if amount_in <= 0:
            raise AmmError(f"amount_in must be positive, got {amount_in}")
        return self._exact_input(zero_for_one, amount_in, sqrt_price_limit_x96)[1]

    def quote_exact_output(self, zero_for_one: bool, amount_out: int, sqrt_price_limit_x96: int = 0) -> int:
        """Input needed to receive exactly ``amount_out`` (QuoterV2.quoteExactOutputSingle).

        Raises InsufficientLiquidityError when the pool cannot deliver the full amount (the quoter reverts).
        """
        if amount_out <= 0:
            raise AmmError(f"amount_out must be positive, got {amount_out}")
        paid, got = self.swap_amounts(zero_for_one, -amount_out, sqrt_price_limit_x96)
        if got != amount_out:
            raise InsufficientLiquidityError(
                f"pool can deliver only {got} of the {amount_out} requested before its price limit"
            )
        return paid

    def with_liquidity_net(self, ticks: Mapping[int, int]) -> V3PoolState:
        """A copy with a different ``ticks`` map (e.g. after reading more bitmap words)."""
        return V3PoolState(self.sqrt_price_x96, self.tick, self.liquidity, self.fee, self.tick_spacing, ticks)
