"""Synthetic pools for tests, demos and users' own experiments: random mispriced V2 graphs and a simple V3 pool.

``random_v2_pools(seed, n_tokens, n_pools)`` draws tokens with a hidden "true" price, then pools whose reserves
follow that price up to a random mispricing of a few percent, so some cycles pay and most do not. Parallel pools
of the same pair are allowed (they make 2-cycles). ``single_range_v3`` builds a V3 pool state with one liquidity
range around a price, enough for the swap simulation to behave like a real pool inside that range.
"""

from __future__ import annotations

import math
import random

from defipm.amm.v3_pool import V3PoolState
from defipm.amm.v3_tick_math import get_sqrt_ratio_at_tick, get_tick_at_sqrt_ratio
from defipm.arb.pools import Token, V2Pool, V3Pool

__all__ = ["random_v2_pools", "single_range_v3", "token_address"]


def token_address(i: int) -> str:
    return "0x" + f"{i + 1:040x}"


def random_v2_pools(
    seed: int, n_tokens: int = 6, n_pools: int = 12, mispricing: float = 0.03, fee_bps: int = 30
) -> tuple[list[V2Pool], dict[str, Token]]:
    """A random connected-ish graph of V2 pools with true prices perturbed by up to ``mispricing``."""
    rng = random.Random(seed)
    tokens = {token_address(i): Token(token_address(i), f"T{i}", rng.choice([6, 8, 18])) for i in range(n_tokens)}
    addrs = list(tokens)
    price = {a: 10 ** rng.uniform(-2, 3) / 10 ** tokens[a].decimals for a in addrs}  # value per raw unit
    pools = []
    for k in range(n_pools):
        a, b = sorted(rng.sample(addrs, 2))
        value = 10 ** rng.uniform(4, 7)  # pool depth in value units per side
        skew = math.exp(rng.uniform(-mispricing, mispricing))
        r0 = max(1000, int(value / price[a]))
        r1 = max(1000, int(value * skew / price[b]))
        pools.append(V2Pool("0x" + f"{0xA000 + k:040x}", a, b, r0, r1, fee_bps))
    return pools, tokens


def single_range_v3(
    address: str,
    token0: str,
    token1: str,
    price: float,
    liquidity: int,
    fee: int = 3000,
    tick_spacing: int = 60,
    width_ticks: int = 60_000,
) -> V3Pool:
    """A V3 pool at ``price`` (token1 raw units per token0 raw unit) with ``liquidity`` in one range."""
    sqrt_p = int(math.sqrt(price) * 2**96)
    tick = get_tick_at_sqrt_ratio(sqrt_p)
    lower = (tick - width_ticks) // tick_spacing * tick_spacing
    upper = (tick + width_ticks) // tick_spacing * tick_spacing
    assert get_sqrt_ratio_at_tick(lower) < sqrt_p < get_sqrt_ratio_at_tick(upper)
    state = V3PoolState(sqrt_p, tick, liquidity, fee, tick_spacing, {lower: liquidity, upper: -liquidity})
    return V3Pool(address, token0, token1, state)
