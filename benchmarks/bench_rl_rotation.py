"""The learned allocator's rotation loop, walk-forward, on the real wide universe (daily bars, offline).

Every ``--period`` days the ``ppo_rotation`` oracle classifies the tokens at t (point in time), trains a fresh PPO
model on the kept tokens over the last ``--train`` days of bars closed by t, registers it (a temporary folder) and
trades it over the next period; the manager switches the book through the paper venue (spot, the same costs the
environment trains with). Prints the total time, the time per rotation (classify + train + register, timed inside
the run) and per cycle, the rotations, and the run's figures beside a reference in the same run: the same replay
holding the first rotation's tokens at equal weight (no learning, no rotation).

Needs ../shared/data/prices/daily_wide (or DEFIPM_DATA); skips with a message otherwise.
Run: .venv/bin/python benchmarks/bench_rl_rotation.py [--years 2] [--period 90] [--train 365] [--timesteps 20000]
(tiny: --years 0.5 --period 60 --train 120 --timesteps 256)
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path
from typing import Any

from figures import Figure, report

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices" / "daily_wide"


class TimedRotations:
    """Wraps an oracle's rotation step (classify, train, register, switch) and adds up its time."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def wrap(self, oracle: Any) -> Any:
        inner = oracle._rotate

        def timed(timestamp: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return inner(timestamp)
            finally:
                self.seconds.append(time.perf_counter() - t0)

        oracle._rotate = timed
        return oracle


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--years", type=float, default=2.0, help="replay the last N years (the data has 5)")
    parser.add_argument("--period", type=int, default=90, help="days each model trades")
    parser.add_argument("--train", type=int, default=365, help="days of bars each model trains on")
    parser.add_argument("--top", type=int, default=8, help="tokens kept by the screen")
    parser.add_argument("--timesteps", type=int, default=20_000, help="PPO steps per model")
    parser.add_argument("--quick", action="store_true", help="the last 200 days, 2,000 PPO steps per model")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.years, args.timesteps = min(args.years, 200 / 365), min(args.timesteps, 2_000)
    return args


def main() -> None:
    args = _arguments()
    if not DATA.is_dir():
        print(f"SKIP: no wide panel at {DATA} (set DEFIPM_DATA to the shared data folder)")
        if args.json:
            report("PPO rotation", [], True)
        return
    from defipm.backtest import BacktestConfig, run_backtest
    from defipm.data.cache import load_prices
    from defipm.oracles.equal_weight import EqualWeightOracle
    from defipm.oracles.market_source import MarketSource
    from defipm.oracles.ppo_rotation import PPORotationOracle, RotationConfig
    from defipm.rl.extra import require_rl

    require_rl()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCH's listing-day Open/Low of 0, reported by the loader
        panel = load_prices(DATA)
    start = max(panel.start, panel.end - timedelta(days=365 * args.years))
    backtest = BacktestConfig(schedule="24h", mode="spot", start=start, benchmark=None)
    timer = TimedRotations()
    with tempfile.TemporaryDirectory() as folder:
        config = RotationConfig.model_validate(
            {"period_days": args.period, "train_days": args.train, "top_n": args.top, "volume_threshold": 0.2,
             "trend": False, "registry": folder, "name": "bench", "env": {"window": 20, "rebalance_every": 1},
             "ppo": {"timesteps": args.timesteps, "seed": 0}}
        )  # fmt: skip
        t0 = time.perf_counter()
        result = run_backtest(panel, lambda view: timer.wrap(PPORotationOracle(MarketSource(view), config)), backtest)
        total = time.perf_counter() - t0
    cycles = int(result.rebalanced.sum())
    print(
        f"PPO rotation walk-forward: {len(panel.symbols)} tokens, {result.start:%Y-%m-%d} to {result.end:%Y-%m-%d}, "
        f"{cycles} daily cycles, {len(result.rotations)} rotations (every {args.period} days, top {args.top}, "
        f"{args.train} days of training, {args.timesteps:,} PPO steps each)"
    )
    rotate_s = sum(timer.seconds)
    print(f"  total {total:.1f} s; rotations {rotate_s:.1f} s ({rotate_s / max(len(timer.seconds), 1):.1f} s each)")
    print(f"  per cycle without the rotations: {(total - rotate_s) / max(cycles, 1) * 1e3:.2f} ms")
    if args.json:
        report(
            f"PPO rotation ({args.timesteps:,} steps a model)",
            [
                Figure("walk-forward total", total, "s"),
                Figure("a rotation (screen and training)", rotate_s / max(len(timer.seconds), 1), "s"),
                Figure("a cycle without the rotations", (total - rotate_s) / max(cycles, 1) * 1e3, "ms"),
            ],
            True,
        )
        return
    for rotation in result.rotations:
        held = ", ".join(rotation.held) or "cash"
        print(f"  {rotation.timestamp:%Y-%m-%d}: +{len(rotation.added)} -{len(rotation.dropped)} -> {held}")
    summary = result.summary()
    print(
        f"  learned: total return {summary.total_return:.1%}, Sortino {summary.sortino:.2f}, fees {summary.fees_paid:,.0f}"
    )
    first = next((r.held for r in result.rotations if r.held), ())
    if first:
        reference = run_backtest(panel, EqualWeightOracle(list(first)), backtest).summary()
        print(
            f"  reference, the first rotation's {len(first)} tokens at equal weight, daily: total return "
            f"{reference.total_return:.1%}, Sortino {reference.sortino:.2f}, fees {reference.fees_paid:,.0f}"
        )


if __name__ == "__main__":
    main()
