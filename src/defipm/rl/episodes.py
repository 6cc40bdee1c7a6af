"""Running a policy (or a baseline) through a ``PortfolioEnv`` from the first bar of its span to the end, and the
figures of the run.

A ``Decider`` gets the environment and its observation and answers asset weights, or None to leave the book as
it is. ``run_episode`` records the equity after every step (starting with the initial cash), the costs and the
weights chosen. ``episode_figures`` gives every figure of ``defipm.core.metrics`` for it, with CAPM beta, alpha and
expected return against a benchmark's closes on the same bars and an annual risk-free rate.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.core.metrics import PerformanceSummary, per_bar_rate, periods_per_year, summarize
from defipm.rl.env import Observation, PortfolioEnv
from defipm.rl.model import LoadedModel

Decider = Callable[[PortfolioEnv, Observation], NDArray[np.float64] | None]


@dataclass(frozen=True, slots=True)
class Episode:
    """One run over a span: ``bars`` are the bar indices of the equity values (the first decision bar, then the bar
    each step reached); the per-step arrays have one value fewer."""

    bars: NDArray[np.int64]
    equity: NDArray[np.float64]
    fees: NDArray[np.float64]
    slippage: NDArray[np.float64]
    traded: NDArray[np.float64]
    weights: NDArray[np.float64]
    """Steps x assets: the weights chosen at each decision (NaN where the decider left the book as it was)."""
    traded_equity: NDArray[np.float64]
    """Per step: the equity right after its trade, at the decision bar's closes (a backtest's equity there)."""
    steps_per_year: float


def run_episode(env: PortfolioEnv, decide: Decider) -> Episode:
    """``decide`` from the span's first bar until the span ends (or the book is ruined)."""
    obs, info = env.reset(options={"start": env.start})
    bars, equity = [env.t], [float(info["equity"])]
    fees, slippage, traded, chosen, after_trade = [], [], [], [], []
    while True:
        target = decide(env, obs)
        chosen.append(np.full(len(env.market.symbols), np.nan) if target is None else np.asarray(target))
        obs, _, ruined, truncated, info = env.step_weights(target)
        trade = info["trade"]
        bars.append(int(info["bar"]))
        equity.append(float(info["equity"]))
        fees.append(float(trade.fees.sum()))
        slippage.append(float(trade.slippage.sum()))
        traded.append(float(trade.traded.sum()))
        after_trade.append(float(info["traded_equity"]))
        if ruined or truncated:
            break
    return Episode(
        bars=np.array(bars),
        equity=np.array(equity),
        fees=np.array(fees),
        slippage=np.array(slippage),
        traded=np.array(traded),
        weights=np.array(chosen),
        traded_equity=np.array(after_trade),
        steps_per_year=periods_per_year(env.market.interval) / env.every,
    )


def policy_decider(model: LoadedModel) -> Decider:
    """The model's deterministic weights for each observation."""
    return lambda _env, obs: model.weights(obs)


def episode_figures(
    episode: Episode, benchmark: NDArray[np.float64] | None = None, risk_free: float = 0.0, name: str = "benchmark"
) -> PerformanceSummary:
    """Every figure of the run. ``benchmark``: closes aligned on the market's bars (the episode's bars are read);
    ``risk_free``: an annual rate (0.04 = 4%). A benchmark without a price on one of the bars is refused, naming it."""
    bench = None
    if benchmark is not None:
        bench = benchmark[episode.bars]
        if not np.isfinite(bench).all() or not (bench > 0).all():
            raise DataError(f"benchmark {name} has no price on some bars of the period: choose another benchmark")
    with np.errstate(divide="ignore", invalid="ignore"):
        return summarize(
            episode.equity,
            episode.steps_per_year,
            benchmark_equity=bench,
            traded_notional=np.concatenate(([0.0], episode.traded)),
            fees=episode.fees,
            weights=np.nan_to_num(episode.weights),
            risk_free=per_bar_rate(risk_free, episode.steps_per_year),
        )
