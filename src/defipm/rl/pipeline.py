"""Train a model on a split and describe it: ``train_model`` trains PPO on the training part only, runs the
deterministic policy over the training part and the test part, and returns the policy with its card (symbols,
settings, data range and hash, figures of both parts, library versions), ready for ``ModelRegistry.register``.

The CLI's ``defipm rl train``, the frequency search and the rotation loop all train through it.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from defipm.config_schema import ConfigModel
from defipm.rl.env import PortfolioEnv
from defipm.rl.episodes import episode_figures, policy_decider, run_episode
from defipm.rl.evaluation import Benchmark, evaluation_env
from defipm.rl.execution import ExecutionModel
from defipm.rl.market import MarketArrays
from defipm.rl.model import DataRecord, LoadedModel, ModelCard, Period, library_versions
from defipm.rl.settings import CostSettings, EnvSettings, PPOSettings
from defipm.rl.split import Span, Split
from defipm.rl.training import ProgressCallback, train_ppo


class TrainingPlan(ConfigModel):
    """What to train: the model's name, the environment, the costs and PPO; ``risk_free`` is the annual rate of
    the figures (0.04 = 4%)."""

    name: str = "ppo"
    env: EnvSettings = Field(default_factory=EnvSettings)
    costs: CostSettings = Field(default_factory=CostSettings)
    ppo: PPOSettings = Field(default_factory=PPOSettings)
    risk_free: float = Field(default=0.0, gt=-1, le=1, allow_inf_nan=False)


def train_model(
    market: MarketArrays,
    split: Split,
    plan: TrainingPlan,
    *,
    benchmark: Benchmark | None = None,
    progress: ProgressCallback | None = None,
    notes: tuple[str, ...] = (),
) -> LoadedModel:
    """PPO trained on ``split.train`` of ``market``, with its card (figures of the train and test parts)."""
    execution = ExecutionModel.of(plan.costs.cost_model(), plan.costs.planner())
    env = PortfolioEnv(market, split.train.start, split.train.stop, plan.env, execution)
    policy = train_ppo(env, plan.ppo, progress)
    last = split.test.stop if split.test is not None else split.train.stop
    first = split.train.start - plan.env.window
    card = ModelCard(
        name=plan.name,
        created_at=datetime.now(UTC),
        symbols=market.symbols,
        interval_seconds=market.interval.total_seconds(),
        env=plan.env,
        costs=plan.costs,
        ppo=plan.ppo,
        data=DataRecord(
            start=market.time(first),
            end=market.time(last),
            bars=last - first + 1,
            source=market.source,
            hash=market.data_hash(first, last + 1),
        ),
        train=_period(market, split.train),
        test=_period(market, split.test) if split.test is not None else None,
        benchmark=benchmark.name if benchmark is not None else None,
        versions=library_versions(),
        notes=notes,
    )
    model = LoadedModel(card, policy)
    figures = {
        "train_figures": _figures(model, market, split.train, benchmark, plan.risk_free),
        "test_figures": _figures(model, market, split.test, benchmark, plan.risk_free) if split.test else {},
    }
    return LoadedModel(card.model_copy(update=figures), policy)


def _period(market: MarketArrays, span: Span) -> Period:
    return Period(start=market.time(span.start), end=market.time(span.stop), bars=span.stop - span.start + 1)


def _figures(
    model: LoadedModel, market: MarketArrays, span: Span, benchmark: Benchmark | None, risk_free: float
) -> dict[str, float | int | None]:
    episode = run_episode(evaluation_env(market, span, model.card), policy_decider(model))
    close = benchmark.close if benchmark is not None else None
    name = benchmark.name if benchmark is not None else "benchmark"
    return episode_figures(episode, close, risk_free, name).to_dict()
