"""Cycle search against brute force on random graphs, incremental updates against full rescans."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from fractions import Fraction

import networkx as nx
import pytest

from defipm.arb.costs import GasModel, PriceBook
from defipm.arb.cycles import beam_cycles, canonical_cycle, compound_search, enumerate_cycles
from defipm.arb.graph import PoolGraph
from defipm.arb.opportunity import CostModel, Opportunity
from defipm.arb.pools import V2Pool
from defipm.arb.scanner import Scanner
from defipm.arb.synthetic import random_v2_pools, token_address

NO_GAS = CostModel(gas=GasModel(base=0, per_hop={"v2": 0, "v3": 0}, flash_loan=0), gas_price_wei=0)
PREMIUM = Fraction(5, 10_000)


def brute_force_cycles(pools: list[V2Pool], max_len: int) -> set[tuple[str, ...]]:
    """Every simple cycle as a canonical tuple of (pool, direction) names, by plain permutations."""
    tokens = sorted({t for p in pools for t in (p.token0, p.token1)})
    found = set()
    for k in range(2, max_len + 1):
        for combo in itertools.permutations(tokens, k):
            if combo[0] != min(combo):
                continue
            hops_per_step = []
            for a, b in itertools.pairwise((*combo, combo[0])):
                hops_per_step.append([(p, p.token0 == a) for p in pools if {p.token0, p.token1} == {a, b}])
            for choice in itertools.product(*hops_per_step):
                if k == 2 and choice[0][0] is choice[1][0]:
                    continue
                found.add(_key([(p.address, d) for p, d in choice]))
    return found


def _key(hops: list[tuple[str, bool]]) -> tuple[str, ...]:
    names = [f"{a}:{int(d)}" for a, d in hops]
    k = min(range(len(names)), key=lambda i: names[i])
    return tuple(names[k:] + names[:k])


def _marginal(pools_dirs: list[tuple[V2Pool, bool]]) -> Fraction:
    r = Fraction(1)
    for p, d in pools_dirs:
        a, b = p.reserves(d)
        r *= Fraction(10_000 - p.fee_bps, 10_000) * Fraction(b, a)
    return r


def _edge_key(graph: PoolGraph, edges: tuple[int, ...]) -> tuple[str, ...]:
    return _key([(graph.pools[e >> 1].address, e & 1 == 0) for e in edges])


@pytest.mark.parametrize("seed", range(25))
def test_enumeration_matches_brute_force(seed: int) -> None:
    pools, _ = random_v2_pools(seed, n_tokens=6, n_pools=11)
    graph = PoolGraph(pools)
    found = enumerate_cycles(graph, 4)
    keys = [_edge_key(graph, tuple(int(e) for e in row)) for m in found.values() for row in m]
    assert len(keys) == len(set(keys)), "a cycle was listed twice"
    assert set(keys) == brute_force_cycles(pools, 4)


@pytest.mark.parametrize("seed", range(25))
def test_scanner_finds_exactly_the_profitable_cycles(seed: int) -> None:
    pools, _ = random_v2_pools(seed, n_tokens=6, n_pools=11, mispricing=0.05)
    graph = PoolGraph(pools)
    scanner = Scanner(graph, 4, costs=NO_GAS)
    result = scanner.scan()
    by_addr = {p.address: p for p in pools}
    expected = set()
    for key in brute_force_cycles(pools, 4):
        hops = [(by_addr[h.split(":")[0]], h.endswith(":1")) for h in key]
        if _marginal(hops) > 1 + PREMIUM:
            expected.add(key)
    got = {_edge_key(graph, o.edges) for o in result.opportunities}
    assert got == expected
    for o in result.opportunities:
        assert o.gross_profit > 0 and o.amounts[-1] - o.amount_in - o.premium == o.gross_profit


def test_cycles_agree_with_networkx_simple_cycles() -> None:
    pools, _ = random_v2_pools(3, n_tokens=7, n_pools=10)
    pools = list({frozenset((p.token0, p.token1)): p for p in pools}.values())  # one pool per pair
    graph = PoolGraph(pools)
    g = nx.DiGraph()
    for p in pools:
        g.add_edge(p.token0, p.token1)
        g.add_edge(p.token1, p.token0)
    nx_count = sum(1 for c in nx.simple_cycles(g, length_bound=5) if len(c) >= 3)
    ours = enumerate_cycles(graph, 5, min_len=3)
    assert sum(len(m) for m in ours.values()) == nx_count


@pytest.mark.parametrize("seed", range(10))
def test_incremental_update_equals_full_rescan(seed: int) -> None:
    pools, _ = random_v2_pools(seed, n_tokens=7, n_pools=14, mispricing=0.05)
    inc = Scanner(PoolGraph(pools), 4, costs=NO_GAS)
    inc.scan()
    changed = pools[seed % len(pools)]
    new = changed.with_reserves(changed.reserve0 * 103 // 100, changed.reserve1)
    inc.update_pool(new)
    fresh = Scanner(PoolGraph([new if p.address == new.address else p for p in pools]), 4, costs=NO_GAS)
    fresh.scan()

    def keyset(s: Scanner) -> set[tuple[tuple[str, ...], int, int]]:
        return {(_edge_key(s.graph, o.edges), o.amount_in, o.gross_profit) for o in s.opportunities.values()}

    assert keyset(inc) == keyset(fresh)


def test_paused_pool_cycles_vanish_with_reason() -> None:
    pools, _ = random_v2_pools(7, n_tokens=5, n_pools=10, mispricing=0.08)
    scanner = Scanner(PoolGraph(pools), 3, costs=NO_GAS)
    first = scanner.scan()
    assert first.opportunities
    victim_addr = first.opportunities[0].pools[0]
    victim = next(p for p in pools if p.address == victim_addr)
    res = scanner.update_pool(replace(victim, paused=True))
    assert all(victim_addr not in o.pools for o in scanner.opportunities.values())
    assert res.reasons["marginal rate below premium"] >= 1
    drained = scanner.update_pool(replace(victim, reserve0=0))
    assert not any(victim_addr in o.pools for o in drained.opportunities)


@pytest.mark.parametrize("seed", range(8))
def test_compound_search_finds_the_best_cycle_through_the_start(seed: int) -> None:
    pools, _ = random_v2_pools(seed, n_tokens=7, n_pools=16, mispricing=0.05)
    graph = PoolGraph(pools)
    s = 0
    every = [tuple(int(e) for e in row) for m in enumerate_cycles(graph, 5).values() for row in m]
    through = [c for c in every if s in {int(graph.src[e]) for e in c}]
    best = max(through, key=lambda c: sum(graph.log_w[e] for e in c))
    found = compound_search(graph, [s], max_len=5, beam=8, min_log_profit=-10.0)
    assert canonical_cycle(best) in {canonical_cycle(c) for c in found}
    top = found[0]
    assert sum(graph.log_w[e] for e in top) == pytest.approx(sum(graph.log_w[e] for e in best))


def _plain_beam(
    graph: PoolGraph, starts: list[int], max_len: int, beam: int, min_log: float
) -> dict[tuple[int, ...], tuple[float, tuple[int, ...]]]:
    """The beam search written plainly, without any pruning: every kept path is extended by every edge."""
    w, dst = graph.log_w.tolist(), graph.dst.tolist()
    best: dict[tuple[int, ...], tuple[float, tuple[int, ...]]] = {}
    for s in starts:
        level: list[tuple[float, tuple[int, ...], tuple[int, ...]]] = [(0.0, (), (s,))]
        for depth in range(max_len):
            cands = []
            for score, path, toks in level:
                for e in graph.out_of(toks[-1]).tolist():
                    c = score + w[e]
                    if c == -math.inf or (path and e >> 1 == path[-1] >> 1):
                        continue
                    if dst[e] == s and depth >= 1 and c > min_log:
                        key = canonical_cycle((*path, e))
                        if key not in best or best[key][0] < c:
                            best[key] = (c, (*path, e))
                    elif dst[e] not in toks:
                        cands.append((c, (*path, e), (*toks, dst[e])))
            cands.sort(key=lambda t: (t[2][-1], -t[0]))  # stable: ties keep the order they were made in
            kept: dict[int, int] = {}
            level = []
            for cand in cands:
                if kept.setdefault(cand[2][-1], 0) < beam:
                    kept[cand[2][-1]] += 1
                    level.append(cand)
    return best


@pytest.mark.parametrize("seed", range(12))
def test_beam_pruning_changes_nothing(seed: int) -> None:
    """The beam skips dead-end tokens and tokens too far from the start; its cycles (keys, values, walks and
    order) equal the plain beam's on graphs with pendant tokens, a long ring, a paused pool and repeated starts."""
    pools, tokens = random_v2_pools(seed, n_tokens=8, n_pools=14, mispricing=0.05)
    rng = random.Random(seed)
    extra = [token_address(i) for i in range(8, 20)]
    links = [(token_address(rng.randrange(8)), t) for t in extra[:4]]  # pendant tokens: dead ends
    links += [(extra[3], extra[4]), (extra[4], extra[5])]  # a tail behind a pendant
    ring = [token_address(0), *extra[6:], token_address(0)]  # a 7-hop ring through token 0
    links += list(itertools.pairwise(ring))
    for k, (a, b) in enumerate(links):
        a, b = sorted((a, b))
        pools.append(V2Pool(f"0x{0xB000 + k:040x}", a, b, 10**18, 10**18 * rng.randint(990, 1020) // 1000))
    pools[seed % 14] = replace(pools[seed % 14], paused=True)
    graph = PoolGraph(pools, tokens)
    hub = graph.token_index[token_address(0)]
    for starts, max_len, beam in (([hub], 4, 2), ([hub, 3, hub], 7, 1), ([5, hub], 8, 3)):
        found = beam_cycles(graph, starts, max_len, beam, -1.0)
        assert list(found.items()) == list(_plain_beam(graph, starts, max_len, beam, -1.0).items())
        assert any(len(k) == 7 for k in found) == (max_len >= 7), "the ring is found exactly when it fits"


def _exact_fields(o: Opportunity) -> tuple[object, ...]:
    return (o.edges, o.amount_in, o.amounts, o.gross_profit, o.net_profit, o.net_profit_native, o.method, o.log_rate)


@pytest.mark.parametrize("seed", range(6))
def test_deferred_compound_sizing_equals_sizing_every_cycle(seed: int) -> None:
    """The float-bounded compound path sizes few cycles yet gives the exact-everywhere ``best(n)`` for every n."""
    pools, tokens = random_v2_pools(seed, n_tokens=9, n_pools=30, mispricing=0.08)
    start = token_address(0)
    depth = sorted(p.reserve0 if p.token0 == start else p.reserve1 for p in pools if start in (p.token0, p.token1))
    # about 0.001% of a typical pool per transaction: of the order of the profits, so gas reorders and rejects
    costs = CostModel(gas_price_wei=max(1, depth[len(depth) // 2] // 10**11))

    def scanner() -> Scanner:
        graph = PoolGraph(pools, tokens)
        return Scanner(graph, 2, costs=costs, prices=PriceBook.from_graph(graph, start, 0), preferred_starts=[start])

    exact, deferred = scanner(), scanner()
    every = exact.compound([start], 6, beam=6, top=None)
    lazy = deferred.compound([start], 6, beam=6, top=2)
    assert every.deferred == 0 and lazy.candidates + lazy.deferred == every.candidates
    assert lazy.deferred > 0, "the seeded set must leave cycles unsized, or the test proves nothing"
    bounds = dict(deferred.pending)
    for row, bound in bounds.items():  # the float bound is above the exact net profit of every deferred row
        opp = exact.opportunities.get(row)
        assert opp is None or (opp.net_profit_native is not None and opp.net_profit_native <= bound)
    for n in (1, 3, 5, 20, 10_000):
        assert [_exact_fields(o) for o in deferred.best(n)] == [_exact_fields(o) for o in exact.best(n)]
    assert deferred.pending == {}, "asking for every opportunity sizes every pending cycle"
    assert deferred.opportunities.keys() == exact.opportunities.keys()
