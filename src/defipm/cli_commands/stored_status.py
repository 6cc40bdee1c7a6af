"""``defipm status`` without the venue: what the store knows (last equity and targets, kill switch, recent cycles)
and one line saying the venue is unreachable, so an outage never hides the book's stored state."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from defipm.cli_errors import err_console


def _money(x: Any) -> str:
    return "-" if x is None else f"{float(x):,.2f}"


def shown_status(cycle: Any, running: bool) -> str:
    """A stored cycle's status; "interrupted" for one still marked running when no process runs the portfolio
    (killed mid-cycle: the next run reconciles its orders)."""
    return "interrupted" if cycle.status == "running" and not running else str(cycle.status)


def recent_cycles_table(recent: list[Any], *, running: bool = True) -> Table:
    """The stored cycles (newest first): time, status, equity, orders sent, fees, turnover and the error's start;
    ``running`` says whether a process runs the portfolio now (see ``shown_status``)."""
    table = Table(title="Recent cycles")
    for col in ("time (UTC)", "status", "equity", "orders", "fees", "turnover", "error"):
        table.add_column(col)
    for c in recent:
        table.add_row(
            c.timestamp.strftime("%Y-%m-%d %H:%M"),
            shown_status(c, running),
            _money(c.equity),
            "-" if c.orders is None else str(c.orders),
            _money(c.fees),
            f"{c.turnover:.1%}" if c.turnover is not None else "-",
            (c.error or "")[:60],
        )
    return table


def recent_cycles_record(recent: list[Any], *, running: bool = True) -> list[dict[str, Any]]:
    """The stored cycles (newest first) as plain data for ``--json``: time, cycle_id, status (``shown_status``),
    equity, orders_sent, fees, turnover, error (the keys of ``cli_output.cycle_record`` for the same figures)."""
    return [
        {"time": c.timestamp, "cycle_id": c.id, "status": shown_status(c, running), "equity": c.equity,
         "orders_sent": c.orders, "fees": c.fees, "turnover": c.turnover, "error": c.error}
        for c in recent
    ]  # fmt: skip


def print_stored_status(
    console: Console, config: Path, cycles: int, problem: Exception, *, as_json: bool = False
) -> None:
    """The stored state of ``config``'s run, after a line on stderr naming why the venue could not be read; with
    ``as_json`` one JSON document on stdout instead of the tables (``stored_status_record``)."""
    from defipm.config import load_settings
    from defipm.core.redaction import redact_text, redact_url

    settings = load_settings(config)
    url = settings.venue.params.get("base_url") or settings.venue.params.get("rpc_url")
    where = f"{settings.venue.kind} at {redact_url(str(url))}" if url else settings.venue.kind
    reason = redact_text(str(problem), str(url) if url else None)
    err_console.print(
        f"[bold yellow]venue unreachable[/] ({escape(where)}): {escape(reason)} (showing the stored state of run "
        f"{settings.run!r}; live positions and prices need the venue)",
        highlight=False,
        soft_wrap=True,
    )
    if as_json:
        from defipm.cli_output import print_json

        print_json(stored_status_record(settings, cycles) | {"venue_error": f"{where}: {reason}"})
        return
    _print_stored(console, settings, cycles)


def stored_status_record(settings: Any, cycles: int) -> dict[str, Any]:
    """What the store knows of ``settings.run`` as plain data: the last recorded equity and its time, the last
    cycle's executed targets, the kill switch and the recent cycles (the shape of ``status --json`` without the
    live account)."""
    from defipm.manager import KILL_SWITCH
    from defipm.store import Store
    from defipm.store.lock import live_holder

    store = Store(settings.database)
    try:
        recent = store.recent_cycles(settings.run, cycles)
        history = store.equity_history(settings.run)
        targets = store.targets_of(recent[0].id) if recent else {}
        return {
            "run": settings.run,
            "equity": history[-1][1] if history else None,
            "equity_time": history[-1][0] if history else None,
            "targets": {symbol: executed for symbol, (_, executed) in sorted(targets.items())},
            "kill_switch": store.get_setting(settings.run, KILL_SWITCH),
            "recent_cycles": recent_cycles_record(recent, running=live_holder(store, settings.run) is not None),
        }
    finally:
        store.close()


def _print_stored(console: Console, settings: Any, cycles: int) -> None:
    from defipm.manager import KILL_SWITCH
    from defipm.store import Store
    from defipm.store.lock import live_holder

    store = Store(settings.database)
    try:
        recent = store.recent_cycles(settings.run, cycles)
        history = store.equity_history(settings.run)
        if history:
            at, equity = history[-1]
            console.print(f"{settings.run}: last recorded equity {_money(equity)} at {at:%Y-%m-%d %H:%M} UTC")
        targets = store.targets_of(recent[0].id) if recent else {}
        if targets:
            table = Table(title="Last cycle's target")
            for col in ("symbol", "target"):
                table.add_column(col, justify="left" if col == "symbol" else "right")
            for symbol, (_, executed) in sorted(targets.items()):
                table.add_row(symbol, f"{executed:+.2%}")
            console.print(table)
        halted = store.get_setting(settings.run, KILL_SWITCH)
        if halted:
            console.print(f"[bold red]KILL SWITCH ENGAGED:[/] {escape(halted)}")
        console.print(recent_cycles_table(recent, running=live_holder(store, settings.run) is not None))
    finally:
        store.close()
