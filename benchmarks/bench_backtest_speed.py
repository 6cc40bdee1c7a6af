"""Speed of the full backtest loop (PortfolioManager + PaperVenue, no shortcuts) on synthetic prices.

100 assets x 5 years of daily bars, rebalanced daily to equal weight; target: under 2 s. Two runs:
- with the 0.2% no-trade band that `defipm init` configures (orders only where a weight drifted past the band);
- with no band at all, the worst case and `BacktestConfig`'s default: every asset trades at every bar (about
  180,000 orders through the planner, the journal and the paper venue's exact decimal books: ~6 us an order, ~9.5 us with the bar's share of the rest).
Also prints the time per step with 1, 2 and 4 years of history behind the clock, to show the per-step cost does
not grow with history (the oracle here reads a 30-bar momentum window from the point-in-time view at every step).

Where the worst case's time goes (CPU time, ~0.95 ms a step on the 2-core dev machine under load, issue 19):
sending and filling ~33% (the paper venue's batch fill, the journal's entries, the results), planning ~21%, the
bar's price update ~13% (half of it converting each close to the exact decimal of its shortest repr), the manager's
cycle around them (oracle, weight checks, snapshots, the rebalance report) ~20%, the engine's records ~10%.

Run: .venv/bin/python benchmarks/bench_backtest_speed.py [--quick] [--json]  (--quick: the two full runs only)
"""

from __future__ import annotations

import time

from figures import Figure, arguments, report

from defipm.backtest import BacktestConfig, run_backtest
from defipm.core.planner import PlannerConfig
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.equal_weight import EqualWeightOracle
from defipm.oracles.momentum import MomentumOracle

N_ASSETS = 100
YEARS = 5
TARGET_SECONDS = 2.0


def main() -> None:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    rows: list[Figure] = []
    panel = synthetic_panel(N_ASSETS, YEARS * 365 + 1, seed=1)
    print(f"full loop, {N_ASSETS} assets x {YEARS} years daily ({len(panel)} bars, daily rebalance, synthetic prices)")
    for label, band in (("0.2% no-trade band", 0.002), ("no band (worst case)", 0.0)):
        cfg = BacktestConfig(benchmark=None, planner=PlannerConfig(no_trade_band=band))
        t0 = time.perf_counter()
        result = run_backtest(panel, EqualWeightOracle(), cfg)
        elapsed = time.perf_counter() - t0
        steps = len(result.timestamps)
        orders = int((result.traded_notional > 0).sum())
        print(
            f"  {label:22s}: total {elapsed:.2f} s, {elapsed / steps * 1e3:.2f} ms/step, "
            f"{orders} bars with trades  (target < {TARGET_SECONDS:.0f} s: "
            f"{'PASS' if elapsed < TARGET_SECONDS else 'MISS'})"
        )
        rows.append(Figure(f"full loop, {label}", elapsed, "s", TARGET_SECONDS))

    if args.quick:  # --quick: the two full runs only
        if args.json:
            report("backtest speed", rows, True)
        return
    print("time per step against history length (momentum oracle, 50 steps measured at each point):")
    window = 50
    for years in (1, 2, 4):
        start_bar = years * 365
        sub = panel.slice(0, start_bar + window)
        cfg_w = BacktestConfig(benchmark=None, start=sub.datetime_at(start_bar))
        t0 = time.perf_counter()
        run_backtest(sub, lambda v: MomentumOracle(v, lookback=30, n_long=10, n_short=10), cfg_w)
        dt = time.perf_counter() - t0
        print(f"  {years} year(s) of history: {dt / window * 1e3:.2f} ms/step")
        rows.append(Figure(f"time per step after {years} year(s) of history", dt / window * 1e3, "ms/step"))
    if args.json:
        report("backtest speed", rows, True)


if __name__ == "__main__":
    main()
