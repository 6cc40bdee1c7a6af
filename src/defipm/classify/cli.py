"""``defipm classify``: screen a folder of OHLCV files at one time and show, save and chart the answer.

    defipm classify --data ../shared/data/prices/daily_wide --at 2024-06-01 -p top_n=30 -p include_meme=true

Prints the ranked table (kept tokens, then the excluded ones with the rule that excluded them and the numbers
that decided it), writes it as CSV or Parquet and a Plotly chart (ranked returns, volume, trend) to ``--out``.
"""

from __future__ import annotations

import json
import warnings
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from defipm.classify.config import ScreenConfig, parse_config
from defipm.classify.result import Classification
from defipm.cli_errors import CliConsole, err_console, fail
from defipm.config_schema import utc_datetime
from defipm.core.errors import ConfigError, DefipmError

console = CliConsole()
PARAM_HELP = f"Screen setting KEY=VALUE (JSON value), KEY one of: {', '.join(ScreenConfig.model_fields)}."


def classify(
    data: Annotated[Path, typer.Option(help="Folder of <SYMBOL>.csv/.parquet OHLCV files (and symbols.csv).")],
    at: Annotated[
        str | None, typer.Option(help="Classify with the bars closed by this time (ISO, UTC); default: the last bar.")
    ] = None,
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help=PARAM_HELP)] = None,
    out: Annotated[Path, typer.Option(help="Folder for the table and the chart.")] = Path("reports/classify"),
    fmt: Annotated[str, typer.Option("--format", help="Table file format: csv or parquet.")] = "csv",
    bar_label: Annotated[str, typer.Option(help="What a file's time means: open (daily dates) or close.")] = "open",
    limit: Annotated[int, typer.Option(min=0, help="Excluded tokens to print (all are in the file).")] = 30,
) -> None:
    """Classify the tokens of a data folder at one time: kept, or excluded with the first rule they fail."""
    try:
        config = parse_config(ScreenConfig, _params(param), "--param")
        when = utc_datetime(at, "--at")
        if fmt not in ("csv", "parquet"):
            raise ConfigError(f"--format {fmt!r}: use csv or parquet")
        if bar_label not in ("open", "close"):
            raise ConfigError(f"--bar-label {bar_label!r}: use open or close")
        _writable(out)
        result, remarks = _run(data, when, config, bar_label)
    except DefipmError as exc:
        raise fail(exc) from None
    for remark in remarks:
        err_console.print(f"[yellow]warning:[/] {escape(remark)}", highlight=False, soft_wrap=True)
    console.print(_table(result, limit))
    console.print(_means_line(result), highlight=False)
    from defipm.classify.chart import write_chart

    stem = f"classification-{result.at:%Y%m%dT%H%M}"
    table_path = result.write(out / f"{stem}.{fmt}")
    chart_path = write_chart(result, out / f"{stem}.html")
    console.print(f"table: {table_path}\nchart: {chart_path}", highlight=False, soft_wrap=True)


def _params(items: list[str] | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value.strip()
    return out


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / ".defipm-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(f"--out {folder}: cannot write there ({exc.strerror or exc}); pick another folder") from None


def _run(data: Path, when: datetime | None, config: ScreenConfig, bar_label: str) -> tuple[Classification, list[str]]:
    """Load, point the view at ``when``, classify; returns the answer and every warning (loader, tag table)."""
    from defipm.classify.screen import Classifier
    from defipm.data.cache import load_prices
    from defipm.data.contracts import read_contracts
    from defipm.data.view import MarketView

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = load_prices(data, bar_label=bar_label)  # type: ignore[arg-type]
    remarks = [str(w.message) for w in caught]
    index = len(panel) - 1 if when is None else panel.index_at_or_before(when)
    if index < 0:
        raise ConfigError(
            f"--at {when:%Y-%m-%d %H:%M}: before the data's first bar close ({panel.start:%Y-%m-%d %H:%M})"
        )
    if when is not None and when > panel.end:
        remarks.append(
            f"--at {when:%Y-%m-%d %H:%M} is after the last bar ({panel.end:%Y-%m-%d %H:%M}): using the last bar"
        )
    view = MarketView(panel, index)
    classifier = Classifier(view, config, contracts=read_contracts(data))
    try:
        result = classifier.classify()  # the bars closed by --at: the view's clock is the last of them
    finally:
        classifier.close()
    return result, remarks + classifier.warnings


def _table(result: Classification, limit: int) -> Table:
    sortino = result.config.sortino_threshold is not None
    table = Table(title=result.summary())
    numeric = ("rank", "return", "trend", "volume/day", "sortino")
    for col in (
        "rank",
        "symbol",
        "return",
        "trend",
        "volume/day",
        *(("sortino",) if sortino else ()),
        "verdict",
        "why",
    ):
        table.add_column(col, justify="right" if col in numeric else "left", no_wrap=col != "why")
    shown = 0
    for row in result.rows():
        if not row["kept"]:
            if shown >= limit:
                continue
            shown += 1
        rank = row["rank"]
        cells = [
            "" if rank is None else str(rank),
            escape(row["symbol"]),
            _pct(row["return"]),
            _pct(row["trend"]),
            _num(row["volume"], "{:,.0f}"),
            *((_num(row["sortino"], "{:.2f}"),) if sortino else ()),
            "[green]kept[/]" if row["kept"] else f"[red]{row['reason']}[/]",
            escape(result.explain(row)),
        ]
        table.add_row(*cells)
    hidden = int((~result.table["kept"]).sum()) - shown
    if hidden > 0:
        table.caption = f"{hidden} more excluded token(s) in the table file (--limit to print more)"
    return table


def _means_line(result: Classification) -> str:
    m = result.means
    return (
        f"candidates (enough history, category allowed): {result.candidates}; mean return {_pct(m['return'])}, "
        f"mean volume/day {_num(m['volume'], '{:,.0f}')}, mean Sortino {_num(m['sortino'], '{:.2f}')}"
    )


def _pct(value: Any) -> str:
    return _num(value, "{:+.1%}")


def _num(value: Any, pattern: str) -> str:
    if value is None or value != value:
        return "-"
    return pattern.format(float(value))
