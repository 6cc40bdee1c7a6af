"""``defipm backtest``: replay an oracle on a folder of OHLCV files, or grid-search its parameters.

The lead's CLI mounts the ``backtest`` function below as ``defipm backtest``. Oracles are found by name in the
registry (built-ins and entry points); an oracle whose constructor takes ``market`` gets the point-in-time view.

    defipm backtest --data ../shared/data/prices/daily --oracle momentum -p lookback=30 -p n_long=3 -p n_short=3
    defipm backtest --data ... --oracle momentum --grid lookback=10,30,90 --schedules 24h,48h,168h --walk-forward 3
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from defipm.backtest.config import BacktestConfig, CostModel, FieldError, bounded
from defipm.backtest.engine import BacktestResult, run_backtest
from defipm.backtest.output import report_folder
from defipm.backtest.report import finite_json, summary_table, write_html, write_json
from defipm.backtest.search import HIGHER_IS_BETTER, LOWER_IS_BETTER, search
from defipm.cli_errors import fail
from defipm.config_schema import utc_datetime
from defipm.core.errors import ConfigError, DefipmError
from defipm.core.planner import PlannerConfig
from defipm.core.schedule import parse_duration, parse_schedule
from defipm.data.ohlcv import BarLabel
from defipm.data.panel import PricePanel
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle

if TYPE_CHECKING:
    from defipm.config import Settings

console = Console()


FIELD_OPTIONS = {
    "initial_cash": "--cash", "mode": "--mode", "max_leverage": "--max-leverage", "costs.taker_fee": "--fee",
    "costs.slippage_bps": "--slippage-bps", "costs.impact": "--impact", "costs.volume_floor": "--volume-floor",
    "costs.funding_rate": "--funding", "costs.min_notional": "--min-notional", "schedule": "--schedule",
    "start": "--start", "end": "--end", "benchmark": "--benchmark", "benchmark_bar_label": "--bar-label",
    "planner.no_trade_band": "--band",
}  # fmt: skip
"""Backtest settings -> the option that sets them (the others come from ``--config``)."""
SEARCH_DEFAULTS: dict[str, Any] = {"schedules": "24h,48h,168h", "metric": "sharpe", "train_fraction": 0.66}


@contextmanager
def _naming_options() -> Iterator[None]:
    """Turn a setting's ``FieldError`` into an error that names the option the user typed."""
    try:
        yield
    except FieldError as exc:
        raise ConfigError(f"{FIELD_OPTIONS.get(exc.field, '--config')}: {exc}") from None


def _parse_value(text: str, what: str) -> Any:
    """A JSON value, or the text itself when it is not JSON; NaN, infinities and a duplicated key are refused."""
    from defipm.config_schema import strict_json

    try:
        return strict_json(text)
    except json.JSONDecodeError:
        return text
    except ValueError as exc:
        raise ConfigError(f"{what}: {exc}") from None


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    """KEY=VALUE items; an empty key or value, or a key given twice, is an error naming the item."""
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        key, value = key.strip(), value.strip()
        if not sep or not key or not value:
            raise ConfigError(f"{what} {item!r}: expected KEY=VALUE")
        if key in out:
            raise ConfigError(f"{what} {key!r} is given twice ({out[key]!r} and {value!r}): give it once")
        out[key] = value
    return out


def _grid(items: list[str]) -> dict[str, list[Any]]:
    space: dict[str, list[Any]] = {}
    for key, values in _pairs(items, "--grid").items():
        parts = [v.strip() for v in values.split(",")]
        if not all(parts):
            raise ConfigError(f"--grid {key}={values!r}: an empty value; give V1,V2,...")
        space[key] = [_parse_value(v, f"--grid {key}") for v in parts]
    return space


def _symbol_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [s.strip() for s in text.split(",")]
    if not all(names):
        raise ConfigError(f"--symbols {text!r}: an empty symbol name; give SYM1,SYM2,...")
    return names


def _search_options(grid: list[str] | None, given: dict[str, Any]) -> dict[str, Any]:
    """The search options with their defaults; any of them given without ``--grid`` is an error naming it."""
    if not grid:
        used = [name for name, value in given.items() if value is not None]
        if used:
            options = ", ".join("--" + name.replace("_", "-") for name in used)
            raise ConfigError(f"{options}: grid-search option(s) without --grid; add --grid KEY=V1,V2 or drop them")
        return {}
    opts: dict[str, Any] = {k: SEARCH_DEFAULTS.get(k) if v is None else v for k, v in given.items()}
    bounded("--train-fraction", opts["train_fraction"], 0, 1, low_open=True, high_open=True)
    if opts["walk_forward"] is not None and opts["walk_forward"] < 1:
        raise ConfigError(f"--walk-forward must be at least 1 fold, got {opts['walk_forward']}")
    if opts["metric"] not in HIGHER_IS_BETTER | LOWER_IS_BETTER:
        known = ", ".join(sorted(HIGHER_IS_BETTER | LOWER_IS_BETTER))
        raise ConfigError(f"--metric {opts['metric']!r} is not one of {known}")
    for spec in opts["schedules"].split(","):
        try:
            parse_schedule(spec.strip())
        except ConfigError as exc:
            raise ConfigError(f"--schedules: {exc}") from None
    return opts


class RegistryOracleFactory:
    """Builds oracle ``kind`` with fixed ``params`` plus grid params; picklable, so search workers can use it."""

    def __init__(self, kind: str, params: dict[str, Any]) -> None:
        from defipm.registry import available_oracles

        registry = available_oracles()
        if kind not in registry:
            raise ConfigError(f"--oracle: unknown kind {kind!r} (available: {', '.join(sorted(registry))})")
        self.kind, self.target, self.params = kind, registry[kind], params

    def __call__(self, view: MarketView, **grid_params: Any) -> Oracle:
        from defipm.registry import BuildContext, build_oracle

        try:
            return build_oracle(self.kind, {**self.params, **grid_params}, BuildContext(market=view))
        except TypeError as exc:
            raise ConfigError(f"oracle {self.kind!r}: {exc}") from None


def _bar_label(text: str) -> BarLabel:
    if text not in ("open", "close"):
        raise ConfigError(f"--bar-label {text!r}: use 'open' (times are bar opens, as Yahoo's) or 'close'")
    return text  # type: ignore[return-value]


DataOption = Annotated[Path, typer.Option(help="Folder of <SYMBOL>.csv/.parquet OHLCV files (and funding/).")]
OracleOption = Annotated[
    str | None, typer.Option(help="Oracle kind: equal_weight, static, momentum, tbn, ... (default: the config's)")
]
ParamOption = Annotated[list[str] | None, typer.Option("--param", "-p", help="Oracle param KEY=VALUE (JSON).")]
GridOption = Annotated[list[str] | None, typer.Option(help="Search: KEY=V1,V2,... (JSON values); repeatable.")]
SymbolsOption = Annotated[str | None, typer.Option(help="Comma-separated symbols (default: every file).")]
ScheduleOption = Annotated[str, typer.Option(help="Rebalance: 1bars, 24h, daily@00:00, weekly@mon@00:00.")]
SchedulesOption = Annotated[str | None, typer.Option(help="Search: comma-separated schedules [24h,48h,168h].")]
StartOption = Annotated[str | None, typer.Option(help="First bar (ISO date, UTC).")]
EndOption = Annotated[str | None, typer.Option(help="Last bar (ISO date, UTC).")]
ModeOption = Annotated[str, typer.Option(help="perp (long/short) or spot (long only).")]
CashOption = Annotated[float, typer.Option(help="Initial cash in quote currency.")]
FeeOption = Annotated[float, typer.Option(help="Taker fee as a fraction (0.00045 = 4.5 bps).")]
SlippageOption = Annotated[float, typer.Option(help="Fixed slippage in bps.")]
ImpactOption = Annotated[float, typer.Option(help="Square-root impact coefficient vs bar volume.")]
VolumeFloorOption = Annotated[float, typer.Option(help="Smallest bar volume used for impact.")]
FundingOption = Annotated[
    float, typer.Option(help="Funding per day as a fraction of notional (longs pay), on top of funding/ files.")
]
MinNotionalOption = Annotated[float, typer.Option(help="Minimum order value.")]
LeverageOption = Annotated[float, typer.Option(help="Perp margin cap.")]
BenchmarkOption = Annotated[str, typer.Option(help="Benchmark symbol or OHLCV file; 'none' for no benchmark.")]
BarLabelOption = Annotated[str, typer.Option(help="What a file's time means: open (Yahoo) or close.")]
IntervalOption = Annotated[
    str | None, typer.Option(help="Bar length (1h, 1d, ...) instead of inferring it from each file.")
]
MetricOption = Annotated[str | None, typer.Option(help="Search: metric to maximise on the training part [sharpe].")]
TrainOption = Annotated[float | None, typer.Option(help="Search: chronological train share [0.66].")]
FoldsOption = Annotated[int | None, typer.Option(help="Search: number of walk-forward folds.")]
WorkersOption = Annotated[int | None, typer.Option(min=1, help="Search: local processes (1 = inline).")]
RayOption = Annotated[str | None, typer.Option(help="Search: Ray cluster address ('local' to start one).")]
OutOption = Annotated[
    Path | None,
    typer.Option(help="Folder for report.html and summary.json (default: a new reports/backtest-<UTC time>)."),
]
OverwriteOption = Annotated[bool, typer.Option(help="Replace a report already in --out.")]
BandOption = Annotated[
    float | None, typer.Option(help="No-trade band as a share of equity (default: the config's, or 0).")
]
ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config", "-c", help="Trade config (defipm.toml): its oracle, risk limits and planner are replayed."
    ),
]


def backtest(
    data: DataOption,
    oracle: OracleOption = None,
    param: ParamOption = None,
    grid: GridOption = None,
    symbols: SymbolsOption = None,
    schedule: ScheduleOption = "24h",
    schedules: SchedulesOption = None,
    start: StartOption = None,
    end: EndOption = None,
    mode: ModeOption = "perp",
    cash: CashOption = 10_000.0,
    fee: FeeOption = 0.00045,
    slippage_bps: SlippageOption = 0.0,
    impact: ImpactOption = 0.0,
    volume_floor: VolumeFloorOption = 1.0,
    funding: FundingOption = 0.0,
    min_notional: MinNotionalOption = 0.0,
    max_leverage: LeverageOption = 3.0,
    benchmark: BenchmarkOption = "BTC",
    bar_label: BarLabelOption = "open",
    interval: IntervalOption = None,
    metric: MetricOption = None,
    train_fraction: TrainOption = None,
    walk_forward: FoldsOption = None,
    workers: WorkersOption = None,
    ray_address: RayOption = None,
    out: OutOption = None,
    overwrite: OverwriteOption = False,
    band: BandOption = None,
    config_file: ConfigFileOption = None,
) -> None:
    """Backtest an oracle on historical bars through the live PortfolioManager and the paper venue.

    Every option is checked before anything runs; a bad value is an error naming the option."""
    from defipm.config import load_settings

    try:
        search_opts = _search_options(grid, dict(schedules=schedules, metric=metric, train_fraction=train_fraction,
                                                 walk_forward=walk_forward, workers=workers, ray_address=ray_address))  # fmt: skip
        settings = load_settings(config_file) if config_file is not None else None
        kind, params = _oracle_and_params(oracle, param, settings)
        factory = RegistryOracleFactory(kind, params)
        with _naming_options():
            config = BacktestConfig(
                initial_cash=cash, mode=mode, max_leverage=max_leverage, schedule=schedule,
                costs=CostModel(taker_fee=fee, slippage_bps=slippage_bps, impact=impact, volume_floor=volume_floor,
                                funding_rate=funding, min_notional=min_notional),
                start=utc_datetime(start, "--start"), end=utc_datetime(end, "--end"), benchmark=_benchmark(benchmark),
                benchmark_bar_label=_bar_label(bar_label), **_trade_settings(settings, band),
            )  # fmt: skip
        folder = report_folder(out, overwrite=overwrite, prefix="search" if grid else "backtest")  # before the run
        panel = _load_panel(data, symbols, bar_label, interval)
        if grid:
            _run_search(panel, factory, _grid(grid), config, search_opts, folder)
            return
        _report(_run_one(panel, factory, config, params, kind), folder)
    except DefipmError as exc:
        raise fail(exc) from None


def _report(result: BacktestResult, folder: Path) -> None:
    """The summary on screen first (a failed write then loses nothing), then the report files."""
    console.print(summary_table(result))
    html = _write(write_html, result, folder / "report.html")
    summary = _write(write_json, result, folder / "summary.json")
    console.print(f"report: {html}\nsummary: {summary}")


def _load_panel(data: Path, symbols: str | None, bar_label: str, interval: str | None) -> PricePanel:
    from defipm.data.cache import load_prices

    bar_interval = parse_duration(interval, "--interval") if interval is not None else None
    return load_prices(data, _symbol_list(symbols), bar_label=_bar_label(bar_label), interval=bar_interval)


def _oracle_and_params(
    oracle: str | None, param: list[str] | None, settings: Settings | None
) -> tuple[str, dict[str, Any]]:
    """The oracle kind and its params: the options', over the trade config's (without one: equal weight)."""
    params = {k: _parse_value(v, f"--param {k}") for k, v in _pairs(param, "--param").items()}
    if oracle is not None:
        return oracle, params
    if settings is None:
        return "equal_weight", params
    return settings.oracle.kind, {**settings.oracle.params, **params}


def _trade_settings(settings: Settings | None, band: float | None) -> dict[str, Any]:
    """The planner and risk limits replayed: the trade config's (``--band`` over its no-trade band)."""
    from defipm.core.risk import RiskLimits

    planner = settings.planner.config() if settings is not None else PlannerConfig()
    if band is not None:
        planner = dataclasses.replace(planner, no_trade_band=band)
    return {"planner": planner, "risk": settings.risk.limits() if settings is not None else RiskLimits()}


def _benchmark(text: str) -> str | None:
    return None if text.strip().lower() == "none" else text


def _run_one(
    panel: PricePanel, factory: RegistryOracleFactory, config: BacktestConfig, params: dict[str, Any], kind: str,
) -> BacktestResult:  # fmt: skip
    """One replay with a progress bar."""
    with _progress() as bar:
        task = bar.add_task(f"backtest {kind}", total=len(panel))
        result = run_backtest(
            panel, factory, config, params=params, progress=lambda d, n: bar.update(task, completed=d, total=n)
        )
    return result


def _write(writer: Callable[[Any, Path], Path], what: Any, target: Path) -> Path:
    """Write a report file; an unwritable ``--out`` is an error naming it."""
    try:
        return writer(what, target)
    except OSError as exc:
        raise ConfigError(f"--out: cannot write {target}: {exc.strerror or exc}") from None


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=console, transient=True,
    )  # fmt: skip


def _run_search(
    panel: PricePanel,
    factory: RegistryOracleFactory,
    space: dict[str, list[Any]],
    config: BacktestConfig,
    opts: dict[str, Any],
    out: Path,
) -> None:
    metric = opts["metric"]
    with _progress() as bar:
        task = bar.add_task("grid search (training runs)", total=None)
        result = search(
            panel,
            factory,
            space,
            schedules=[s.strip() for s in opts["schedules"].split(",") if s.strip()],
            config=config,
            metric=metric,
            train_fraction=opts["train_fraction"],
            walk_forward=opts["walk_forward"],
            workers=opts["workers"],
            ray_address=opts["ray_address"],
            progress=lambda d, n: bar.update(task, completed=d, total=n),
        )
    table = Table(title=f"grid search, picked on training data by {metric}")
    for col in ("fold", "train", "test", "chosen", f"in-sample {metric}", f"out-of-sample {metric}", "OOS return"):
        table.add_column(col)
    for k, f in enumerate(result.folds, 1):
        oos = f.out_of_sample
        table.add_row(
            str(k),
            f"{f.train[0]:%Y-%m-%d}..{f.train[1]:%Y-%m-%d}",
            f"{f.test[0]:%Y-%m-%d}..{f.test[1]:%Y-%m-%d}",
            f.chosen.label(),
            f"{f.in_sample.get(metric)}"[:8],
            f"{oos.get(metric, oos.get('error'))}"[:8],
            f"{oos.get('total_return', float('nan')):.2%}" if "total_return" in oos else "n/a",
        )
    console.print(table)
    target = out / "search.json"
    _write(lambda r, t: _write_text(t, json.dumps(finite_json(r.to_dict()), indent=2, allow_nan=False)), result, target)
    console.print(f"search results: {target}")


def _write_text(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
