"""The ``defipm numerai`` command group: ``download`` the meta-model history, ``show`` one date's TB-N picks.

The lead's CLI mounts ``app`` with ``app.add_typer(numerai_cli.app, name="numerai")``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from defipm.cli_errors import CliConsole, err_console, fail
from defipm.core.errors import DefipmError
from defipm.data.numerai import MetaModelHistory, NumeraiCryptoSource, check_not_stale, utc_naive
from defipm.oracles.symbols import VENUE_MAPS, SymbolMap
from defipm.oracles.tbn import TBNOracle

app = typer.Typer(help="Numerai Crypto meta-model: download it, show TB-N picks.", no_args_is_help=True)
console = CliConsole(soft_wrap=True)  # paths and hashes stay on one line, copyable

DEFAULT_CACHE = Path(".defipm/cache/numerai")


@app.command()
def download(
    dataset: str = typer.Option(None, help="Numerai dataset name; default: the newest historical meta-model."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE, help="Cache directory."),
    force: bool = typer.Option(False, "--force", help="Ask Numerai even if the cache is fresh."),
    max_age_hours: float = typer.Option(6.0, help="Reuse a cached download checked within this many hours."),
    api_url: str = typer.Option(None, help="Numerai GraphQL endpoint (default: numerapi's)."),
    stale_days: float = typer.Option(3.0, help="Warn when the newest date is older than this many days."),
) -> None:
    """Download (or refresh) the meta-model history into the cache and summarise it."""
    source = NumeraiCryptoSource(cache_dir, dataset, max_age=timedelta(hours=max_age_hours), api_url=api_url)
    try:
        status = source.fetch(force=force)
        history = MetaModelHistory.from_file(status.path)
    except DefipmError as exc:
        raise fail(exc) from None
    what = "downloaded, changed" if status.changed else "downloaded, unchanged" if status.downloaded else "cached"
    console.print(f"{status.dataset}: {what}")
    console.print(f"  file    {status.path}")
    console.print(f"  sha256  {status.sha256}")
    console.print(
        f"  rows    {len(history)}  symbols {len(history.symbols)}  "
        f"dates {history.first_date:%Y-%m-%d} .. {history.last_date:%Y-%m-%d}"
    )
    try:
        check_not_stale(history, datetime.now(UTC), timedelta(days=stale_days))
    except DefipmError as exc:
        err_console.print(f"[yellow]warning:[/yellow] {escape(str(exc))}", highlight=False, soft_wrap=True)


@app.command()
def show(
    date: datetime = typer.Option(None, formats=["%Y-%m-%d"], help="Meta-model date; default: the latest."),
    n: int = typer.Option(5, min=1, help="Longs and shorts each."),
    lags: int = typer.Option(1, min=1, help="Dates averaged."),
    gross: float = typer.Option(1.0, min=0.0, help="Target gross exposure."),
    file: Path = typer.Option(None, exists=True, dir_okay=False, help="Local CSV/Parquet file (no download)."),
    cache_dir: Path = typer.Option(DEFAULT_CACHE, help="Cache directory (when no --file)."),
    dataset: str = typer.Option(None, help="Numerai dataset name (when no --file)."),
    venue: str = typer.Option("generic", help=f"Symbol map: {', '.join(sorted(VENUE_MAPS))}."),
    universe: str = typer.Option(None, help="Comma-separated venue symbols; default: every mapped symbol."),
) -> None:
    """The TB-N picks made from one date's scores (as traded from the next day, 00:00 UTC)."""
    try:
        history = (
            MetaModelHistory.from_file(file) if file is not None else NumeraiCryptoSource(cache_dir, dataset).load()
        )
        day = utc_naive(date) if date is not None else history.last_date
        if day not in history.dates:
            raise DefipmError(
                f"no rows dated {day:%Y-%m-%d} (data covers {history.first_date:%Y-%m-%d} .. "
                f"{history.last_date:%Y-%m-%d})"
            )
        symbol_map = SymbolMap.for_venue(venue)
        oracle = TBNOracle(n, lags, gross, history=history, symbol_map=symbol_map, max_staleness=None)
        members = (
            [s.strip() for s in universe.split(",") if s.strip()]
            if universe
            else sorted(set(symbol_map.translate(history.symbols).values()))
        )
        at = day + oracle.publication_delay
        scores = oracle.venue_scores(oracle.scores(at, history), members)
        weights = oracle.fetch_portfolio_weights(at, members)
    except DefipmError as exc:
        raise fail(exc) from None

    table = Table(title=f"TB-N picks from {day:%Y-%m-%d} (N={n}, lags={lags}, gross={gross:g}, venue map {venue})")
    table.add_column("side")
    table.add_column("symbol")
    table.add_column("score", justify="right")
    table.add_column("weight", justify="right")
    for symbol, w in sorted(weights.items(), key=lambda kv: (-kv[1], -scores[kv[0]], kv[0])):
        side = "[green]long[/green]" if w > 0 else "[red]short[/red]"
        table.add_row(side, symbol, f"{scores[symbol]:.4f}", f"{w:+.4f}")
    console.print(table)
    for remark in oracle.pop_notes():
        console.print(f"[yellow]note:[/yellow] {remark}")
