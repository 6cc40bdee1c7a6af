"""The defipm backtest against vectorbt on a simulation both can express, at the goal's size.

100 assets x 5 years of daily bars (synthetic, seeded; ``--data DIR`` reads a wide-CSV folder such as
/work/shared/data/prices/daily_wide instead and keeps the 100 coins with unbroken bars over the last 5 years),
rebalanced every bar to equal weight, 4.5 bps taker fee, no slippage, fills at the bar close. defipm runs its full
loop (PortfolioManager -> planner -> PaperVenue's exact books); vectorbt runs ``Portfolio.from_orders`` with
``size_type="targetpercent"``, ``cash_sharing=True``, ``group_by=True`` and ``call_seq="auto"`` (sells first).

Target (issue 19): defipm at most 5x vectorbt's time (the next goal 2x), equities equal to 1e-6 relative on every
bar.

How it is measured: both are warmed first (imports, numba compilation, caches), then REPEATS paired runs
(defipm then vectorbt, back to back, so load from other processes hits both alike); it prints the min and median
of each and the median of the per-pair ratios. Then each runs once more in a fresh process of its own, for the
whole-process time (interpreter start, imports, data, run) and the peak resident memory.

Settings that make the two the same simulation (and why):
- gross 0.99 (1% cash): with 100% invested, fees make the buys cost more than the cash, and vectorbt then fills
  its last buy partially while the perp paper venue borrows the shortfall. With a cash buffer neither clips.
- ``PlannerConfig(reserve_fees=False)``: vectorbt sizes targets on the full portfolio value, not net of fees.
- The residual is the planner's size-step rounding (targets toward zero, reductions up): ~1e-8 at a 1e-8 step.

Run: .venv/bin/python benchmarks/bench_backtest_vs_vectorbt.py [--repeats 5] [--data DIR] [--quick] [--json]
(``--quick``: 3 paired runs, no trade-log or whole-process runs; ``--json``: end with the figures as one JSON line
for ``benchmarks/run_all``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
from figures import Figure, report

N_ASSETS = 100
YEARS = 5
FEE = 0.00045
GROSS = 0.99
INITIAL_CASH = 10_000.0
TOLERANCE = 1e-6
TARGET_RATIO = 5.0
"""Issue 19: defipm's time / vectorbt's, at most (the next goal is 2x)."""


def load_panel(data: str | None) -> Any:
    """The goal's panel: synthetic, or the 100 coins of ``data`` with unbroken daily bars over the last 5 years."""
    from defipm.data.synthetic import synthetic_panel

    bars = YEARS * 365 + 1
    if data is None:
        return synthetic_panel(N_ASSETS, bars, seed=1)
    from defipm.data.cache import load_prices

    panel = load_prices(Path(data), cache=False)
    panel = panel.slice(len(panel) - bars, len(panel))
    full = np.isfinite(panel.close).all(axis=0)
    keep = [s for s, ok in zip(panel.symbols, full, strict=True) if ok][:N_ASSETS]
    if len(keep) < N_ASSETS:
        sys.exit(f"{data}: only {len(keep)} coins have unbroken bars over the last {YEARS} years, need {N_ASSETS}")
    return panel.select(keep)


def run_defipm(panel: Any, record_fills: bool = False) -> Any:
    """Final equity curve of defipm's full loop. ``record_fills``: also keep every fill as a row of floats (the
    report's trade list and trades.csv; ``defipm backtest`` keeps it, a grid search does not); the comparison
    with vectorbt's equity runs without it, and its cost is printed on its own line."""
    from defipm.backtest import BacktestConfig, CostModel, run_backtest
    from defipm.core.planner import PlannerConfig
    from defipm.oracles.equal_weight import EqualWeightOracle

    config = BacktestConfig(
        initial_cash=INITIAL_CASH,
        mode="perp",
        max_leverage=3.0,
        costs=CostModel(taker_fee=FEE, size_step=1e-8),
        schedule="1bars",
        planner=PlannerConfig(reserve_fees=False),
        benchmark=None,
    )
    return run_backtest(panel, EqualWeightOracle(gross=GROSS), config, record_fills=record_fills).equity


def close_frame(panel: Any) -> Any:
    import pandas as pd

    index = pd.DatetimeIndex(panel.timestamps)
    close = pd.DataFrame(np.asarray(panel.close), index=index, columns=list(panel.symbols))
    assert np.isfinite(close.to_numpy()).all(), "every asset must have a price on every bar of the comparison"
    return close


def run_vectorbt(close: Any) -> Any:
    """Equity curve of vectorbt's ``from_orders`` on the same simulation."""
    import pandas as pd
    import vectorbt as vbt

    size = pd.DataFrame(GROSS / close.shape[1], index=close.index, columns=close.columns)
    pf = vbt.Portfolio.from_orders(
        close,
        size=size,
        size_type="targetpercent",
        fees=FEE,
        init_cash=INITIAL_CASH,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        freq="1D",
    )
    return pf.value().to_numpy()


def one_process(which: str, data: str | None) -> None:
    """The whole-process run: load the data and run one side once (the parent times it); prints the peak RSS."""
    panel = load_panel(data)
    if which == "defipm":
        run_defipm(panel)
    else:
        run_vectorbt(close_frame(panel))
    print(f"peak_mb {peak_rss_mb():.1f}")


def peak_rss_mb() -> float:
    """This process's peak resident memory (Linux ``VmHWM``; the ``ru_maxrss`` a parent reads for a child also
    counts the parent's memory at the fork)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def whole_process(which: str, data: str | None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a fresh process that runs ``which`` once."""
    cmd = [sys.executable, __file__, "--one", which] + (["--data", data] if data else [])
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=os.environ.copy(), capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"{which} process failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    peak = float(done.stdout.split("peak_mb")[-1])
    return elapsed, peak


def paired(panel: Any, close: Any, repeats: int) -> tuple[list[float], list[float]]:
    ours, theirs = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_defipm(panel)
        t1 = time.perf_counter()
        run_vectorbt(close)
        t2 = time.perf_counter()
        ours.append(t1 - t0)
        theirs.append(t2 - t1)
    return ours, theirs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default=None, help="wide daily CSV folder (default: synthetic prices)")
    parser.add_argument("--one", choices=("defipm", "vectorbt"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="3 paired runs; no trade-log or whole-process runs")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures")
    args = parser.parse_args()
    if args.quick:
        args.repeats = min(args.repeats, 3)
    if args.one:  # a child process of the whole-process figures: imports only what its side needs
        one_process(args.one, args.data)
        return 0
    try:
        import vectorbt  # noqa: F401
    except ImportError as exc:
        print(f"SKIP: {exc} (pip install 'defipm[dev]')")
        report("backtest vs vectorbt", [], args.json)
        return 0

    panel = load_panel(args.data)
    close = close_frame(panel)
    ours_eq, vbt_eq = run_defipm(panel), run_vectorbt(close)  # warm both (numba compiles here)
    rel = np.abs(np.asarray(ours_eq) - vbt_eq) / np.abs(vbt_eq)
    ours, theirs = paired(panel, close, args.repeats)
    ratios = [a / b for a, b in zip(ours, theirs, strict=True)]
    ratio = statistics.median(ratios)
    source = panel.source if args.data else "synthetic prices"
    print(
        f"equal weight of {len(panel.symbols)} assets, daily rebalance, {len(panel)} bars ({source}), "
        f"fee {FEE * 1e4:.1f} bps, no slippage; {args.repeats} paired warm runs"
    )
    print(
        f"  equity        final defipm {ours_eq[-1]:,.6f}  vectorbt {vbt_eq[-1]:,.6f}; max relative difference "
        f"over all bars {rel.max():.2e} (tolerance {TOLERANCE:.0e}: {'PASS' if rel.max() <= TOLERANCE else 'FAIL'})"
    )
    print(
        f"  run time      defipm min {min(ours):.3f} s median {statistics.median(ours):.3f} s   vectorbt min "
        f"{min(theirs):.3f} s median {statistics.median(theirs):.3f} s"
    )
    print(
        f"  ratio         defipm/vectorbt median of pairs {ratio:.1f}x (min {min(ratios):.1f}x)  "
        f"(target <= {TARGET_RATIO:.0f}x: {'PASS' if ratio <= TARGET_RATIO else 'MISS'})"
    )
    figures = [
        Figure("defipm run time, median", statistics.median(ours), "s"),
        Figure("vectorbt run time, median", statistics.median(theirs), "s"),
        Figure("ratio defipm / vectorbt (median of pairs)", ratio, "x", TARGET_RATIO),
        Figure("equity, largest relative difference", float(rel.max()), "", TOLERANCE),
    ]
    if not args.quick:
        with_log = []
        for _ in range(max(1, args.repeats // 2)):
            t0 = time.perf_counter()
            run_defipm(panel, record_fills=True)
            with_log.append(time.perf_counter() - t0)
        log_ratio = statistics.median(with_log) / statistics.median(theirs)
        print(
            f"  with the trade log (every fill kept for trades.csv, as `defipm backtest` runs): defipm median "
            f"{statistics.median(with_log):.3f} s, {log_ratio:.1f}x vectorbt"
        )
        figures.append(Figure("ratio with the trade log (as `defipm backtest`)", log_ratio, "x"))
        for which in ("defipm", "vectorbt"):
            wall, peak = whole_process(which, args.data)
            print(f"  whole process {which:9s} {wall:.2f} s, peak memory {peak:.0f} MB")
            figures += [Figure(f"whole process {which}", wall, "s"), Figure(f"peak memory {which}", peak, "MB")]
    if args.json:
        report("backtest vs vectorbt", figures, True)
    return 0 if rel.max() <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
