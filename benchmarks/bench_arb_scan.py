"""Arbitrage scan benchmarks on the real 10,773-pair Uniswap V2 snapshot (shared/data/pools).

Figures (medians of repeated warm runs; ratios paired round by round):
- cycle index build, K <= 3, in this long-lived process (target < 40 ms, issue 19);
- full scan of the index (target < 50 ms);
- re-check after one pool update, median and p99 over the pools (target p99 < 5 ms; 0.26 ms must not be lost);
- compound search K <= 10 through WETH and USDC on the 2,000 most liquid pools, with exact sizing of the cycles
  that can reach the best 10 (target < 100 ms), and (full size) the paired ratio to sizing every cycle exactly;
- like-for-like networkx reference: ``nx.all_triangles`` on the token graph expanded to the same directed pool
  cycles (2- and 3-cycles) our index lists, paired with our ``enumerate_cycles``. Nodes are token indices
  (integers hash to themselves), so networkx's set order, and its time, do not depend on the hash seed.

Run: ``python benchmarks/bench_arb_scan.py [--quick] [--json] [--snapshot PATH]``.
"""

from __future__ import annotations

import itertools
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from figures import Figure, arguments, paired, report

from defipm.arb.costs import PriceBook
from defipm.arb.cycles import beam_blocks, enumerate_cycles
from defipm.arb.graph import PoolGraph
from defipm.arb.pools import V2Pool
from defipm.arb.scanner import Scanner
from defipm.arb.snapshot import load_snapshot

SNAPSHOT = Path("shared") / "data" / "pools" / "uniswap_v2_mainnet_2020-10.json"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
THRESHOLD = math.log(1.0005)  # Aave premium
TARGETS = {"build": 40.0, "scan": 50.0, "update_p99": 5.0, "compound": 100.0}  # ms, issue 19


def _default_snapshot() -> Path:
    for parent in Path(__file__).resolve().parents:
        if (parent / SNAPSHOT).exists():
            return parent / SNAPSHOT
    return Path(__file__).resolve().parents[2] / SNAPSHOT


def _ms(fn: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1e3


def networkx_cycles(graph: PoolGraph) -> int:
    """Directed pool cycles of 2 and 3 edges from networkx's triangle listing (the like-for-like reference)."""
    import networkx as nx

    by_pair: dict[tuple[int, int], list[int]] = {}
    for e in range(0, len(graph.src), 2):
        a, b = int(graph.src[e]), int(graph.dst[e])
        by_pair.setdefault((a, b), []).append(e)
        by_pair.setdefault((b, a), []).append(e + 1)
    g = nx.Graph()
    g.add_edges_from(by_pair)
    rows = [(e, f) for (a, b), es in by_pair.items() if a < b for e in es for f in by_pair[(b, a)] if e >> 1 != f >> 1]
    for u, v, w in nx.all_triangles(g):
        for x, y, z in ((u, v, w), (u, w, v)):
            rows.extend(itertools.product(by_pair[(x, y)], by_pair[(y, z)], by_pair[(z, x)]))
    return len(rows)


def _liquid_subgraph(graph: PoolGraph, prices: PriceBook, n: int) -> PoolGraph:
    def liquidity(p: V2Pool) -> float:
        price0, price1 = prices.price(p.token0), prices.price(p.token1)
        if price0 is not None:
            return 2 * p.reserve0 * float(price0)
        if price1 is not None:
            return 2 * p.reserve1 * float(price1)
        return 0.0

    top = sorted(range(graph.n_pools), key=lambda i: -liquidity(graph.pools[i]))[:n]  # type: ignore[arg-type]
    return graph.subgraph(top)


def _updates(graph: PoolGraph, scanner: Scanner, count: int) -> np.ndarray:
    times = []
    for i in np.linspace(0, graph.n_pools - 1, count).astype(int).tolist():
        p = graph.pools[i]
        assert isinstance(p, V2Pool)
        new = p.with_reserves(p.reserve0 + p.reserve0 // 997 + 1, p.reserve1)
        t = time.perf_counter()
        scanner.update_pool(new)
        times.append(time.perf_counter() - t)
    return np.array(times) * 1e3


def _compound(sub: PoolGraph, repeats: int, exact_too: bool) -> tuple[float, float, float | None, int]:
    """Median ms of the deferred compound search + sizing; paired ratios to the bare beam search and (when
    ``exact_too``) of exact-everywhere sizing to the deferred one; the number of long cycles found."""
    starts = [sub.token_index[t] for t in (WETH, USDC)]

    def fresh() -> Scanner:
        s = Scanner(sub, 3, prices=PriceBook.from_graph(sub, WETH), preferred_starts=[WETH, USDC])
        s.scan()
        return s

    lazy, exact, search, found = [], [], [], 0
    for _ in range(repeats + 1):  # the first round warms up
        t = time.perf_counter()
        beam_blocks(sub, starts, 10, 4, THRESHOLD)  # the search the scanner runs (no tuples per cycle)
        search.append(time.perf_counter() - t)
        s = fresh()
        t = time.perf_counter()
        res = s.compound([WETH, USDC], 10, top=10)
        lazy.append(time.perf_counter() - t)
        found = res.candidates + res.deferred
        if exact_too:
            s = fresh()
            t = time.perf_counter()
            s.compound([WETH, USDC], 10, top=None)
            exact.append(time.perf_counter() - t)
    ratio = statistics.median(e / d for e, d in zip(exact[1:], lazy[1:], strict=True)) if exact_too else None
    over_search = statistics.median(d / b for d, b in zip(lazy[1:], search[1:], strict=True))
    return statistics.median(lazy[1:]) * 1e3, over_search, ratio, found


def main() -> int:
    parser = arguments(__doc__.splitlines()[0])
    parser.add_argument("--snapshot", type=Path, default=_default_snapshot())
    args = parser.parse_args()
    if not args.snapshot.exists():
        print(f"SKIP: pool snapshot not found at {args.snapshot} (the project's shared/data/pools)")
        report("arbitrage scan", [], args.json)
        return 0
    repeats = 3 if args.quick else 7
    load = load_snapshot(args.snapshot)
    graph = PoolGraph(load.pools, load.tokens)
    prices = PriceBook.from_graph(graph, WETH)

    def build() -> Scanner:
        return Scanner(graph, 3, prices=prices, preferred_starts=[WETH, USDC])

    build_ms = _ms(build, repeats)
    scanner = build()
    scanner.scan()
    scan_ms = _ms(scanner.scan, repeats)
    upd = _updates(graph, scanner, 500 if args.quick else graph.n_pools)
    sub = _liquid_subgraph(graph, prices, 2000)
    compound_ms, over_search, exact_ratio, long_cycles = _compound(sub, repeats, exact_too=not args.quick)
    (ours_s, nx_s), (_, nx_ratio) = paired(
        [lambda: enumerate_cycles(graph, 3), lambda: networkx_cycles(graph)], repeats
    )
    n_ours = sum(len(m) for m in enumerate_cycles(graph, 3).values())
    n_nx = networkx_cycles(graph)

    figures = [
        Figure("cycle index build K<=3 (full snapshot)", build_ms, "ms", TARGETS["build"]),
        Figure("full scan K<=3", scan_ms, "ms", TARGETS["scan"]),
        Figure("re-check after one pool update, median", float(np.median(upd)), "ms"),
        Figure("re-check after one pool update, p99", float(np.percentile(upd, 99)), "ms", TARGETS["update_p99"]),
        Figure("compound K<=10 + exact sizing of the best 10 (2,000 pools)", compound_ms, "ms", TARGETS["compound"]),
        Figure("our cycle listing K<=3", ours_s * 1e3, "ms"),
        Figure("networkx all_triangles + expansion to the same cycles", nx_s * 1e3, "ms"),
        Figure("ratio networkx (like for like) / ours", nx_ratio, "x", higher_is_better=True),
        Figure("cycles listed differently by ours and networkx", abs(n_ours - n_nx), "cycles", 0),
    ]
    figures.insert(5, Figure("ratio compound with sizing / bare beam search", over_search, "x"))
    if exact_ratio is not None:
        figures.insert(6, Figure("ratio compound sizing every cycle / deferred", exact_ratio, "x"))
    if not args.json:
        print(
            f"{len(load.pools)} pools, {len(load.tokens)} tokens; {scanner.n_cycles} cycles K<=3, {len(upd)} updates;"
        )
        print(f"compound: {long_cycles} long cycles above the premium; {repeats} rounds, medians")
    report("arbitrage scan", figures, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
