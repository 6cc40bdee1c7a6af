"""The rebalancing-frequency search: one model per grid point, chosen on the training part, tested beside it.

The grid is a list of durations (``DEFAULT_GRID``: 24h to 360h; on daily bars the same durations are 1 to 15
days). A duration that is not a whole number of bars of the data is refused with its reason; so is one whose split
leaves too little data. Each valid point trains a model on the training part (``defipm.rl.pipeline``) and reports
the figures of the training part, by which the point is chosen (``metric``: ``sortino``, or
``normalised_return``: the CAGR, growth per year, comparable whatever the interval), and the test part's, shown
beside them and never used to choose. Points run through the parameter search's job runner
(``defipm.backtest.search.run_jobs``): local processes, a Ray cluster (``ray_address``) or inline.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from defipm.backtest.search import metric_score, run_jobs
from defipm.core.errors import ConfigError, DefipmError
from defipm.core.schedule import parse_duration, spell_duration
from defipm.rl.evaluation import Benchmark
from defipm.rl.market import MarketArrays
from defipm.rl.pipeline import TrainingPlan, train_model
from defipm.rl.split import chronological_split

DEFAULT_GRID = ("24h", "48h", "72h", "96h", "120h", "168h", "360h")
METRICS = {"sortino": "sortino", "normalised_return": "cagr"}
"""Selection metric -> the figure it reads (``PerformanceSummary`` key)."""


@dataclass(slots=True)
class FrequencyPoint:
    spec: str
    bars: int | None
    """Bars between decisions (None when the spec is not usable on this data)."""
    error: str | None = None
    train: dict[str, Any] = field(default_factory=dict)
    test: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class FrequencySearch:
    metric: str
    points: list[FrequencyPoint]
    chosen: FrequencyPoint

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "chosen": self.chosen.spec,
            "points": [
                {"spec": p.spec, "bars": p.bars, "error": p.error, "train": p.train, "test": p.test}
                for p in self.points
            ],
        }


def grid_points(grid: Sequence[str], market: MarketArrays) -> list[FrequencyPoint]:
    """Each duration of ``grid`` as a number of the data's bars, or the reason it is not one."""
    if not grid:
        raise ConfigError("the frequency grid is empty: give durations such as 24h,48h,168h")
    points = []
    for spec in grid:
        period = parse_duration(spec, "grid point")
        bars, rest = divmod(period, market.interval)
        if rest or bars < 1:
            points.append(
                FrequencyPoint(spec, None, f"not a whole number of the data's {spell_duration(market.interval)} bars")
            )
        else:
            points.append(FrequencyPoint(spec, int(bars)))
    return points


def score_point(
    shared: tuple[MarketArrays, TrainingPlan, float, Benchmark | None], spec: str, bars: int
) -> dict[str, Any]:
    """Train at ``bars`` between decisions and return both parts' figures, or the error that stopped it (run in a
    worker: a module-level function)."""
    market, plan, train_fraction, benchmark = shared
    env = plan.env.model_copy(update={"rebalance_every": bars})
    point_plan = plan.model_copy(update={"env": env, "name": f"{plan.name}-{spec}"})
    try:
        split = chronological_split(market, env.window, bars, train_fraction)
        model = train_model(market, split, point_plan, benchmark=benchmark)
    except DefipmError as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return {"train": model.card.train_figures, "test": model.card.test_figures}


def frequency_search(
    market: MarketArrays,
    plan: TrainingPlan,
    grid: Sequence[str] = DEFAULT_GRID,
    *,
    metric: str = "sortino",
    train_fraction: float = 0.66,
    benchmark: Benchmark | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> FrequencySearch:
    """Train every valid grid point and choose by ``metric`` on the training part (see the module doc). Raises
    ``ConfigError`` listing every point's reason when none is valid."""
    if metric not in METRICS:
        raise ConfigError(f"metric {metric!r} is not one of {', '.join(METRICS)}")
    points = grid_points(grid, market)
    runnable = [p for p in points if p.bars is not None]
    shared = (market, plan, train_fraction, benchmark)
    jobs = [(p.spec, p.bars) for p in runnable]
    answers = run_jobs(score_point, shared, jobs, workers=workers, ray_address=ray_address, progress=progress)
    for point, answer in zip(runnable, answers, strict=True):
        point.error = answer.get("error")
        point.train, point.test = answer.get("train", {}), answer.get("test", {})
    valid = [p for p in points if p.error is None]
    if not valid:
        reasons = "; ".join(f"{p.spec}: {p.error}" for p in points)
        raise ConfigError(f"the frequency grid has no valid point: {reasons}")
    chosen = max(valid, key=lambda p: metric_score(p.train, METRICS[metric]))
    return FrequencySearch(metric, points, chosen)
