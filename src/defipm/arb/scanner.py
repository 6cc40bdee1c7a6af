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
``compound(starts, max_len, top)`` adds long cycles from the beam search to the tracked rows. There are thousands
of them, most profitable and overlapping, and only the best can be traded: V2-only rows with a priced start get a
float upper bound on their net native profit (the real-valued optimum of the folded pool, which integer rounding
can only lower, plus a relative margin for float error) and are sized exactly only while that bound can still
reach the ``top`` best exact profits. The rest wait in ``pending`` (row -> bound); ``best(n)`` sizes more of them
whenever a larger ``n`` needs it, so ``best(n)`` always equals the exact-everywhere answer.
Current results live in ``opportunities`` (row -> Opportunity); why candidates failed is counted in each
``ScanResult.reasons`` and kept per row for exact rejections in ``rejections``.
"""

from __future__ import annotations

import heapq
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from defipm.arb.costs import PriceBook
from defipm.arb.cycles import beam_blocks, enumerate_cycles
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import CostModel, Opportunity, Rejection, evaluate_cycle
from defipm.arb.pools import Pool

__all__ = ["ScanResult", "Scanner"]

PRESIZE_MARGIN = 0.5
"""Rows pass the float pre-sizing when their float net profit exceeds -margin x gas cost (float slack)."""

BOUND_SLACK = 1e-9
"""Relative slack added to the float profit bound (float error of a K <= 16 hop fold is ~1e-15 relative)."""


@dataclass
class ScanResult:
    """Opportunities found (best first), exact rejections, and counts of why other candidates dropped out."""

    opportunities: list[Opportunity] = field(default_factory=list)
    rejections: list[Rejection] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)
    screened: int = 0
    candidates: int = 0
    deferred: int = 0
    """Candidates left unsized because their float profit bound cannot reach the best ones (``Scanner.pending``)."""


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
        self._keys: set[bytes] = set()  # canonical rows of the compound cycles tracked (raw int64 bytes)
        self._add_rows([m for _, m in sorted(enumerate_cycles(graph, max_len).items())])
        self.opportunities: dict[int, Opportunity] = {}
        self.rejections: dict[int, Rejection] = {}
        self.pending: dict[int, float] = {}
        self._pending_log_sums: dict[int, float] = {}  # the screen's log sums, kept for the Opportunity
        """Rows not sized yet -> float upper bound on their net profit in native wei (see ``compound``)."""

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
        order = _stable_argsort(pools)
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
    def _candidates(self, rows: np.ndarray, result: ScanResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Vectorised screen + float pre-sizing.

        Returns rows worth an exact evaluation, their log sums and a float upper bound on each one's net profit in
        native wei (NaN where there is none: V3 hops, unpriced start).
        """
        c = self.cycles[rows]
        sums = self.w[c].sum(axis=1)
        hit = sums > self.threshold
        result.reasons["marginal rate below premium"] += int((~hit).sum())
        rows, c, sums = rows[hit], c[hit], sums[hit]
        if len(rows) == 0:
            return rows, sums, np.zeros(0)
        n = np.ones(len(rows))
        m = np.zeros(len(rows))
        for j in range(c.shape[1]):
            e = c[:, j]
            m = m + n * self.curv[e]
            n = n * self.rate[e]
        x = (np.sqrt(n / self.one_plus_p) - 1) / m
        gross = x * n / (1 + x * m) - x * self.one_plus_p
        gas_wei = self._gas_wei(c)
        price = self._price[self._start[rows]]
        gas = gas_wei / price
        keep = np.isnan(m) | np.isnan(gas) | (gross - gas > -PRESIZE_MARGIN * np.nan_to_num(gas))
        result.reasons["gas exceeds float estimate"] += int((~keep).sum())
        # exact profit <= real-valued optimum (hops floor, the premium rounds up); pad for float error
        bound = ((gross + BOUND_SLACK * x * self.one_plus_p + 1) * price) * (1 + BOUND_SLACK) - gas_wei * (
            1 - BOUND_SLACK
        )
        return rows[keep], sums[keep], bound[keep]

    def _gas_wei(self, c: np.ndarray) -> np.ndarray:
        gm = self.costs.gas
        real = c != self.sentinel
        v3 = np.zeros_like(real)
        v3[real] = self.graph.is_v3[c[real] >> 1]
        units = gm.base + (gm.flash_loan if self.costs.flash_loan else 0)
        per = (real & ~v3).sum(axis=1) * gm.per_hop.get("v2", 0) + v3.sum(axis=1) * gm.per_hop.get("v3", 0)
        return (units + per) * float(self.costs.gas_price_wei)

    def _evaluate(self, rows: np.ndarray, sums: np.ndarray, result: ScanResult) -> ScanResult:
        for row, s in zip(rows.tolist(), sums.tolist(), strict=True):
            self._evaluate_row(row, s, result)
        result.opportunities.sort(key=_rank)
        return result

    def _evaluate_row(self, row: int, log_sum: float, result: ScanResult) -> None:
        result.candidates += 1
        if self.pending.pop(row, None) is not None:
            del self._pending_log_sums[row]
        out = evaluate_cycle(
            self.graph, self.cycle_edges(row), self.costs, self.prices, self.max_amount, log_rate=log_sum
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

    def _resolve(self, n: int, result: ScanResult) -> ScanResult:
        """Size pending rows, highest bound first, until none can enter the ``n`` best (priced) opportunities."""
        if not self.pending:
            return result
        nets = [o.net_profit_native for o in self.opportunities.values() if o.net_profit_native is not None]
        heap = heapq.nlargest(n, nets)
        heapq.heapify(heap)  # min-heap of the n best exact nets so far
        rows = np.fromiter(self.pending.keys(), dtype=np.int64, count=len(self.pending))
        bounds = np.fromiter(self.pending.values(), dtype=np.float64, count=len(self.pending))
        order = np.argsort(-bounds, kind="stable")
        for row, bound in zip(rows[order].tolist(), bounds[order].tolist(), strict=True):
            if len(heap) >= n and bound < heap[0]:
                break
            self._evaluate_row(row, self._pending_log_sums[row], result)
            opp = self.opportunities.get(row)
            if opp is not None and opp.net_profit_native is not None:
                if len(heap) < n:
                    heapq.heappush(heap, opp.net_profit_native)
                elif opp.net_profit_native > heap[0]:
                    heapq.heapreplace(heap, opp.net_profit_native)
        result.deferred = len(self.pending)
        result.opportunities.sort(key=_rank)
        return result

    def scan(self) -> ScanResult:
        """Screen, pre-size and evaluate every tracked cycle on the current state."""
        self._sync_edges(slice(None))
        self.opportunities.clear()
        self.rejections.clear()
        self.pending.clear()
        self._pending_log_sums.clear()
        result = ScanResult(screened=self.n_cycles)
        rows, sums, _ = self._candidates(np.arange(self.n_cycles), result)
        return self._evaluate(rows, sums, result)

    def update_pool(self, pool: Pool) -> ScanResult:
        """Apply one pool's new state and re-evaluate only the cycles through it."""
        i = self.graph.update_pool(pool)
        self._sync_edges(slice(2 * i, 2 * i + 2))
        through = self.rows_through(i)
        for r in through.tolist():
            self.opportunities.pop(r, None)
            self.rejections.pop(r, None)
            if self.pending.pop(r, None) is not None:
                del self._pending_log_sums[r]
        result = ScanResult(screened=len(through))
        rows, sums, _ = self._candidates(through, result)
        return self._evaluate(rows, sums, result)

    def compound(self, starts: Sequence[str], max_len: int = 12, beam: int = 4, top: int | None = 10) -> ScanResult:
        """Beam-search long cycles through ``starts``, track the new ones and evaluate them.

        With ``top`` set, V2-only rows with a priced start are sized exactly only while their float profit bound
        can reach the ``top`` best opportunities; the others wait in ``pending`` for ``best``. ``top=None`` sizes
        every candidate (the exact-everywhere reference the deferred path must equal).
        """
        idx = [self.graph.token_index[t] for t in starts if t in self.graph.token_index]
        self._sync_edges(slice(None))
        found = beam_blocks(self.graph, idx, max_len, beam, min_log_profit=self.threshold)
        first = self.n_cycles
        self._add_rows([self._untracked(b.canonical) for length, b in found.items() if length > self.max_len])
        result = ScanResult(screened=sum(len(b.log_sum) for b in found.values()))
        rows, sums, bound = self._candidates(np.arange(first, self.n_cycles), result)
        if top is None:
            return self._evaluate(rows, sums, result)
        lazy = np.isfinite(bound)
        self._evaluate(rows[~lazy], sums[~lazy], result)
        self.pending.update(zip(rows[lazy].tolist(), bound[lazy].tolist(), strict=True))
        self._pending_log_sums.update(zip(rows[lazy].tolist(), sums[lazy].tolist(), strict=True))
        return self._resolve(top, result)

    def _untracked(self, canonical: np.ndarray) -> np.ndarray:
        """The rows of a block of canonical cycles not tracked yet; they count as tracked from now on."""
        rows = np.ascontiguousarray(canonical)
        raw: list[bytes] = rows.view(np.dtype((np.void, rows.itemsize * rows.shape[1]))).ravel().tolist()  # type: ignore[assignment]
        if self._keys:
            keys = self._keys
            rows = rows[np.array([k not in keys for k in raw], dtype=bool)]
        self._keys.update(raw)
        return rows

    def best(self, n: int = 10) -> list[Opportunity]:
        """The ``n`` best opportunities, sizing pending rows first where they could be among them."""
        self._resolve(n, ScanResult())
        return sorted(self.opportunities.values(), key=_rank)[:n]


def _stable_argsort(keys: np.ndarray) -> np.ndarray:
    """``np.argsort(keys, kind="stable")`` of non-negative integers below 2**32, by 16-bit passes: numpy sorts
    16-bit keys by radix, ten times faster than its comparison sort of int64 on the pool index."""
    if len(keys) == 0 or int(keys.max()) < 1 << 16:
        return np.argsort(keys.astype(np.uint16), kind="stable")
    order = np.argsort((keys & 0xFFFF).astype(np.uint16), kind="stable")
    return order[np.argsort((keys[order] >> 16).astype(np.uint16), kind="stable")]


def _rank(o: Opportunity) -> tuple[int, float, tuple[int, ...]]:
    # priced opportunities by net native profit first, then unpriced ones by log rate; ties by edges
    if o.net_profit_native is not None:
        return (0, -o.net_profit_native, o.edges)
    return (1, -o.log_rate, o.edges)
