"""Keyset pagination: pages of a table newest first, with a cursor that stays right while rows are added.

A page is read with ``WHERE (k1, k2) < (cursor) ORDER BY k1 DESC, k2 DESC LIMIT n + 1`` on an index that starts
with the filter columns and ends with the keys, so every page costs the same however deep it is (an ``OFFSET``
would read every skipped row) and a row written between two requests neither repeats nor skips a row. The cursor
is the last row's keys, as URL-safe base64 of a JSON list: opaque to clients, checked on the way back in.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, literal, or_
from sqlalchemy.engine import Connection, Row
from sqlalchemy.types import TypeDecorator

from defipm.service.refusals import BadField

__all__ = ["Keys", "Page", "Window", "read_page"]


@dataclass(frozen=True, slots=True)
class Keys:
    """The ordering of a table's pages: one or two columns, the last unique (ties broken by it)."""

    columns: tuple[Any, ...]

    def after(self, cursor: str | None) -> ColumnElement[bool] | None:
        """The condition for rows after ``cursor`` (None: from the newest row). Raises ``BadField("cursor")``."""
        if cursor is None:
            return None
        values = self.decode(cursor)
        cols = self.columns
        bound = [literal(v, c.type) for c, v in zip(cols, values, strict=True)]
        if len(cols) == 1:
            return cols[0] < bound[0]
        return or_(cols[0] < bound[0], and_(cols[0] == bound[0], cols[1] < bound[1]))

    def encode(self, row: Row[Any]) -> str:
        values = [_plain(row._mapping[c.key]) for c in self.columns]
        return base64.urlsafe_b64encode(json.dumps(values, separators=(",", ":")).encode()).decode().rstrip("=")

    def decode(self, cursor: str) -> list[Any]:
        problem = "not a cursor this list returned: start again without it"
        try:
            values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        except (ValueError, binascii.Error, UnicodeDecodeError):
            raise BadField("cursor", problem) from None
        if not isinstance(values, list) or len(values) != len(self.columns):
            raise BadField("cursor", problem)
        return [_typed(c, v, problem) for c, v in zip(self.columns, values, strict=True)]

    def order(self) -> list[Any]:
        return [c.desc() for c in self.columns]


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _typed(column: Any, value: Any, problem: str) -> Any:
    kind = column.type
    python_type = kind.impl_instance.python_type if isinstance(kind, TypeDecorator) else kind.python_type
    if python_type is datetime:
        if not isinstance(value, str):
            raise BadField("cursor", problem)
        try:
            stamp = datetime.fromisoformat(value)
        except ValueError:
            raise BadField("cursor", problem) from None
        return stamp if stamp.tzinfo is not None else stamp.replace(tzinfo=UTC)
    if python_type is int and (not isinstance(value, int) or isinstance(value, bool)):
        raise BadField("cursor", problem)
    if python_type is str and not isinstance(value, str):
        raise BadField("cursor", problem)
    return value


@dataclass(frozen=True, slots=True)
class Page:
    """Rows of one page (JSON-ready) and the cursor of the next (None on the last page)."""

    items: list[dict[str, Any]]
    next_cursor: str | None

    def to_json(self) -> dict[str, Any]:
        return {"items": self.items, "next_cursor": self.next_cursor}


def read_page(
    conn: Connection,
    query: Any,
    keys: Keys,
    *,
    cursor: str | None,
    limit: int,
    conditions: Sequence[ColumnElement[bool]] = (),
    to_json: Callable[[Row[Any]], dict[str, Any]],
) -> Page:
    """One page of ``query`` (a ``Select`` whose columns include the keys) filtered by ``conditions``."""
    after = keys.after(cursor)
    where = [*conditions, *([after] if after is not None else [])]
    rows = conn.execute(query.where(*where).order_by(*keys.order()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return Page([to_json(r) for r in rows], keys.encode(rows[-1]) if more and rows else None)


@dataclass(frozen=True, slots=True)
class Window:
    """A page request: ``cursor`` and ``limit``, rows from ``since`` (inclusive) to ``until`` (exclusive), and the
    optional ``symbol``, ``status``, ``strategy`` and ``run`` filters (each list applies the ones it has)."""

    cursor: str | None = None
    limit: int = 100
    since: datetime | None = None
    until: datetime | None = None
    symbol: str | None = None
    status: str | None = None
    strategy: str | None = None
    run: str | None = None

    def filters(self, time: Any, **columns: Any) -> list[ColumnElement[bool]]:
        """Conditions on ``time`` and on each named filter's column (``symbol=Table.symbol``) that is set."""
        out: list[ColumnElement[bool]] = []
        if self.since is not None:
            out.append(time >= self.since)
        if self.until is not None:
            out.append(time < self.until)
        values = {"symbol": self.symbol, "status": self.status, "strategy": self.strategy, "run": self.run}
        for name, column in columns.items():
            value = values[name]
            if value is not None:
                out.append(column == value)
        return out

    def read(
        self, conn: Connection, query: Any, keys: Keys, to_json: Callable[[Row[Any]], dict[str, Any]],
        conditions: Sequence[ColumnElement[bool]],
    ) -> Page:  # fmt: skip
        """This window's page of ``query``."""
        return read_page(
            conn, query, keys, cursor=self.cursor, limit=self.limit, conditions=conditions, to_json=to_json
        )
