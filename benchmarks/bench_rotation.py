"""Speed of a 5-year rotation backtest on the real wide universe (329 tokens, daily bars, 2020-11 to 2025-11).

The classifier oracle re-classifies every 30 days and holds the top 30 by return among the tokens passing the
screen (volume bar lowered to 0.2 x the mean and the trend rule off, so the set reaches 30 tokens once the
universe is wide enough: 1 in 2021, ~30 from 2024); the manager rebalances daily through the paper venue (spot,
default costs). Target (issue: token classifier): under 30 s in all. Prints the total, the time per rotation (the classifications, timed inside the run) and per cycle,
and, as a reference in the same run, the same engine holding a fixed equal-weight set of 30 tokens (no screen).

Needs ../shared/data/prices/daily_wide (or DEFIPM_DATA); skips with a message otherwise.
Run: .venv/bin/python benchmarks/bench_rotation.py [--years 5]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from figures import Figure, report

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices" / "daily_wide"
TARGET_SECONDS = 30.0


class TimedClassifications:
    """Wraps an oracle's classification step and adds up its time."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def wrap(self, oracle: Any) -> Any:
        inner = oracle._classify

        def timed(timestamp: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(timestamp)
            finally:
                self.seconds.append(time.perf_counter() - t0)

        oracle._classify = timed
        return oracle


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=float, default=5.0, help="replay the last N years (the data has 5)")
    parser.add_argument("--quick", action="store_true", help="the last year only (the target is for 5 years)")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.years = min(args.years, 1.0)
    if not DATA.is_dir():
        print(f"SKIP: no wide panel at {DATA} (set DEFIPM_DATA to the shared data folder)")
        if args.json:
            report("rotation backtest", [], True)
        return
    from defipm.backtest import BacktestConfig, run_backtest
    from defipm.data.cache import load_prices
    from defipm.oracles.equal_weight import EqualWeightOracle
    from defipm.registry import BuildContext, build_oracle

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCH's listing-day Open/Low of 0, reported by the loader
        panel = load_prices(DATA)
    start = max(panel.start, panel.end - timedelta(days=365 * args.years))
    config = BacktestConfig(schedule="24h", mode="spot", start=start)
    timer = TimedClassifications()

    def factory(view: Any) -> Any:
        params = {"top_n": 30, "period_days": 30, "volume_threshold": 0.2, "trend": False}
        return timer.wrap(build_oracle("classifier", params, BuildContext(market=view)))

    t0 = time.perf_counter()
    result = run_backtest(panel, factory, config)
    total = time.perf_counter() - t0
    cycles = int(result.rebalanced.sum())
    rotations = len(result.rotations)
    held = [len(r.held) for r in result.rotations]
    classify_s = sum(timer.seconds)
    print(
        f"rotation backtest: {len(panel.symbols)} tokens, {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}, "
        f"{cycles} daily cycles, {rotations} rotations (30 days, top 30; held {min(held, default=0)}.."
        f"{max(held, default=0)} tokens), {len(timer.seconds) - rotations} warm-up checks"
    )
    verdict = "PASS" if total < TARGET_SECONDS else "MISS"
    print(f"  total {total:.2f} s  (target < {TARGET_SECONDS:.0f} s: {verdict})")
    per_rotation = classify_s / max(len(timer.seconds), 1) * 1e3
    print(f"  per rotation: {per_rotation:.1f} ms classifying ({classify_s:.2f} s for {len(timer.seconds)} calls)")
    print(
        f"  per cycle: {total / cycles * 1e3:.2f} ms ({(total - classify_s) / cycles * 1e3:.2f} ms without the screen)"
    )
    summary = result.summary()
    print(
        f"  result: total return {summary.total_return:.1%}, fees {summary.fees_paid:,.0f}, turnover {summary.turnover:.1f}x"
    )

    most = sorted(range(len(panel.symbols)), key=lambda j: -int(panel.has_bar[:, j].sum()))[:30]
    fixed = EqualWeightOracle([panel.symbols[j] for j in most])
    t0 = time.perf_counter()
    run_backtest(panel, fixed, config)
    reference = time.perf_counter() - t0
    print(
        f"  reference, the same replay holding 30 fixed tokens at equal weight: {reference:.2f} s "
        f"({reference / cycles * 1e3:.2f} ms a cycle); rotation / reference = {total / reference:.2f}x"
    )
    if args.json:
        target = TARGET_SECONDS if args.years >= 5 else None  # the target is the 5-year replay's
        report(
            "rotation backtest",
            [
                Figure(f"rotation backtest, {args.years:g} year(s), total", total, "s", target),
                Figure("per cycle without the screen", (total - classify_s) / cycles * 1e3, "ms"),
                Figure("ratio rotation / 30 fixed tokens", total / reference, "x"),
            ],
            True,
        )


if __name__ == "__main__":
    main()
