"""The ``defipm`` command line: init, demo, rebalance, run, status, kill-switch, deposit and withdraw, plus the
sub-commands of the other parts (backtest, classify, numerai, chain, arb, hl-sim, hl, serve, rl) when their extras
are installed."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from defipm.cli_commands import register as register_commands
from defipm.cli_commands.run_schedule import parse_interval, parse_run_schedule  # noqa: F401
from defipm.cli_commands.stored_status import print_stored_status, recent_cycles_record, recent_cycles_table
from defipm.cli_errors import EXIT_FAILURE, EXIT_HALTED, CliConsole, err_console, fail, print_error
from defipm.cli_mount import LazyGroup
from defipm.cli_mount import bind_missing as _bind_missing  # noqa: F401  (tests build a placeholder with it)
from defipm.cli_output import (
    JsonOption,
    configure_logging,
    cycle_line,
    cycle_record,
    print_json,
    show_version,
    status_text,
)
from defipm.cli_process import built_heap, set_up
from defipm.config_file import DEFAULT_CONFIG
from defipm.core.amounts import format_amount
from defipm.core.errors import ConfigError, DefipmError, PortfolioLockedError, VenueUnavailableError
from defipm.core.reports import CycleReport
from defipm.extras import install_hint

_log = logging.getLogger("defipm.cli")

app = typer.Typer(
    name="defipm",
    help="Run crypto portfolios on decentralized exchanges: Oracle -> PortfolioManager -> venue.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
    rich_markup_mode=None,  # plain help: rich's help renderer (markdown and all) costs more than the rest of start-up
)
console = CliConsole()

ConfigOption = Annotated[Path, typer.Option("--config", "-c", help="Config file (TOML).")]


@app.callback()
def _environment(
    verbose: Annotated[int, typer.Option("--verbose", "-v", count=True, help="More log detail (-vv: debug).")] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Log errors only.")] = False,
    log_file: Annotated[Path | None, typer.Option(help="Also append every log record (debug) to this file.")] = None,
    version: Annotated[
        bool | None, typer.Option("--version", callback=show_version, is_eager=True, help="Print the version.")
    ] = None,
) -> None:
    """Every command first sets up logging (stderr; ``-v``/``-q``, ``--log-file``) and refuses DEFIPM_ variables
    that defipm would not read (``defipm.environment``)."""
    from defipm.config import Settings
    from defipm.environment import check_environment

    try:
        configure_logging(-1 if quiet else verbose, log_file)
    except OSError as exc:
        raise fail(f"--log-file {log_file}: cannot open it ({exc.strerror or exc})") from None
    try:
        check_environment(Settings)
    except DefipmError as exc:
        raise fail(exc) from None


def load_settings(path: Path, **options: Any) -> Any:
    """``defipm.config.load_settings``, imported when a command needs it (not for ``--help``)."""
    from defipm.config import load_settings as load

    return load(path, **options)


_opened: list[Any] = []
"""Portfolios the running command opened (``_open``): ``guarded`` closes them, releasing their run locks."""


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn defipm errors, and the ``ValueError``s that name a bad value, into one clear line on stderr and
    exit code 1; close what the command opened however it ends."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except (DefipmError, ValueError) as exc:
            raise fail(exc) from None
        finally:
            while _opened:
                _opened.pop().close()

    return wrapper


def _money(x: Decimal | float | None) -> str:
    return "-" if x is None else f"{float(x):,.2f}"


def cycle_table(reports: list[CycleReport], title: str = "Cycles") -> Table:
    """One row per cycle with the figures of ``cli_output.cycle_record`` (orders sent, fees, slippage and
    turnover count every order the cycle sent, resent ones included), rounded for people."""
    table = Table(title=title)
    for col in ("UTC", "status", "equity", "orders", "fees", "slip", "turnover", "gross"):
        table.add_column(col, justify="left" if col in ("UTC", "status") else "right", no_wrap=True)
    for r in reports:
        rb, reached = r.rebalance, r.has_execution
        table.add_row(
            r.timestamp.strftime("%Y-%m-%d %H:%M"),
            status_text(r),
            _money(r.equity),
            str(len(r.sent)) if reached else "-",
            _money(r.fees) if reached else "-",
            _money(r.slippage_cost) if reached else "-",
            f"{r.turnover:.1%}" if reached else "-",
            f"{rb.weights_after.gross:.2f}" if rb else "-",
        )
    return table


def print_cycles(reports: list[CycleReport], title: str = "Cycles", *, errors: bool = True) -> None:
    """The cycle table, then every note, risk limit that acted and (with ``errors``) error in full, one per line
    (a table column would squeeze them out of sight on a narrow terminal)."""
    console.print(cycle_table(reports, title))
    for r in reports:
        lines = r.notes + [f"[risk] {b.limit}: {b.detail} ({b.action})" for b in r.breaches]
        lines += [f"error: {r.error}"] if r.error and errors else []
        for line in lines:
            console.print(f"  {r.timestamp:%Y-%m-%d %H:%M}  {escape(line)}", highlight=False, soft_wrap=True)


# -- demo ----------------------------------------------------------------------------------------------------
@app.command()
@guarded
def demo(
    cycles: Annotated[int, typer.Option(min=1, max=1000, help="Number of rebalancing cycles.")] = 6,
    assets: Annotated[int, typer.Option(min=2, max=500, help="Number of synthetic assets.")] = 8,
    seed: Annotated[int, typer.Option(min=0, max=2**63 - 1, help="Seed of the synthetic market.")] = 7,
    database: Annotated[str | None, typer.Option("--db", help="Store URL (default: a temporary SQLite file).")] = None,
    old_database: Annotated[str | None, typer.Option("--database", hidden=True, help="Renamed --db.")] = None,
) -> None:
    """Offline demo: a SYNTHETIC market, the paper venue, a long/short portfolio, a few daily cycles."""
    if old_database is not None:  # one option name per concept: --db, as defipm serve
        raise typer.BadParameter("--database is now --db (the store URL, as in defipm serve --db)")
    import tempfile

    from defipm.data.feeds import SyntheticFeed
    from defipm.manager import PortfolioManager
    from defipm.oracles.static import StaticOracle
    from defipm.store import Store
    from defipm.venues.paper import PaperVenue, SlippageModel

    tmp = None
    if database is None:
        tmp = tempfile.TemporaryDirectory(prefix="defipm-demo-")
        database = f"sqlite:///{Path(tmp.name) / 'demo.db'}"
    store = Store(database)
    feed = SyntheticFeed(assets, seed=seed, interval=timedelta(days=1))
    venue = PaperVenue(initial_cash=Decimal(10_000), store=store, account="demo", slippage=SlippageModel(fixed_bps=2))
    half = assets // 2
    longs, shorts = feed.symbols[:half], feed.symbols[half:]
    weights = {s: 0.6 / len(longs) for s in longs} | {s: -0.4 / len(shorts) for s in shorts}
    from defipm.core.planner import PlannerConfig
    from defipm.core.risk import RiskLimits

    manager = PortfolioManager(
        StaticOracle(weights),
        venue,
        store=store,
        run="demo",
        risk=RiskLimits(max_weight=0.2, max_drawdown=0.5),
        planner=PlannerConfig(no_trade_band=0.002, cost_reserve_bps=2),
    )
    console.rule(f"[bold yellow]{feed.label}[/]")
    start = datetime(2025, 1, 1, tzinfo=UTC)
    reports = []
    for i in range(cycles):
        _, prices, volumes = feed()
        ts = start + timedelta(days=i)
        venue.update_market(ts, prices, volumes)
        reports.append(manager.manage_portfolio(ts))
    print_cycles(reports, title=f"Paper portfolio on a synthetic market ({assets} assets, seed {seed})")
    console.print(positions_table(venue, reports[-1]))
    first, last = reports[0].rebalance, reports[-1].equity
    if first is not None and last is not None:
        pnl = last - first.equity_before
        console.print(
            f"equity {first.equity_before:,.2f} -> {last:,.2f} ({pnl:+,.2f}); "
            f"journal: {len(manager.journal.orders())} orders, all recorded in {store!r}"  # type: ignore[attr-defined]
        )
    console.print("[dim]Synthetic prices: a demonstration of the machinery, not a forecast of anything.[/]")
    store.close()
    if tmp is not None:
        tmp.cleanup()


def positions_table(venue: Any, report: CycleReport | None) -> Table:
    snap = venue.snapshot()
    weights = snap.weights()
    target = (report.executed_target or report.target) if report is not None else None
    table = Table(title=f"Positions (equity {_money(snap.equity)}, cash {_money(snap.cash)})")
    for col in ("symbol", "quantity", "price", "value", "weight", "target"):
        table.add_column(col, justify="left" if col == "symbol" else "right")
    symbols = sorted(set(snap.positions) | set(target or {}))
    for s in symbols:
        qty = snap.positions.get(s, Decimal(0))
        price = snap.prices.get(s)
        table.add_row(
            s,
            format_amount(qty, 6),
            format_amount(price, 6) if price is not None else "-",
            _money(qty * price) if price is not None else "-",
            f"{weights.get(s, 0.0):+.2%}",
            f"{target.get(s, 0.0):+.2%}" if target is not None else "-",
        )
    return table


# -- one cycle, the loop, status -----------------------------------------------------------------------------
MainnetOption = Annotated[
    bool, typer.Option("--mainnet", help="Confirm trading on mainnet (real money); the config must opt in too.")
]


def _open(config: Path, allow_mainnet: bool = False, *, lock: bool = True, connect: bool = True) -> Any:
    """The portfolio of ``config``, holding its run's lock unless ``lock`` is False (read-only commands); the lock
    and the store are released when the (``guarded``) command ends. ``connect=False``: the venue is left for the
    caller to connect."""
    from defipm.assembly import build_portfolio

    with built_heap():  # in the defipm command's process: built with the collector paused, then frozen
        portfolio = build_portfolio(load_settings(config), allow_mainnet=allow_mainnet, lock=lock, connect=connect)
    _opened.append(portfolio)
    return portfolio


@app.command()
@guarded
def rebalance(
    config: ConfigOption = DEFAULT_CONFIG,
    mainnet: MainnetOption = False,
    json: JsonOption = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan (orders, costs, skips); send nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation in a terminal.")] = False,
) -> None:
    """Run one cycle now: weights from the oracle, risk checks, orders on the venue. In a terminal the plan is
    shown first and sent once confirmed (--yes skips the question). Exit code 0 when it traded, 3 when trading is
    halted, 1 when it failed or was rejected."""
    portfolio = _open(config, mainnet)
    show_market(portfolio, json)
    if dry_run or (not yes and sys.stdin.isatty()):
        from defipm.cli_commands.plan_view import plan_record, print_plan

        preview, plan = portfolio.manager.plan_cycle()
        if dry_run and json:
            print_json(plan_record(portfolio, preview, plan))
            return
        shown = err_console if json else console  # with --json, stdout holds only the JSON
        print_plan(shown, portfolio, preview, plan)
        if dry_run:
            return
        if plan.orders and not typer.confirm("send these orders?", default=False, err=json):
            shown.print("nothing sent")
            return
    report = portfolio.manager.manage_portfolio()
    if json:
        print_json(cycle_record(report) | {"positions": positions_record(portfolio.venue)})
    else:
        print_cycles([report], errors=False)  # the error goes to stderr below, with the cycle's status
        console.print(positions_table(portfolio.venue, report))
    if report.error:
        err_console.print(
            f"[bold red]{report.status.value}:[/] {escape(report.error)}", highlight=False, soft_wrap=True
        )
    if not report.ok:
        raise typer.Exit(code=cycle_exit_code(report))


def show_market(portfolio: Any, on_stderr: bool) -> None:
    """Where paper prices come from (synthetic, a folder's latest bars and what they leave out), before any cycle;
    ``on_stderr`` when stdout is for machines (``--json``, or ``run``'s line per cycle)."""
    if portfolio.market_label:
        (err_console if on_stderr else console).print(
            f"[yellow]prices: {escape(portfolio.market_label)}[/]", highlight=False, soft_wrap=True
        )


def cycle_exit_code(report: CycleReport) -> int:
    """0 for a cycle that traded, ``EXIT_HALTED`` (3) when trading is halted, ``EXIT_FAILURE`` (1) otherwise."""
    from defipm.core.reports import CycleStatus

    if report.ok:
        return 0
    return EXIT_HALTED if report.status is CycleStatus.HALTED else EXIT_FAILURE


def positions_record(venue: Any) -> dict[str, Any]:
    """The account now as plain data: equity, cash, and per symbol the quantity, price and weight."""
    snap = venue.snapshot()
    weights = snap.weights()
    return {
        "equity": snap.equity,
        "cash": snap.cash,
        "positions": {
            s: {"quantity": q, "price": snap.prices.get(s), "weight": weights.get(s, 0.0)}
            for s, q in sorted(snap.positions.items())
        },
    }


@app.command()
@guarded
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    every: Annotated[
        str,
        typer.Option(
            "--every",
            help="Schedule on the UTC clock: a duration (30m, 1h: on the hour, 1d), daily@18:15, 3d@18:15 "
            "(every 3 days), weekly@mon@09:00.",
        ),
    ] = "1h",
    max_cycles: Annotated[int | None, typer.Option(min=1, help="Stop after this many cycles.")] = None,
    mainnet: MainnetOption = False,
    metrics_port: Annotated[
        int | None, typer.Option(min=1, max=65535, help="Serve this run's Prometheus /metrics on 127.0.0.1:PORT.")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Run a cycle now, then on the schedule's clock times (the next one is shown). Ctrl-C or SIGTERM stops
    cleanly between cycles. Tables on a terminal; one line per cycle otherwise (or JSON lines with --json). Exit
    code: that of the last cycle (0 traded, 3 halted, 1 failed)."""
    schedule = parse_run_schedule(every)
    portfolio = _open(config, mainnet, connect=False)  # a venue down at start costs cycles, not the run
    show_market(portfolio, json or not console.is_terminal)
    connected = False
    if metrics_port is not None:
        from defipm.service.exporter import serve_run_metrics

        _opened.append(serve_run_metrics(metrics_port, portfolio.store, portfolio.settings.run))
    stop = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        err_console.print(f"[yellow]{signal.Signals(signum).name}: stopping after the current cycle[/]")
        stop.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    done, code = 0, 0
    try:
        while not stop.is_set():
            last = max_cycles is not None and done + 1 >= max_cycles
            code, connected = _run_cycle(portfolio, schedule, done + 1, last=last, connected=connected, json=json)
            done += 1
            if last:
                break
            now = datetime.now(UTC)
            stop.wait(max((schedule.next_time(now) - now).total_seconds(), 0.0))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        portfolio.close()
    err_console.print(f"stopped after {done} cycle(s)")
    if code:
        raise typer.Exit(code=code)


def _run_cycle(
    portfolio: Any, schedule: Any, number: int, *, last: bool, connected: bool, json: bool
) -> tuple[int, bool]:
    """One cycle of ``defipm run``: (its exit code, whether the venue is connected now). A venue or price failure
    comes back as a FAILED report; an unreachable venue, or another defipm error, skips this cycle only (retried on
    the schedule); a key or config the venue refuses, or another process taking the portfolio over, stops the run."""
    try:
        if not connected:  # an unreachable venue skips the cycle (retried on schedule); bad config stops
            portfolio.connect()  # the account it names is tied to the run, as at build time
            connected = True
        report = portfolio.manager.manage_portfolio(datetime.now(UTC))
        show_cycle(report, number, None if last else schedule.next_time(datetime.now(UTC)), as_json=json)
        return cycle_exit_code(report), connected
    except PortfolioLockedError:
        raise  # another process took this portfolio over: stop, never trade beside it
    except (DefipmError, ValueError, ArithmeticError) as exc:
        if not connected and not isinstance(exc, VenueUnavailableError):
            raise  # a key or config the venue refuses: no later cycle would do better
        retry = "" if last else f"; next try at {schedule.next_time(datetime.now(UTC)):%Y-%m-%d %H:%M:%S} UTC"
        _log.info("cycle %d skipped: %s%s", number, exc, retry)  # printed below, once; the log file keeps it
        err_console.print(f"[bold red]cycle skipped:[/] {escape(str(exc))}{retry}", soft_wrap=True)
        return EXIT_FAILURE, connected


def show_cycle(report: CycleReport, number: int, next_at: datetime | None, *, as_json: bool) -> None:
    """One cycle of ``defipm run``: a JSON line (``as_json``), one plain line with full timestamps when stdout is not
    a terminal (its notes, risk limits and error on stderr), or the table and the next cycle's time."""
    _log.info("cycle %d %s: %s", number, report.status.value, report.error or "ok")
    if as_json:
        print_json(cycle_record(report) | {"next": next_at})
    elif not console.is_terminal:
        print(cycle_line(report, next_at), flush=True)
        lines = report.notes + [f"[risk] {b.limit}: {b.detail} ({b.action})" for b in report.breaches]
        for line in lines + ([f"error: {report.error}"] if report.error else []):
            print(f"{report.timestamp.isoformat(timespec='seconds')} {line}", file=sys.stderr, flush=True)
    else:
        print_cycles([report], title=f"cycle {number}")
        if next_at is not None:
            console.print(f"next cycle at {next_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)


@app.command()
@guarded
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    cycles: Annotated[int, typer.Option(min=1, max=10_000, help="Recent cycles to show.")] = 10,
    json: JsonOption = False,
) -> None:
    """Positions, target vs actual weights, equity, performance and recent cycles."""
    from defipm.core.performance import time_weighted_return
    from defipm.store.lock import lock_holder

    _check_store_exists(config)
    try:
        portfolio = _open(config, allow_mainnet=True, lock=False)  # read-only
    except VenueUnavailableError as exc:  # the venue is down: the stored state, and a line saying so
        print_stored_status(console, config, cycles, exc, as_json=json)
        return
    store, run_name = portfolio.store, portfolio.settings.run
    recent = store.recent_cycles(run_name, cycles)
    latest_target = store.targets_of(recent[0].id) if recent else {}
    venue = portfolio.venue
    if json:
        print_json(status_record(portfolio, recent, latest_target))
        return
    snap = venue.snapshot()
    weights = snap.weights()
    table = Table(title=f"{run_name}: equity {_money(snap.equity)} (cash {_money(snap.cash)})")
    for col in ("symbol", "quantity", "price", "weight", "target"):
        table.add_column(col, justify="left" if col == "symbol" else "right")
    for s in sorted(set(snap.positions) | set(latest_target)):
        qty = snap.positions.get(s, Decimal(0))
        px = snap.prices.get(s)
        executed = latest_target.get(s, (None, 0.0))[1]
        table.add_row(
            s,
            format_amount(qty, 6),
            format_amount(px, 6) if px else "-",
            f"{weights.get(s, 0.0):+.2%}",
            f"{executed:+.2%}",
        )
    console.print(table)
    history = store.equity_history(run_name)
    if len(history) > 1:
        twr = time_weighted_return(history, store.flows(run_name))
        console.print(f"time-weighted return since {history[0][0]:%Y-%m-%d %H:%M}: {twr:+.2%}")
    halted = portfolio.manager.halt_reason()
    if halted:
        err_console.print(
            f"[bold red]KILL SWITCH ENGAGED:[/] {escape(halted)} (resume with: defipm kill-switch off -c {config})",
            highlight=False,
            soft_wrap=True,
        )
    holder = lock_holder(store, run_name)
    if holder is not None:
        console.print(escape(holder.describe_state()), highlight=False, soft_wrap=True)
    console.print(recent_cycles_table(recent, running=holder is not None and holder.alive()))


def _check_store_exists(config: Path) -> None:
    """A paper portfolio's books live in its store: a read-only command on a SQLite file that does not exist is an
    error naming it, not a fresh empty account (a live venue's account is read from the venue itself)."""
    from defipm.config import load_settings, sqlite_file

    settings = load_settings(config)
    path = sqlite_file(settings.database)
    if settings.venue.kind == "paper" and path is not None and not path.exists():
        raise ConfigError(
            f"no database at {path}: nothing has run with {config} yet (run `defipm rebalance -c {config}` first; "
            "a relative SQLite path in the config is read from the config file's folder)"
        )


def status_record(portfolio: Any, recent: list[Any], latest_target: dict[str, Any]) -> dict[str, Any]:
    """``defipm status --json``: the account (``positions_record``) with each symbol's last executed target, the
    time-weighted return, the kill switch, the process running the portfolio and the recent cycles."""
    from defipm.core.performance import time_weighted_return
    from defipm.store.lock import live_holder

    store, run_name = portfolio.store, portfolio.settings.run
    account = positions_record(portfolio.venue)
    history = store.equity_history(run_name)
    live = live_holder(store, run_name)
    return account | {
        "run": run_name,
        "targets": {s: executed for s, (_, executed) in sorted(latest_target.items())},
        "time_weighted_return": time_weighted_return(history, store.flows(run_name)) if len(history) > 1 else None,
        "kill_switch": portfolio.manager.halt_reason(),
        "running": live.describe() if live is not None else None,
        "recent_cycles": recent_cycles_record(recent, running=live is not None),
    }


MAX_REASON_CHARS = 500
"""Longest kill-switch reason: it is shown with every halted cycle, in ``status`` and in the store."""


@app.command("kill-switch")
@guarded
def kill_switch(
    action: Annotated[str, typer.Argument(help="on, off or show")],
    reason: Annotated[str, typer.Option(help="Why (stored with the switch).")] = "engaged by operator",
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Engage or release the persisted kill switch (also releases a tripped drawdown breaker).

    Needs only the database: it works while the venue or the node is unreachable."""
    from defipm.config import sqlite_file
    from defipm.manager import KILL_SWITCH, set_kill_switch
    from defipm.store import Store

    if action not in ("on", "off", "show"):
        raise typer.BadParameter(f"{action!r}: expected on, off or show")
    if not reason.strip():  # an empty reason would store a switch that reads as off
        raise typer.BadParameter("--reason: give a reason (it is shown while trading is stopped)")
    if len(reason) > MAX_REASON_CHARS:  # it is printed with every halted cycle and in status
        raise typer.BadParameter(f"--reason: {len(reason)} characters, at most {MAX_REASON_CHARS}: shorten it")
    settings = load_settings(config)
    path = sqlite_file(settings.database)
    if action == "show" and path is not None and not path.exists():  # reading never creates the store
        console.print(f"kill switch: off (no database at {path} yet)")
        return
    store = Store(settings.database)
    if action == "on":
        set_kill_switch(store, settings.run, reason)
    elif action == "off":
        set_kill_switch(store, settings.run, None)
    console.print(f"kill switch: {store.get_setting(settings.run, KILL_SWITCH) or 'off'}")
    store.close()


@app.command()
@guarded
def trade(
    side: Annotated[str, typer.Argument(help="buy or sell")],
    symbol: Annotated[str, typer.Argument(help="Symbol as the venue lists it.")],
    quantity: Annotated[str, typer.Argument(help="Size in base units (positive).")],
    config: ConfigOption = DEFAULT_CONFIG,
    limit: Annotated[
        str | None, typer.Option(help="Worst price (immediate-or-cancel); market order without it.")
    ] = None,
    reduce_only: Annotated[bool, typer.Option(help="Only reduce an existing position.")] = False,
    mainnet: MainnetOption = False,
) -> None:
    """One manual order through the journal (refused while the kill switch is on)."""
    from defipm.core.orders import OrderType

    if side not in ("buy", "sell"):
        raise typer.BadParameter(f"{side!r}: expected buy or sell")
    size = _amount(quantity)
    if side == "sell":
        size = -size
    limit_price = _amount(limit) if limit is not None else None
    portfolio = _open(config, mainnet)
    order_type = OrderType.LIMIT_IOC if limit is not None else OrderType.MARKET
    result = portfolio.manager.execute_trade(symbol, size, order_type, limit_price=limit_price, reduce_only=reduce_only)
    avg = result.average_price
    line = (
        f"{symbol} {result.order.side.value} {format_amount(result.order.quantity)}: {result.status.value}"
        + (f" at {format_amount(avg, 8)}, fee {format_amount(result.fees, 6)}" if avg is not None else "")
        + (f" ({result.error})" if result.error else "")
    )
    if result.status.value != "filled":
        raise fail(line)  # stderr, exit code 1
    console.print(line, highlight=False)


def _amount(text: str) -> Decimal:
    """A positive decimal of at most ``MAX_AMOUNT`` (see ``defipm.config_schema`` for why)."""
    from defipm.config_schema import MAX_AMOUNT

    try:
        value = Decimal(text)
    except InvalidOperation:
        raise typer.BadParameter(f"{text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise typer.BadParameter(f"{text!r}: amount must be positive")
    if value > MAX_AMOUNT:
        raise typer.BadParameter(f"{text!r}: at most {format_amount(MAX_AMOUNT)} (amounts are kept exact to 28 digits)")
    return value


@app.command()
@guarded
def deposit(
    amount: Annotated[str, typer.Argument(help="Quote currency to add (a positive decimal).")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Deposit quote currency into the account (recorded as a flow, not profit)."""
    _move_cash(amount, config, deposit=True)


@app.command()
@guarded
def withdraw(
    amount: Annotated[str, typer.Argument(help="Quote currency to take out (a positive decimal).")],
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """Withdraw quote currency from the account (recorded as a flow)."""
    _move_cash(amount, config, deposit=False)


def _move_cash(amount: str, config: Path, *, deposit: bool) -> None:
    """A deposit or withdrawal through the manager (the venue's ``cash_transfers``), recorded as a flow."""
    value = _amount(amount)  # checked before anything is opened
    portfolio = _open(config)
    if deposit:
        portfolio.manager.deposit(value)
    else:
        portfolio.manager.withdraw(value)
    console.print(f"{'deposited' if deposit else 'withdrew'} {amount}; equity {_money(portfolio.venue.get_equity())}")


register_commands(app)  # init, data download, list (defipm.cli_commands)


# -- sub-commands of the other parts ---------------------------------------------------------------------------
# mounted lazily by ``defipm.cli_mount.LazyGroup`` (the app's group class): imported only when used


MODULE_EXTRAS = {
    "pandas": "backtest", "duckdb": "backtest", "pyarrow": "backtest", "plotly": "backtest",
    "psycopg": "postgres", "hyperliquid": "hyperliquid", "eth_account": "chain", "numerapi": "numerai",
    "web3": "chain", "prometheus_client": "arb", "ray": "ray", "fastapi": "service", "uvicorn": "service",
    "sse_starlette": "service", "jinja2": "service", "skfolio": "allocation",
    "torch": "rl", "gymnasium": "rl", "stable_baselines3": "rl", "optuna": "rl",
}  # fmt: skip
"""Optional modules and the extra that installs each, for one-line "needs the X extra" errors."""


def main() -> None:
    """The ``defipm`` command: any defipm error, and a missing optional dependency, is one line and exit code 1;
    the process is set up first (``cli_process.set_up``: pydantic plugins off unless ``PYDANTIC_DISABLE_PLUGINS``
    is set, the built portfolio's objects frozen out of the garbage collector's walks)."""
    set_up()
    try:
        app()
    except ModuleNotFoundError as exc:
        module = (exc.name or "").split(".")[0]
        extra = MODULE_EXTRAS.get(module)
        if extra is None:
            raise
        print_error(f"this needs {module}: {install_hint(extra)}")
        raise SystemExit(EXIT_FAILURE) from None
    except DefipmError as exc:
        print_error(exc)
        raise SystemExit(EXIT_FAILURE) from None


if __name__ == "__main__":
    main()
