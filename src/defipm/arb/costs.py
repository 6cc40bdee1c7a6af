"""What an arbitrage costs besides pool fees: gas (a per-hop model, fittable to measured gas) and its price.

``GasModel`` estimates gas units as ``base + sum(per-hop cost by pool kind) + flash_loan`` and can be fitted by
least squares to gas measured on a local chain (``GasModel.fit``). ``PriceBook`` holds each token's price in the
native token (wei per raw unit), derived from the pools themselves: breadth-first from the native token, each
token priced through its deepest pool to an already priced token. ``gas_cost_in`` converts a gas estimate into
raw units of any priced token, rounded up (costs never get cheaper by rounding).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from defipm.arb.graph import PoolGraph
from defipm.arb.pools import V2Pool, V3Pool
from defipm.core.errors import DataError

__all__ = ["CAPITAL_GAS_MODEL", "FLASH_GAS_MODEL", "GasModel", "PriceBook"]


@dataclass(frozen=True, slots=True)
class GasModel:
    """Gas units of an arbitrage transaction.

    base: fixed cost of the transaction and the executor call (gas units).
    per_hop: gas per swap hop by pool kind ("v2", "v3").
    flash_loan: extra gas of borrowing and repaying a flash loan.
    """

    base: int = 50_000
    per_hop: dict[str, int] = field(default_factory=lambda: {"v2": 62_000, "v3": 105_000})
    flash_loan: int = 75_000

    def estimate(self, kinds: Sequence[str], flash_loan: bool = True) -> int:
        try:
            hops = sum(self.per_hop[k] for k in kinds)
        except KeyError as exc:
            raise DataError(f"gas model has no per-hop cost for pool kind {exc.args[0]!r}") from exc
        return self.base + hops + (self.flash_loan if flash_loan else 0)

    @classmethod
    def fit(cls, samples: Iterable[tuple[Sequence[str], bool, int]]) -> GasModel:
        """Least-squares fit to measured ``(hop kinds, used a flash loan, gas used)`` samples.

        Coefficients that the samples cannot identify (a kind never seen, no flash-loan sample) keep the
        defaults; coefficients are constrained to be >= 0 (a column whose value would be negative is fixed at 0
        and the rest refitted) and rounded up.
        """
        rows = list(samples)
        default = cls()
        if not rows:
            raise DataError("cannot fit a gas model to no samples")
        kinds = sorted({k for hop_kinds, _, _ in rows for k in hop_kinds})
        use_flash = any(f for _, f, _ in rows) and not all(f for _, f, _ in rows)
        cols = ["base", *kinds] + (["flash"] if use_flash else [])
        x = np.zeros((len(rows), len(cols)))
        y = np.zeros(len(rows))
        for r, (hop_kinds, flash, gas) in enumerate(rows):
            x[r, 0] = 1
            for k in hop_kinds:
                x[r, 1 + kinds.index(k)] += 1
            if use_flash and flash:
                x[r, -1] = 1
            y[r] = gas
        # least squares with coefficients >= 0: drop the most negative column and refit until none is negative
        active = list(range(len(cols)))
        coef = np.zeros(len(cols))
        while active:
            sol, *_ = np.linalg.lstsq(x[:, active], y, rcond=None)
            if (sol >= 0).all():
                coef[active] = sol
                break
            active.pop(int(np.argmin(sol)))
        fitted = {c: max(0, int(np.ceil(v))) for c, v in zip(cols, coef, strict=True)}
        per_hop = dict(default.per_hop)
        per_hop.update({k: fitted[k] for k in kinds})
        # with every sample using a flash loan, its cost is folded into `base`
        flash_cost = fitted.get("flash", 0 if all(f for _, f, _ in rows) else default.flash_loan)
        return cls(base=fitted["base"], per_hop=per_hop, flash_loan=flash_cost)


def _depth(pool: object, zero_side: bool) -> float:
    """Rough size of one side of a pool in raw units (reserve; virtual reserve for V3)."""
    if isinstance(pool, V2Pool):
        return float(pool.reserve0 if zero_side else pool.reserve1)
    if isinstance(pool, V3Pool):
        sp = pool.state.sqrt_price_x96 / 2**96
        return pool.state.liquidity / sp if zero_side else pool.state.liquidity * sp
    return 0.0


class PriceBook:
    """Native-token price (wei per raw unit) of every token reachable from the native token."""

    def __init__(self, prices: dict[str, Fraction], native: str) -> None:
        self.prices = prices
        self.native = native

    @classmethod
    def from_graph(cls, graph: PoolGraph, native: str, min_native_depth: int = 10**18) -> PriceBook:
        """Mid prices through the deepest pool to an already priced token, layer by layer from ``native``.

        Pools whose priced side holds less than ``min_native_depth`` wei of value are ignored.
        """
        prices: dict[str, Fraction] = {native: Fraction(1)}
        frontier = {native}
        by_token: dict[str, list[int]] = {}
        for i, p in enumerate(graph.pools):
            by_token.setdefault(p.token0, []).append(i)
            by_token.setdefault(p.token1, []).append(i)
        while frontier:
            best: dict[str, tuple[float, Fraction]] = {}
            for t in frontier:
                for i in by_token.get(t, []):
                    p = graph.pools[i]
                    if p.inactive_reason is not None:
                        continue
                    t_is0 = p.token0 == t
                    other = p.token1 if t_is0 else p.token0
                    if other in prices:
                        continue
                    depth = _depth(p, t_is0) * float(prices[t])
                    if depth < min_native_depth:
                        continue
                    # mid price: raw units of t per raw unit of other (fee removed)
                    if isinstance(p, V2Pool):
                        mid = Fraction(p.reserve0, p.reserve1) if t_is0 else Fraction(p.reserve1, p.reserve0)
                    elif isinstance(p, V3Pool):
                        keep = Fraction(1_000_000 - p.state.fee, 1_000_000)
                        mid = Fraction(p.marginal_rate(not t_is0)) / keep
                    else:
                        continue
                    if other not in best or best[other][0] < depth:
                        best[other] = (depth, prices[t] * mid)
            frontier = set(best)
            for tok, (_, price) in best.items():
                prices[tok] = price
        return cls(prices, native)

    def price(self, token: str) -> Fraction | None:
        return self.prices.get(token)

    def gas_cost_in(self, token: str, gas_wei: int) -> int | None:
        """``gas_wei`` of native token expressed in raw units of ``token`` (rounded up); None if unpriced."""
        p = self.prices.get(token)
        if p is None or p <= 0:
            return None
        q = Fraction(gas_wei) / p
        return -((-q.numerator) // q.denominator)

    def to_native(self, token: str, amount: int) -> int | None:
        """Raw ``amount`` of ``token`` in native wei (rounded down); None if unpriced."""
        p = self.prices.get(token)
        if p is None:
            return None
        v = p * amount
        return v.numerator // v.denominator


FLASH_GAS_MODEL = GasModel(base=72_876, per_hop={"v2": 97_534, "v3": 112_675}, flash_loan=0)
"""Gas of ``ArbExecutor`` flash-loan executions, fitted on the local chain (``defipm.arb.gas_fit``); the loan's
own cost is folded into ``base``. Measured: 270k (2 hops) to 577k gas (5 hops), each within 5% of the model."""

CAPITAL_GAS_MODEL = GasModel(base=0, per_hop={"v2": 141_200, "v3": 128_068}, flash_loan=0)
"""Gas of capital-based executions (one router transaction per hop, 21k each included), fitted on the local chain.
Measured: 235k (2 hops) to 697k gas (5 hops); within 15% of the model (a V2 hop on an established pair is cheaper
than on a new one)."""
