"""One line per portfolio run for the overview: latest equity, latest cycle, kill switch and who runs it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from defipm.manager import KILL_SWITCH
from defipm.service.runs import latest_snapshot, list_runs
from defipm.store.lock import read_holder
from defipm.store.models import Cycle, Setting

__all__ = ["runs_overview"]


def runs_overview(conn: Connection) -> list[dict[str, Any]]:
    out = []
    for run in list_runs(conn):
        snapshot = latest_snapshot(conn, run)
        last = conn.execute(
            select(Cycle.timestamp, Cycle.status)
            .where(Cycle.run == run)
            .order_by(Cycle.timestamp.desc(), Cycle.id.desc())
            .limit(1)
        ).first()
        reason = conn.execute(select(Setting.value).where(Setting.run == run, Setting.key == KILL_SWITCH)).scalar()
        holder = read_holder(conn, run)
        out.append(
            {
                "run": run,
                "equity": str(snapshot.equity) if snapshot is not None else None,
                "as_of": snapshot.timestamp.isoformat() if snapshot is not None else None,
                "last_cycle": {"timestamp": last.timestamp.isoformat(), "status": last.status} if last else None,
                "kill_switch": {"engaged": bool(reason), "reason": reason or None},
                "running": None
                if holder is None
                else {"host": holder.host, "pid": holder.pid, "live": holder.expires_in >= 0},
            }
        )
    return out
