"""The audit of the service's write requests (table ``audit_log``): every kill-switch and pause request, done or
refused, with when, what, for which run, from which address and the outcome. The token is never recorded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.engine import Connection

from defipm.store import Store
from defipm.store.models import AuditRecord

__all__ = ["AuditEntry", "recent_audit", "record_audit"]

DETAIL_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """What was asked (``action``), for which ``run``, by whom (``client``), and what came of it."""

    action: str
    run: str
    client: str
    outcome: str
    status_code: int
    detail: str = ""


def record_audit(store: Store, entry: AuditEntry) -> None:
    with store.begin() as conn:
        conn.execute(
            insert(AuditRecord).values(
                at=datetime.now(UTC), action=entry.action, run=entry.run[:64], outcome=entry.outcome,
                status_code=entry.status_code, client=entry.client[:64], detail=entry.detail[:DETAIL_LIMIT],
            )
        )  # fmt: skip


def recent_audit(conn: Connection, limit: int = 50) -> list[dict[str, Any]]:
    rows = conn.execute(select(AuditRecord).order_by(AuditRecord.id.desc()).limit(limit))
    return [
        {"id": r.id, "at": r.at.isoformat(), "action": r.action, "run": r.run, "outcome": r.outcome,
         "status_code": r.status_code, "client": r.client, "detail": r.detail}
        for r in rows
    ]  # fmt: skip
