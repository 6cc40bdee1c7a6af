"""How the ``defipm`` commands write for logs and machines, beside the tables they show a person.

- ``cycle_record(report)``: a cycle as plain data (exact amounts as text, never rounded), the one source of both
  the ``--json`` output and the line per cycle below.
- ``cycle_line(report, next_at)``: one line per cycle with full UTC timestamps and the next cycle's time, what
  ``defipm run`` prints when its output is not a terminal (a log file, a pipe, systemd).
- ``print_json(data)``: one JSON document on stdout (``--json``); amounts as exact decimal strings.
  ``JsonOption`` is the one ``--json`` option every command that offers it declares.
- ``progress_bar(console)``: the one progress bar of long commands, on a terminal only.
- ``configure_logging(verbosity, log_file)``: standard ``logging`` for the ``defipm`` loggers, ``-v``/``-q`` and
  ``--log-file``.

Exit codes live with the error line, in ``defipm.cli_errors``.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from defipm.core.amounts import format_amount
from defipm.core.reports import CycleReport

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON on stdout instead of tables.")]
"""``--json``: one JSON document on stdout (``print_json``) and nothing else there; notes and progress on stderr."""

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
"""Every log line: ISO-like local time, level, logger, message."""


def timestamp(at: datetime) -> str:
    """A full ISO 8601 timestamp in UTC with its offset, e.g. ``2026-12-01T00:00:00+00:00``."""
    return at.isoformat(timespec="seconds")


def _plain(value: Any) -> Any:
    """``value`` as JSON: a Decimal as its exact plain text, a datetime in ISO form, mappings and lists inside."""
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, datetime):
        return timestamp(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def cycle_record(report: CycleReport) -> dict[str, Any]:
    """The cycle as plain data: time, status, equity, orders (each result, ``resent`` true for an order of an
    interrupted cycle this one sent after a restart), orders_sent, fees, slippage, turnover, gross, target, error,
    notes and risk limits that acted. Execution figures count every order the cycle sent, resent ones included
    (``CycleReport.sent``, ``fees``, ``slippage_cost``, ``turnover``: what the store keeps). Amounts are exact
    decimal text; a value the cycle did not reach is null."""
    rb = report.rebalance
    resent = set(map(id, report.resent))
    orders = [
        {
            "symbol": r.order.symbol,
            "side": r.order.side.value,
            "quantity": r.order.quantity,
            "status": r.status.value,
            "average_price": r.average_price,
            "fees": r.fees,
            "error": r.error,
            "resent": id(r) in resent,
        }
        for r in report.results
    ]
    reached = report.has_execution
    record = {
        "time": report.timestamp,
        "cycle_id": report.cycle_id,
        "status": report.status.value,
        "equity": report.equity,
        "orders": orders,
        "orders_sent": len(report.sent) if reached else None,
        "skipped": [{"symbol": s.symbol, "quantity": s.signed_quantity, "reason": s.detail} for s in rb.skipped]
        if rb
        else [],
        "fees": report.fees if reached else None,
        "slippage": report.slippage_cost if reached else None,
        "turnover": report.turnover if reached else None,
        "gross": rb.weights_after.gross if rb else None,
        "target": dict((report.executed_target or report.target or {}).items()),
        "risk": [{"limit": b.limit, "detail": b.detail, "action": b.action} for b in report.breaches],
        "notes": list(report.notes),
        "error": report.error,
    }
    return _plain(record)  # type: ignore[no-any-return]


def _number(value: Any) -> str:
    return "-" if value is None else str(value)


def status_text(report: CycleReport) -> str:
    """A cycle's status as people read it: a cycle that rebalanced without sending an order (every change inside
    the no-trade band or under one size step) says "nothing to trade", not "traded"; otherwise the status."""
    from defipm.core.reports import CycleStatus

    if report.status is CycleStatus.TRADED and not report.results:
        return "nothing to trade"
    return report.status.value


def cycle_line(report: CycleReport, next_at: datetime | None) -> str:
    """One line for a cycle: ``<UTC time> <status> equity=... orders=N fees=... slippage=... turnover=...
    gross=... next=<UTC time>``, the figures of ``cycle_record`` (orders = orders sent, resent ones included);
    numbers in full (no thousands separators, no rounding), ``-`` where the cycle did not reach them. ``next=-``
    when no cycle follows."""
    r = cycle_record(report)
    fields = {
        "equity": r["equity"],
        "orders": r["orders_sent"],
        "fees": r["fees"],
        "slippage": r["slippage"],
        "turnover": r["turnover"],
        "gross": r["gross"],
        "next": timestamp(next_at) if next_at is not None else None,
    }
    return f"{r['time']} {r['status']} " + " ".join(f"{k}={_number(v)}" for k, v in fields.items())


def print_json(data: Any) -> None:
    """``data`` as one JSON document on stdout (Decimals as exact text), then a newline, flushed."""
    sys.stdout.write(json.dumps(_plain(data), allow_nan=False, default=str) + "\n")
    sys.stdout.flush()


def progress_bar(console: Any) -> Any:
    """A transient progress bar (description, bar, done/total, time left) on ``console``, shown only on a terminal:
    off one, rich would leave an empty line behind (before an ``error:`` line, or in a pipe)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(), console=console, transient=True, disable=not console.is_terminal,
    )  # fmt: skip


def configure_logging(verbosity: int, log_file: Path | None = None) -> None:
    """Send the ``defipm`` loggers to stderr at WARNING (``verbosity`` 0), INFO (1), DEBUG (2 and more) or ERROR
    (negative: ``-q``), and, with ``log_file``, every record at DEBUG to that file too (appended). Raises
    ``OSError`` when the file cannot be opened. Calling it again replaces the handlers it added; the logger's
    level is only ever lowered (a host application's own handlers keep what they get)."""
    level = {-1: logging.ERROR, 0: logging.WARNING, 1: logging.INFO}.get(max(-1, min(verbosity, 2)), logging.DEBUG)
    logger = logging.getLogger("defipm")
    handlers: list[logging.Handler] = [_CurrentStderr()]
    handlers[0].setLevel(level)
    if log_file is not None:
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
        handlers[-1].setLevel(logging.DEBUG)
    for handler in list(logger.handlers):
        if isinstance(handler, _CurrentStderr) or getattr(handler, "defipm_cli", False):
            logger.removeHandler(handler)
            handler.close()
    for handler in handlers:
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        handler.defipm_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    wanted = min(h.level for h in handlers)
    if (logger.level == logging.NOTSET and wanted < logging.WARNING) or logging.NOTSET < wanted < logger.level:
        logger.setLevel(wanted)


class _CurrentStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A handler writing to whatever ``sys.stderr`` is when a record comes (a test runner swaps it)."""

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def installed_version() -> str:
    """defipm's version: the installed distribution's, else the package's ``__version__`` (a source checkout)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("defipm")
    except PackageNotFoundError:
        from defipm import __version__

        return __version__


def show_version(value: bool | None) -> None:
    """``--version``: print ``defipm X.Y.Z`` on stdout and exit 0 (an eager option: before any command runs)."""
    if value:
        import typer

        sys.stdout.write(f"defipm {installed_version()}\n")
        raise typer.Exit()
