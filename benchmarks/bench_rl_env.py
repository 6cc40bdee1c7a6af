"""Throughput of ``PortfolioEnv`` on 14 assets: steps per second with random actions, every trade priced by the
paper venue's cost function (fee, bounded impact, participation cap with its floor).

Data: the 14 coins of ../shared/data/prices/hourly (or DEFIPM_DATA); synthetic bars of 14 assets when it is absent
(said so). Warm (one pass first), repeated, median. Target (issue: learned allocator): at least 20,000 steps a
second. References in the same run: the array call of ``fill_costs`` alone, the prepared call the environment
makes (``FillCostTable.costs``: the floor under a step) and Gymnasium's CartPole-v1 (a textbook environment in pure
Python), each as calls or steps per second.

Run: .venv/bin/python benchmarks/bench_rl_env.py [--steps 20000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices" / "hourly"
TARGET = 20_000.0


def _rate(run: Callable[[int], None], steps: int, repeats: int) -> float:
    run(steps)  # warm
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(steps)
        times.append(time.perf_counter() - t0)
    return steps / statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="5,000 steps, 3 repeats")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.repeats = min(args.steps, 5_000), min(args.repeats, 3)
    import gymnasium as gym

    from defipm.data import synthetic_panel
    from defipm.rl.env import PortfolioEnv
    from defipm.rl.execution import ExecutionModel
    from defipm.rl.market import MarketArrays
    from defipm.rl.settings import CostSettings, EnvSettings
    from defipm.venues.paper.fill_model import FillCostTable, fill_costs

    if DATA.is_dir():
        from defipm.data.cache import load_prices

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            panel = load_prices(DATA)
        label = f"real hourly bars ({DATA})"
    else:
        panel = synthetic_panel(14, 2_135, seed=1, interval=timedelta(hours=1))
        label = f"SYNTHETIC hourly bars (no data at {DATA})"
    market = MarketArrays.from_panel(panel)
    costs = CostSettings(taker_fee=0.003, slippage_bps=5, impact=0.1, volume_floor=1e6, max_participation=0.05,
                         participation_floor=1e6)  # fmt: skip
    execution = ExecutionModel.of(costs.cost_model(), costs.planner())
    settings = EnvSettings(window=24, rebalance_every=1, initial_cash=1e6)
    env = PortfolioEnv(market, market.first_complete() + 24, len(market) - 1, settings, execution)
    actions = np.random.default_rng(0).uniform(-1, 1, (args.steps, len(market.symbols) + 1)).astype(np.float32)

    def run_env(n: int) -> None:
        env.reset(seed=0)
        for a in actions[:n]:
            _, _, terminated, truncated, _ = env.step(a)
            if terminated or truncated:
                env.reset()

    notional = np.full(len(market.symbols), 50_000.0)
    volume = market.volume[-1]
    model = execution.slippage

    def run_costs(n: int) -> None:
        for _ in range(n):
            fill_costs(model, notional, volume, 0.003, 0.0, notional < 0)

    table = FillCostTable(model, market.volume[-2:], 0.003)

    def run_table(n: int) -> None:
        for _ in range(n):
            table.costs(1, notional)

    cart = gym.make("CartPole-v1").unwrapped

    def run_cartpole(n: int) -> None:
        cart.reset(seed=0)
        for _ in range(n):
            _, _, terminated, truncated, _ = cart.step(1 if cart.np_random.random() < 0.5 else 0)
            if terminated or truncated:
                cart.reset()

    rate = _rate(run_env, args.steps, args.repeats)
    cost_rate = _rate(run_costs, args.steps, args.repeats)
    table_rate = _rate(run_table, args.steps, args.repeats)
    cart_rate = _rate(run_cartpole, args.steps, args.repeats)
    print(f"PortfolioEnv on {len(market.symbols)} assets, {label}")
    print(
        f"  env steps/s (median of {args.repeats}): {rate:,.0f}  target >= {TARGET:,.0f}: {'PASS' if rate >= TARGET else 'FAIL'}"
    )
    print(f"  fill_costs array calls/s: {cost_rate:,.0f}  (a step is {cost_rate / rate:.1f} cost calls' time)")
    print(f"  FillCostTable.costs calls/s: {table_rate:,.0f}  (a step is {table_rate / rate:.1f} prepared calls' time)")
    print(f"  CartPole-v1 steps/s: {cart_rate:,.0f}  (ratio env / CartPole: {rate / cart_rate:.2f})")
    if args.json:
        from figures import Figure, report

        report(
            "RL environment",
            [
                Figure(f"PortfolioEnv steps ({len(market.symbols)} assets)", rate, "steps/s", TARGET, True),
                Figure("CartPole-v1 steps (reference)", cart_rate, "steps/s"),
            ],
            True,
        )


if __name__ == "__main__":
    main()
