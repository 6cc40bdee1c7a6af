"""A model against the baselines on one span (the test part): the policy, equal weight, buy-and-hold of the
benchmark and HRP (or minimum variance), all run through the same environment with the model's costs, and every
figure of each (Sortino, CAPM beta, alpha and expected return against the benchmark, with an annual risk-free rate).

The benchmark is a symbol of the data (BTC by default) or an index file (``.csv``/``.parquet`` OHLCV, e.g. a DeFi
index), read by the backtester's ``benchmark_prices`` and aligned on the data's bars.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from defipm.allocation import Scheme
from defipm.backtest.benchmark import benchmark_prices
from defipm.core.metrics import PerformanceSummary
from defipm.data.panel import PricePanel
from defipm.rl.baselines import DEFAULT_LOOKBACK, benchmark_market, buy_and_hold, covariance, equal_weight
from defipm.rl.env import PortfolioEnv
from defipm.rl.episodes import Decider, Episode, episode_figures, policy_decider, run_episode
from defipm.rl.execution import ExecutionModel
from defipm.rl.market import MarketArrays
from defipm.rl.model import LoadedModel, ModelCard
from defipm.rl.settings import EnvSettings
from defipm.rl.split import Span


@dataclass(frozen=True, slots=True)
class Benchmark:
    """A benchmark's closes on the data's bars (NaN outside the span it was read for)."""

    name: str
    close: NDArray[np.float64]


def benchmark_for(
    spec: str | None, panel: PricePanel, start: int, stop: int, bar_label: str = "open"
) -> Benchmark | None:
    """The benchmark ``spec`` (a symbol of ``panel``, or a file) on bars ``start .. stop`` (a span and the window
    before it, which a buy-and-hold of an index needs); None when there is none (the default "BTC" on data without
    BTC). Raises ``DataError`` naming it when it does not cover those bars."""
    name, prices = benchmark_prices(spec, panel, start, stop + 1, bar_label)
    if name is None or prices is None:
        return None
    close = np.full(len(panel), np.nan)
    close[start : stop + 1] = prices
    return Benchmark(name, close)


@dataclass(frozen=True, slots=True)
class Contender:
    label: str
    episode: Episode
    figures: PerformanceSummary


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The policy and the baselines over one span of ``market``."""

    card: ModelCard
    market: MarketArrays
    span: Span
    benchmark: str | None
    risk_free: float
    contenders: tuple[Contender, ...]
    notes: tuple[str, ...] = ()


def evaluation_env(market: MarketArrays, span: Span, card: ModelCard) -> PortfolioEnv:
    """The environment a model is evaluated in: its settings and costs, from the span's first bar to its end."""
    settings = EnvSettings(**{**card.env.model_dump(), "random_start": False, "episode_steps": None})
    execution = ExecutionModel.of(card.costs.cost_model(), card.costs.planner())
    return PortfolioEnv(market, span.start, span.stop, settings, execution)


def evaluate(
    model: LoadedModel,
    market: MarketArrays,
    span: Span,
    *,
    benchmark: Benchmark | None,
    risk_free: float = 0.0,
    scheme: Scheme | str = Scheme.HRP,
    lookback: int = DEFAULT_LOOKBACK,
) -> Evaluation:
    """Run the policy and the three baselines over ``span`` and compute their figures."""
    allocation = covariance(scheme, lookback)  # refuses another scheme before anything runs
    env = evaluation_env(market, span, model.card)
    close = benchmark.close if benchmark is not None else None
    name = benchmark.name if benchmark is not None else "benchmark"
    deciders: list[tuple[str, Decider]] = [
        (f"policy {model.card.ref}", policy_decider(model)),
        ("equal weight", equal_weight),
        (f"{Scheme(scheme).value} (lookback {lookback})", allocation),
    ]
    contenders = [_run(label, env, decide, close, risk_free, name) for label, decide in deciders]
    notes: list[str] = []
    if benchmark is None:
        notes.append("no benchmark: no buy-and-hold baseline and no CAPM figures")
    elif benchmark.name in market.symbols:
        hold = buy_and_hold(market.symbols.index(benchmark.name))
        contenders.insert(1, _run(f"buy and hold {benchmark.name}", env, hold, close, risk_free, name))
    else:
        alone = evaluation_env(benchmark_market(benchmark.name, benchmark.close, market), span, model.card)
        contenders.insert(1, _run(f"buy and hold {benchmark.name}", alone, buy_and_hold(0), close, risk_free, name))
    bench_name = benchmark.name if benchmark is not None else None
    return Evaluation(model.card, market, span, bench_name, risk_free, tuple(contenders), tuple(notes))


def _run(
    label: str, env: PortfolioEnv, decide: Decider, close: NDArray[np.float64] | None, risk_free: float, name: str
) -> Contender:
    episode = run_episode(env, decide)
    return Contender(label, episode, episode_figures(episode, close, risk_free, name))
