"""Pricing one cycle: size it, subtract the flash-loan premium and gas, and say why when it does not pay.

``CostModel`` gathers the settings that turn a gross cycle profit into a net one (gas model, gas price, the
native token's price, flash-loan premium). ``evaluate_cycle`` returns an ``Opportunity`` (all amounts integers
in raw units of the start token, plus the net in native wei when the start token is priced) or a ``Rejection``
naming the reason (inactive pool, nothing pays after fees, gas eats the profit, ...).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from defipm.arb.costs import CAPITAL_GAS_MODEL, FLASH_GAS_MODEL, GasModel, PriceBook
from defipm.arb.graph import PoolGraph
from defipm.arb.sizing import Hop, size_cycle

__all__ = ["CostModel", "Opportunity", "Rejection", "evaluate_cycle", "rotate_to_start"]


@dataclass(frozen=True, slots=True)
class CostModel:
    """Costs netted from every cycle.

    gas: gas units per transaction shape. gas_price_wei: price of one gas unit (wei of the native token).
    native_price_usd: US dollars per native token (display and records only).
    flash_loan: True to borrow the start token (premium + flash gas), False to trade own capital.
    premium: flash-loan premium as (numerator, denominator); Aave V3's 0.05% by default.
    """

    gas: GasModel = field(default_factory=GasModel)
    gas_price_wei: int = 30 * 10**9
    native_price_usd: float = 2_000.0
    flash_loan: bool = True
    premium: tuple[int, int] = (5, 10_000)

    @classmethod
    def for_engine(cls, flash_loan: bool, **kwargs: Any) -> CostModel:
        """Costs of the flash-loan or the capital engine with the gas model fitted to it on the local chain."""
        gas = FLASH_GAS_MODEL if flash_loan else CAPITAL_GAS_MODEL
        return cls(gas=kwargs.pop("gas", gas), flash_loan=flash_loan, **kwargs)

    @property
    def effective_premium(self) -> tuple[int, int]:
        return self.premium if self.flash_loan else (0, 1)


@dataclass(frozen=True, slots=True)
class Opportunity:
    """A sized, costed cycle. Amounts are raw units of ``tokens[0]`` unless named ``_native`` (wei)."""

    edges: tuple[int, ...]
    tokens: tuple[str, ...]
    pools: tuple[str, ...]
    kinds: tuple[str, ...]
    amount_in: int
    amounts: tuple[int, ...]
    premium: int
    gross_profit: int
    gas_units: int
    gas_cost: int | None
    net_profit: int | None
    net_profit_native: int | None
    method: str
    detected_at: datetime
    log_rate: float

    @property
    def start_token(self) -> str:
        return self.tokens[0]

    @property
    def strategy_type(self) -> str:
        n = len(self.edges)
        return "simple" if n == 2 else "triangular" if n == 3 else "compound"


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why a cycle is not an opportunity: a short ``code`` to count by and a readable ``reason``."""

    edges: tuple[int, ...]
    code: str
    """"inactive pool", "unprofitable" or "gas exceeds profit"."""
    reason: str


def rotate_to_start(graph: PoolGraph, edges: Sequence[int], preferred: Sequence[int] = ()) -> tuple[int, ...]:
    """Rotate a cycle to begin at the first ``preferred`` token it passes through, else its hub-most token."""
    es = [int(e) for e in edges]
    starts = [int(graph.src[e]) for e in es]
    for tok in preferred:
        if tok in starts:
            k = starts.index(tok)
            return tuple(es[k:] + es[:k])
    k = starts.index(min(starts))
    return tuple(es[k:] + es[:k])


def evaluate_cycle(
    graph: PoolGraph,
    edges: Sequence[int],
    costs: CostModel,
    prices: PriceBook | None = None,
    max_amount: int | None = None,
    log_rate: float = 0.0,
    now: datetime | None = None,
) -> Opportunity | Rejection:
    """Size and cost one cycle (edges already rotated to the start token)."""
    es = tuple(int(e) for e in edges)
    pools = [graph.pools[e >> 1] for e in es]
    for p in pools:
        reason = p.inactive_reason
        if reason is not None:
            return Rejection(es, "inactive pool", f"pool {p.address} {reason}")
    hops = [Hop(p, e & 1 == 0) for p, e in zip(pools, es, strict=True)]
    start = graph.tokens[int(graph.src[es[0]])]
    sized = size_cycle(hops, costs.effective_premium, max_amount)
    if sized is None:
        return Rejection(es, "unprofitable", "no size is profitable after pool fees and the loan premium")
    kinds = tuple(p.kind for p in pools)
    gas_units = costs.gas.estimate(kinds, costs.flash_loan)
    gas_wei = gas_units * costs.gas_price_wei
    gas_cost = prices.gas_cost_in(start, gas_wei) if prices is not None else None
    net = None if gas_cost is None else sized.gross_profit - gas_cost
    net_native = None
    if prices is not None:
        gross_native = prices.to_native(start, sized.gross_profit)
        net_native = None if gross_native is None else gross_native - gas_wei
    if net is not None and net <= 0:
        return Rejection(
            es, "gas exceeds profit", f"gas ({gas_units} units) exceeds the gross profit {sized.gross_profit}"
        )
    return Opportunity(
        edges=es,
        tokens=tuple(graph.cycle_tokens(es)),
        pools=tuple(p.address for p in pools),
        kinds=kinds,
        amount_in=sized.amount_in,
        amounts=sized.amounts,
        premium=sized.premium,
        gross_profit=sized.gross_profit,
        gas_units=gas_units,
        gas_cost=gas_cost,
        net_profit=net,
        net_profit_native=net_native,
        method=sized.method,
        detected_at=now or datetime.now(UTC),
        log_rate=log_rate,
    )
