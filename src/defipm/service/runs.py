"""Portfolio runs as the store records them: which runs there are, and one run's status.

A run's status is read from the store alone (the service builds no venue): equity and cash from the latest equity
snapshot, positions and marks from the paper venue's book when the run trades on paper (account named after the
run, as ``build_portfolio`` names it; other venues keep their book on the exchange, so ``positions`` is None and
``defipm status`` asks the venue), the latest cycle's target weights (the oracle's and after risk limits), the
limits the running process trades with (``manager.RISK_LIMITS``), the drawdown against the breaker's stored peak,
the kill switch, the run lock's holder and the latest cycles with their notes.

Money is returned as exact decimal strings; weights as floats.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from sqlalchemy import exists, select, text, union
from sqlalchemy.engine import Connection

from defipm.manager import KILL_SWITCH, PEAK_EQUITY, RISK_LIMITS
from defipm.service.refusals import NotFound
from defipm.store.lock import LockHolder, read_holder
from defipm.store.models import (
    Cycle,
    EquitySnapshot,
    OrderRecord,
    PaperAccount,
    PaperPosition,
    RiskEvent,
    RunLockRecord,
    Setting,
    TargetWeight,
)

__all__ = [
    "BREAKER_PREFIX",
    "cycle_json",
    "distinct_runs",
    "latest_snapshot",
    "list_runs",
    "require_run",
    "risk_view",
    "run_settings",
    "run_status",
]

BREAKER_PREFIX = "drawdown circuit breaker"
"""How the manager words a kill switch its drawdown breaker engaged."""


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def distinct_runs(conn: Connection, column: Any) -> list[str]:
    """The distinct values of an indexed ``run`` column, one index seek per value (a loose index scan written as a
    recursive query, on SQLite and PostgreSQL alike: ``DISTINCT`` would read every row of a million-order table)."""
    table, name = column.table.name, column.name
    query = text(
        f"WITH RECURSIVE r(v) AS (SELECT MIN({name}) FROM {table} UNION ALL "
        f"SELECT (SELECT MIN({name}) FROM {table} WHERE {name} > r.v) FROM r WHERE r.v IS NOT NULL) "
        "SELECT v FROM r WHERE v IS NOT NULL"
    )
    return list(conn.execute(query).scalars())


def list_runs(conn: Connection) -> list[str]:
    """Every portfolio run with a cycle, an order, a lock or a kill switch / risk setting, sorted."""
    named = conn.execute(
        union(select(RunLockRecord.run), select(Setting.run).where(Setting.key.in_((KILL_SWITCH, RISK_LIMITS))))
    ).scalars()
    return sorted({*distinct_runs(conn, Cycle.run), *distinct_runs(conn, OrderRecord.run), *named})


def require_run(conn: Connection, run: str) -> None:
    """Raise ``NotFound`` naming ``run`` (and the known runs) unless the store has a record of it."""
    known = conn.execute(
        select(
            exists().where(Cycle.run == run)
            | exists().where(OrderRecord.run == run)
            | exists().where(RunLockRecord.run == run)
            | exists().where(Setting.run == run, Setting.key.in_((KILL_SWITCH, RISK_LIMITS)))
        )
    ).scalar()
    if not known:
        runs = list_runs(conn)
        shown = ", ".join(runs[:20]) + (" ..." if len(runs) > 20 else "") if runs else "none yet"
        raise NotFound(f"unknown run {run!r}: the store has no record of it (runs: {shown})")


def cycle_json(row: Any) -> dict[str, Any]:
    """A ``cycles`` row as JSON, its notes parsed."""
    try:
        notes = json.loads(row.notes) if row.notes else []
    except ValueError:
        notes = [row.notes]
    return {
        "id": row.id,
        "run": row.run,
        "timestamp": row.timestamp.isoformat(),
        "status": row.status,
        "equity": _money(row.equity),
        "fees": _money(row.fees),
        "turnover": row.turnover,
        "error": row.error,
        "notes": notes,
        "completed": row.completed,
    }


def run_settings(conn: Connection, run: str) -> dict[str, str]:
    rows = conn.execute(select(Setting.key, Setting.value).where(Setting.run == run))
    return {k: v for k, v in rows}


def latest_snapshot(conn: Connection, run: str) -> Any:
    query = select(EquitySnapshot).where(EquitySnapshot.run == run)
    return conn.execute(query.order_by(EquitySnapshot.timestamp.desc(), EquitySnapshot.id.desc()).limit(1)).first()


TARGETS_LOOKBACK = 1_000
"""Cycles looked back through for the latest one with target weights (halted cycles have none)."""


def _latest_targets(conn: Connection, run: str) -> tuple[str | None, dict[str, tuple[float | None, float]]]:
    """The newest cycle of ``run`` (among its last ``TARGETS_LOOKBACK``) that recorded target weights, and those
    weights; read newest first, 50 cycles at a time, so a store of any size costs a few indexed reads."""
    newest = select(Cycle.id).where(Cycle.run == run).order_by(Cycle.timestamp.desc(), Cycle.id.desc())
    for offset in range(0, TARGETS_LOOKBACK, 50):
        ids = list(conn.execute(newest.offset(offset).limit(50)).scalars())
        having = set(conn.execute(select(TargetWeight.cycle_id).where(TargetWeight.cycle_id.in_(ids))).scalars())
        cycle_id = next((i for i in ids if i in having), None)
        if cycle_id is not None:
            rows = conn.execute(
                select(TargetWeight.symbol, TargetWeight.target, TargetWeight.executed).where(
                    TargetWeight.cycle_id == cycle_id
                )
            )
            return cycle_id, {s: (t, e) for s, t, e in rows}
        if len(ids) < 50:
            break
    return None, {}


def _paper_book(conn: Connection, run: str) -> tuple[Decimal, dict[str, tuple[Decimal, Decimal | None]]] | None:
    cash = conn.execute(select(PaperAccount.cash).where(PaperAccount.name == run)).scalar()
    if cash is None:
        return None
    rows = conn.execute(
        select(PaperPosition.symbol, PaperPosition.quantity, PaperPosition.price).where(PaperPosition.account == run)
    )
    return cash, {s: (q, p) for s, q, p in rows if q}


def _positions(
    book: tuple[Decimal, dict[str, tuple[Decimal, Decimal | None]]] | None,
    targets: dict[str, tuple[float | None, float]],
) -> tuple[Decimal | None, list[dict[str, Any]] | None]:
    """The book's equity and one row per symbol held or targeted: quantity, mark, value, actual and target weights."""
    if book is None:
        return None, None
    cash, held = book
    values = {s: q * p for s, (q, p) in held.items() if p is not None}
    equity = cash + sum(values.values(), Decimal(0))
    rows = []
    for symbol in sorted(set(held) | set(targets)):
        quantity, mark = held.get(symbol, (Decimal(0), None))
        value = values.get(symbol)
        asked, executed = targets.get(symbol, (None, None))
        rows.append(
            {
                "symbol": symbol,
                "quantity": str(quantity),
                "price": _money(mark),
                "value": _money(value),
                "weight": float(value / equity) if value is not None and equity > 0 else None,
                "target": asked,
                "target_after_limits": executed,
            }
        )
    return equity, rows


def _holder_json(holder: LockHolder | None) -> dict[str, Any] | None:
    if holder is None:
        return None
    return {
        "host": holder.host,
        "pid": holder.pid,
        "since": holder.acquired_at.isoformat(),
        "lease_expires_in_s": round(holder.expires_in, 1),
        "live": holder.expires_in >= 0,
        "describe": holder.describe(),
    }


def risk_view(settings: dict[str, str], equity: Decimal | None) -> dict[str, Any]:
    """Limits, the breaker's peak and drawdown, and the kill switch."""
    try:
        limits = json.loads(settings[RISK_LIMITS]) if RISK_LIMITS in settings else None
    except ValueError:
        limits = None
    peak = Decimal(settings[PEAK_EQUITY]) if settings.get(PEAK_EQUITY) else None
    drawdown = float(max(Decimal(0), 1 - equity / peak)) if peak and equity is not None and peak > 0 else None
    reason = settings.get(KILL_SWITCH)
    return {
        "limits": limits,
        "peak_equity": _money(peak),
        "drawdown": drawdown,
        "kill_switch": {"engaged": bool(reason), "reason": reason or None},
        "breaker_tripped": bool(reason and reason.startswith(BREAKER_PREFIX)),
    }


def run_status(conn: Connection, run: str, *, cycles: int = 10) -> dict[str, Any]:
    """The status of ``run`` (see the module's docstring). Raises ``NotFound`` for an unknown run."""
    require_run(conn, run)
    snapshot = latest_snapshot(conn, run)
    target_cycle, targets = _latest_targets(conn, run)
    book_equity, positions = _positions(_paper_book(conn, run), targets)
    equity = snapshot.equity if snapshot is not None else book_equity
    recent = conn.execute(
        select(Cycle).where(Cycle.run == run).order_by(Cycle.timestamp.desc(), Cycle.id.desc()).limit(cycles)
    ).all()
    events = conn.execute(
        select(RiskEvent).where(RiskEvent.run == run).order_by(RiskEvent.id.desc()).limit(cycles)
    ).all()
    return {
        "run": run,
        "equity": _money(equity),
        "cash": _money(snapshot.cash) if snapshot is not None else None,
        "gross": snapshot.gross if snapshot is not None else None,
        "net": snapshot.net if snapshot is not None else None,
        "as_of": snapshot.timestamp.isoformat() if snapshot is not None else None,
        "book_equity": _money(book_equity),
        "positions": positions,
        "targets_of_cycle": target_cycle,
        "targets": [
            {"symbol": sym, "target": asked, "target_after_limits": executed}
            for sym, (asked, executed) in sorted(targets.items())
        ],
        "risk": risk_view(run_settings(conn, run), equity),
        "running": _holder_json(read_holder(conn, run)),
        "last_cycles": [cycle_json(r) for r in recent],
        "risk_events": [
            {
                "id": e.id,
                "cycle_id": e.cycle_id,
                "timestamp": e.timestamp.isoformat(),
                "limit": e.limit,
                "detail": e.detail,
                "action": e.action,
            }
            for e in events
        ],
    }
