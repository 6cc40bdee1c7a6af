"""Hyper-parameter search for PPO with Optuna, on the training part only.

The training part is split again, chronologically: the first ``fit_fraction`` trains each trial's model and the
rest validates it (the metric of ``defipm.rl.search``). The test part is never read, so the figures reported on
it after tuning are still out of sample. Trials are sampled by Optuna's TPE sampler, seeded.

Searched: ``learning_rate`` (1e-5 to 1e-3, log), ``n_steps`` (128 to 1,024, at most the training's ``timesteps``), ``gamma`` (0.9 to 0.999),
``ent_coef`` (1e-8 to 1e-2, log) and ``clip_range`` (0.1 to 0.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from defipm.backtest.search import metric_score
from defipm.core.errors import ConfigError
from defipm.rl.evaluation import Benchmark
from defipm.rl.market import MarketArrays
from defipm.rl.pipeline import TrainingPlan, train_model
from defipm.rl.search import METRICS
from defipm.rl.split import MIN_STEPS, Span, Split

ROLLOUTS = (128, 256, 512, 1024)
"""The ``n_steps`` tried (those up to ``timesteps``)."""


@dataclass(frozen=True, slots=True)
class Tuning:
    best: dict[str, Any]
    """The best trial's PPO settings (``PPOSettings`` keys)."""
    best_score: float
    trials: list[dict[str, Any]]
    """Every trial: its parameters, score and the validation figures."""


def validation_split(train: Span, every: int, fit_fraction: float) -> Split:
    """The training part split into a fitting part and a validation part (both at least ``MIN_STEPS`` steps)."""
    cut = train.start + int((train.stop - train.start + 1) * fit_fraction)
    split = Split(Span(train.start, cut - 1), Span(cut, train.stop))
    assert split.test is not None
    if min(split.train.stop - split.train.start, split.test.stop - split.test.start) < MIN_STEPS * every:
        raise ConfigError(
            f"the training part ({train.stop - train.start + 1} bars) is too short to hold out a validation part for "
            f"tuning at {every} bars a step: use more data or a shorter rebalancing interval"
        )
    return split


def tune(
    market: MarketArrays,
    train: Span,
    plan: TrainingPlan,
    *,
    trials: int,
    metric: str = "sortino",
    fit_fraction: float = 0.75,
    benchmark: Benchmark | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Tuning:
    """``trials`` Optuna trials over PPO's settings, scored on the validation part of ``train``."""
    from defipm.rl.extra import require_rl

    require_rl("hyper-parameter search")
    import optuna

    if trials < 1:
        raise ConfigError(f"trials must be at least 1, got {trials}")
    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    split = validation_split(train, plan.env.rebalance_every, fit_fraction)
    table: list[dict[str, Any]] = []

    def objective(trial: optuna.Trial) -> float:
        params = _sample(trial, plan)
        trial_plan = plan.model_copy(update={"ppo": plan.ppo.model_copy(update=params)})
        model = train_model(market, split, trial_plan, benchmark=benchmark)
        score = metric_score(model.card.test_figures, METRICS[metric])
        table.append({"params": params, "score": score, "validation": model.card.test_figures})
        if progress is not None:
            progress(len(table), trials)
        return score if score != float("-inf") else -1e300

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=plan.ppo.seed))
    study.optimize(objective, n_trials=trials)
    best = table[study.best_trial.number]
    return Tuning(best["params"], float(best["score"]), table)


def _sample(trial: Any, plan: TrainingPlan) -> dict[str, Any]:
    sizes = [n for n in ROLLOUTS if n <= plan.ppo.timesteps] or [ROLLOUTS[0]]  # a rollout within the training
    n_steps = trial.suggest_categorical("n_steps", sizes)
    return {
        "learning_rate": trial.suggest_float("learning_rate", 1e-5, 1e-3, log=True),
        "n_steps": n_steps,
        "batch_size": min(plan.ppo.batch_size, n_steps),
        "gamma": trial.suggest_float("gamma", 0.9, 0.999),
        "ent_coef": trial.suggest_float("ent_coef", 1e-8, 1e-2, log=True),
        "clip_range": trial.suggest_float("clip_range", 0.1, 0.3),
    }
