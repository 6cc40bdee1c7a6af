"""Arbitrage scan benchmarks on the real 10,773-pair Uniswap V2 snapshot (../shared/data/pools).

Prints: index build and full scan time for cycles of length <= 3 (target < 50 ms), re-check after one pool update
(median and p99 over every pool, target p99 < 5 ms), compound search K <= 10 through WETH and USDC on the 2,000
most liquid pools (target < 1 s), and the ratio against a plain networkx simple-cycle enumeration of the same
graph. Run: ``.venv/bin/python benchmarks/bench_arb_scan.py [snapshot.json]``.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path

import numpy as np

from defipm.arb.costs import PriceBook
from defipm.arb.cycles import compound_search
from defipm.arb.graph import PoolGraph
from defipm.arb.pools import V2Pool
from defipm.arb.scanner import Scanner
from defipm.arb.snapshot import load_snapshot

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "pools" / "uniswap_v2_mainnet_2020-10.json"
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
NX_BUDGET_S = 30.0
THRESHOLD = math.log(1.0005)  # Aave premium


def _best_of(fn, n: int = 5) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main(path: Path) -> int:
    if not path.exists():
        print(f"SKIP: pool snapshot not found at {path} (needs ../shared/data/pools from the project's data)")
        return 0
    t = time.perf_counter()
    load = load_snapshot(path)
    print(
        f"loaded {len(load.pools)} pools, {len(load.tokens)} tokens, skipped {len(load.skipped)} rows "
        f"in {time.perf_counter() - t:.2f} s"
    )
    graph = PoolGraph(load.pools, load.tokens)
    prices = PriceBook.from_graph(graph, WETH)

    t = time.perf_counter()
    scanner = Scanner(graph, 3, prices=prices, preferred_starts=[WETH, USDC])
    build = time.perf_counter() - t
    result = scanner.scan()
    scan = _best_of(scanner.scan)
    print(
        f"\n[K<=3 full scan] {scanner.n_cycles} cycles indexed in {build * 1e3:.1f} ms; "
        f"scan {scan * 1e3:.1f} ms (target < 50 ms); {len(result.opportunities)} opportunities after gas"
    )
    print(f"  index + scan from scratch: {(build + scan) * 1e3:.1f} ms; drop-out reasons: {dict(result.reasons)}")

    times = []
    for i, p in enumerate(graph.pools):
        assert isinstance(p, V2Pool)
        new = p.with_reserves(p.reserve0 + p.reserve0 // 997 + 1, p.reserve1)
        t = time.perf_counter()
        scanner.update_pool(new)
        times.append(time.perf_counter() - t)
        graph.pools[i] = new
    ms = np.array(times) * 1e3
    print(
        f"\n[one pool update, all {len(ms)} pools] median {np.median(ms):.3f} ms, p99 {np.percentile(ms, 99):.3f} ms, "
        f"max {ms.max():.3f} ms (target p99 < 5 ms)"
    )

    def liquidity(p: V2Pool) -> float:
        price0, price1 = prices.price(p.token0), prices.price(p.token1)
        if price0 is not None:
            return 2 * p.reserve0 * float(price0)
        if price1 is not None:
            return 2 * p.reserve1 * float(price1)
        return 0.0

    top = sorted(range(graph.n_pools), key=lambda i: -liquidity(graph.pools[i]))[:2000]  # type: ignore[arg-type]
    sub = graph.subgraph(top)
    starts = [sub.token_index[t] for t in (WETH, USDC) if t in sub.token_index]
    for k in (6, 10):
        found: list = []
        dt = _best_of(lambda k=k, found=found: found.append(compound_search(sub, starts, k, 4, THRESHOLD)), 3)
        print(
            f"\n[compound K<={k}, 2,000 most liquid pools, starts WETH+USDC] {dt * 1e3:.1f} ms "
            f"(target < 1 s), {len(found[-1])} cycles above the loan premium"
        )
    t = time.perf_counter()
    sub_scanner = Scanner(sub, 3, prices=PriceBook.from_graph(sub, WETH), preferred_starts=[WETH, USDC])
    sub_build = time.perf_counter() - t
    sub_count = int((sub_scanner.lengths == 3).sum())
    sub_scanner.scan()
    t = time.perf_counter()
    res = sub_scanner.compound([WETH, USDC], 10)
    print(
        f"  compound search + exact sizing of new cycles: {(time.perf_counter() - t) * 1e3:.1f} ms, "
        f"{len(res.opportunities)} opportunities after gas"
    )

    try:
        import networkx as nx
    except ImportError:
        print("\n[networkx] not installed: ratio skipped")
        return 0
    for label, gr, ours_build, ours_count in (
        ("2,000 most liquid pools", sub, sub_build, sub_count),
        ("full snapshot", graph, build, int((scanner.lengths == 3).sum())),
    ):
        g = nx.DiGraph()
        for p in gr.pools:
            g.add_edge(p.token0, p.token1)
            g.add_edge(p.token1, p.token0)
        t = time.perf_counter()
        n_nx, done = 0, True
        for c in nx.simple_cycles(g, length_bound=3):
            n_nx += len(c) == 3
            if time.perf_counter() - t > NX_BUDGET_S:
                done = False
                break
        nx_time = time.perf_counter() - t
        bound = "" if done else f">= (stopped after {NX_BUDGET_S:.0f} s budget) "
        print(
            f"\n[networkx simple_cycles(length_bound=3), {label}] {bound}{nx_time * 1e3:.0f} ms, "
            f"{n_nx} directed triangles{'' if done else ' so far'} (ours: {ours_count})"
        )
        print(f"  ratio networkx / our cycle index build: {bound}{nx_time / ours_build:.0f}x")
    print(
        f"  ratio networkx (full, {'lower bound' if not done else 'measured'}) / our full scan: "
        f"{nx_time / scan:.0f}x, / our re-check p99: {nx_time / (np.percentile(ms, 99) / 1e3):.0f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT))
