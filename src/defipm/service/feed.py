"""New rows in the store, whoever wrote them: the tail that feeds the live updates (Server-Sent Events).

``StoreFeed.poll()`` asks each tailed table for rows written since the previous poll (``service.watermark``) and
returns them as ``StoreEvent``s, oldest first within each kind:

- ``cycle``: a cycle recorded or updated (``cycles.recorded_at``);
- ``fill``: a fill (by id);
- ``risk``: a risk limit that acted (``risk_events``), a kill switch engaged or released, or an arbitrage run's
  stored risk state changed (pause, breaker, daily loss);
- ``opportunity``: an arbitrage opportunity (``detected_at``);
- ``execution``: an execution result (by id), or a journalled execution that changed status (``updated_at``).

A feed starts at the store's present: only rows written after ``StoreFeed(...)`` are reported. Each poll costs one
indexed query per table, ``LIMIT``-bounded (a backlog drains over the following polls), whatever the store's size.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.engine import Connection, Row

from defipm.arb.risk_state import RISK_STATE_KEY
from defipm.manager import KILL_SWITCH
from defipm.service.runs import cycle_json
from defipm.service.watermark import IdWatermark, TimeWatermark
from defipm.store.arbitrage import ArbExecutionRecord, ArbitrageOpportunityRecord, ExecutionResultRecord
from defipm.store.models import Cycle, FillRecord, RiskEvent, Setting

__all__ = ["EVENT_KINDS", "StoreEvent", "StoreFeed"]

EVENT_KINDS = ("cycle", "fill", "risk", "opportunity", "execution")
BATCH = 500
"""Rows read per table and poll at most."""


@dataclass(frozen=True, slots=True)
class StoreEvent:
    """One change: ``kind`` (one of ``EVENT_KINDS``), the ``run`` it belongs to (None for arbitrage opportunities
    and results, which have none), a stable ``id`` and the JSON ``data``."""

    kind: str
    run: str | None
    id: str
    data: dict[str, Any]


def _fill(r: Row[Any]) -> StoreEvent:
    data = {"id": r.id, "run": r.run, "symbol": r.symbol, "side": r.side, "quantity": str(r.quantity),
            "price": str(r.price), "fee": str(r.fee), "timestamp": r.timestamp.isoformat() if r.timestamp else None}  # fmt: skip
    return StoreEvent("fill", r.run, f"fill:{r.id}", data)


def _risk(r: Row[Any]) -> StoreEvent:
    data = {"source": "risk_limit", "run": r.run, "cycle_id": r.cycle_id, "timestamp": r.timestamp.isoformat(),
            "limit": r.limit, "detail": r.detail, "action": r.action}  # fmt: skip
    return StoreEvent("risk", r.run, f"risk:{r.id}", data)


def _result(r: Row[Any]) -> StoreEvent:
    data = {"source": "result", "id": r.id, "opportunity_id": r.opportunity_id, "engine": r.engine,
            "success": r.success, "profit_native": None if r.actual_profit_native is None else str(r.actual_profit_native),
            "gas_used": r.gas_used, "executed_at": r.executed_at.isoformat(), "reason": r.reason}  # fmt: skip
    return StoreEvent("execution", None, f"result:{r.id}", data)


def _opportunity(r: Row[Any]) -> StoreEvent:
    data = {"id": r.id, "detected_at": r.detected_at.isoformat(), "strategy": r.strategy_type,
            "amount_in": str(r.amount_in), "estimated_profit": str(r.estimated_profit),
            "venues": json.loads(r.venues)}  # fmt: skip
    return StoreEvent("opportunity", None, f"opportunity:{r.id}", data)


def _journal(r: Row[Any]) -> StoreEvent:
    data = {"source": "journal", "id": r.id, "run": r.run, "status": r.status, "engine": r.engine,
            "profit_native": None if r.profit_native is None else str(r.profit_native),
            "updated_at": r.updated_at.isoformat(), "reason": r.reason}  # fmt: skip
    return StoreEvent("execution", r.run, f"journal:{r.id}:{r.status}:{r.updated_at.isoformat()}", data)


class _IdTail:
    def __init__(self, conn: Connection, column: Any, to_event: Callable[[Row[Any]], StoreEvent]) -> None:
        self.column = column
        self.to_event = to_event
        self.mark = IdWatermark(conn.execute(select(func.max(column))).scalar() or 0)

    def poll(self, conn: Connection) -> list[StoreEvent]:
        gaps = self.mark.gaps[-BATCH:]
        where = or_(self.column > self.mark.top, self.column.in_(gaps)) if gaps else self.column > self.mark.top
        rows = conn.execute(select(self.column.table).where(where).order_by(self.column).limit(BATCH)).all()
        fresh = set(self.mark.accept(r._mapping[self.column.key] for r in rows))
        return [self.to_event(r) for r in rows if r._mapping[self.column.key] in fresh]


class _TimeTail:
    def __init__(
        self, conn: Connection, column: Any, key: Callable[[Row[Any]], Any],
        to_event: Callable[[Row[Any]], StoreEvent], lookback: timedelta,
    ) -> None:  # fmt: skip
        self.column = column
        self.key = key
        self.to_event = to_event
        self.mark = TimeWatermark(conn.execute(select(func.max(column))).scalar(), lookback=lookback)

    def poll(self, conn: Connection) -> list[StoreEvent]:
        """Rows newer than the newest seen (forward progress however many), then the lookback window again."""
        since, newest = self.mark.since(), self.mark.newest
        query = select(self.column.table)
        forward = query if newest is None else query.where(self.column > newest)
        rows = conn.execute(forward.order_by(self.column).limit(BATCH)).all()
        if since is not None and newest is not None:
            late = query.where(self.column > since, self.column <= newest).order_by(self.column.desc()).limit(BATCH)
            rows = list(conn.execute(late).all())[::-1] + list(rows)
        by_key = {self.key(r): r for r in rows}
        fresh = self.mark.accept((k, r._mapping[self.column.key]) for k, r in by_key.items())
        return [self.to_event(by_key[k]) for k in fresh]


class _SettingsTail:
    """Kill switches and arbitrage risk states: a change of value is an event (the table is a few rows a run)."""

    def __init__(self, conn: Connection) -> None:
        self.values = self._read(conn)

    def _read(self, conn: Connection) -> dict[tuple[str, str], str]:
        rows = conn.execute(select(Setting.run, Setting.key, Setting.value).where(
            Setting.key.in_((KILL_SWITCH, RISK_STATE_KEY))))  # fmt: skip
        return {(run, key): value for run, key, value in rows}

    def poll(self, conn: Connection) -> list[StoreEvent]:
        now = self._read(conn)
        events = []
        for run, key in sorted(set(now) | set(self.values)):
            value = now.get((run, key))
            if value == self.values.get((run, key)):
                continue
            if key == KILL_SWITCH:
                data: dict[str, Any] = {"source": "kill_switch", "run": run, "engaged": bool(value), "reason": value}
            else:
                state = json.loads(value) if value else {}
                data = {"source": "arb_risk", "run": run, "state": state if isinstance(state, dict) else None}
            events.append(StoreEvent("risk", run, f"{key}:{run}:{value}", data))
        self.values = now
        return events


class StoreFeed:
    """The tail of every table the live views show, started at the store's present (see the module docstring)."""

    def __init__(self, conn: Connection, *, lookback: timedelta = timedelta(seconds=5)) -> None:
        self.tails: list[Any] = [
            _TimeTail(conn, Cycle.recorded_at, lambda r: (r.id, r.recorded_at),
                      lambda r: StoreEvent("cycle", r.run, f"cycle:{r.id}:{r.recorded_at.isoformat()}", cycle_json(r)),
                      lookback),
            _IdTail(conn, FillRecord.id, _fill),
            _IdTail(conn, RiskEvent.id, _risk),
            _SettingsTail(conn),
            _TimeTail(conn, ArbitrageOpportunityRecord.detected_at, lambda r: r.id, _opportunity, lookback),
            _IdTail(conn, ExecutionResultRecord.id, _result),
            _TimeTail(conn, ArbExecutionRecord.updated_at, lambda r: (r.id, r.status, r.updated_at), _journal, lookback),
        ]  # fmt: skip

    def poll(self, conn: Connection) -> list[StoreEvent]:
        """Every change since the previous poll."""
        events: list[StoreEvent] = []
        for tail in self.tails:
            events.extend(tail.poll(conn))
        return events
