"""One ``manage_portfolio`` cycle on the paper venue with 200 assets: median time without and with SQLite writes.

Targets: under 2 ms median without store writes (issue 19; measured 0.8 ms), under 20 ms with SQLite writes (issue 2). Each cycle moves every
price by a random +-1% (seeded) and a rotating long/short oracle swaps a few names in and out (about 10 orders a
cycle; the rest stay inside the 0.2% no-trade band). The first cycle from cash (one order per asset) is reported
separately, as a per-order figure. The run lock's renewal (once a cycle, issue 12) is measured alone, target under
1 ms on SQLite, and as the paired difference of runs with and without it.

    .venv/bin/python benchmarks/bench_manager_cycle.py [--assets 200] [--cycles 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import numpy as np
from figures import Figure, report

from defipm import Oracle, PaperVenue, PlannerConfig, PortfolioManager, Store, Weights
from defipm.store.lock import RunLock


class RotatingOracle(Oracle):
    """Long the first half, short the second half of a seeded ranking that swaps ``churn`` pairs each cycle."""

    def __init__(self, symbols: list[str], churn: int = 2, seed: int = 1) -> None:
        super().__init__()
        self.order = list(symbols)
        self.churn = churn
        self.rng = np.random.default_rng(seed)
        self.first = True

    def fetch_portfolio_weights(self, timestamp, universe):  # type: ignore[no-untyped-def]
        if not self.first:
            n = len(self.order)
            for _ in range(self.churn):
                i, j = self.rng.integers(0, n // 2), self.rng.integers(n // 2, n)
                self.order[i], self.order[j] = self.order[j], self.order[i]
        self.first = False
        half = len(self.order) // 2
        w = 1.0 / len(self.order)
        return Weights({s: (w if k < half else -w) for k, s in enumerate(self.order)})


def run(assets: int, cycles: int, store: Store | None, lock: RunLock | None = None) -> tuple[float, list[float], float]:
    rng = np.random.default_rng(42)
    symbols = [f"A{i:03d}" for i in range(assets)]
    prices = rng.uniform(1, 1000, assets)
    venue = PaperVenue(initial_cash=Decimal(10_000_000), store=store, account="bench")
    manager = PortfolioManager(
        RotatingOracle(symbols),
        venue,
        store=store,
        run="bench",
        planner=PlannerConfig(no_trade_band=0.002),
        lock=lock,
    )
    t = datetime(2024, 1, 1, tzinfo=UTC)
    venue.update_market(t, dict(zip(symbols, prices.tolist(), strict=True)))
    start = time.perf_counter()
    manager.manage_portfolio(t)
    first = time.perf_counter() - start
    times, orders = [], 0
    for i in range(cycles):
        prices = prices * np.exp(rng.normal(0, 0.01, assets))
        t += timedelta(hours=1)
        venue.update_market(t, dict(zip(symbols, prices.tolist(), strict=True)))
        start = time.perf_counter()
        report = manager.manage_portfolio(t)
        times.append(time.perf_counter() - start)
        orders += len(report.rebalance.results) if report.rebalance else 0
        del i
    return first, times, orders / cycles


TARGET_MS = 2.0
"""Median cycle without a store, 200 assets (issue 19)."""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--assets", type=int, default=200)
    ap.add_argument("--cycles", type=int, default=200)
    ap.add_argument("--quick", action="store_true", help="50 cycles; no SQLite or run-lock figures")
    ap.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = ap.parse_args()
    if args.quick:
        args.cycles = min(args.cycles, 50)
    print(f"manage_portfolio, paper venue, {args.assets} assets, {args.cycles} cycles (after the first from cash)")
    first, times, per_cycle = run(args.assets, args.cycles, None)
    med = statistics.median(times) * 1e3
    rows = [Figure(f"cycle without a store, {args.assets} assets, median", med, "ms", TARGET_MS)]
    print(
        f"  no store      : median {med:6.2f} ms  p90 {np.percentile(times, 90) * 1e3:6.2f} ms  "
        f"({per_cycle:.1f} orders/cycle)  from cash {first / args.assets * 1e3:.2f} ms/order  "
        f"target < {TARGET_MS:g} ms: {'OK' if med < TARGET_MS else 'MISSED'}"
    )
    if args.quick:
        if args.json:
            report("manager cycle", rows, True)
        return
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        first, times, per_cycle = run(args.assets, args.cycles, store)
        med = statistics.median(times) * 1e3
        print(
            f"  SQLite writes : median {med:6.2f} ms  p90 {np.percentile(times, 90) * 1e3:6.2f} ms  "
            f"({per_cycle:.1f} orders/cycle)  from cash {first / args.assets * 1e3:.2f} ms/order  "
            f"target < 20 ms: {'OK' if med < 20 else 'MISSED'}"
        )
        rows.append(Figure(f"cycle with SQLite writes, {args.assets} assets, median", med, "ms", 20))
        store.close()
    with tempfile.TemporaryDirectory() as tmp:
        lock_cost(f"sqlite:///{Path(tmp) / 'lock.db'}", args.assets, args.cycles)
    if args.json:
        report("manager cycle", rows, True)


def lock_cost(url: str, assets: int, cycles: int, repeats: int = 5) -> None:
    """The run lock's cost a cycle on SQLite: its renewal alone, and cycles with it minus cycles without it (paired
    runs on fresh databases, alternating, the median of the per-run medians)."""
    store = Store(url)
    lock = RunLock(store, "alone", heartbeat=False).acquire()
    renewals = []
    for _ in range(2000):
        start = time.perf_counter()
        lock.renew()
        renewals.append(time.perf_counter() - start)
    lock.release()
    store.close()
    alone = statistics.median(renewals) * 1e3
    diffs = []
    for k in range(repeats):
        medians = {}
        for locked in (k % 2 == 0, k % 2 != 0):  # alternate which goes first
            db = Store(url.replace("lock.db", f"cycle-{k}-{locked}.db"))
            held = RunLock(db, "bench", heartbeat=False).acquire() if locked else None
            medians[locked] = statistics.median(run(assets, cycles, db, held)[1])
            if held is not None:
                held.release()
            db.close()
        diffs.append(medians[True] - medians[False])
    paired = statistics.median(diffs) * 1e3
    print(
        f"  run lock      : renewal median {alone:6.3f} ms (p90 {np.percentile(renewals, 90) * 1e3:.3f} ms); "
        f"cycle with lock - without, paired median of {repeats}: {paired:+.3f} ms  "
        f"target < 1 ms: {'OK' if alone < 1 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
