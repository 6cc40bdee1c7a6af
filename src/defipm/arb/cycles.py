"""Cycle search on a ``PoolGraph``: exhaustive enumeration up to length K and a compound (long-cycle) search.

``enumerate_cycles(graph, max_len)`` lists every simple directed cycle of 2..K edges exactly once, each as a row
of edge ids starting at its lowest-numbered token (both orientations are separate cycles; a 2-cycle needs two
different pools of one pair). It walks only to higher-numbered tokens from each start and closes cycles through
a lookup of the edges back into the start, so a hub with thousands of pairs is never re-scanned.

``compound_search(graph, starts, max_len)`` finds profitable long cycles (K up to 12 and more) through chosen
start tokens without enumerating them: a numpy beam over path length keeps, for every token, the ``beam`` best
simple paths from the start by summed log rate, and closes each into a cycle through an edge back to the start.
It returns the best cycles it meets, not provably every one (the exhaustive enumeration is for that). It never
walks into a token no cycle can pass (outside the graph's 2-core) or one too far from the start to get back in
time, which leaves its result unchanged; ``beam_blocks`` gives the same cycles as arrays, one block per length.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from typing import NamedTuple

import numpy as np

from defipm.arb.graph import PoolGraph
from defipm.core.errors import ConfigError

__all__ = [
    "CycleBlock",
    "beam_blocks",
    "beam_cycles",
    "canonical_cycle",
    "canonical_rows",
    "compound_search",
    "enumerate_cycles",
]


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


class CycleBlock(NamedTuple):
    """Cycles of one length found by the beam search, one row each, in the order they were first met.

    ``canonical``: (n, L) edge ids rotated to start at the smallest edge id (the de-duplication key);
    ``cycles``: the same cycles as walked, from their start token; ``log_sum``: (n,) summed log rates;
    ``first_seen``: (n,) the order of first meeting across all lengths and starts (smaller is earlier).
    """

    canonical: np.ndarray
    cycles: np.ndarray
    log_sum: np.ndarray
    first_seen: np.ndarray


def beam_cycles(
    graph: PoolGraph,
    starts: Iterable[int],
    max_len: int = 12,
    beam: int = 4,
    min_log_profit: float = 0.0,
) -> dict[tuple[int, ...], tuple[float, tuple[int, ...]]]:
    """The beam search behind ``compound_search``: ``{canonical cycle: (summed log rate, cycle from its start)}``.

    Keys are in the order the search first met them (``beam_blocks`` gives the same cycles as arrays).
    """
    blocks = beam_blocks(graph, starts, max_len, beam, min_log_profit).values()
    if not blocks:
        return {}
    keys = [k for b in blocks for k in map(tuple, b.canonical.tolist())]
    values = [v for b in blocks for v in zip(b.log_sum.tolist(), map(tuple, b.cycles.tolist()), strict=True)]
    order = np.argsort(np.concatenate([b.first_seen for b in blocks]), kind="stable").tolist()
    return {keys[i]: values[i] for i in order}


def beam_blocks(
    graph: PoolGraph,
    starts: Iterable[int],
    max_len: int = 12,
    beam: int = 4,
    min_log_profit: float = 0.0,
) -> dict[int, CycleBlock]:
    """``beam_cycles`` as arrays: ``{length: CycleBlock}``, lengths ascending, each cycle once (its best value).

    A numpy beam over path length keeps, for every token, the ``beam`` best simple paths from the start (ties by
    the order they were generated) and closes each into a cycle through an edge back to the start. Two prunings
    leave the result unchanged and skip most of the work on a real graph: edges that no cycle can use (a token
    with a single usable pool is a dead end; peeled repeatedly, what remains is the graph's 2-core), and edges
    into tokens too many hops from the start to return before ``max_len`` (a whole token drops out at once, so it
    never frees a beam slot another path could take).
    """
    if max_len < 2 or beam < 1:
        raise ConfigError(f"compound search needs max_len >= 2 and beam >= 1, got {max_len}, {beam}")
    live = _cycle_edges(graph)
    parts: dict[int, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {}
    seen = 0
    for s in starts:
        index = _reach_index(graph, live, _hops_to(graph, live, int(s), max_len - 1), max_len)
        for cycles, sums in _beam_from(graph, int(s), index, max_len, beam, min_log_profit):
            parts.setdefault(cycles.shape[1], []).append((cycles, sums, np.arange(seen, seen + len(sums))))
            seen += len(sums)
    return {length: _best_of(p) for length, p in sorted(parts.items())}


def _cycle_edges(graph: PoolGraph) -> np.ndarray:
    """Mask of the directed edges a cycle can use: finite log rate, both tokens in the 2-core of usable pools.

    Every cycle passes each of its tokens through two different pools (a 2-cycle needs two pools of its pair),
    so a token left with fewer than two usable pools lies on none; removing it may strand its neighbours in turn.
    """
    finite = np.isfinite(graph.log_w)
    usable = finite[0::2] | finite[1::2]
    a, b = graph.src[0::2], graph.dst[0::2]
    alive = np.ones(graph.n_tokens, dtype=bool)
    while True:
        pools = usable & alive[a] & alive[b]
        degree = np.bincount(a[pools], minlength=graph.n_tokens) + np.bincount(b[pools], minlength=graph.n_tokens)
        dead = alive & (degree < 2)
        if not dead.any():
            return finite & alive[graph.src] & alive[graph.dst]
        alive &= ~dead


def _hops_to(graph: PoolGraph, live: np.ndarray, target: int, max_hops: int) -> np.ndarray:
    """Fewest live edges from every token to ``target``: ``max_hops + 1`` where more are needed (or no path)."""
    dist = np.full(graph.n_tokens, max_hops + 1, dtype=np.int64)
    dist[target] = 0
    src, dst = graph.src[live], graph.dst[live]
    for hops in range(1, max_hops + 1):
        step = src[(dist[dst] == hops - 1) & (dist[src] > hops)]
        if len(step) == 0:
            break
        dist[step] = hops
    return dist


def _reach_index(
    graph: PoolGraph, live: np.ndarray, dist: np.ndarray, max_len: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Live edges by source token, then by their target's distance to the start, then by id: ``(edges, lo, hi)``.

    ``edges[lo[u]:hi[r, u]]`` are the edges out of ``u`` into tokens at most ``r`` hops from the start, in
    ``graph.out_edges`` order among edges into one token (so the beam's ties break as without the pruning).
    """
    e = np.flatnonzero(live & (dist[graph.dst] < max_len))
    src, far = graph.src[e], dist[graph.dst[e]]
    order = np.lexsort((e, far, src))
    e, key = e[order], src[order] * max_len + far[order]
    tokens = np.arange(graph.n_tokens) * max_len
    lo = np.searchsorted(key, tokens)
    hi = np.searchsorted(key, tokens[None, :] + np.arange(max_len)[:, None], side="right")
    return e, lo, hi


def _beam_from(
    graph: PoolGraph,
    s: int,
    index: tuple[np.ndarray, np.ndarray, np.ndarray],
    max_len: int,
    beam: int,
    min_log_profit: float,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The beam from one start: yields ``(cycles (n, L) from s, their log sums)`` for each length L met."""
    by_source, lo, hi = index
    w, dst = graph.log_w, graph.dst
    nodes = np.array([s], dtype=np.int64)
    score = np.zeros(1)
    paths = np.zeros((1, 0), dtype=np.int64)  # edge ids
    visited = np.full((1, 1), s, dtype=np.int64)  # tokens on the path
    last_pool = np.full(1, -1, dtype=np.int64)
    for depth in range(max_len):
        first = lo[nodes]
        counts = hi[max_len - depth - 1, nodes] - first  # only edges into tokens that can still get back
        total = int(counts.sum())
        if total == 0:
            return
        parent = np.repeat(np.arange(len(nodes)), counts)
        edges = by_source[first[parent] + np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)]
        cand = score[parent] + w[edges]
        v = dst[edges]
        ok = (edges >> 1) != last_pool[parent]
        closing = ok & (v == s)
        hit = np.flatnonzero(closing & (cand > min_log_profit)) if depth >= 1 else ()
        if len(hit):
            yield np.concatenate([paths[parent[hit]], edges[hit, None]], axis=1), cand[hit]
        if depth + 1 >= max_len:
            return
        ok &= ~(visited[parent] == v[:, None]).any(axis=1)
        idx = np.flatnonzero(ok)
        if len(idx) == 0:
            return
        # keep the `beam` best candidates per reached token
        order = idx[np.lexsort((-cand[idx], v[idx]))]
        vs = v[order]
        group = np.r_[True, vs[1:] != vs[:-1]]
        rank = np.arange(len(order)) - np.maximum.accumulate(np.where(group, np.arange(len(order)), 0))
        keep = order[rank < beam]
        nodes, score, last_pool = v[keep], cand[keep], edges[keep] >> 1
        paths = np.concatenate([paths[parent[keep]], edges[keep, None]], axis=1)
        visited = np.concatenate([visited[parent[keep]], nodes[:, None]], axis=1)


def _best_of(parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]]) -> CycleBlock:
    """One ``CycleBlock`` from the hits of one length: each canonical cycle once, with its best log sum (the first
    met among equals), in the order of first meeting."""
    cycles = np.concatenate([c for c, _, _ in parts])
    sums = np.concatenate([x for _, x, _ in parts])
    seen = np.concatenate([q for _, _, q in parts])
    canon = canonical_rows(cycles)
    order = np.lexsort((seen, -sums, *canon.T[::-1]))  # by cycle, then best sum, then first met
    key = canon[order]
    head = np.flatnonzero(np.r_[True, (key[1:] != key[:-1]).any(axis=1)])
    first_seen = np.minimum.reduceat(seen[order], head)
    pick = order[head][np.argsort(first_seen, kind="stable")]
    return CycleBlock(canon[pick], cycles[pick], sums[pick], np.sort(first_seen))
