"""Optimal sizing: the V2 closed form and the integer golden-section search against dense numeric optima."""

from __future__ import annotations

from decimal import Decimal, localcontext
from math import isqrt

import pytest

from defipm.arb.pools import V2Pool
from defipm.arb.sizing import (
    Hop,
    golden_section_max,
    premium_of,
    simulate_cycle,
    size_cycle,
    v2_optimum,
)
from defipm.arb.synthetic import single_range_v3

A, B, C = ("0x" + f"{i:040x}" for i in (1, 2, 3))


def _triangle(seed: int) -> list[Hop]:
    import random

    rng = random.Random(seed)
    p1 = V2Pool("0x" + "a" * 40, A, B, rng.randint(10**20, 10**23), rng.randint(10**8, 10**11))
    p2 = V2Pool("0x" + "b" * 40, B, C, rng.randint(10**8, 10**11), rng.randint(10**18, 10**22))
    p3 = V2Pool("0x" + "c" * 40, A, C, rng.randint(10**20, 10**23), rng.randint(10**18, 10**22))
    hops = [Hop(p1, True), Hop(p2, True), Hop(p3, False)]
    rate = 1.0
    for h in hops:
        r_in, r_out = h.pool.reserves(h.zero_for_one)  # type: ignore[attr-defined]
        rate *= 0.997 * r_out / r_in
    if rate < 1.01:  # make it mispriced by rescaling the last pool
        p3 = V2Pool(p3.address, A, C, int(p3.reserve0 / rate * 1.05), p3.reserve1)
        hops[2] = Hop(p3, False)
    return hops


def _dense_optimum(hops: list[Hop], premium: Decimal) -> Decimal:
    """Real-valued optimum by golden section on the hop-by-hop real composition, 60 significant digits."""
    with localcontext() as ctx:
        ctx.prec = 60

        def f(x: Decimal) -> Decimal:
            y = x
            for h in hops:
                r_in, r_out = h.pool.reserves(h.zero_for_one)  # type: ignore[attr-defined]
                g = Decimal(10_000 - h.pool.fee_bps) / 10_000  # type: ignore[attr-defined]
                y = g * y * r_out / (r_in + g * y)
            return y - x * (1 + premium)

        lo, hi = Decimal(0), Decimal(10**30)
        inv_phi = (Decimal(5).sqrt() - 1) / 2
        for _ in range(400):
            c = hi - (hi - lo) * inv_phi
            d = lo + (hi - lo) * inv_phi
            if f(c) > f(d):
                hi = d
            else:
                lo = c
        return (lo + hi) / 2


@pytest.mark.parametrize("seed", range(20))
def test_closed_form_matches_dense_optimum(seed: int) -> None:
    hops = _triangle(seed)
    x = v2_optimum(hops)
    dense = _dense_optimum(hops, Decimal(5) / 10_000)
    assert x > 0
    assert abs(Decimal(x) - dense) / dense < Decimal("1e-9")


@pytest.mark.parametrize("seed", range(10))
def test_golden_section_matches_closed_form_profit(seed: int) -> None:
    hops = _triangle(seed)

    def profit(x: int) -> int:
        return simulate_cycle(hops, x)[-1] - x - premium_of(x)

    x_gs = golden_section_max(profit, start=10**12)
    sized = size_cycle(hops)  # closed form, trimmed to the least input for the same output
    assert sized is not None
    assert sized.gross_profit == profit(sized.amount_in)
    assert abs(sized.amount_in - x_gs) <= 1e-3 * x_gs  # integer profit is flat (and stepped) near its top
    assert sized.gross_profit >= profit(x_gs) * (1 - 1e-9)
    assert sized.gross_profit >= profit(v2_optimum(hops))


def test_size_cycle_caps_and_reports() -> None:
    hops = _triangle(1)
    full = size_cycle(hops)
    assert full is not None and full.method == "closed-form"
    capped = size_cycle(hops, max_amount=full.amount_in // 10)
    assert capped is not None and capped.amount_in <= full.amount_in // 10
    assert capped.gross_profit < full.gross_profit


def test_unprofitable_cycle_sizes_to_none() -> None:
    p1 = V2Pool("0x" + "a" * 40, A, B, 10**21, 10**21)
    p2 = V2Pool("0x" + "b" * 40, A, B, 10**21, 10**21)
    assert size_cycle([Hop(p1, True), Hop(p2, False)]) is None


def test_cycle_with_v3_hop_uses_bracketing_and_beats_a_dense_grid() -> None:
    v2 = V2Pool("0x" + "a" * 40, A, B, 10**21, 2 * 10**21)  # 1 A = 2 B here
    v3 = single_range_v3("0x" + "d" * 40, A, B, price=2.1, liquidity=10**21)  # 1 A = 2.1 B there
    hops = [Hop(v2, False), Hop(v3, True)]  # B -> A on V2, A -> B on V3
    sized = size_cycle(hops)
    assert sized is not None and sized.method == "golden-section"

    def profit(x: int) -> int:
        return simulate_cycle(hops, x)[-1] - x - premium_of(x)

    grid = max(profit(int(sized.amount_in * k / 1000)) for k in range(1, 3000))
    assert sized.gross_profit >= grid
    assert profit(sized.amount_in) == sized.gross_profit


@pytest.mark.parametrize("decimals", [2, 6])
def test_cycle_with_v3_hop_sized_when_its_optimum_is_a_few_units_of_a_low_decimal_token(decimals: int) -> None:
    """A shallow pool of a token with few decimals (GUSD: 2, USDC: 6) pays best at a raw size far below the
    bracketing's first probe: the search must look below it rather than report nothing."""
    unit = 10**decimals
    depth = 10_000 * unit  # 10,000 whole A (a 2-decimal token: 1,000,000 raw units)
    v2 = V2Pool("0x" + "a" * 40, A, B, depth, 20_000 * 10**18)  # 1 A = 2 B here
    v3 = single_range_v3(  # 1 A = 2.1 B there
        "0x" + "d" * 40, A, B, price=2.1 * 10**18 / unit, liquidity=isqrt(depth * 20_000 * 10**18)
    )
    hops = [Hop(v3, True), Hop(v2, False)]  # A -> B on V3, B -> A on V2

    def profit(x: int) -> int:
        return simulate_cycle(hops, x)[-1] - x - premium_of(x)

    step = max(1, depth // 100_000)
    grid_x = max(range(step, depth // 5, step), key=profit)
    assert profit(grid_x) > 0
    sized = size_cycle(hops)
    assert sized is not None and sized.method == "golden-section"
    assert sized.gross_profit == profit(sized.amount_in) >= profit(grid_x)
