"""Routes back to the start token for a capital cycle that stopped half-way, quoted on the latest pool state.

A cycle stopped after the hop that bought token T holds T. Two routes end in the start token: *complete* (the
hops of the cycle after that one, in order: still worth it when the gap is open) and *unwind* (the hops done,
reversed, through the same pools). ``routes_back(hops, token, amount, pools, slippage_bps)`` quotes both with the
exact pool maths on ``pools`` (the latest states, by address) and returns those that can trade, the one returning
most start token first. Each hop's ``amount_out`` is its quote less ``slippage_bps``: the engine sends it as the
hop's ``amountOutMinimum``, so a route never fills worse than that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from defipm.amm.errors import AmmError
from defipm.arb.execution.plan import HopPlan
from defipm.arb.pools import Pool

__all__ = ["Route", "routes_back"]


@dataclass(frozen=True, slots=True)
class Route:
    """A way back to the start token: ``name`` "complete" or "unwind", its hops (amounts quoted, ``amount_out``
    already less the slippage allowance) and the quoted start token it returns (raw units)."""

    name: str
    hops: tuple[HopPlan, ...]
    amount_out: int


def _reversed(hop: HopPlan) -> HopPlan:
    return HopPlan(hop.pool, hop.kind, hop.token_out, hop.token_in, not hop.zero_for_one, hop.fee, 0, 0)


def _quote(name: str, hops: Sequence[HopPlan], amount: int, pools: Mapping[str, Pool], slip: int) -> Route | None:
    quoted = []
    for hop in hops:
        pool = pools.get(hop.pool)
        if pool is None:
            return None
        try:
            out = pool.amount_out(hop.zero_for_one, amount)
        except AmmError:
            return None
        if out <= 0:
            return None
        minimum = out * (10_000 - slip) // 10_000
        quoted.append(HopPlan(hop.pool, hop.kind, hop.token_in, hop.token_out, hop.zero_for_one, hop.fee, amount,
                              minimum))  # fmt: skip
        amount = out
    return Route(name, tuple(quoted), amount) if quoted else None


def routes_back(
    hops: Sequence[HopPlan], token: str, amount: int, pools: Mapping[str, Pool], slippage_bps: int = 50
) -> list[Route]:
    """Quoted routes turning ``amount`` of ``token`` (a token the cycle ``hops`` passes through) back into the
    cycle's start token, best first; empty when neither can trade (a pool missing, paused or refusing)."""
    bought = next((i for i, h in enumerate(hops) if h.token_out == token), None)
    if bought is None or bought == len(hops) - 1:
        return []
    found = [
        _quote("complete", hops[bought + 1 :], amount, pools, slippage_bps),
        _quote("unwind", [_reversed(h) for h in reversed(hops[: bought + 1])], amount, pools, slippage_bps),
    ]
    return sorted((r for r in found if r is not None), key=lambda r: -r.amount_out)
