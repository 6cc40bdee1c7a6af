"""``defipm hl``: the Hyperliquid account of a config (``[venue] kind = "hyperliquid"``), read and managed.

defipm hl account  -c defipm.toml          # equity, margin, fee rates and positions (entry, mark, stop)
defipm hl orders   -c defipm.toml          # open orders: resting limits and stops
defipm hl history  -c defipm.toml --days 7 # the account's fills (the exchange's records: time, price, fee)
defipm hl cancel   -c defipm.toml          # cancel every open order (our resting ones' outcome journalled)
defipm hl close-all -c defipm.toml --yes   # cancel every open order and close every position, journalled

The reads take no lock and sign nothing; ``cancel`` and ``close-all`` take the run's lock like ``rebalance``
(never beside a running ``defipm run``), go through the journal, and on mainnet need ``--mainnet`` as well as
the config's opt-in. ``close-all`` without ``--yes`` only shows what it would do.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from defipm.cli import DEFAULT_CONFIG, MainnetOption, _money, _open, console, guarded
from defipm.core.errors import ConfigError
from defipm.core.weights import Weights

app = typer.Typer(help="The Hyperliquid account of a config: account, orders, history, cancel, close-all.",
                  no_args_is_help=True)  # fmt: skip
ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Config file (TOML).")]


@app.callback()
def main() -> None:
    """The Hyperliquid account of a config (mounted by the main CLI as ``defipm hl``)."""


def _portfolio(config: Path, mainnet: bool, *, lock: bool) -> Any:
    """The config's portfolio; ``ConfigError`` unless its venue is Hyperliquid."""
    from defipm.venues.hyperliquid.venue import HyperliquidVenue

    portfolio = _open(config, mainnet, lock=lock)
    if not isinstance(portfolio.venue, HyperliquidVenue):
        raise ConfigError(
            f"{config}: the venue is {portfolio.settings.venue.kind!r}; the `defipm hl` commands need "
            '[venue] kind = "hyperliquid"'
        )
    return portfolio


@app.command()
@guarded
def account(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Equity, margin, fee rates and positions of the traded account (reads only)."""
    venue = _portfolio(config, True, lock=False).venue
    snap = venue.snapshot()
    fees = venue.fees
    console.print(
        f"{venue.address} ({venue.config.network}): equity {_money(snap.equity)}, withdrawable "
        f"{_money(venue.withdrawable())}, spot USDC {_money(venue.client.spot_usdc())}; fees taker "
        f"{fees.taker * 10_000:.2f} bps, maker {fees.maker * 10_000:.2f} bps",
        highlight=False,
    )
    stops = {o.coin: o.trigger_price for o in venue.client.open_orders() if o.trigger_price is not None}
    entries, weights = venue.entry_prices(), snap.weights()
    table = Table(title="Positions")
    for col in ("coin", "size", "entry", "mark", "value", "weight", "leverage", "stop"):
        table.add_column(col, justify="left" if col == "coin" else "right")
    for coin, size in sorted(snap.positions.items()):
        mark = snap.prices[coin]
        table.add_row(coin, f"{size:.6g}", f"{entries.get(coin, mark):.6g}", f"{mark:.6g}", _money(size * mark),
                      f"{weights.get(coin, 0.0):+.2%}", f"{venue.current_leverage(coin) or '-'}x",
                      f"{stops[coin]:.6g}" if coin in stops else "-")  # fmt: skip
    console.print(table)


@app.command()
@guarded
def orders(config: ConfigOption = DEFAULT_CONFIG) -> None:
    """Open orders of the traded account: resting limits and untriggered stops (reads only)."""
    venue = _portfolio(config, True, lock=False).venue
    now = datetime.now(UTC)
    table = Table(title=f"Open orders of {venue.address}")
    for col in ("coin", "side", "size", "price", "trigger", "type", "age", "cloid"):
        table.add_column(col, justify="right" if col in ("size", "price", "trigger", "age") else "left")
    for o in venue.client.open_orders():
        age = now - datetime.fromtimestamp(o.timestamp / 1000, UTC)
        table.add_row(o.coin, o.side.value, f"{o.size:.6g}", f"{o.limit_price:.6g}",
                      f"{o.trigger_price:.6g}" if o.trigger_price is not None else "-", o.order_type,
                      f"{age.total_seconds() / 3600:.1f}h", o.cloid or "-")  # fmt: skip
    console.print(table)


@app.command()
@guarded
def history(
    config: ConfigOption = DEFAULT_CONFIG,
    days: Annotated[float, typer.Option(min=0.001, max=366, help="How far back, in days.")] = 7.0,
) -> None:
    """The traded account's fills over the last ``--days`` (the exchange's records), newest first."""
    venue = _portfolio(config, True, lock=False).venue
    start = datetime.now(UTC) - timedelta(days=days)
    fills = venue.client.fills_since(int(start.timestamp() * 1000))
    table = Table(title=f"Fills of {venue.address} since {start:%Y-%m-%d %H:%M} UTC")
    for col in ("time (UTC)", "coin", "side", "size", "price", "notional", "fee"):
        table.add_column(col, justify="left" if col in ("time (UTC)", "coin", "side") else "right")
    total_fee = Decimal(0)
    for f in fills:
        total_fee += f.fee
        stamp = f.timestamp.strftime("%Y-%m-%d %H:%M:%S") if f.timestamp else "-"
        table.add_row(stamp, f.symbol, f.side.value, f"{f.quantity:.6g}", f"{f.price:.6g}", _money(f.notional),
                      f"{f.fee:.6f}")  # fmt: skip
    console.print(table)
    console.print(f"{len(fills)} fill(s), fees {total_fee:.6f} USDC", highlight=False)


@app.command()
@guarded
def cancel(config: ConfigOption = DEFAULT_CONFIG, mainnet: MainnetOption = False) -> None:
    """Cancel every open order of the traded account; our resting orders' outcome goes into the journal."""
    portfolio = _portfolio(config, mainnet, lock=True)
    venue = portfolio.venue
    open_orders = venue.client.open_orders()
    venue.cancel_open_orders(portfolio.manager.journal, open_orders)  # whatever the config's open_orders policy
    console.print(f"cancelled {len(open_orders)} open order(s) of {venue.address}", highlight=False)


@app.command("close-all")
@guarded
def close_all(
    config: ConfigOption = DEFAULT_CONFIG,
    yes: Annotated[bool, typer.Option("--yes", help="Do it (without it, only show what would be done).")] = False,
    mainnet: MainnetOption = False,
) -> None:
    """Cancel every open order and close every position (reduce-only orders; a position under the $10 minimum in
    two steps), through the journal."""
    portfolio = _portfolio(config, mainnet, lock=True)
    venue, manager = portfolio.venue, portfolio.manager
    held = venue.get_positions()
    open_count = len(venue.client.open_orders())
    console.print(f"{venue.address}: {len(held)} position(s) ({', '.join(sorted(held)) or 'none'}), "
                  f"{open_count} open order(s)", highlight=False)  # fmt: skip
    if not yes:
        console.print("nothing sent: pass --yes to cancel the orders and close the positions")
        raise typer.Exit(code=1)
    if manager.lock is not None:
        manager.lock.renew()
    manager.reconcile(resume=False)  # a killed run's unsent intents are abandoned, never sent now
    venue.cancel_open_orders(manager.journal)  # whatever the config's open_orders policy
    report = venue.set_portfolio_weights(Weights({}), journal=manager.journal)  # closes (a dust one in two steps)
    for r in report.results:
        console.print(f"  {r.order.symbol} {r.order.side.value} {r.order.quantity}: {r.status.value}"
                      + (f" ({r.error})" if r.error else ""), highlight=False)  # fmt: skip
    left = venue.get_positions()
    if left or not report.ok:
        console.print(f"[bold red]not flat:[/] {', '.join(f'{c} {q}' for c, q in sorted(left.items())) or 'see above'}")
        raise typer.Exit(code=2)
    console.print("flat: no position, no open order")
