"""The plan of an execution: an ``Opportunity`` as concrete hops (pool, kind, tokens, direction, fee, exact amounts).

``plan_execution(graph, opportunity, min_profit)`` reads the pools of the cycle from the graph the opportunity was
sized on, so every hop carries the exact amounts the off-chain quote expects (``amount_in`` / ``amount_out``).
``min_profit`` is the least gain (raw start-token units, after any loan premium) the executor contract must see,
else it reverts.
"""

from __future__ import annotations

from dataclasses import dataclass

from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import Opportunity
from defipm.arb.pools import V2Pool, V3Pool
from defipm.core.errors import DataError

__all__ = ["ExecutionPlan", "HopPlan", "gas_limit", "plan_execution"]


@dataclass(frozen=True, slots=True)
class HopPlan:
    """One swap. ``fee``: basis points for V2 pairs, pips for V3 pools. Amounts in raw token units."""

    pool: str
    kind: str
    token_in: str
    token_out: str
    zero_for_one: bool
    fee: int
    amount_in: int
    amount_out: int


@dataclass(frozen=True, slots=True)
class ExecutionPlan:
    """What to execute: borrow or spend ``amount_in`` of ``start_token``, run ``hops``, keep ``expected_profit``.

    expected_profit: ``amount_out - amount_in - premium`` by the exact off-chain quote (raw start-token units).
    min_profit: least profit the flash executor accepts (raw start-token units).
    """

    opportunity_id: str
    start_token: str
    amount_in: int
    hops: tuple[HopPlan, ...]
    premium: int
    expected_profit: int
    min_profit: int
    opportunity: Opportunity

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(h.kind for h in self.hops)


V2_FIRST_SWAP_GAS = 50_000
"""Gas a V2 pair's swap may need beyond its estimate: the first swap in a new block writes both price
accumulators (two zero-to-nonzero stores), which an estimate on the previous block's timestamp does not see."""


def gas_limit(estimate: int, hops: tuple[HopPlan, ...] | list[HopPlan]) -> int:
    """A gas limit for an estimate: +20% and ``V2_FIRST_SWAP_GAS`` per V2 hop (unused gas is refunded)."""
    return estimate * 12 // 10 + V2_FIRST_SWAP_GAS * sum(h.kind == "v2" for h in hops)


def plan_execution(
    graph: PoolGraph, opportunity: Opportunity, opportunity_id: str = "", min_profit: int = 1
) -> ExecutionPlan:
    """The hops of ``opportunity`` on ``graph`` (the graph it was sized on) with their exact amounts."""
    hops = []
    for i, e in enumerate(opportunity.edges):
        pool = graph.pools[e >> 1]
        token_in, token_out = graph.edge_tokens(e)
        if isinstance(pool, V2Pool):
            fee = pool.fee_bps
        elif isinstance(pool, V3Pool):
            fee = pool.state.fee
        else:
            raise DataError(f"pool {pool.address} of kind {pool.kind!r} cannot be executed")
        hops.append(
            HopPlan(
                pool=pool.address,
                kind=pool.kind,
                token_in=token_in,
                token_out=token_out,
                zero_for_one=e & 1 == 0,
                fee=fee,
                amount_in=opportunity.amounts[i],
                amount_out=opportunity.amounts[i + 1],
            )
        )
    return ExecutionPlan(
        opportunity_id=opportunity_id,
        start_token=opportunity.start_token,
        amount_in=opportunity.amount_in,
        hops=tuple(hops),
        premium=opportunity.premium,
        expected_profit=opportunity.gross_profit,
        min_profit=max(0, min_profit),
        opportunity=opportunity,
    )
