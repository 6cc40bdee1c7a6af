"""V2 integer math against the real UniswapV2Library (through Router02's getAmountOut / getAmountIn) and against
swaps executed on a real pair: the same amounts to the wei, the same refusals."""

from __future__ import annotations

import random

import pytest
from web3.exceptions import ContractLogicError, Web3RPCError

from defipm.amm.errors import AmmError
from defipm.amm.v2 import get_amount_in, get_amount_out
from defipm.arb.pools import V2Pool
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import contract
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import deadline_in

pytestmark = pytest.mark.chain

UINT112_MAX = 2**112 - 1


def _cases(rng: random.Random, n: int) -> list[tuple[int, int, int]]:
    """(amount, reserve_in, reserve_out): tiny, lopsided and uint112-sized reserves; amounts from 1 wei to past
    the reserves (the library refuses an output at or above its reserve)."""
    out = []
    for _ in range(n):
        r_in = rng.choice([rng.randint(1, 1000), 10 ** rng.randint(3, 30), rng.randint(1, UINT112_MAX)])
        r_out = rng.choice([rng.randint(1, 1000), 10 ** rng.randint(3, 30), rng.randint(1, UINT112_MAX)])
        amount = rng.choice([rng.randint(1, 1000), rng.randint(1, max(1, 2 * max(r_in, r_out))), r_out, r_out - 1])
        out.append((max(0, amount), r_in, r_out))
    return [*out, (0, 10, 10), (1, 0, 10), (1, 10, 0)]


def _ours(f, *args: int) -> int | type[AmmError]:  # type: ignore[no-untyped-def]
    try:
        return int(f(*args))
    except AmmError:
        return AmmError


def _library(call) -> int | type[AmmError]:  # type: ignore[no-untyped-def]
    try:
        return int(call.call())
    except (ContractLogicError, Web3RPCError):  # a require, or 0.6's invalid opcode on a division by zero
        return AmmError


def test_amounts_match_the_library_on_chain(uniswap_world: LocalUniswap) -> None:
    router = uniswap_world.w3.eth.contract(
        address=to_checksum(uniswap_world.deployment.v2_router), abi=abi_of("UniswapV2Router02")
    )
    for amount, r_in, r_out in _cases(random.Random(20240611), 150):
        assert _ours(get_amount_out, amount, r_in, r_out) == _library(
            router.functions.getAmountOut(amount, r_in, r_out)
        ), ("out", amount, r_in, r_out)
        assert _ours(get_amount_in, amount, r_in, r_out) == _library(
            router.functions.getAmountIn(amount, r_in, r_out)
        ), ("in", amount, r_in, r_out)


def test_swaps_on_a_real_pair_pay_what_the_pool_model_says(isolated_world: LocalUniswap) -> None:
    """Exact-input and exact-output swaps both ways on the real pair (reserves read from it before each swap)."""
    world = isolated_world
    dep = world.deployment
    trader = world.wallets[8]
    symbol = sorted(dep.v2_pairs)[0]
    token = dep.token(symbol)
    world.fund(trader, weth=100 * 10**18, tokens={symbol: 10 ** (token.decimals + 6)})
    world.approve_all(trader, dep.v2_router)
    sender = world.sender(trader)
    router = contract(sender, "UniswapV2Router02", dep.v2_router)
    pair = world.w3.eth.contract(address=to_checksum(dep.v2_pairs[symbol]), abi=abi_of("UniswapV2Pair"))
    token0 = str(pair.functions.token0().call()).lower()
    rng = random.Random(7)
    for i in range(20):
        r0, r1, _ = pair.functions.getReserves().call()
        pool = V2Pool(dep.v2_pairs[symbol].lower(), token0, "", int(r0), int(r1))
        weth_in = rng.random() < 0.5
        path = [dep.weth.address, token.address] if weth_in else [token.address, dep.weth.address]
        zero_for_one = path[0].lower() == token0
        bought = "WETH" if weth_in is False else symbol
        before = world.balance_of(bought, trader.address)
        scale = 10 ** (18 if weth_in else token.decimals)
        deadline = deadline_in(world.w3, 600)
        if i % 2 == 0:
            amount = max(1, int(scale * 10 ** rng.uniform(-6, 0.5)))
            expected = pool.amount_out(zero_for_one, amount)
            sender.send(router.functions.swapExactTokensForTokens(amount, 0, path, trader.address, deadline))
        else:
            out_scale = 10 ** (token.decimals if weth_in else 18)
            amount = max(1, int(out_scale * 10 ** rng.uniform(-6, 0)))
            needed = pool.amount_in(zero_for_one, amount)
            sender.send(router.functions.swapTokensForExactTokens(amount, needed, path, trader.address, deadline))
            assert pool.amount_out(zero_for_one, needed) >= amount
            expected = amount
        after = world.balance_of(bought, trader.address)
        assert after - before == expected, (i, zero_for_one, amount)
