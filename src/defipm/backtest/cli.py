"""``defipm backtest``: replay an oracle on a folder of OHLCV files, or grid-search its parameters.

The lead's CLI mounts the ``backtest`` function below as ``defipm backtest``. Oracles are found by name in the
registry (built-ins and entry points); an oracle whose constructor takes ``market`` gets the point-in-time view.

    defipm backtest --data ../shared/data/prices/daily --oracle momentum -p lookback=30 -p n_long=3 -p n_short=3
    defipm backtest --data ... --oracle momentum --grid lookback=10,30,90 --schedules 24h,48h,168h --walk-forward 3
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from defipm.backtest.config import BacktestConfig, CostModel
from defipm.backtest.engine import run_backtest
from defipm.backtest.report import summary_table, write_html, write_json
from defipm.backtest.search import search
from defipm.core.errors import ConfigError, DefipmError
from defipm.core.planner import PlannerConfig
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle

console = Console()


def _parse_value(text: str, name: str) -> Any:
    """A JSON value (a duplicated key or NaN refused), else the text itself."""
    from defipm.config_schema import strict_json

    try:
        return strict_json(text)
    except json.JSONDecodeError:
        return text
    except ValueError as exc:
        raise ConfigError(f"{name}: {text!r}: {exc}") from None


def _pairs(items: list[str] | None, what: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {item!r}: expected KEY=VALUE")
        if key.strip() in out:
            raise ConfigError(f"{what} {key.strip()} given twice")
        out[key.strip()] = value.strip()
    return out


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


def _date(text: str | None, option: str) -> datetime | None:
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not an ISO date (YYYY-MM-DD)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def backtest(
    data: Annotated[Path, typer.Option(help="Folder of <SYMBOL>.csv/.parquet OHLCV files.")],
    oracle: Annotated[
        str | None, typer.Option(help="Oracle kind: equal_weight, static, momentum, tbn, ... (default: the config's)")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="Oracle param KEY=VALUE (JSON).")] = None,
    grid: Annotated[list[str] | None, typer.Option(help="Search: KEY=V1,V2,... (JSON values); repeatable.")] = None,
    symbols: Annotated[str | None, typer.Option(help="Comma-separated symbols (default: every file).")] = None,
    schedule: Annotated[str, typer.Option(help="Rebalance: 1bars, 24h, daily@00:00, weekly@mon@00:00.")] = "24h",
    schedules: Annotated[str, typer.Option(help="Search: comma-separated schedules.")] = "24h,48h,168h",
    start: Annotated[str | None, typer.Option(help="First bar (ISO date, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar (ISO date, UTC).")] = None,
    mode: Annotated[str, typer.Option(help="perp (long/short) or spot (long only).")] = "perp",
    cash: Annotated[float, typer.Option(help="Initial cash in quote currency.")] = 10_000.0,
    fee: Annotated[float, typer.Option(help="Taker fee as a fraction (0.00045 = 4.5 bps).")] = 0.00045,
    slippage_bps: Annotated[float, typer.Option(help="Fixed slippage in bps.")] = 0.0,
    impact: Annotated[float, typer.Option(help="Square-root impact coefficient vs bar volume.")] = 0.0,
    volume_floor: Annotated[float, typer.Option(help="Smallest bar volume used for impact.")] = 1.0,
    funding: Annotated[float, typer.Option(help="Funding per day as a fraction of notional (longs pay).")] = 0.0,
    min_notional: Annotated[float, typer.Option(help="Minimum order value.")] = 0.0,
    max_leverage: Annotated[float, typer.Option(help="Perp margin cap.")] = 3.0,
    benchmark: Annotated[str, typer.Option(help="Benchmark symbol or OHLCV file; 'none' for no benchmark.")] = "BTC",
    bar_label: Annotated[str, typer.Option(help="What a file's time means: open (Yahoo) or close.")] = "open",
    metric: Annotated[str, typer.Option(help="Search: metric to maximise on the training part.")] = "sharpe",
    train_fraction: Annotated[float, typer.Option(help="Search: chronological train share.")] = 0.66,
    walk_forward: Annotated[int | None, typer.Option(help="Search: number of walk-forward folds.")] = None,
    workers: Annotated[int | None, typer.Option(min=1, help="Search: local processes (1 = inline).")] = None,
    ray_address: Annotated[str | None, typer.Option(help="Search: Ray cluster address ('local' to start one).")] = None,
    out: Annotated[Path, typer.Option(help="Folder for report.html and summary.json.")] = Path("reports/backtest"),
    band: Annotated[
        float | None, typer.Option(help="No-trade band as a share of equity (default: the config's, or 0).")
    ] = None,
    config_file: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Trade config (defipm.toml): its oracle, risk limits and planner are replayed."
        ),
    ] = None,
) -> None:
    """Backtest an oracle on historical bars through the live PortfolioManager and the paper venue."""
    from defipm.config import load_settings
    from defipm.core.risk import RiskLimits
    from defipm.data.cache import load_prices

    try:
        settings = load_settings(config_file) if config_file is not None else None
        params = {k: _parse_value(v, f"--param {k}") for k, v in _pairs(param, "--param").items()}
        if oracle is None:
            oracle = settings.oracle.kind if settings is not None else "equal_weight"
            if settings is not None:
                params = {**settings.oracle.params, **params}
        planner = settings.planner.config() if settings is not None else PlannerConfig()
        if band is not None:
            planner = dataclasses.replace(planner, no_trade_band=band)
        risk = settings.risk.limits() if settings is not None else RiskLimits()
        factory = RegistryOracleFactory(oracle, params)
        panel = load_prices(data, symbols.split(",") if symbols else None, bar_label=bar_label)  # type: ignore[arg-type]
        config = BacktestConfig(
            initial_cash=cash,
            mode=mode,  # type: ignore[arg-type]
            max_leverage=max_leverage,
            costs=CostModel(
                taker_fee=fee,
                slippage_bps=slippage_bps,
                impact=impact,
                volume_floor=volume_floor,
                funding_rate=funding,
                min_notional=min_notional,
            ),
            schedule=schedule,
            start=_date(start, "--start"),
            end=_date(end, "--end"),
            benchmark=None if benchmark.lower() == "none" else benchmark,
            benchmark_bar_label=bar_label,  # type: ignore[arg-type]
            planner=planner,
            risk=risk,
        )
        if grid:
            space = {
                k: [_parse_value(x, f"--grid {k}") for x in v.split(",")] for k, v in _pairs(grid, "--grid").items()
            }
            _run_search(panel, factory, space, config, schedules, metric, train_fraction, walk_forward, workers,
                        ray_address, out)  # fmt: skip
            return
        with _progress() as bar:
            task = bar.add_task(f"backtest {oracle}", total=len(panel))
            result = run_backtest(
                panel, factory, config, params=params, progress=lambda d, n: bar.update(task, completed=d, total=n)
            )
    except DefipmError as exc:
        console.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    html = write_html(result, out / "report.html")
    summary = write_json(result, out / "summary.json")
    console.print(summary_table(result))
    console.print(f"report: {html}\nsummary: {summary}")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=console, transient=True,
    )  # fmt: skip


def _run_search(panel, factory, space, config, schedules, metric, train_fraction, walk_forward, workers,  # type: ignore[no-untyped-def]
                ray_address, out) -> None:  # fmt: skip
    with _progress() as bar:
        task = bar.add_task("grid search (training runs)", total=None)
        result = search(
            panel,
            factory,
            space,
            schedules=[s.strip() for s in schedules.split(",") if s.strip()],
            config=config,
            metric=metric,
            train_fraction=train_fraction,
            walk_forward=walk_forward,
            workers=workers,
            ray_address=ray_address,
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
    out.mkdir(parents=True, exist_ok=True)
    (out / "search.json").write_text(json.dumps(result.to_dict(), indent=2, default=str))
    console.print(f"search results: {out / 'search.json'}")
