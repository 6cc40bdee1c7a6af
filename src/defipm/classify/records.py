"""Rotations in the store: the period, the token set and the whole classification table of each re-selection.

``record_rotation`` writes one ``rotations`` row and one ``classifications`` row per token in one transaction;
``latest_rotation`` reads the newest one of a run back, so a restarted live portfolio keeps its set until the
period ends instead of re-classifying early; ``rotation_table`` reads a stored classification table.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from defipm.classify.result import Classification, finite_or_none
from defipm.store.database import Store
from defipm.store.models import ClassificationRow, RotationRecord


@dataclass(frozen=True, slots=True)
class StoredRotation:
    """A rotation read back from the store."""

    id: str
    oracle: str
    timestamp: datetime
    period_end: datetime | None
    held: tuple[str, ...]
    excluded: dict[str, int]
    params: dict[str, Any]
    """The screen's settings the rotation was made with."""


def record_rotation(
    store: Store,
    *,
    run: str,
    oracle: str,
    classification: Classification,
    period_end: datetime | None,
    added: tuple[str, ...],
    dropped: tuple[str, ...],
) -> str:
    """Write a rotation with its classification table; returns the rotation's id."""
    rotation_id = uuid.uuid4().hex
    params = screen_params(classification)
    with store.begin() as conn:
        conn.execute(
            insert(RotationRecord).values(
                id=rotation_id,
                run=run,
                oracle=oracle,
                timestamp=classification.at,
                period_end=period_end,
                held=json.dumps(list(classification.kept)),
                added=json.dumps(list(added)),
                dropped=json.dumps(list(dropped)),
                excluded=json.dumps(classification.excluded_counts),
                params=json.dumps(params, default=str),
            )
        )
        rows = [_row(rotation_id, row) for row in classification.rows()]
        if rows:
            conn.execute(insert(ClassificationRow), rows)
    return rotation_id


def screen_params(classification: Classification) -> dict[str, Any]:
    """The settings a classification was made with, as stored (JSON values)."""
    return json.loads(json.dumps(classification.config.model_dump(mode="json"), default=str))  # type: ignore[no-any-return]


def _row(rotation_id: str, row: dict[str, Any]) -> dict[str, Any]:
    rank = row["rank"]
    return {
        "rotation_id": rotation_id,
        "symbol": row["symbol"],
        "asset": row["asset"],
        "categories": row["categories"],
        "bars": int(row["bars"]),
        "ret": finite_or_none(row["return"]),
        "ma_short": finite_or_none(row["ma_short"]),
        "ma_long": finite_or_none(row["ma_long"]),
        "volume": finite_or_none(row["volume"]),
        "sortino": finite_or_none(row["sortino"]),
        "kept": bool(row["kept"]),
        "reason": row["reason"],
        "rank": None if rank is None else int(rank),
    }


def _stored(m: Any) -> StoredRotation:
    return StoredRotation(
        m["id"],
        m["oracle"],
        m["timestamp"],
        m["period_end"],
        tuple(json.loads(m["held"])),
        json.loads(m["excluded"]),
        json.loads(m["params"]),
    )


def latest_rotation(store: Store, run: str, oracle: str) -> StoredRotation | None:
    """The newest rotation of ``run`` made by ``oracle`` (None when there is none)."""
    with store.engine.connect() as conn:
        row = conn.execute(
            select(RotationRecord)
            .where(RotationRecord.run == run, RotationRecord.oracle == oracle)
            .order_by(RotationRecord.timestamp.desc(), RotationRecord.id.desc())
            .limit(1)
        ).first()
    return None if row is None else _stored(row._mapping)


def rotations_of(store: Store, run: str) -> list[StoredRotation]:
    """Every rotation of ``run``, oldest first."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(RotationRecord)
            .where(RotationRecord.run == run)
            .order_by(RotationRecord.timestamp, RotationRecord.id)
        )
        return [_stored(row._mapping) for row in rows]


def rotation_table(store: Store, rotation_id: str) -> list[dict[str, Any]]:
    """The stored classification table of a rotation, in table order (kept first, by return)."""
    with store.engine.connect() as conn:
        rows = conn.execute(
            select(ClassificationRow).where(ClassificationRow.rotation_id == rotation_id).order_by(ClassificationRow.id)
        )
        out = []
        for row in rows:
            m = dict(row._mapping)
            m.pop("id"), m.pop("rotation_id")
            m["return"] = m.pop("ret") if "ret" in m else m["return"]
            out.append(m)
        return out
