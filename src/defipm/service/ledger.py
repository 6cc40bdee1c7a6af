"""A run's records, page by page: cycles, orders, fills and flows (newest first, keyset pages filterable by time,
symbol and status), and its equity series.

Orders page by ``(created_at, client_order_id)``, fills by their id (insertion order: a fill's own time may be the
venue's, earlier than rows written before it), cycles, flows and equity by ``(timestamp, id)``. The equity series
is the latest ``limit`` snapshots in time order, each with its drawdown from the series' running peak after
deposits and withdrawals are taken out (``core.performance.time_weighted_returns``, then ``core.metrics.drawdown``
of the compounded index), so a withdrawal is never a drawdown.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.engine import Connection, Row

from defipm.core.metrics import drawdown
from defipm.core.performance import time_weighted_returns
from defipm.service.paging import Keys, Page, Window
from defipm.service.runs import cycle_json, require_run
from defipm.store.models import Cycle, EquitySnapshot, FillRecord, Flow, OrderRecord

__all__ = ["cycles_page", "equity_series", "fills_page", "flows_page", "orders_page"]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _t(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def cycles_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    c = Cycle
    conditions = [c.run == run, *window.filters(c.timestamp, status=c.status)]
    return window.read(conn, select(c), Keys((c.timestamp, c.id)), cycle_json, conditions)


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
    o = OrderRecord
    conditions = [o.run == run, *window.filters(o.created_at, symbol=o.symbol, status=o.status)]
    return window.read(conn, select(o), Keys((o.created_at, o.client_order_id)), _order_json, conditions)


def _fill_json(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id, "client_order_id": r.client_order_id, "symbol": r.symbol, "side": r.side,
        "quantity": _s(r.quantity), "price": _s(r.price), "fee": _s(r.fee), "timestamp": _t(r.timestamp),
        "venue_order_id": r.venue_order_id,
    }  # fmt: skip


def fills_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    f = FillRecord
    conditions = [f.run == run, *window.filters(f.timestamp, symbol=f.symbol)]
    return window.read(conn, select(f), Keys((f.id,)), _fill_json, conditions)


def _flow_json(r: Row[Any]) -> dict[str, Any]:
    return {"id": r.id, "timestamp": _t(r.timestamp), "amount": _s(r.amount), "kind": r.kind, "note": r.note}


def flows_page(conn: Connection, run: str, window: Window) -> Page:
    require_run(conn, run)
    conditions = [Flow.run == run, *window.filters(Flow.timestamp)]
    return window.read(conn, select(Flow), Keys((Flow.timestamp, Flow.id)), _flow_json, conditions)


def equity_series(conn: Connection, run: str, window: Window) -> dict[str, Any]:
    """The latest ``window.limit`` equity snapshots in ``[since, until)``, oldest first, with flow-adjusted
    drawdown (a fraction <= 0) from the series' running peak."""
    require_run(conn, run)
    conditions = [EquitySnapshot.run == run, *window.filters(EquitySnapshot.timestamp)]
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
    under: list[float | None] = drawdown(growth).tolist() if len(points) == len(growth) else [None] * len(points)
    return {
        "run": run,
        "points": [
            {
                "timestamp": _t(r.timestamp),
                "equity": _s(r.equity),
                "cash": _s(r.cash),
                "gross": r.gross,
                "net": r.net,
                "drawdown": d,
            }
            for r, d in zip(rows, under, strict=True)
        ],
    }
