"""PPO on 14 assets: the time and steps per second of training (100,000 steps by default, on the CPU with torch's
two threads), then the trained policy's test-part figures against the three baselines (equal weight, buy-and-hold
of BTC, HRP), all through the same environment and costs.

Data: the 14 coins of ../shared/data/prices/hourly (``--bars hourly``, rebalancing every 24 hours) or daily
(``--bars daily``, every 2 days, from the date every coin trades), or DEFIPM_DATA; skips with a message when absent.
Chronological 66/33 split; figures of the test part only. Reference in the same run: the environment's own step
rate with random actions (what PPO's updates add on top of the simulation).

Run: .venv/bin/python benchmarks/bench_rl_ppo.py [--steps 100000] [--bars hourly|daily] [--seed 0]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

from figures import Figure, report

REPO = Path(__file__).resolve().parents[1]
PRICES = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--bars", choices=("hourly", "daily"), default="hourly")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="5,000 PPO steps")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.steps = min(args.steps, 5_000)
    folder = PRICES / args.bars
    if not folder.is_dir():
        print(f"SKIP: no price data at {folder} (set DEFIPM_DATA to the shared data folder)")
        if args.json:
            report("PPO training", [], True)
        return
    from rich.console import Console

    from defipm.data.cache import load_prices
    from defipm.rl.episodes import run_episode
    from defipm.rl.evaluation import benchmark_for, evaluate, evaluation_env
    from defipm.rl.market import MarketArrays
    from defipm.rl.pipeline import TrainingPlan, train_model
    from defipm.rl.report import evaluation_table
    from defipm.rl.split import chronological_split

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        panel = load_prices(folder)
    market = MarketArrays.from_panel(panel)
    every = 24 if args.bars == "hourly" else 2
    costs = {"taker_fee": 0.003, "slippage_bps": 5.0, "impact": 0.1, "volume_floor": 1e6, "max_participation": 0.05,
             "participation_floor": 1e6}  # fmt: skip
    plan = TrainingPlan.model_validate(
        {"name": f"bench-{args.bars}", "env": {"window": 30, "rebalance_every": every, "initial_cash": 100_000.0,
         "random_start": True, "episode_steps": 64}, "costs": costs, "ppo": {"timesteps": args.steps, "seed": args.seed}}
    )  # fmt: skip
    split = chronological_split(market, plan.env.window, every)
    assert split.test is not None
    bench = benchmark_for("BTC", panel, split.train.start - plan.env.window, split.test.stop, "open")

    import stable_baselines3  # noqa: F401  (imports torch: not part of the timing)

    from defipm.rl.extra import require_rl

    require_rl()
    learned: list[float] = []
    t0 = time.perf_counter()
    model = train_model(market, split, plan, benchmark=bench, progress=lambda d, n: learned.append(time.perf_counter()))
    seconds = learned[-1] - t0
    env = evaluation_env(market, split.train, model.card)
    t1 = time.perf_counter()
    episode = run_episode(env, lambda e, _obs: None)  # the simulation alone: hold, no policy
    sim_rate = (len(episode.bars) - 1) / (time.perf_counter() - t1)
    print(f"PPO on {len(market.symbols)} assets ({args.bars} bars, a decision every {every} bars, {folder})")
    print(
        f"  {args.steps:,} steps in {seconds:,.1f} s (training and the evaluation of both parts): {args.steps / seconds:,.0f} steps/s"
    )
    print(f"  reference: the environment holding, no policy: {sim_rate:,.0f} steps/s")
    result = evaluate(model, market, split.test, benchmark=bench, risk_free=0.0)
    Console(width=200).print(evaluation_table(result))
    stable = [s for s in market.symbols if s.startswith("USD")]
    if stable:
        print(f"  note: the data holds {', '.join(stable)}: the covariance baseline puts nearly all of its book there")
    if args.json:
        report(
            f"PPO training ({args.steps:,} steps, {args.bars} bars)",
            [
                Figure("training and evaluation", args.steps / seconds, "steps/s"),
                Figure("the environment alone, holding (reference)", sim_rate, "steps/s"),
            ],
            True,
        )


if __name__ == "__main__":
    main()
