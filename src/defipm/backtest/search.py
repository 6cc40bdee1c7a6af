"""Parameter search: a grid over oracle parameters and rebalancing schedules, picked on training data only.

``search`` splits the replay range chronologically: with ``walk_forward=None`` into one train part (the first
``train_fraction``, 66% by default) and one test part; with ``walk_forward=k`` into ``k`` anchored folds (train on
everything before each test window, test on the window). In every fold each grid point is backtested on the train
part, the best by ``metric`` is chosen there, and only that point is run on the test part: the out-of-sample
figures are reported beside the in-sample ones, never used to choose. With ``test_every_point`` every grid point
is also run on each test part (``Fold.test_table``) for the report's side-by-side heatmaps (``search_report``);
the choice is made the same way, before.

Ctrl-C stops a search at once (workers are terminated, not waited for) and raises ``SearchInterrupted``, which
carries every trial that had finished.

Runs go to local processes (``multiprocessing``) by default, to a Ray cluster with ``ray_address`` ("local"
starts one on this machine, listening on loopback only), or inline with ``workers=1``. ``factory(view, **params)`` must be importable by the
workers (a module-level class or function, e.g. ``MomentumOracle``).
"""

from __future__ import annotations

import itertools
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, TypeVar

import numpy as np

from defipm.backtest.config import BacktestConfig
from defipm.backtest.engine import run_backtest
from defipm.core.errors import ConfigError, DefipmError
from defipm.core.schedule import parse_schedule
from defipm.data.panel import PricePanel, to_datetime, to_datetime64
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle

OracleFactory = Callable[..., Oracle]
R = TypeVar("R")
HIGHER_IS_BETTER = {"sharpe", "sortino", "calmar", "cagr", "total_return", "hit_rate", "alpha"}
LOWER_IS_BETTER = {"annual_volatility", "max_drawdown_duration", "annual_turnover"}


def grid(params: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``params`` (name -> candidate values), in a stable order."""
    for name, values in params.items():
        if isinstance(values, str) or not len(values):
            raise ConfigError(f"grid parameter {name!r} needs a non-empty list of values, got {values!r}")
    names = list(params)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(params[n] for n in names))]


@dataclass(frozen=True, slots=True)
class Point:
    params: dict[str, Any]
    schedule: str

    def label(self) -> str:
        inner = ", ".join(f"{k}={v}" for k, v in self.params.items())
        return f"{inner}{', ' if inner else ''}schedule={self.schedule}"


@dataclass(slots=True)
class Fold:
    train: tuple[datetime, datetime]
    test: tuple[datetime, datetime]
    chosen: Point
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any]
    table: list[dict[str, Any]] = field(default_factory=list)
    """Every grid point's in-sample figures (or its error)."""
    test_table: list[dict[str, Any]] = field(default_factory=list)
    """Every grid point's out-of-sample figures, with ``test_every_point`` (for the report; never used to choose)."""


@dataclass(slots=True)
class SearchResult:
    metric: str
    folds: list[Fold]

    @property
    def best(self) -> Point:
        """The point chosen on the (last) training part."""
        return self.folds[-1].chosen

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "folds": [
                {
                    "train": [t.isoformat() for t in f.train],
                    "test": [t.isoformat() for t in f.test],
                    "chosen": {"params": f.chosen.params, "schedule": f.chosen.schedule},
                    "in_sample": f.in_sample,
                    "out_of_sample": f.out_of_sample,
                    "grid": f.table,
                    "test_grid": f.test_table,
                }
                for f in self.folds
            ],
        }


# -- workers -------------------------------------------------------------------------------------------------
_SHARED: Any = None


def _init_worker(shared: Any) -> None:
    """A job worker: holds ``shared`` (sent once), and leaves Ctrl-C to the parent (which terminates it), so an
    interrupt prints no traceback per worker."""
    global _SHARED
    _SHARED = shared
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _bind(factory: OracleFactory, params: dict[str, Any]) -> Callable[[MarketView], Oracle]:
    return lambda view: factory(view, **params)


def evaluate(
    panel: PricePanel, factory: OracleFactory, point: Point, config: BacktestConfig, start: datetime, end: datetime
) -> dict[str, Any]:
    """One backtest of ``point`` on ``[start, end]``: its metrics, or the error that stopped it."""
    cfg = replace(config, schedule=parse_schedule(point.schedule), start=start, end=end)
    try:
        result = run_backtest(panel, _bind(factory, point.params), cfg, params=point.params, record_fills=False)
    except (DefipmError, ValueError, TypeError) as exc:
        return {"error": f"{type(exc).__name__}: {exc}"}
    return result.summary().to_dict()


def _call_in_worker(job: tuple[int, Callable[..., R], tuple[Any, ...]]) -> tuple[int, R]:
    k, function, args = job
    return k, function(_SHARED, *args)


class SearchInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a search. ``finished``: every trial that completed, as ``{"params", "schedule", "start",
    "end", "part", **metrics or error}`` rows ("part" is "train" or "test"), in the grid's order."""

    def __init__(self, finished: list[dict[str, Any]]) -> None:
        super().__init__(f"interrupted after {len(finished)} finished trial(s)")
        self.finished = finished


class JobsInterrupted(KeyboardInterrupt):
    """Raised by ``run_jobs`` on Ctrl-C, once the other jobs are stopped: ``rows``, the results that finished, by
    job index."""

    def __init__(self, rows: dict[int, Any]) -> None:
        super().__init__(f"interrupted after {len(rows)} finished job(s)")
        self.rows = rows


def run_jobs(
    function: Callable[..., R],
    shared: Any,
    jobs: Sequence[tuple[Any, ...]],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[R]:
    """``[function(shared, *job) for job in jobs]``, in that order, run in local processes (``workers`` of them;
    ``shared`` is sent to each process once), on a Ray cluster (``ray_address``; "local" starts one on loopback,
    ``shared`` is put in its object store once) or inline (``workers=1``, or a single job). ``function`` must be
    importable by the workers (a module-level function) and ``shared`` picklable: the processes are forked from
    a fresh single-threaded server (``forkserver``), never from this process, whose threads (torch's, DuckDB's)
    may hold a lock at the fork and leave the worker waiting on it forever. ``progress(done, total)`` after
    each job. Ctrl-C stops the rest at once (worker processes terminated, Ray tasks cancelled) and raises
    ``JobsInterrupted`` with the results that had finished."""
    rows: dict[int, R] = {}

    def done(k: int, row: R) -> None:
        rows[k] = row
        if progress:
            progress(len(rows), len(jobs))

    try:
        if ray_address is not None:
            _run_on_ray(function, shared, jobs, ray_address, done)
        elif workers == 1 or len(jobs) == 1:
            for k, job in enumerate(jobs):
                done(k, function(shared, *job))
        else:
            _run_in_processes(function, shared, jobs, workers, done)
    except KeyboardInterrupt:
        raise JobsInterrupted(rows) from None
    return [rows[k] for k in range(len(jobs))]


def _run_in_processes(
    function: Callable[..., R],
    shared: Any,
    jobs: Sequence[tuple[Any, ...]],
    workers: int | None,
    done: Callable[[int, R], None],
) -> None:
    """The jobs on a pool of local processes, each result handed to ``done`` as it finishes; on any exit but the
    normal one (Ctrl-C) the workers are terminated at once."""
    context = multiprocessing.get_context("forkserver")  # a fork of a process running threads can deadlock
    pool = context.Pool(workers, initializer=_init_worker, initargs=(shared,))
    try:
        tasks = [(k, function, tuple(job)) for k, job in enumerate(jobs)]
        for k, row in pool.imap_unordered(_call_in_worker, tasks):
            done(k, row)
        pool.close()
    finally:
        pool.terminate()
        pool.join()


def _run_on_ray(
    function: Callable[..., R],
    shared: Any,
    jobs: Sequence[tuple[Any, ...]],
    ray_address: str,
    done: Callable[[int, R], None],
) -> None:
    """The jobs as Ray tasks, each result handed to ``done`` as it finishes; Ctrl-C cancels the rest."""
    import ray

    if not ray.is_initialized():
        if ray_address == "local":
            start_local_ray()
        else:
            ray.init(address=ray_address, ignore_reinit_error=True)
    shared_ref = ray.put(shared)
    remote = ray.remote(function)
    refs = [remote.remote(shared_ref, *job) for job in jobs]
    index = {ref: k for k, ref in enumerate(refs)}
    pending = list(refs)
    try:
        while pending:
            ready, pending = ray.wait(pending, num_returns=1)
            done(index[ready[0]], ray.get(ready[0]))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)


def metric_score(metrics: dict[str, Any], metric: str) -> float:
    """Higher is better. A ratio left undefined by a risk of zero (Calmar without drawdown, Sortino without a
    losing bar, Sharpe without volatility) scores as the best possible when the run made money, else the worst."""
    value = metrics.get(metric)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        riskless_gain = metric in ("calmar", "sortino", "sharpe") and (metrics.get("total_return") or 0.0) > 0
        return math.inf if riskless_gain else -math.inf
    return -float(value) if metric in LOWER_IS_BETTER else float(value)


def _run_all(
    panel: PricePanel,
    factory: OracleFactory,
    jobs: list[tuple[Point, datetime, datetime]],
    config: BacktestConfig,
    workers: int | None,
    ray_address: str | None,
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """One row per job, in the jobs' order (``run_jobs``; on Ctrl-C its ``JobsInterrupted``)."""
    tasks = [(factory, point, config, start, end) for point, start, end in jobs]
    return run_jobs(evaluate, panel, tasks, workers=workers, ray_address=ray_address, progress=progress)


RAY_SINGLE_MACHINE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
"""Ray's switch for clusters of several machines (off by default on macOS and Windows). Off, Ray takes loopback as
the node's address, and every server it starts binds to that address."""


def start_local_ray() -> None:
    """Start a Ray cluster on this machine whose servers listen on loopback only, without the dashboard.

    Ray binds its servers (GCS, raylet, workers, the autoscaler's metrics) to the node's address, which on Linux is
    the machine's outward one: ``ray.init(_node_ip_address="127.0.0.1")`` is turned back into it. With Ray's
    multi-machine switch off, the node's address is loopback. Ray reads that switch when it is imported, and the
    processes ``ray.init`` starts inherit it; it is restored afterwards. Raises ``ConfigError`` if Ray still chose
    another address (then nothing is left running)."""
    import ray
    from ray._private import ray_constants

    previous = os.environ.get(RAY_SINGLE_MACHINE), ray_constants.ENABLE_RAY_CLUSTER
    os.environ[RAY_SINGLE_MACHINE] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False  # Ray may have been imported before the variable was set
    try:
        ray.init(include_dashboard=False, ignore_reinit_error=True)
    finally:
        if previous[0] is None:
            os.environ.pop(RAY_SINGLE_MACHINE, None)
        else:
            os.environ[RAY_SINGLE_MACHINE] = previous[0]
        ray_constants.ENABLE_RAY_CLUSTER = previous[1]
    address = ray.util.get_node_ip_address()
    if address not in ("127.0.0.1", "::1"):
        ray.shutdown()
        raise ConfigError(
            f"the local Ray cluster would listen on {address}, not loopback only: start Ray yourself and pass its "
            "address as ray_address"
        )


def _run_part(
    jobs: list[tuple[Point, datetime, datetime]],
    before: list[dict[str, Any]],
    run: Callable[[], list[dict[str, Any]]],
) -> list[dict[str, Any]]:
    """``run()`` (the train or the test runs of ``jobs``); on Ctrl-C, ``SearchInterrupted`` with the trials finished
    ``before`` this part and in it."""
    try:
        return run()
    except JobsInterrupted as partial:
        part = "test" if before else "train"
        raise SearchInterrupted(before + _finished(jobs, partial.rows, part)) from None


def _finished(
    jobs: list[tuple[Point, datetime, datetime]], rows: Mapping[int, dict[str, Any]], part: str
) -> list[dict[str, Any]]:
    """The finished trials among ``jobs`` as rows of ``SearchInterrupted.finished``, in the jobs' order."""
    return [
        {"params": jobs[k][0].params, "schedule": jobs[k][0].schedule, "start": jobs[k][1], "end": jobs[k][2],
         "part": part, **rows[k]}
        for k in sorted(rows)
    ]  # fmt: skip


def _boundaries(panel: PricePanel, config: BacktestConfig, train_fraction: float, walk_forward: int | None):
    lo = int(panel.first_index.min())
    if config.start is not None:  # the first bar at or after the start, as the engine replays
        lo = max(lo, int(np.searchsorted(panel.timestamps, to_datetime64(config.start), side="left")))
    hi = panel.index_at_or_before(config.end) if config.end is not None else len(panel) - 1
    n = hi - lo + 1
    if walk_forward is None:
        cut = lo + int(n * train_fraction)
        splits = [(lo, cut - 1, cut, hi)]
    else:
        if walk_forward < 1:
            raise ConfigError(f"walk_forward must be >= 1 fold, got {walk_forward}")
        first_cut = lo + int(n * train_fraction)
        edges = np.linspace(first_cut, hi + 1, walk_forward + 1).astype(int)
        splits = [(lo, int(a) - 1, int(a), int(b) - 1) for a, b in itertools.pairwise(edges)]
    for tr0, tr1, te0, te1 in splits:
        if tr1 - tr0 < 2 or te1 - te0 < 1:
            raise ConfigError(
                f"train/test split leaves too few bars (train {tr1 - tr0 + 1}, test {te1 - te0 + 1}); "
                f"adjust train_fraction={train_fraction} or walk_forward={walk_forward}"
            )
    return [tuple(to_datetime(panel.timestamps[i]) for i in s) for s in splits]


def _test_every_point(
    folds: list[Fold],
    points: list[Point],
    tests: list[tuple[datetime, datetime]],
    run: Callable[[list[tuple[Point, datetime, datetime]]], list[dict[str, Any]]],
) -> None:
    """Run every point on each fold's test part: ``Fold.test_table``, and the chosen point's row as its
    ``out_of_sample`` (the choice was made before, on the training part)."""
    rows = run([(pt, te0, te1) for te0, te1 in tests for pt in points])
    for f, fold in enumerate(folds):
        part = rows[f * len(points) : (f + 1) * len(points)]
        fold.test_table = [
            {"params": p.params, "schedule": p.schedule, **row} for p, row in zip(points, part, strict=True)
        ]
        fold.out_of_sample = part[points.index(fold.chosen)]


def _check_options(train_fraction: float, metric: str, schedules: Sequence[str]) -> None:
    """Refuse a train share outside (0, 1), an unknown metric or a schedule that does not parse (``ConfigError``)."""
    if not 0 < train_fraction < 1:
        raise ConfigError(f"train_fraction must be between 0 and 1, got {train_fraction}")
    if metric not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        known = ", ".join(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))
        raise ConfigError(f"metric {metric!r} is not one of {known}")
    for s in schedules:
        parse_schedule(s)


def _no_valid_point(points: list[Point], rows: list[dict[str, Any]], start: datetime, end: datetime) -> ConfigError:
    """The error of a training part on which every grid point failed, grouping the points by their error."""
    by_error: dict[str, list[str]] = {}
    for pt, row in zip(points, rows, strict=True):
        by_error.setdefault(str(row["error"]), []).append(pt.label())
    reasons = "; ".join(
        f"{error} ({'every point' if len(labels) == len(points) else 'at ' + ' | '.join(labels)})"
        for error, labels in by_error.items()
    )
    return ConfigError(f"the grid has no valid point on the training part {start} to {end}: {reasons}")


def search(
    panel: PricePanel,
    factory: OracleFactory,
    params: Mapping[str, Sequence[Any]],
    *,
    schedules: Sequence[str] = ("24h", "48h", "168h"),
    config: BacktestConfig | None = None,
    metric: str = "sharpe",
    train_fraction: float = 0.66,
    walk_forward: int | None = None,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    test_every_point: bool = False,
) -> SearchResult:
    """Grid search picked on training data only; see the module doc. Raises ``ConfigError`` when no grid point
    runs on a training part (listing why each failed). ``test_every_point`` also runs every grid point on each test
    part (``Fold.test_table``, for the report's side-by-side heatmaps); the choice is still made on training data."""
    cfg = config or BacktestConfig()
    _check_options(train_fraction, metric, schedules)
    points = [Point(p, s) for p in grid(params) for s in schedules] if schedules else []
    if not points:
        raise ConfigError("the grid is empty: give at least one value per parameter and one schedule")
    splits = _boundaries(panel, cfg, train_fraction, walk_forward)
    jobs = [(pt, tr0, tr1) for tr0, tr1, _, _ in splits for pt in points]
    train_rows = _run_part(jobs, [], lambda: _run_all(panel, factory, jobs, cfg, workers, ray_address, progress))

    folds: list[Fold] = []
    chosen_jobs = []
    for f, (tr0, tr1, te0, te1) in enumerate(splits):
        rows = train_rows[f * len(points) : (f + 1) * len(points)]
        table = [{"params": pt.params, "schedule": pt.schedule, **row} for pt, row in zip(points, rows, strict=True)]
        valid = [(pt, row) for pt, row in zip(points, rows, strict=True) if "error" not in row]
        if not valid:
            raise _no_valid_point(points, rows, tr0, tr1)
        best_pt, best_row = max(valid, key=lambda item: metric_score(item[1], metric))
        folds.append(Fold((tr0, tr1), (te0, te1), best_pt, best_row, {}, table))
        chosen_jobs.append((best_pt, te0, te1))
    trained = _finished(jobs, dict(enumerate(train_rows)), "train")
    if test_every_point:
        test_jobs = [(pt, te0, te1) for _, _, te0, te1 in splits for pt in points]
        _test_every_point(folds, points, [(te0, te1) for _, _, te0, te1 in splits], lambda jobs: _run_part(
            test_jobs, trained, lambda: _run_all(panel, factory, jobs, cfg, workers, ray_address, None)))  # fmt: skip
        return SearchResult(metric=metric, folds=folds)
    test_rows = _run_part(
        chosen_jobs, trained, lambda: _run_all(panel, factory, chosen_jobs, cfg, workers, ray_address, None)
    )
    for fold, row in zip(folds, test_rows, strict=True):
        fold.out_of_sample = row
    return SearchResult(metric=metric, folds=folds)
