"""``defipm backtest``: replay an oracle on a folder of OHLCV files, or grid-search its parameters.

The lead's CLI mounts the ``backtest`` function below as ``defipm backtest``. Oracles are found by name in the
registry (built-ins and entry points); an oracle whose constructor takes ``market`` gets the point-in-time view.

    defipm backtest --data ../shared/data/prices/daily --oracle momentum -p lookback=30 -p n_long=3 -p n_short=3
    defipm backtest --data ... --oracle momentum --grid lookback=10,30,90 --schedules 24h,48h,168h --walk-forward 3
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from defipm.backtest.config import BacktestConfig, CostModel, FieldError, bounded
from defipm.backtest.engine import BacktestResult, run_backtest
from defipm.backtest.exports import check_tearsheet
from defipm.backtest.output import report_folder
from defipm.backtest.report import finite_json, run_story, summary_table, write_report
from defipm.backtest.search import (
    HIGHER_IS_BETTER,
    LOWER_IS_BETTER,
    SearchInterrupted,
    SearchResult,
    grid,
    search,
)
from defipm.backtest.search_report import write_search_html
from defipm.cli_errors import CliConsole, err_console, fail, print_error
from defipm.cli_output import print_json
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

console = CliConsole()


FIELD_OPTIONS = {
    "initial_cash": "--cash", "mode": "--mode", "max_leverage": "--max-leverage", "costs.taker_fee": "--fee",
    "costs.slippage_bps": "--slippage-bps", "costs.impact": "--impact", "costs.volume_floor": "--volume-floor",
    "costs.max_slippage_bps": "--max-slippage-bps", "costs.max_participation": "--max-participation",
    "costs.participation_floor": "--participation-floor", "costs.funding_rate": "--funding", "costs.min_notional": "--min-notional", "schedule": "--schedule",
    "start": "--start", "end": "--end", "benchmark": "--benchmark", "benchmark_bar_label": "--bar-label",
    "planner.no_trade_band": "--band",
}  # fmt: skip
"""Backtest settings -> the option that sets them (the others come from ``--config``)."""
SEARCH_DEFAULTS: dict[str, Any] = {"schedules": "24h,48h,168h", "metric": "sharpe", "train_fraction": 0.66}


@contextmanager
def _naming_options(from_config: dict[str, str] | None = None) -> Iterator[None]:
    """Turn a setting's ``FieldError`` into an error that names the option the user typed, or the config key
    (``from_config``: setting -> key) that set it."""
    try:
        yield
    except FieldError as exc:
        source = (from_config or {}).get(exc.field) or FIELD_OPTIONS.get(exc.field, "--config")
        raise ConfigError(f"{source}: {exc}") from None


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


VENUE_OPTION_DEFAULTS: dict[str, Any] = {
    "cash": 10_000.0, "mode": "perp", "fee": 0.00045, "max_leverage": 3.0, "slippage_bps": 0.0, "impact": 0.0,
    "volume_floor": 1.0,
}  # fmt: skip
"""The account and cost options of a backtest, with their defaults when neither they nor a config set them."""
PAPER_PARAM_OPTIONS = {
    "initial_cash": "cash", "mode": "mode", "taker_fee": "fee", "max_leverage": "max_leverage",
    "slippage.fixed_bps": "slippage_bps", "slippage.impact": "impact", "slippage.volume_floor": "volume_floor",
}  # fmt: skip
"""A trade config's paper-venue params a backtest replays -> the option that overrides each."""
PAPER_PARAMS_WITHOUT_EFFECT = {"seed", "account", "max_price_age"}
"""Paper params that cannot change a replay's fills (a name, live prices' age, the seed of noise not replayed)."""


def _flat_params(params: dict[str, Any]) -> dict[str, Any]:
    """A paper venue's params with the slippage table's keys dotted (``slippage.impact``), as the config gave them."""
    out = {k: v for k, v in params.items() if k != "slippage" or not isinstance(v, dict)}
    if isinstance(params.get("slippage"), dict):
        out.update({f"slippage.{k}": v for k, v in params["slippage"].items()})
    return out


def venue_options(settings: Any, given: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The backtest's account and cost options: each as given on the command line, else as a ``--config`` paper
    venue's params set it (the simulator the backtest runs), else its default. Of another venue only whether it
    takes shorts is replayed (spot mode without). A paper param that would change the fills but that a backtest
    does not replay is refused, naming it: never silently dropped. Returns (options, the backtest settings the
    config set -> ``--config venue.params.<key>``, for errors to name where a value came from)."""
    from defipm.registry import venue_spec

    out = {k: VENUE_OPTION_DEFAULTS[k] if v is None else v for k, v in given.items()}
    if settings is None:
        return out, {}
    kind, params = settings.venue.kind, settings.venue.params
    if kind != "paper":
        if given["mode"] is None:
            try:
                shorts = venue_spec(kind, params).cls.allows_shorts
            except ConfigError as exc:
                raise ConfigError(
                    f"--config: {exc} (a backtest reads from the venue only whether it takes shorts: --mode perp or "
                    "--mode spot says it instead)"
                ) from None
            out["mode"] = "perp" if shorts else "spot"
        return out, {}
    checked = venue_spec(kind, params).config  # checked as a run would check them
    flat = _flat_params(params)
    sources: dict[str, str] = {}
    unreplayed = sorted(set(flat) - set(PAPER_PARAM_OPTIONS) - PAPER_PARAMS_WITHOUT_EFFECT)
    if unreplayed:
        them = "it" if len(unreplayed) == 1 else "them"
        raise ConfigError(
            f"--config: venue.params {', '.join(unreplayed)}: a backtest does not replay {them} (it replays "
            f"{', '.join(PAPER_PARAM_OPTIONS)}); remove {them} from the config for the backtest"
        )
    for param, option in PAPER_PARAM_OPTIONS.items():
        if given[option] is None and param in flat:
            value: Any = checked
            for part in param.split("."):
                value = getattr(value, part)
            out[option] = value if isinstance(value, str) else float(value)
            field = next(f for f, o in FIELD_OPTIONS.items() if o == "--" + option.replace("_", "-"))
            sources[field] = f"--config venue.params.{param}"
    return out, sources


def _oracle_choice(
    settings: Any, oracle: str | None, params: dict[str, Any], data: Path | None = None
) -> tuple[str, dict[str, Any]]:
    """The oracle kind and params: ``--oracle`` and ``-p`` over a ``--config`` oracle's. The config's params are
    used when its kind is the one replayed; another ``--oracle`` replaces them, and a note names what it replaced.
    A config's ``[market]`` feeds paper trading only (a backtest reads ``--data``): a note says so when it is set
    to something other than ``--data``'s folder. Notes go to stderr (stdout holds only the ``--json`` document)."""
    if settings is None:
        return oracle or "equal_weight", params
    if settings.market != type(settings.market)() and not _same_folder(settings.market.path, data):
        err_console.print(f"[yellow]note:[/] --config \\[market] (source = {settings.market.source!r}) is not used: a "
                      "backtest reads its prices from --data")  # fmt: skip
    if oracle is None or oracle == settings.oracle.kind:
        return settings.oracle.kind, {**settings.oracle.params, **params}
    if settings.oracle.params:
        names = ", ".join(sorted(settings.oracle.params))
        err_console.print(f"[yellow]note:[/] --oracle {escape(oracle)} replaces the config's oracle "
                      f"{escape(settings.oracle.kind)!r}; its params ({escape(names)}) are not used")  # fmt: skip
    return oracle, params


def _same_folder(path: Path | None, data: Path | None) -> bool:
    """Whether the config's ``[market] path`` is ``--data``'s folder (then the note would only confuse)."""
    if path is None or data is None:
        return False
    return Path(path).expanduser().resolve() == Path(data).expanduser().resolve()


class RegistryOracleFactory:
    """Builds oracle ``kind`` with fixed ``params`` plus grid params; picklable, so search workers can use it.
    ``sources``: where the user set (or would set) a param, by name, when the config did not (``-p max_gross=...``;
    grid params are ``--grid NAME=...``), so a rejected target names what to edit. ``given_in``: the file each
    param came from when a config gave it (the others came from ``-p``), so a bad one names where to fix it."""

    def __init__(
        self,
        kind: str,
        params: dict[str, Any],
        sources: dict[str, str] | None = None,
        given_in: dict[str, str] | None = None,
    ) -> None:
        from defipm.registry import available_oracles

        registry = available_oracles()
        if kind not in registry:
            raise ConfigError(f"--oracle: unknown kind {kind!r} (available: {', '.join(sorted(registry))})")
        self.kind, self.target, self.params = kind, registry[kind], params
        self.sources = dict(sources or {})
        self.given_in = dict(given_in or {})

    def check(
        self, grid_params: dict[str, Any] | None = None, source: str = "--param", cls: type[Oracle] | None = None
    ) -> None:
        """Validate the fixed params with ``grid_params`` against the oracle's config model (of ``cls``, the
        oracle's class when already looked up), building nothing (``ConfigError`` prefixed by ``source``, the
        option that gave the params)."""
        from defipm.registry import oracle_spec

        try:
            oracle_spec(self.kind, {**self.params, **(grid_params or {})}, cls)
        except ConfigError as exc:
            if source == "--param":  # the fixed params: from -p, or a config file, whichever gave the bad ones
                origins = {self.given_in.get(k, "--param") for k in re.findall(r"oracle\.params\.(\w+)", str(exc))}
                source = origins.pop() if len(origins) == 1 else source
            raise ConfigError(f"{source}: {exc}") from None

    def check_grid(self, space: dict[str, list[Any]]) -> None:
        """Every point of ``space`` validated before any replay: each value alone first (beside the first point's
        other values), so the error names the parameter and its value, then every whole point."""
        from defipm.registry import oracle_class

        cls, points = oracle_class(self.kind), grid(space)
        for key, values in space.items():
            for value in values:
                self.check({**points[0], key: value}, f"--grid {key}={_shown(value)}", cls)
        for point in points:
            self.check(point, "--grid " + ", ".join(f"{k}={_shown(v)}" for k, v in point.items()), cls)

    def __call__(self, view: MarketView, **grid_params: Any) -> Oracle:
        from defipm.registry import BuildContext, build_oracle

        sources = {**self.sources, **{name: f"--grid {name}=..." for name in grid_params}}
        try:
            return build_oracle(self.kind, {**self.params, **grid_params}, BuildContext(market=view), sources)
        except TypeError as exc:
            raise ConfigError(f"oracle {self.kind!r}: {exc}") from None


def _shown(value: Any) -> str:
    """A grid value as the user typed it (JSON)."""
    return json.dumps(value) if not isinstance(value, str) else value


def _bar_label(text: str) -> BarLabel:
    if text not in ("open", "close"):
        raise ConfigError(f"--bar-label {text!r}: use 'open' (times are bar opens, as Yahoo's) or 'close'")
    return text  # type: ignore[return-value]


DataOption = Annotated[
    Path | None,
    typer.Option(
        help="Folder of <SYMBOL>.csv/.parquet OHLCV files (and funding/); default: the --config's market.path "
        '(with source = "csv").'
    ),
]
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
ModeOption = Annotated[
    str | None, typer.Option(help="perp (long/short) or spot (long only) [perp; a --config venue's].")
]
CashOption = Annotated[float | None, typer.Option(help="Initial cash in quote currency [10000].")]
FeeOption = Annotated[float | None, typer.Option(help="Taker fee as a fraction (0.00045 = 4.5 bps) [0.00045].")]
SlippageOption = Annotated[float | None, typer.Option(help="Fixed slippage in bps [0].")]
ImpactOption = Annotated[float | None, typer.Option(help="Square-root impact coefficient vs bar volume [0].")]
VolumeFloorOption = Annotated[float | None, typer.Option(help="Smallest bar volume used for impact [1].")]
MaxSlippageOption = Annotated[float, typer.Option(help="Cap on a fill's adverse move, in bps.")]
ParticipationOption = Annotated[
    float | None, typer.Option(help="Largest share of a bar's dollar volume an order takes (partial fill).")
]
ParticipationFloorOption = Annotated[
    float, typer.Option(help="Smallest bar dollar volume the participation cap assumes.")
]
FundingOption = Annotated[
    float, typer.Option(help="Funding per day as a fraction of notional (longs pay), on top of funding/ files.")
]
MinNotionalOption = Annotated[float, typer.Option(help="Minimum order value.")]
LeverageOption = Annotated[float | None, typer.Option(help="Perp margin cap [3].")]
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
    typer.Option(
        help="Folder for report.html, summary.json and the exports (CSV, Parquet); search.html (default: a new "
        "reports/backtest-<UTC time>)."
    ),
]
OverwriteOption = Annotated[bool, typer.Option(help="Replace a report already in --out.")]
TearsheetOption = Annotated[
    bool, typer.Option(help="Also write quantstats' tearsheet.html (against the run's own benchmark, offline).")
]
BandOption = Annotated[
    float | None, typer.Option(help="No-trade band as a share of equity (default: the config's, or 0).")
]
ConfigFileOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Trade config (defipm.toml): its oracle, risk limits, planner and paper venue are replayed.",
    ),
]


def backtest(
    data: DataOption = None,
    oracle: OracleOption = None,
    param: ParamOption = None,
    grid: GridOption = None,
    symbols: SymbolsOption = None,
    schedule: ScheduleOption = "24h",
    schedules: SchedulesOption = None,
    start: StartOption = None,
    end: EndOption = None,
    mode: ModeOption = None,
    cash: CashOption = None,
    fee: FeeOption = None,
    slippage_bps: SlippageOption = None,
    impact: ImpactOption = None,
    volume_floor: VolumeFloorOption = None,
    max_slippage_bps: MaxSlippageOption = 1000.0,
    max_participation: ParticipationOption = None,
    participation_floor: ParticipationFloorOption = 0.0,
    funding: FundingOption = 0.0,
    min_notional: MinNotionalOption = 0.0,
    max_leverage: LeverageOption = None,
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
    tearsheet: TearsheetOption = False,
    json_output: Annotated[bool, typer.Option("--json", help="Print the summary as JSON on stdout.")] = False,
) -> None:
    """Backtest an oracle on historical bars through the live PortfolioManager and the paper venue.

    Every option is checked before anything runs; a bad value is an error naming the option."""
    try:
        search_opts = _search_options(grid, dict(schedules=schedules, metric=metric, train_fraction=train_fraction,
                                                 walk_forward=walk_forward, workers=workers, ray_address=ray_address))  # fmt: skip
        settings, data, factory, space = _inputs(config_file, data, oracle, param, grid)
        venue = venue_options(settings, dict(cash=cash, mode=mode, fee=fee, max_leverage=max_leverage,
                                             slippage_bps=slippage_bps, impact=impact, volume_floor=volume_floor))  # fmt: skip
        fills = dict(max_slippage_bps=max_slippage_bps, max_participation=max_participation, participation_floor=participation_floor)  # fmt: skip
        config = _config(venue, _trade_settings(settings, band), fills, schedule=schedule, funding=funding,
                         min_notional=min_notional, start=start, end=end, benchmark=benchmark, bar_label=bar_label)  # fmt: skip
        folder = report_folder(out, overwrite=overwrite, prefix="search" if grid else "backtest")  # before the run
        panel = _load_panel(data, symbols, bar_label, interval)
        if space:
            _run_search(panel, factory, space, config, search_opts, folder, json_output)
            return
        _report(_run_one(panel, factory, config, tearsheet), folder, panel, tearsheet, json_output)
    except DefipmError as exc:
        raise fail(exc) from None
    except KeyboardInterrupt:  # before the search's own handling (loading, starting workers): still said
        raise _interrupted(bool(grid)) from None


def _interrupted(grid: bool) -> typer.Exit:
    """Say a Ctrl-C that came before the search's own handling stopped the command; the exit to raise (130)."""
    err_console.print("[bold yellow]interrupted[/]" + (": 0 trial(s) had finished" if grid else ""))
    return typer.Exit(code=EXIT_INTERRUPTED)


def _inputs(
    config_file: Path | None, data: Path | None, oracle: str | None, param: list[str] | None, grid: list[str] | None
) -> tuple[Settings | None, Path, RegistryOracleFactory, dict[str, list[Any]]]:
    """The trade config (if any), the data folder, the oracle replayed and the grid, every one checked before
    anything runs (the grid's points against the oracle's config model)."""
    from defipm.config import load_settings  # (slow to import: a Ctrl-C during it is an interrupt like others)

    settings = load_settings(config_file) if config_file is not None else None
    folder = _data_folder(data, settings)
    factory = _oracle_factory(settings, oracle, param, folder)
    space = _grid(grid) if grid else {}
    factory.check_grid(space) if space else factory.check()
    return settings, folder, factory, space


def _data_folder(data: Path | None, settings: Settings | None) -> Path:
    """``--data``, else the ``--config``'s ``[market] path`` (source = "csv"); neither is an error naming both."""
    if data is not None:
        return data
    if settings is not None and settings.market.source == "csv" and settings.market.path is not None:
        return Path(settings.market.path)
    raise ConfigError(
        "--data: no price folder; give --data FOLDER (of <SYMBOL>.csv/.parquet files) or a --config whose [market] "
        'has source = "csv" and path = FOLDER'
    )


def _oracle_factory(
    settings: Any, oracle: str | None, param: list[str] | None, data: Path | None = None
) -> RegistryOracleFactory:
    """The oracle replayed: its kind and params from ``--oracle``/``-p`` over the config's (``_oracle_choice``)."""
    from defipm.registry import LIMIT_PARAMS

    params = {k: _parse_value(v, f"--param {k}") for k, v in _pairs(param, "--param").items()}
    kind, chosen = _oracle_choice(settings, oracle, params, data)
    from_config = set(chosen) - set(params)  # the others are set (or settable) with -p
    names = {name for names in LIMIT_PARAMS.values() for name in names} - from_config
    given_in = {name: settings.source for name in from_config} if settings is not None else {}
    return RegistryOracleFactory(kind, chosen, {name: f"-p {name}=..." for name in names}, given_in)


def _report(result: BacktestResult, folder: Path, panel: PricePanel, tearsheet: bool, json_output: bool) -> None:
    """The summary first (a table, or JSON on stdout with ``json_output``), so a failed write loses nothing, then
    the report files."""
    html, summary = folder / "report.html", folder / "summary.json"
    if json_output:
        print_json({"summary": finite_json(result.summary().to_dict()), "report": str(html), "file": str(summary)})
    else:
        console.print(summary_table(result))
        for line in run_story(result):
            console.print(f"  {escape(line)}", highlight=False, soft_wrap=True)
    _write(lambda r, t: write_report(r, t, panel, tearsheet), result, folder)
    if not json_output:
        console.print(f"report: {html}\nsummary: {summary}")


def _config(
    venue: tuple[dict[str, Any], dict[str, str]],
    trade: dict[str, Any],
    fills: dict[str, Any],
    *,
    schedule: str,
    funding: float,
    min_notional: float,
    start: str | None,
    end: str | None,
    benchmark: str,
    bar_label: str,
) -> BacktestConfig:
    """The replay's settings from the account and cost options (``venue_options``: values and where the config set
    them, for errors to name), the trade config's planner and risk limits, the fill caps (``max_slippage_bps``,
    ``max_participation``, ``participation_floor``) and the other options."""
    options, from_config = venue
    with _naming_options(from_config):
        return BacktestConfig(
            initial_cash=options["cash"], mode=options["mode"], max_leverage=options["max_leverage"], schedule=schedule,
            costs=CostModel(taker_fee=options["fee"], slippage_bps=options["slippage_bps"], impact=options["impact"],
                            volume_floor=options["volume_floor"], funding_rate=funding, min_notional=min_notional,
                            **fills),
            start=utc_datetime(start, "--start"), end=utc_datetime(end, "--end"), benchmark=_benchmark(benchmark),
            benchmark_bar_label=_bar_label(bar_label), **trade,
        )  # fmt: skip


def _load_panel(data: Path, symbols: str | None, bar_label: str, interval: str | None) -> PricePanel:
    from defipm.data.cache import load_prices

    bar_interval = parse_duration(interval, "--interval") if interval is not None else None
    return load_prices(data, _symbol_list(symbols), bar_label=_bar_label(bar_label), interval=bar_interval)


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
    panel: PricePanel, factory: RegistryOracleFactory, config: BacktestConfig, tearsheet: bool = False,
) -> BacktestResult:  # fmt: skip
    """One replay with a progress bar. A missing ``--tearsheet`` library is named before the replay runs."""
    if tearsheet:
        check_tearsheet()
    with _progress() as bar:
        task = bar.add_task(f"backtest {factory.kind}", total=len(panel))
        result = run_backtest(
            panel, factory, config, params=factory.params, progress=lambda d, n: bar.update(task, completed=d, total=n)
        )
    return result


def _write(writer: Callable[[Any, Path], Any], what: Any, target: Path) -> Any:
    """Write a report file; an unwritable ``--out`` is an error naming it."""
    try:
        return writer(what, target)
    except OSError as exc:
        raise ConfigError(f"--out: cannot write {target}: {exc.strerror or exc}") from None


def _progress() -> Progress:
    from defipm.cli_output import progress_bar

    return progress_bar(err_console)  # type: ignore[no-any-return]


def _run_search(
    panel: PricePanel,
    factory: RegistryOracleFactory,
    space: dict[str, list[Any]],
    config: BacktestConfig,
    opts: dict[str, Any],
    out: Path,
    json_output: bool = False,
) -> None:
    metric = opts["metric"]
    try:
        result = _searched(panel, factory, space, config, opts)
    except KeyboardInterrupt as stopped:  # SearchInterrupted, or Ctrl-C before the first trial was sent
        finished = stopped if isinstance(stopped, SearchInterrupted) else SearchInterrupted([])
        _show_interrupted(finished, metric, out, json_output)
        raise typer.Exit(code=EXIT_INTERRUPTED) from None
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
            _figure(f.in_sample.get(metric)),
            _figure(oos.get(metric, oos.get("error"))),
            f"{oos.get('total_return', float('nan')):.2%}" if "total_return" in oos else "n/a",
        )
    target = out / "search.json"
    _write(lambda r, t: _write_text(t, json.dumps(finite_json(r.to_dict()), indent=2, allow_nan=False)), result, target)
    html = _write(lambda r, t: write_search_html(r, t, factory.kind), result, out / "search.html")
    if json_output:
        print_json(finite_json(result.to_dict()) | {"file": str(target), "report": str(html)})
        return
    console.print(table)
    console.print(f"search results: {target}\nsearch report: {html}")


def _figure(value: Any) -> str:
    """A metric in a table: 4 significant digits, ``-`` when undefined (never ``None``), an error in full."""
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float | int) else str(value)


EXIT_INTERRUPTED = 130
"""The shell's code for a command stopped by Ctrl-C (128 + SIGINT)."""


def _searched(
    panel: PricePanel,
    factory: RegistryOracleFactory,
    space: dict[str, list[Any]],
    config: BacktestConfig,
    opts: dict[str, Any],
) -> SearchResult:
    """The search with a progress bar (trials done of all, time left)."""
    with _progress() as bar:
        task = bar.add_task("grid search (training runs)", total=None)
        return search(
            panel,
            factory,
            space,
            schedules=[s.strip() for s in opts["schedules"].split(",") if s.strip()],
            config=config,
            metric=opts["metric"],
            train_fraction=opts["train_fraction"],
            walk_forward=opts["walk_forward"],
            workers=opts["workers"],
            ray_address=opts["ray_address"],
            progress=lambda d, n: bar.update(task, completed=d, total=n),
            test_every_point=True,
        )  # fmt: skip


def _show_interrupted(stopped: SearchInterrupted, metric: str, out: Path, json_output: bool = False) -> None:
    """Ctrl-C: say so, print the trials that finished, and keep them in ``OUT/search-interrupted.json`` (all on
    stderr with ``json_output``: stdout holds only JSON)."""
    shown = err_console if json_output else console
    err_console.print(f"[bold yellow]interrupted[/]: {len(stopped.finished)} trial(s) had finished")
    table = Table(title=f"finished trials ({metric})")
    for col in ("part", "params", "schedule", metric, "total return", "error"):
        table.add_column(col)
    for row in stopped.finished:
        table.add_row(
            row["part"],
            ", ".join(f"{k}={v}" for k, v in row["params"].items()),
            row["schedule"],
            _figure(row.get(metric)),
            f"{row['total_return']:.2%}" if isinstance(row.get("total_return"), float) else "-",
            str(row.get("error", "")),
        )
    shown.print(table)
    target = out / "search-interrupted.json"
    try:
        _write_text(target, json.dumps(finite_json(stopped.finished), indent=2, allow_nan=False, default=str))
    except OSError as exc:
        print_error(f"{target}: cannot write the finished trials ({exc.strerror or exc})")
        return
    shown.print(f"finished trials: {target}")


def _write_text(target: Path, text: str) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target
