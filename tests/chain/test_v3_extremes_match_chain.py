"""V3 quotes where the shared world's pools never go, against QuoterV2 on fresh pools: every fee tier (100 enabled
as governance did), prices next to MIN_TICK and MAX_TICK, many narrow positions to cross, gaps with no liquidity
between positions, exact input and exact output, amounts that run the pool dry."""

from __future__ import annotations

import random

import pytest
from web3.exceptions import ContractLogicError

from defipm.amm.errors import InsufficientLiquidityError
from defipm.amm.v3_math import get_amount1_delta
from defipm.amm.v3_pool import FEE_TIER_TICK_SPACING, V3PoolState
from defipm.amm.v3_tick_math import MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick
from defipm.chain.deploy import MAX_UINT256, contract, deploy_contract
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import deadline_in
from defipm.chain.v3_reader import read_pool_state

pytestmark = pytest.mark.chain

QUOTES_PER_POOL = 12
WORDS_WALKED = 40
"""A quote whose swap would walk more bitmap words than this is not sent (the quoter's gas would run out walking
empty words to the far end of the tick range); the simulation alone cannot be checked there."""


def _tick(regime: str, spacing: int, rng: random.Random) -> int:
    if regime == "near MIN_TICK":
        return MIN_TICK + rng.randrange(3 * spacing, 600 * spacing)
    if regime == "near MAX_TICK":
        return MAX_TICK - rng.randrange(3 * spacing, 600 * spacing)
    return rng.randrange(-400_000, 400_000)


def _positions(tick: int, spacing: int, rng: random.Random) -> list[tuple[int, int, int]]:
    """(lower, upper, liquidity): narrow positions side by side (many ticks to cross), some around the price, some
    beyond a gap with no liquidity on either side, inside the usable range."""
    lowest, highest = -(MAX_TICK // spacing) * spacing, (MAX_TICK // spacing) * spacing
    centre = tick // spacing * spacing
    out = []
    for side in (-1, 1):
        edge = centre + (spacing if side > 0 else 0)
        for _ in range(rng.randint(3, 8)):
            width = rng.randint(1, 4) * spacing
            gap = rng.choice([0, 0, rng.randint(1, 300) * spacing])  # a stretch with no liquidity at all
            near = edge + side * gap
            far = near + side * width
            lower, upper = max(lowest, min(near, far)), min(highest, max(near, far))
            if lower < upper:
                out.append((lower, upper, 10 ** rng.randint(12, 21)))
            edge = far
    if rng.random() < 0.5:  # and one across the price
        out.append((max(lowest, centre - 2 * spacing), min(highest, centre + 3 * spacing), 10**18))
    return out


def _create_pool(world: LocalUniswap, fee: int, regime: str, rng: random.Random) -> tuple[str, str, str]:
    """A fresh pool of two fresh tokens with ``_positions``; returns (pool, token0, token1).

    The position manager cannot add token0 near MIN_TICK (its liquidity-from-amount0 rounds to 0 there), so the
    pool starts above every position, each is minted from token1 alone, and a swap with a price limit brings the
    price down to the one drawn (through the positions and the gaps between them)."""
    dep = world.deployment
    sender = world.sender(world.wallets[0])
    tokens = sorted(
        (deploy_contract(sender, "TestERC20", f"X{i}", f"X{i}", 18, 2**250) for i in range(2)), key=lambda a: int(a, 16)
    )
    for address in tokens:
        erc20 = contract(sender, "TestERC20", address)
        sender.send(erc20.functions.approve(dep.position_manager, MAX_UINT256))
        sender.send(erc20.functions.approve(dep.swap_router, MAX_UINT256))
    factory = contract(sender, "UniswapV3Factory", dep.v3_factory)
    spacing = FEE_TIER_TICK_SPACING[fee]
    if int(factory.functions.feeAmountTickSpacing(fee).call()) == 0:
        sender.send(factory.functions.enableFeeAmount(fee, spacing))
    tick = _tick(regime, spacing, rng)
    low, high = get_sqrt_ratio_at_tick(tick), get_sqrt_ratio_at_tick(tick + 1)
    target = rng.choice([low, low + (high - low) // 2, high - 1])
    positions = _positions(tick, spacing, rng)
    top = get_sqrt_ratio_at_tick(max(upper for _, upper, _ in positions))
    npm = contract(sender, "NonfungiblePositionManager", dep.position_manager)
    sender.send(npm.functions.createAndInitializePoolIfNecessary(tokens[0], tokens[1], fee, top))
    pool = factory.functions.getPool(tokens[0], tokens[1], fee).call()
    deadline = deadline_in(world.w3, 3600)
    for lower, upper, liquidity in positions:
        amount1 = get_amount1_delta(get_sqrt_ratio_at_tick(lower), get_sqrt_ratio_at_tick(upper), liquidity, True)
        params = (tokens[0], tokens[1], fee, lower, upper, 0, amount1 + 1, 0, 0, sender.address, deadline)
        sender.send(npm.functions.mint(params))
    router = contract(sender, "SwapRouter", dep.swap_router)
    params = (tokens[0], tokens[1], fee, sender.address, deadline, 2**200, 0, target)  # stops at the limit
    sender.send(router.functions.exactInputSingle(params))
    assert read_pool_state(world.w3, pool, word_radius=0).sqrt_price_x96 == target
    return pool, tokens[0], tokens[1]


def _amount(state: V3PoolState, zero_for_one: bool, exact_input: bool, rng: random.Random) -> int:
    """An amount of a few units, or one around what moves the price to an initialized tick on the way (so a quote
    crosses some of them, or all and runs dry)."""
    ahead = sorted(t for t in state.ticks if (t <= state.tick if zero_for_one else t > state.tick))
    if not ahead or rng.random() < 0.15:
        return rng.randint(1, 1000)
    limit = get_sqrt_ratio_at_tick(rng.choice(ahead))
    if limit == state.sqrt_price_x96:
        return rng.randint(1, 1000)
    to_reach = state.simulate(zero_for_one, 2**200, limit)
    base = to_reach.amount_in if exact_input else to_reach.amount_out
    return max(1, int(base * rng.uniform(0.6, 1.6)))


def _walks_too_far(state: V3PoolState, zero_for_one: bool, amount: int) -> bool:
    after = state.simulate(zero_for_one, amount).state_after
    return abs((after.tick // state.tick_spacing >> 8) - (state.tick // state.tick_spacing >> 8)) > WORDS_WALKED


@pytest.mark.parametrize("regime", ["near MIN_TICK", "near MAX_TICK", "anywhere"])
@pytest.mark.parametrize("fee", sorted(FEE_TIER_TICK_SPACING))
def test_quotes_at_the_extremes_match_quoter_v2(isolated_world: LocalUniswap, fee: int, regime: str) -> None:
    world = isolated_world
    rng = random.Random(f"{fee} {regime}")
    pool, token0, token1 = _create_pool(world, fee, regime, rng)
    state = read_pool_state(world.w3, pool, word_radius=WORDS_WALKED)
    quoter = contract(world.sender(world.wallets[0]), "QuoterV2", world.deployment.quoter_v2)
    checked = crossed = 0
    for _ in range(QUOTES_PER_POOL):
        zero_for_one, exact_input = rng.random() < 0.5, rng.random() < 0.6
        token_in, token_out = (token0, token1) if zero_for_one else (token1, token0)
        amount = _amount(state, zero_for_one, exact_input, rng)
        if _walks_too_far(state, zero_for_one, amount if exact_input else -amount):
            continue
        if exact_input:
            result = state.simulate(zero_for_one, amount)
            q_out, q_sqrt, _crossed, _gas = quoter.functions.quoteExactInputSingle(
                (token_in, token_out, amount, fee, 0)
            ).call()
            assert (q_out, q_sqrt) == (result.amount_out, result.state_after.sqrt_price_x96), (zero_for_one, amount)
            assert state.quote_exact_input(zero_for_one, amount) == q_out
        else:
            result = state.simulate(zero_for_one, -amount)
            if result.amount_out < amount:  # the pool cannot deliver it: the quoter refuses, so does the quote
                with pytest.raises(ContractLogicError):
                    quoter.functions.quoteExactOutputSingle((token_in, token_out, amount, fee, 0)).call()
                with pytest.raises(InsufficientLiquidityError):
                    state.quote_exact_output(zero_for_one, amount)
                checked += 1
                continue
            q_in, q_sqrt, _crossed, _gas = quoter.functions.quoteExactOutputSingle(
                (token_in, token_out, amount, fee, 0)
            ).call()
            assert (q_in, q_sqrt) == (result.amount_in, result.state_after.sqrt_price_x96), (zero_for_one, amount)
            assert state.quote_exact_output(zero_for_one, amount) == q_in
        checked += 1
        crossed = max(crossed, result.ticks_crossed)
    print("checked", checked, "max crossed", crossed)
    assert checked >= QUOTES_PER_POOL // 2, "too few quotes could be checked on the chain"
    assert crossed >= 3, "no quote crossed several initialized ticks"
