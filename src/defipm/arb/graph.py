"""The pool graph: tokens as nodes, every pool as two directed edges (one per swap direction).

Edge ``e`` of pool ``p`` is ``2*p`` for token0 -> token1 (``zero_for_one``) and ``2*p + 1`` for token1 -> token0,
so ``e >> 1`` is the pool and ``e & 1`` the direction. Each edge carries ``log(marginal_rate)`` in raw base units
(after the fee) as computed by the pool itself for that direction (``log_w``; ``rate`` unlogged; ``curv`` the
V2 hop's ``fee_kept / reserve_in``, NaN for V3, used by the scanner's float pre-sizing); a cycle is profitable at small size exactly
when its edge weights sum above ``log(1 + loan premium)``. Token decimals cancel around a cycle, so the screen is
done in raw units and decimals are used only to price and display amounts.

Tokens are numbered by falling degree (the hub, usually WETH, is node 0): the cycle enumeration only walks to
higher-numbered nodes from each start, which keeps it from re-scanning the hub's thousands of neighbours.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from defipm.arb.pools import Pool, Token, V2Pool, log_rate
from defipm.core.errors import DataError

__all__ = ["PoolGraph"]


class PoolGraph:
    """Tokens, pools and directed edges with their current log rates. Update pools with ``update_pool``."""

    def __init__(self, pools: Sequence[Pool], tokens: Mapping[str, Token] | None = None) -> None:
        degree: dict[str, int] = {}
        seen: set[str] = set()
        kept: list[Pool] = []
        for pool in pools:
            if pool.address in seen:
                raise DataError(f"pool {pool.address} given twice")
            if pool.token0 == pool.token1:
                raise DataError(f"pool {pool.address} trades {pool.token0} against itself")
            seen.add(pool.address)
            kept.append(pool)
            degree[pool.token0] = degree.get(pool.token0, 0) + 1
            degree[pool.token1] = degree.get(pool.token1, 0) + 1
        self.tokens: list[str] = sorted(degree, key=lambda t: (-degree[t], t))
        self.token_index: dict[str, int] = {t: i for i, t in enumerate(self.tokens)}
        self.token_info: dict[str, Token] = dict(tokens or {})
        self.pools: list[Pool] = kept
        self.pool_index: dict[str, int] = {p.address: i for i, p in enumerate(kept)}

        n_edges = 2 * len(kept)
        self.src = np.empty(n_edges, dtype=np.int64)
        self.dst = np.empty(n_edges, dtype=np.int64)
        self.log_w = np.empty(n_edges, dtype=np.float64)
        self.rate = np.empty(n_edges, dtype=np.float64)
        self.curv = np.empty(n_edges, dtype=np.float64)
        self.is_v3 = np.zeros(len(kept), dtype=bool)
        for i, pool in enumerate(kept):
            a, b = self.token_index[pool.token0], self.token_index[pool.token1]
            self.src[2 * i], self.dst[2 * i] = a, b
            self.src[2 * i + 1], self.dst[2 * i + 1] = b, a
            self.is_v3[i] = pool.kind == "v3"
            self._set_weights(i)
        order = np.argsort(self.src, kind="stable")
        self.out_edges = order
        self.out_ptr = np.zeros(len(self.tokens) + 1, dtype=np.int64)
        np.cumsum(np.bincount(self.src, minlength=len(self.tokens)), out=self.out_ptr[1:])

    def _set_weights(self, i: int) -> None:
        pool = self.pools[i]
        for e, zero_for_one in ((2 * i, True), (2 * i + 1, False)):
            self.log_w[e] = log_rate(pool, zero_for_one)
            self.rate[e] = pool.marginal_rate(zero_for_one)
            if isinstance(pool, V2Pool) and pool.inactive_reason is None:
                self.curv[e] = (1 - pool.fee_bps / 10_000) / pool.reserves(zero_for_one)[0]
            else:
                self.curv[e] = np.nan

    @property
    def n_tokens(self) -> int:
        return len(self.tokens)

    @property
    def n_pools(self) -> int:
        return len(self.pools)

    def update_pool(self, pool: Pool) -> int:
        """Replace a pool by its new state (same address and tokens); returns its index."""
        i = self.pool_index.get(pool.address)
        if i is None:
            raise DataError(f"unknown pool {pool.address}")
        old = self.pools[i]
        if (old.token0, old.token1) != (pool.token0, pool.token1):
            raise DataError(f"pool {pool.address} changed tokens")
        self.pools[i] = pool
        self._set_weights(i)
        return i

    def out_of(self, node: int) -> np.ndarray:
        """Directed edges leaving ``node``."""
        return self.out_edges[self.out_ptr[node] : self.out_ptr[node + 1]]

    def edge_tokens(self, edge: int) -> tuple[str, str]:
        """(token in, token out) of a directed edge."""
        return self.tokens[int(self.src[edge])], self.tokens[int(self.dst[edge])]

    def cycle_tokens(self, edges: Iterable[int]) -> list[str]:
        """Token path of a cycle: the start token, each hop's output (ends with the start token)."""
        es = [int(e) for e in edges]
        return [self.tokens[int(self.src[es[0]])]] + [self.tokens[int(self.dst[e])] for e in es]

    def symbol(self, token: str) -> str:
        info = self.token_info.get(token)
        return info.symbol if info else token[:10]

    def subgraph(self, pool_indices: Iterable[int]) -> PoolGraph:
        """A new graph over the chosen pools only (e.g. the most liquid ones)."""
        return PoolGraph([self.pools[i] for i in pool_indices], self.token_info)
