"""Optimal trade size for a cycle, in exact integers.

V2-only cycles fold into one virtual pool. A hop ``y = g*b*x / (a + g*x)`` (``g = num/den`` the kept fraction)
composed with a running map ``x -> x*N / (D + x*M)`` gives ``N' = num*b*N``, ``D' = den*a*D``,
``M' = den*a*M + num*N``: integers throughout. Borrowing ``x`` at premium ``p = pn/pd`` the profit
``x*N/(D + x*M) - x*(1 + p)`` is concave with its maximum at ``D + x*M = sqrt(N*D / (1 + p))``; the cycle can
pay at all only when ``N / D > 1 + p``.

Cycles with a V3 hop have no closed form: ``golden_section_max`` brackets the optimum of the (concave) exact
integer profit by doubling, then narrows it by golden-section steps on integers. Either size is then trimmed to
the least input giving the same final output (hops floor their outputs), and returned with the exact integer
profit of trading it hop by hop through the pools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from math import isqrt

from defipm.amm.errors import AmmError
from defipm.arb.pools import Pool, V2Pool

__all__ = [
    "Hop",
    "SizedCycle",
    "fold_v2",
    "golden_section_max",
    "premium_of",
    "simulate_cycle",
    "size_cycle",
    "trim_input",
    "v2_optimum",
]

AAVE_PREMIUM = (5, 10_000)
"""Aave V3 flash-loan premium: 0.05%, as (numerator, denominator)."""


@dataclass(frozen=True, slots=True)
class Hop:
    """One swap of a cycle: the pool and the direction it is traded in."""

    pool: Pool
    zero_for_one: bool


@dataclass(frozen=True, slots=True)
class SizedCycle:
    """A sized cycle: ``amount_in`` of the start token in, ``amounts`` after each hop, profit before gas.

    ``premium`` is the flash-loan fee on ``amount_in``; ``gross_profit = amounts[-1] - amount_in - premium``.
    """

    amount_in: int
    amounts: tuple[int, ...]
    premium: int
    gross_profit: int
    method: str
    """"closed-form" (V2 fold) or "golden-section"."""


def premium_of(amount: int, premium: tuple[int, int] = AAVE_PREMIUM) -> int:
    """Flash-loan premium as Aave V3.4+ computes it (``percentMulCeil``: rounded up). Earlier versions rounded
    half up, never more, so the estimate is exact there or one unit cautious, never short."""
    num, den = premium
    return -(-amount * num // den)


def simulate_cycle(hops: Sequence[Hop], amount_in: int) -> list[int]:
    """Exact amounts after each hop for ``amount_in``; raises AmmError where a pool refuses."""
    amounts = [amount_in]
    for hop in hops:
        amounts.append(hop.pool.amount_out(hop.zero_for_one, amounts[-1]))
    return amounts


def trim_input(hops: Sequence[Hop], amount_in: int) -> int:
    """The smallest input that still yields the same final output as ``amount_in`` (never more).

    Each hop floors its output, so part of an input is often wasted; walking the hops backwards with exact-output
    quotes finds the least input for the final output. Integer rounding then never costs more than needed.
    """
    try:
        amounts = simulate_cycle(hops, amount_in)
        need = amounts[-1]
        for hop in reversed(hops):
            need = hop.pool.amount_in(hop.zero_for_one, need)
    except AmmError:
        return amount_in
    if 0 < need < amount_in and simulate_cycle(hops, need)[-1] >= amounts[-1]:
        return need
    return amount_in


def fold_v2(hops: Sequence[Hop]) -> tuple[int, int, int]:
    """``(N, D, M)`` of the virtual pool ``x -> x*N / (D + x*M)`` equal to the V2 hops in sequence."""
    n, d, m = 1, 1, 0
    for hop in hops:
        pool = hop.pool
        if not isinstance(pool, V2Pool):
            raise AmmError(f"pool {pool.address} is not a V2 pool and cannot be folded")
        a, b = pool.reserves(hop.zero_for_one)
        num, den = 10_000 - pool.fee_bps, 10_000
        n, d, m = num * b * n, den * a * d, den * a * m + num * n
    return n, d, m


def v2_optimum(hops: Sequence[Hop], premium: tuple[int, int] = AAVE_PREMIUM) -> int:
    """Real-valued optimal input of a V2 cycle, floored to an integer (0 when the cycle cannot pay)."""
    n, d, m = fold_v2(hops)
    pn, pd = premium
    if n * pd <= d * (pd + pn):
        return 0
    root = isqrt(n * d * pd // (pd + pn))
    return max(0, (root - d) // m)


def _profit(hops: Sequence[Hop], amount: int, premium: tuple[int, int]) -> int | None:
    if amount <= 0:
        return 0
    try:
        out = simulate_cycle(hops, amount)[-1]
    except AmmError:
        return None
    return out - amount - premium_of(amount, premium)


def golden_section_max(f: Callable[[int], int | None], start: int = 10**6, max_amount: int = 2**200) -> int:
    """Argmax over positive integers of a concave ``f`` (None = infeasible, counted as -inf), 0 if none > 0.

    Brackets with a doubling probe from ``start / 2**20`` past the first positive peak (and a halving probe down
    to 1 when the peak is not above the first probe: a token with few decimals or a shallow pool), then
    golden-section steps on the bracket.
    """

    def val(x: int) -> float:
        try:
            r = f(x) if x > 0 else 0
        except AmmError:
            r = None
        return float("-inf") if r is None else r

    best_x = _bracket(val, max(1, start >> 20), max_amount)
    if best_x == 0:
        return 0
    lo, hi = best_x // 2, best_x * 2
    # now val(mid) >= val(lo), val(hi): golden-section on [lo, hi]
    inv_phi = 0.6180339887498949
    a, b = lo, hi
    c = b - int((b - a) * inv_phi)
    d = a + int((b - a) * inv_phi)
    fc, fd = val(c), val(d)
    while b - a > 4:
        if fc >= fd:
            b, d, fd = d, c, fc
            c = b - int((b - a) * inv_phi)
            if c >= d:
                c = d - 1
            fc = val(c)
        else:
            a, c, fc = c, d, fd
            d = a + int((b - a) * inv_phi)
            if d <= c:
                d = c + 1
            fd = val(d)
    best = max(range(a, b + 1), key=val)
    return best if val(best) > 0 else 0


def _bracket(val: Callable[[int], float], first: int, max_amount: int) -> int:
    """The best power-of-two multiple (or fraction) of ``first`` where ``val`` > 0, 0 if none: by concavity the
    optimum lies within a factor 2 of it. Doubles from ``first`` until past a positive peak; when the peak is not
    above ``first`` (the first probe was the best, or no probe paid), halves from ``first`` down to 1 likewise."""
    best_x, best_v = 0, 0.0
    x = first
    while x < max_amount:
        v = val(x)
        if v > best_v:
            best_x, best_v = x, v
        elif best_v > 0:
            break
        x *= 2
    if best_x not in (0, first):
        return best_x
    x = first // 2
    while x >= 1:
        v = val(x)
        if v > best_v:
            best_x, best_v = x, v
        elif best_v > 0:
            break
        x //= 2
    return best_x


def size_cycle(
    hops: Sequence[Hop],
    premium: tuple[int, int] = AAVE_PREMIUM,
    max_amount: int | None = None,
    start: int | None = None,
) -> SizedCycle | None:
    """Best input for a cycle (capped at ``max_amount``) and its exact profit; None if no size pays."""
    if all(isinstance(h.pool, V2Pool) for h in hops):
        amount = v2_optimum(hops, premium)
        method = "closed-form"
    else:
        guess = start if start is not None else 10**15
        amount = golden_section_max(lambda x: _profit(hops, x, premium), guess)
        method = "golden-section"
    if max_amount is not None:
        amount = min(amount, max_amount)
    if amount <= 0:
        return None
    amount = trim_input(hops, amount)
    try:
        amounts = simulate_cycle(hops, amount)
    except AmmError:
        return None
    prem = premium_of(amount, premium)
    gross = amounts[-1] - amount - prem
    if gross <= 0:
        return None
    return SizedCycle(amount, tuple(amounts), prem, gross, method)
