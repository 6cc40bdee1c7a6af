"""The scanner: precomputed cycle index, vectorised screen and pre-sizing, exact sizing, incremental updates.

``Scanner(graph, max_len)`` enumerates every cycle of 2..K edges once into a padded int matrix (one row per
cycle, rotated to begin at its start token: the first preferred token it passes, else its hub-most token; short
rows are padded with a sentinel edge that acts as the identity) and an index from each pool to its rows.

``scan()`` works in three vectorised passes and one exact pass:
1. screen: sum of edge log rates > log(1 + premium) (any size can pay at all);
2. pre-size V2-only rows in floats with the folded virtual pool (``n = prod(rate)``, ``m = sum(curv * n)``,
   optimum ``x = (sqrt(n / (1 + p)) - 1) / m``) and drop rows whose float profit cannot cover gas (with margin);
3. size and cost the survivors exactly in integers (``opportunity.evaluate_cycle``); cycles with V3 hops go
   straight to the exact bracketing search.

``update_pool(pool)`` changes one pool and re-runs the same passes on the rows through it only.
``compound(starts, max_len)`` adds long cycles from the beam search to the tracked rows.
Current results live in ``opportunities`` (row -> Opportunity); why candidates failed is counted in each
``ScanResult.reasons`` and kept per row for exact rejections in ``rejections``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from defipm.arb.costs import PriceBook
from defipm.arb.cycles import canonical_cycle, compound_search, enumerate_cycles
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import CostModel, Opportunity, Rejection, evaluate_cycle
from defipm.arb.pools import Pool

__all__ = ["ScanResult", "Scanner"]

PRESIZE_MARGIN = 0.5
"""Rows pass the float pre-sizing when their float net profit exceeds -margin x gas cost (float slack)."""


@dataclass
class ScanResult:
    """Opportunities found (best first), exact rejections, and counts of why other candidates dropped out."""

    opportunities: list[Opportunity] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    screened: int = 0
    candidates: int = 0


class Scanner:
    """Cycle index and evaluator over a graph. ``preferred_starts``: token addresses to count profit in."""

    def __init__(
        self,
        graph: PoolGraph,
        max_len: int = 4,
        costs: CostModel | None = None,
        prices: PriceBook | None = None,
        preferred_starts: Sequence[str] = (),
        max_amount: int | None = None,
    ) -> None:
        self.graph = graph
        self.costs = costs or CostModel()
        self.prices = prices
        self.max_amount = max_amount
        self.preferred = [graph.token_index[t] for t in preferred_starts if t in graph.token_index]
        pn, pd = self.costs.effective_premium
        self.one_plus_p = 1 + pn / pd
        self.threshold = math.log(self.one_plus_p)
        self.max_len = max_len
        self.sentinel = 2 * graph.n_pools
        n_tok = graph.n_tokens
        self._rank = np.full(n_tok + 1, len(self.preferred), dtype=np.int64)
        for r, t in enumerate(self.preferred):
            self._rank[t] = r
        self._rank[n_tok] = 1 << 40  # sentinel token never starts a cycle
        self._price = np.full(n_tok, np.nan)
        if prices is not None:
            for addr, price in prices.prices.items():
                if addr in graph.token_index:
                    self._price[graph.token_index[addr]] = float(price)
        self.w = np.empty(self.sentinel + 1)
        self.rate = np.empty(self.sentinel + 1)
        self.curv = np.empty(self.sentinel + 1)
        self._sync_edges(slice(None))
        self.cycles = np.zeros((0, 0), dtype=np.int64)
        self.lengths = np.zeros(0, dtype=np.int64)
        self._keys: set[tuple[int, ...]] = set()
        self._add_rows([m for _, m in sorted(enumerate_cycles(graph, max_len).items())])
        self.opportunities: dict[int, Opportunity] = {}
        self.rejections: dict[int, Rejection] = {}

    def _sync_edges(self, sl: slice) -> None:
        g = self.graph
        self.w[:-1][sl] = g.log_w[sl]
        self.rate[:-1][sl] = g.rate[sl]
        self.curv[:-1][sl] = g.curv[sl]
        self.w[-1], self.rate[-1], self.curv[-1] = 0.0, 1.0, 0.0

    # -- index ---------------------------------------------------------------------------------------
    def _rotate(self, m: np.ndarray) -> np.ndarray:
        """Rotate each row of a (n, L) cycle block to begin at its start token."""
        n, length = m.shape
        starts = self.graph.src[m]
        key = self._rank[starts] * (1 << 24) + starts
        first = key.argmin(axis=1)
        cols = (np.arange(length)[None, :] + first[:, None]) % length
        return m[np.arange(n)[:, None], cols]

    def _add_rows(self, blocks: Iterable[np.ndarray]) -> None:
        blocks = [self._rotate(b) for b in blocks if len(b)]
        if not blocks:
            if self.cycles.shape[1] == 0:
                self.cycles = np.zeros((0, self.max_len), dtype=np.int64)
            self._build_pool_index()
            return
        width = max([self.cycles.shape[1], *(b.shape[1] for b in blocks)])
        parts = [self.cycles, *blocks]
        parts = [np.pad(p, ((0, 0), (0, width - p.shape[1])), constant_values=self.sentinel) for p in parts]
        self.cycles = np.concatenate(parts)
        self.lengths = np.concatenate([self.lengths, *(np.full(len(b), b.shape[1]) for b in blocks)])
        self._build_pool_index()

    def _build_pool_index(self) -> None:
        width = self.cycles.shape[1]
        rows = np.repeat(np.arange(len(self.cycles)), width)
        flat = self.cycles.ravel()
        real = flat != self.sentinel
        rows, pools = rows[real], flat[real] >> 1
        order = np.argsort(pools, kind="stable")
        self.pool_rows = rows[order]
        self.pool_ptr = np.zeros(self.graph.n_pools + 1, dtype=np.int64)
        np.cumsum(np.bincount(pools, minlength=self.graph.n_pools), out=self.pool_ptr[1:])
        self._start = self.graph.src[self.cycles[:, 0]] if len(self.cycles) else np.zeros(0, dtype=np.int64)

    @property
    def n_cycles(self) -> int:
        return len(self.cycles)

    def rows_through(self, pool_index: int) -> np.ndarray:
        return self.pool_rows[self.pool_ptr[pool_index] : self.pool_ptr[pool_index + 1]]

    def cycle_edges(self, row: int) -> tuple[int, ...]:
        return tuple(int(e) for e in self.cycles[row, : self.lengths[row]])

    # -- evaluation ----------------------------------------------------------------------------------
    def _candidates(self, rows: np.ndarray, result: ScanResult) -> tuple[np.ndarray, np.ndarray]:
        """Vectorised screen + float pre-sizing; returns rows worth an exact evaluation and their log sums."""
        c = self.cycles[rows]
        sums = self.w[c].sum(axis=1)
        hit = sums > self.threshold
        result.reasons["marginal rate below premium"] += int((~hit).sum())
        rows, c, sums = rows[hit], c[hit], sums[hit]
        if len(rows) == 0:
            return rows, sums
        n = np.ones(len(rows))
        m = np.zeros(len(rows))
        for j in range(c.shape[1]):
            e = c[:, j]
            m = m + n * self.curv[e]
            n = n * self.rate[e]
        x = (np.sqrt(n / self.one_plus_p) - 1) / m
        gross = x * n / (1 + x * m) - x * self.one_plus_p
        gas_wei = self._gas_wei(c)
        gas = gas_wei / self._price[self._start[rows]]
        keep = np.isnan(m) | np.isnan(gas) | (gross - gas > -PRESIZE_MARGIN * np.nan_to_num(gas))
        result.reasons["gas exceeds float estimate"] += int((~keep).sum())
        return rows[keep], sums[keep]

    def _gas_wei(self, c: np.ndarray) -> np.ndarray:
        gm = self.costs.gas
        real = c != self.sentinel
        v3 = np.zeros_like(real)
        v3[real] = self.graph.is_v3[c[real] >> 1]
        units = gm.base + (gm.flash_loan if self.costs.flash_loan else 0)
        per = (real & ~v3).sum(axis=1) * gm.per_hop.get("v2", 0) + v3.sum(axis=1) * gm.per_hop.get("v3", 0)
        return (units + per) * float(self.costs.gas_price_wei)

    def _evaluate(self, rows: np.ndarray, sums: np.ndarray, result: ScanResult) -> ScanResult:
        result.candidates += len(rows)
        for row, s in zip(rows.tolist(), sums.tolist(), strict=True):
            out = evaluate_cycle(
                self.graph, self.cycle_edges(row), self.costs, self.prices, self.max_amount, log_rate=s
            )
            if isinstance(out, Opportunity):
                self.opportunities[row] = out
                self.rejections.pop(row, None)
                result.opportunities.append(out)
            else:
                self.opportunities.pop(row, None)
                self.rejections[row] = out
                result.rejections.append(out)
                result.reasons[out.code] += 1
        result.opportunities.sort(key=_rank)
        return result

    def scan(self) -> ScanResult:
        """Screen, pre-size and evaluate every tracked cycle on the current state."""
        self._sync_edges(slice(None))
        self.opportunities.clear()
        self.rejections.clear()
        result = ScanResult(screened=self.n_cycles)
        rows, sums = self._candidates(np.arange(self.n_cycles), result)
        return self._evaluate(rows, sums, result)

    def update_pool(self, pool: Pool) -> ScanResult:
        """Apply one pool's new state and re-evaluate only the cycles through it."""
        i = self.graph.update_pool(pool)
        self._sync_edges(slice(2 * i, 2 * i + 2))
        through = self.rows_through(i)
        for r in through.tolist():
            self.opportunities.pop(r, None)
            self.rejections.pop(r, None)
        result = ScanResult(screened=len(through))
        rows, sums = self._candidates(through, result)
        return self._evaluate(rows, sums, result)

    def compound(self, starts: Sequence[str], max_len: int = 12, beam: int = 4) -> ScanResult:
        """Beam-search long cycles through ``starts``, track the new ones and evaluate them."""
        idx = [self.graph.token_index[t] for t in starts if t in self.graph.token_index]
        self._sync_edges(slice(None))
        found = compound_search(self.graph, idx, max_len, beam, min_log_profit=self.threshold)
        new: dict[int, list[tuple[int, ...]]] = {}
        for cyc in found:
            key = canonical_cycle(cyc)
            if key not in self._keys and len(cyc) > self.max_len:
                self._keys.add(key)
                new.setdefault(len(cyc), []).append(key)
        first = self.n_cycles
        self._add_rows([np.array(v, dtype=np.int64) for _, v in sorted(new.items())])
        result = ScanResult(screened=len(found))
        rows, sums = self._candidates(np.arange(first, self.n_cycles), result)
        return self._evaluate(rows, sums, result)

    def best(self, n: int = 10) -> list[Opportunity]:
        return sorted(self.opportunities.values(), key=_rank)[:n]


def _rank(o: Opportunity) -> tuple[int, float]:
    # priced opportunities by net native profit first, then unpriced ones by log rate
    if o.net_profit_native is not None:
        return (0, -float(o.net_profit_native))
    return (1, -o.log_rate)
