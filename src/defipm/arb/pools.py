"""Pool models the arbitrage engine trades through: tokens, Uniswap V2 pairs and Uniswap V3 pools.

Every pool has two tokens (``token0`` < ``token1`` as on chain), a swap direction flag ``zero_for_one`` and two
exact integer functions: ``amount_out(zero_for_one, amount_in)`` and ``marginal_rate(zero_for_one)`` (output per
unit of input at zero size, after the fee, in raw base units: the number the cycle screen multiplies). Direction
matters: selling token0 uses ``reserve1 / reserve0``, selling token1 uses ``reserve0 / reserve1``.

``V2Pool`` is a constant-product pair (``defipm.amm.v2``); ``V3Pool`` wraps the exact V3 swap simulation of
``defipm.amm.v3_pool``. Pools are immutable: a state change makes a new pool (``with_reserves``, ``with_state``).
A pool that cannot trade (paused, drained, zero liquidity) reports why in ``inactive_reason``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Protocol, runtime_checkable

from defipm.amm import v2
from defipm.amm.errors import AmmError
from defipm.amm.v3_pool import V3PoolState

__all__ = ["Pool", "Token", "V2Pool", "V3Pool"]

MIN_RESERVE = 1
"""Reserves below this many base units count as drained (loaders may demand more)."""


@dataclass(frozen=True, slots=True)
class Token:
    """An ERC-20 token: ``address`` lower-case hex, ``decimals`` as the contract reports them."""

    address: str
    symbol: str
    decimals: int

    def to_units(self, amount: int) -> float:
        """Human units of a raw amount (display only; money stays integer)."""
        return amount / 10**self.decimals


@runtime_checkable
class Pool(Protocol):
    """What the graph, search and sizing need from any pool."""

    @property
    def address(self) -> str: ...

    @property
    def token0(self) -> str: ...

    @property
    def token1(self) -> str: ...

    @property
    def kind(self) -> str:
        """Protocol family: "v2" or "v3" (also picks the gas cost per hop)."""
        ...

    def amount_out(self, zero_for_one: bool, amount_in: int) -> int:
        """Exact output for an exact input, as the contract computes it; raises AmmError on refusal."""
        ...

    def amount_in(self, zero_for_one: bool, amount_out: int) -> int:
        """Smallest input the contract needs for an exact output; raises AmmError on refusal."""
        ...

    def marginal_rate(self, zero_for_one: bool) -> float:
        """Output per unit input at zero size after fees, raw base units (0.0 when inactive)."""
        ...

    @property
    def inactive_reason(self) -> str | None:
        """Why the pool cannot trade right now, or None."""
        ...


@dataclass(frozen=True, slots=True)
class V2Pool:
    """A Uniswap V2-style pair. Reserves are raw base units; ``fee_bps`` the swap fee (30 = 0.3%)."""

    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    fee_bps: int = v2.UNISWAP_V2_FEE_BPS
    paused: bool = False
    kind: str = "v2"

    def reserves(self, zero_for_one: bool) -> tuple[int, int]:
        """``(reserve_in, reserve_out)`` for a swap in the given direction."""
        return (self.reserve0, self.reserve1) if zero_for_one else (self.reserve1, self.reserve0)

    def amount_out(self, zero_for_one: bool, amount_in: int) -> int:
        if self.paused:
            raise AmmError(f"pool {self.address} is paused")
        r_in, r_out = self.reserves(zero_for_one)
        return v2.get_amount_out(amount_in, r_in, r_out, self.fee_bps)

    def amount_in(self, zero_for_one: bool, amount_out: int) -> int:
        if self.paused:
            raise AmmError(f"pool {self.address} is paused")
        r_in, r_out = self.reserves(zero_for_one)
        return v2.get_amount_in(amount_out, r_in, r_out, self.fee_bps)

    def marginal_rate(self, zero_for_one: bool) -> float:
        if self.inactive_reason is not None:
            return 0.0
        r_in, r_out = self.reserves(zero_for_one)
        return (v2.BPS - self.fee_bps) / v2.BPS * (r_out / r_in)

    @property
    def inactive_reason(self) -> str | None:
        if self.paused:
            return "paused"
        if self.reserve0 < MIN_RESERVE or self.reserve1 < MIN_RESERVE:
            return f"drained (reserves {self.reserve0}, {self.reserve1})"
        return None

    def with_reserves(self, reserve0: int, reserve1: int) -> V2Pool:
        return replace(self, reserve0=reserve0, reserve1=reserve1)


@dataclass(frozen=True, slots=True)
class V3Pool:
    """A Uniswap V3 pool: addresses plus the exact swap state (fee in pips inside ``state``)."""

    address: str
    token0: str
    token1: str
    state: V3PoolState
    paused: bool = False
    kind: str = "v3"

    def amount_out(self, zero_for_one: bool, amount_in: int) -> int:
        if self.paused:
            raise AmmError(f"pool {self.address} is paused")
        paid, out = self.state.swap_amounts(zero_for_one, amount_in)
        if paid != amount_in:
            # the router would take only part of the input: treat as unfillable for an exact cycle
            raise AmmError(f"pool {self.address} fills only {paid} of {amount_in}")
        return out

    def amount_in(self, zero_for_one: bool, amount_out: int) -> int:
        if self.paused:
            raise AmmError(f"pool {self.address} is paused")
        return self.state.quote_exact_output(zero_for_one, amount_out)

    def marginal_rate(self, zero_for_one: bool) -> float:
        if self.inactive_reason is not None:
            return 0.0
        price = (self.state.sqrt_price_x96 / 2**96) ** 2  # token1 per token0, raw units
        keep = 1.0 - self.state.fee / 1_000_000
        return keep * price if zero_for_one else keep / price

    @property
    def fee_bps(self) -> float:
        return self.state.fee / 100

    @property
    def inactive_reason(self) -> str | None:
        if self.paused:
            return "paused"
        if self.state.liquidity <= 0:
            return "no active liquidity"
        return None

    def with_state(self, state: V3PoolState) -> V3Pool:
        return replace(self, state=state)


def log_rate(pool: Pool, zero_for_one: bool) -> float:
    """``log(marginal_rate)``, -inf for an inactive pool: the additive weight of a directed edge."""
    rate = pool.marginal_rate(zero_for_one)
    return math.log(rate) if rate > 0 else -math.inf
