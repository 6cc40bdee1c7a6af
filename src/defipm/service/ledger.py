"""A run's records, page by page: cycles, orders, fills and flows (newest first, keyset pages filterable by time,
symbol and status), and its equity series.

Orders page by ``(created_at, client_order_id)``, fills by their id (insertion order: a fill's own time may be the
venue's, earlier than rows written before it), cycles, flows and equity by ``(timestamp, id)``. The equity series
is the latest ``limit`` snapshots in time order, each with its drawdown from the series' running peak after
deposits and withdrawals are taken out (``core.performance.time_weighted_returns``, then ``core.metrics.drawdown``
of the compounded index), so a withdrawal is never a drawdown.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, select
from sqlalchemy.engine import Connection, Row

from defipm.core.metrics import drawdown
from defipm.core.performance import time_weighted_returns
from defipm.service.paging import Keys, Page, read_page
from defipm.service.runs import cycle_json, require_run
from defipm.store.models import Cycle, EquitySnapshot, FillRecord, Flow, OrderRecord

__all__ = ["Window", "cycles_page", "equity_series", "fills_page", "flows_page", "orders_page"]


@dataclass(frozen=True, slots=True)
class Window:
    """A page request: ``cursor`` and ``limit``, rows from ``since`` (inclusive) to ``until`` (exclusive), and the
    optional ``symbol``, ``status``, ``strategy`` and ``run`` filters (each list reads the ones it has)."""

    cursor: str | None = None
    limit: int = 100
    since: datetime | None = None
    until: datetime | None = None
    symbol: str | None = None
    status: str | None = None
    strategy: str | None = None
    run: str | None = None

    def between(self, column: Any) -> list[ColumnElement[bool]]:
        out = []
        if self.since is not None:
            out.append(column >= self.since)
        if self.until is not None:
            out.append(column < self.until)
        return out


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def cycles_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    conditions = [Cycle.run == run, *window.between(Cycle.timestamp)]
    if window.status is not None:
        conditions.append(Cycle.status == window.status)
    keys = Keys((Cycle.timestamp, Cycle.id))
    return read_page(conn, select(Cycle), keys, cursor=window.cursor, limit=window.limit, conditions=conditions,
                     to_json=cycle_json)  # fmt: skip


def _order_json(r: Row[Any]) -> dict[str, Any]:
    return {
        "client_order_id": r.client_order_id, "cycle_id": r.cycle_id, "seq": r.seq, "symbol": r.symbol,
        "side": r.side, "quantity": _s(r.quantity), "order_type": r.order_type, "limit_price": _s(r.limit_price),
        "reference_price": _s(r.reference_price), "reduce_only": r.reduce_only, "status": r.status,
        "filled_quantity": _s(r.filled_quantity), "average_price": _s(r.average_price), "fee": _s(r.fee),
        "error": r.error, "created_at": _t(r.created_at), "updated_at": _t(r.updated_at),
    }  # fmt: skip


def orders_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    conditions = [OrderRecord.run == run, *window.between(OrderRecord.created_at)]
    if window.symbol is not None:
        conditions.append(OrderRecord.symbol == window.symbol)
    if window.status is not None:
        conditions.append(OrderRecord.status == window.status)
    keys = Keys((OrderRecord.created_at, OrderRecord.client_order_id))
    return read_page(conn, select(OrderRecord), keys, cursor=window.cursor, limit=window.limit,
                     conditions=conditions, to_json=_order_json)  # fmt: skip


def _fill_json(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id, "client_order_id": r.client_order_id, "symbol": r.symbol, "side": r.side,
        "quantity": _s(r.quantity), "price": _s(r.price), "fee": _s(r.fee), "timestamp": _t(r.timestamp),
        "venue_order_id": r.venue_order_id,
    }  # fmt: skip


def fills_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    conditions = [FillRecord.run == run, *window.between(FillRecord.timestamp)]
    if window.symbol is not None:
        conditions.append(FillRecord.symbol == window.symbol)
    return read_page(conn, select(FillRecord), Keys((FillRecord.id,)), cursor=window.cursor, limit=window.limit,
                     conditions=conditions, to_json=_fill_json)  # fmt: skip


def _flow_json(r: Row[Any]) -> dict[str, Any]:
    return {"id": r.id, "timestamp": _t(r.timestamp), "amount": _s(r.amount), "kind": r.kind, "note": r.note}


def flows_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    conditions = [Flow.run == run, *window.between(Flow.timestamp)]
    return read_page(conn, select(Flow), Keys((Flow.timestamp, Flow.id)), cursor=window.cursor, limit=window.limit,
                     conditions=conditions, to_json=_flow_json)  # fmt: skip


def equity_series(conn: Connection, run: str, window: Window) -> dict[str, Any]:
    """The latest ``window.limit`` equity snapshots in ``[since, until)``, oldest first, with flow-adjusted
    drawdown (a fraction <= 0) from the series' running peak."""
    require_run(conn, run)
    conditions = [EquitySnapshot.run == run, *window.between(EquitySnapshot.timestamp)]
    rows = conn.execute(
        select(EquitySnapshot)
        .where(*conditions)
        .order_by(EquitySnapshot.timestamp.desc(), EquitySnapshot.id.desc())
        .limit(window.limit)
    ).all()[::-1]
    points = [(r.timestamp, r.equity) for r in rows]
    flows: list[tuple[datetime, Decimal]] = []
    if points:
        flow_rows = conn.execute(
            select(Flow.timestamp, Flow.amount).where(
                Flow.run == run, Flow.timestamp > points[0][0], Flow.timestamp <= points[-1][0]
            )
        )
        flows = [(t, a) for t, a in flow_rows]
    growth = np.cumprod([1.0] + [1.0 + r for _, r in time_weighted_returns(points, flows)])
    under = drawdown(growth) if len(points) == len(growth) else np.full(len(points), np.nan)
    return {
        "run": run,
        "points": [
            {
                "timestamp": _t(r.timestamp),
                "equity": _s(r.equity),
                "cash": _s(r.cash),
                "gross": r.gross,
                "net": r.net,
                "drawdown": None if np.isnan(d) else float(d),
            }
            for r, d in zip(rows, under, strict=True)
        ],
    }
