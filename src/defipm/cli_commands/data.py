"""``defipm data download``: Hyperliquid candles and funding rates into a folder ``defipm backtest --data`` reads
(``defipm.venues.hyperliquid.history.store_history``; public reads, no key)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer

from defipm.cli_errors import CliConsole, fail
from defipm.config_templates import DOWNLOAD_FOLDER
from defipm.core.errors import DefipmError

console = CliConsole()
app = typer.Typer(help="Market data for backtests: download Hyperliquid candles and funding.", no_args_is_help=True)


@app.command()
def download(
    symbols: Annotated[str, typer.Option(help="Comma-separated coins as Hyperliquid lists them.")] = "BTC,ETH,SOL",
    interval: Annotated[str, typer.Option(help="Candle length: 1m 5m 15m 1h 4h 1d 1w ...")] = "1d",
    start: Annotated[str | None, typer.Option(help="First bar (ISO date, UTC); default a year before --end.")] = None,
    end: Annotated[str | None, typer.Option(help="Last bar (ISO date, UTC); default now.")] = None,
    out: Annotated[Path, typer.Option(help="Folder for <COIN>.csv and funding/<COIN>.csv.")] = Path(DOWNLOAD_FOLDER),
    funding: Annotated[
        bool, typer.Option(help="Also download hourly funding rates (charged by perp backtests).")
    ] = True,
    network: Annotated[str, typer.Option(help="mainnet (the real history) or testnet.")] = "mainnet",
    base_url: Annotated[
        str | None, typer.Option(help="API root instead of the network's, e.g. the local exchange's URL.")
    ] = None,
) -> None:
    """Download candles (and funding) per coin into --out; files there for the same coins are replaced."""
    from defipm.venues.hyperliquid.history import INTERVAL_MS

    coins = [s.strip() for s in symbols.split(",") if s.strip()]
    if not coins:
        raise typer.BadParameter("give at least one coin, e.g. --symbols BTC,ETH", param_hint="--symbols")
    if interval not in INTERVAL_MS:
        raise typer.BadParameter(f"{interval!r}: choose one of {' '.join(INTERVAL_MS)}", param_hint="--interval")
    if network not in ("mainnet", "testnet"):
        raise typer.BadParameter(f"{network!r}: mainnet or testnet", param_hint="--network")
    last = _utc(end, "--end") if end is not None else datetime.now(UTC)
    first = _utc(start, "--start") if start is not None else last - timedelta(days=365)
    if first >= last:
        raise typer.BadParameter(f"{first:%Y-%m-%d} is not before {last:%Y-%m-%d}", param_hint="--start")
    from defipm.venues.hyperliquid.client import ADDRESS_HINT

    created = _check_writable(out)
    try:
        counts = _download(coins, interval, first, last, out, funding, network, base_url)
    except (DefipmError, typer.Exit) as exc:
        _remove_created(created)
        if isinstance(exc, typer.Exit):
            raise
        address = "The address is --base-url (default: the network's public API)"
        raise fail(str(exc).replace(ADDRESS_HINT, address), base_url) from None
    for coin, n in counts.items():
        console.print(f"{coin}: {n} bars", highlight=False)
    console.print(f"wrote {out}: next, defipm backtest --data {out}", highlight=False)


def _download(
    coins: list[str], interval: str, first: datetime, last: datetime, out: Path, funding: bool, network: str,
    base_url: str | None,
) -> dict[str, int]:  # fmt: skip
    from defipm.venues.hyperliquid.client import HyperliquidClient
    from defipm.venues.hyperliquid.config import HyperliquidConfig
    from defipm.venues.hyperliquid.history import store_history

    config = HyperliquidConfig(network=network, allow_mainnet=True, base_url=base_url)  # type: ignore[arg-type]  # checked above; reads only: no key
    client = HyperliquidClient(config)
    listed = {a["name"] for a in client.meta.get("universe", [])}
    unknown = [c for c in coins if c not in listed]
    if unknown:
        raise fail(
            f"--symbols: {', '.join(unknown)} not listed on Hyperliquid {network} (it lists {len(listed)} coins)"
        )
    return store_history(client.post_info, coins, out, interval=interval, start=first, end=last, funding=funding)


def _utc(text: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(f"{text!r}: expected an ISO date such as 2024-01-31", param_hint=option) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _check_writable(out: Path) -> list[Path]:
    """Refuse an unwritable --out before anything is downloaded; the folders it created, outermost first."""
    created = [p for p in (out, *out.parents) if not p.exists()][::-1]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".defipm-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise fail(
            f"--out {out}: cannot write there ({exc.strerror or exc}); choose a folder you may write to"
        ) from None
    return created


def _remove_created(created: list[Path]) -> None:
    """A failed download leaves nothing new: remove the folders ``_check_writable`` created
    (files written into them before the failure too)."""
    import shutil

    if created:
        shutil.rmtree(created[0], ignore_errors=True)
