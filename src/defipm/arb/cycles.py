"""Cycle search on a ``PoolGraph``: exhaustive enumeration up to length K and a compound (long-cycle) search.

``enumerate_cycles(graph, max_len)`` lists every simple directed cycle of 2..K edges exactly once, each as a row
of edge ids starting at its lowest-numbered token (both orientations are separate cycles; a 2-cycle needs two
different pools of one pair). It walks only to higher-numbered tokens from each start and closes cycles through
a lookup of the edges back into the start, so a hub with thousands of pairs is never re-scanned.

``compound_search(graph, starts, max_len)`` finds profitable long cycles (K up to 12 and more) through chosen
start tokens without enumerating them: a numpy beam over path length keeps, for every token, the ``beam`` best
simple paths from the start by summed log rate, and closes each into a cycle through an edge back to the start.
It returns the best cycles it meets, not provably every one (the exhaustive enumeration is for that).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence

import numpy as np

from defipm.arb.graph import PoolGraph
from defipm.core.errors import ConfigError

__all__ = ["beam_cycles", "canonical_cycle", "canonical_rows", "compound_search", "enumerate_cycles"]


def canonical_cycle(edges: Sequence[int]) -> tuple[int, ...]:
    """The rotation of a cycle's edge list that starts at its smallest edge id (a key for de-duplication)."""
    k = min(range(len(edges)), key=lambda i: edges[i])
    return tuple(int(e) for e in (*edges[k:], *edges[:k]))


def canonical_rows(cycles: np.ndarray) -> np.ndarray:
    """``canonical_cycle`` of every row of an (n, L) int array of cycles, at once."""
    n, length = cycles.shape
    first = cycles.argmin(axis=1)
    cols = (np.arange(length)[None, :] + first[:, None]) % length
    return cycles[np.arange(n)[:, None], cols]


def enumerate_cycles(graph: PoolGraph, max_len: int = 4, min_len: int = 2) -> dict[int, np.ndarray]:
    """Every simple directed cycle with ``min_len``..``max_len`` edges: ``{length: int64 array (n, length)}``."""
    if max_len < 2 or min_len < 2 or min_len > max_len:
        raise ConfigError(f"cycle lengths must satisfy 2 <= min_len <= max_len, got {min_len}..{max_len}")
    # Everything the walk reads is a flat list of ints (edges sorted by source then target, and by target then
    # source, with offsets per token): no tuple, dict or list per edge or per cycle. The build then allocates
    # almost nothing the cycle collector tracks, so it never sets off the collector's sweeps over a long-lived
    # process's whole heap (they tripled the build time).
    n = graph.n_tokens
    out_order = np.lexsort((np.arange(len(graph.src)), graph.dst, graph.src))
    out_dst, out_edge = graph.dst[out_order].tolist(), out_order.tolist()
    out_ptr = np.searchsorted(graph.src[out_order], np.arange(n + 1)).tolist()
    in_order = np.lexsort((np.arange(len(graph.dst)), graph.src, graph.dst))
    in_src, in_edge = graph.src[in_order].tolist(), in_order.tolist()
    in_ptr = np.searchsorted(graph.dst[in_order], np.arange(n + 1)).tolist()
    found: dict[int, list[int]] = {k: [] for k in range(min_len, max_len + 1)}  # flat rows, one list per length

    def walk(u: int, depth: int, s: int, closers: dict[int, list[int]], path: list[int], on_path: set[int]) -> None:
        # depth = edges on the path so far, u = its last token; close back into s, then extend
        if depth + 1 >= min_len:
            back = closers.get(u)
            if back:
                last_pool = path[-1] >> 1
                flat = found[depth + 1]
                for e in back:
                    if depth > 1 or e >> 1 != last_pool:
                        flat.extend(path)
                        flat.append(e)
        if depth + 2 > max_len:
            return
        for j in range(bisect_right(out_dst, s, out_ptr[u], out_ptr[u + 1]), out_ptr[u + 1]):
            v = out_dst[j]
            if v not in on_path:
                path.append(out_edge[j])
                on_path.add(v)
                walk(v, depth + 1, s, closers, path, on_path)
                on_path.discard(v)
                path.pop()

    for s in range(n):
        lo = bisect_right(in_src, s, in_ptr[s], in_ptr[s + 1])
        if lo == in_ptr[s + 1]:
            continue
        closers: dict[int, list[int]] = {}  # closers[u]: edges u -> s with u > s (short-lived)
        for j in range(lo, in_ptr[s + 1]):
            closers.setdefault(in_src[j], []).append(in_edge[j])
        walk(s, 0, s, closers, [], {s})
    return {k: np.array(flat, dtype=np.int64).reshape(len(flat) // k, k) for k, flat in found.items()}


def compound_search(
    graph: PoolGraph,
    starts: Iterable[int],
    max_len: int = 12,
    beam: int = 4,
    min_log_profit: float = 0.0,
) -> list[tuple[int, ...]]:
    """Cycles through each start token whose summed log rate exceeds ``min_log_profit``, best first.

    ``starts`` are token indices (``graph.token_index[address]``); ``beam`` paths are kept per token and length.
    Returned cycles are edge tuples beginning at their start token, de-duplicated across starts.
    """
    ranked = sorted(beam_cycles(graph, starts, max_len, beam, min_log_profit).values(), key=lambda t: -t[0])
    return [cyc for _, cyc in ranked]


def beam_cycles(
    graph: PoolGraph,
    starts: Iterable[int],
    max_len: int = 12,
    beam: int = 4,
    min_log_profit: float = 0.0,
) -> dict[tuple[int, ...], tuple[float, tuple[int, ...]]]:
    """The beam search behind ``compound_search``: ``{canonical cycle: (summed log rate, cycle from its start)}``."""
    if max_len < 2 or beam < 1:
        raise ConfigError(f"compound search needs max_len >= 2 and beam >= 1, got {max_len}, {beam}")
    w = graph.log_w
    deg = np.diff(graph.out_ptr)
    best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
    for s in starts:
        nodes = np.array([s], dtype=np.int64)
        score = np.zeros(1)
        paths = np.zeros((1, 0), dtype=np.int64)  # edge ids
        visited = np.full((1, 1), s, dtype=np.int64)  # tokens on the path
        for depth in range(max_len):
            counts = deg[nodes]
            total = int(counts.sum())
            if total == 0:
                break
            parent = np.repeat(np.arange(len(nodes)), counts)
            offsets = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
            edges = graph.out_edges[graph.out_ptr[nodes][parent] + offsets]
            cand = score[parent] + w[edges]
            ok = np.isfinite(cand)
            if depth > 0:
                ok &= (edges >> 1) != (paths[parent, -1] >> 1)
            v = graph.dst[edges]
            closing = ok & (v == s)
            hit = np.flatnonzero(closing & (cand > min_log_profit)) if depth >= 1 else np.zeros(0, dtype=np.int64)
            if len(hit):
                cycles = np.concatenate([paths[parent[hit]], edges[hit, None]], axis=1)
                keys = canonical_rows(cycles).tolist()
                for key, cyc, value in zip(keys, cycles.tolist(), cand[hit].tolist(), strict=True):
                    prev = best.get(tuple(key))
                    if prev is None or prev[0] < value:
                        best[tuple(key)] = (value, tuple(cyc))
            if depth + 1 >= max_len:
                break
            ok &= ~(visited[parent] == v[:, None]).any(axis=1)
            idx = np.flatnonzero(ok)
            if len(idx) == 0:
                break
            # keep the `beam` best candidates per reached token
            order = idx[np.lexsort((-cand[idx], v[idx]))]
            vs = v[order]
            group_start = np.r_[0, np.flatnonzero(vs[1:] != vs[:-1]) + 1]
            rank = np.arange(len(order)) - np.repeat(group_start, np.diff(np.r_[group_start, len(order)]))
            keep = order[rank < beam]
            nodes = v[keep]
            score = cand[keep]
            paths = np.concatenate([paths[parent[keep]], edges[keep, None]], axis=1)
            visited = np.concatenate([visited[parent[keep]], nodes[:, None]], axis=1)
    return best
