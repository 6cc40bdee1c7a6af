"""The ``Store``: one database (SQLite file by default, PostgreSQL by URL), migrated on open, with the small set
of reads and writes the manager, the journal and the paper venue need.

SQLite runs in WAL mode with ``synchronous=NORMAL``: a commit survives a killed process (what the journal needs)
at a fraction of the cost of a full fsync.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, delete, event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError

from defipm.core.errors import ConfigError
from defipm.core.orders import OrderStatus
from defipm.core.redaction import hide_in_logs, redact_text, redact_url
from defipm.store.tables import CYCLES, EQUITY_SNAPSHOTS, FLOWS, ORDERS, RISK_EVENTS, SETTINGS, TARGET_WEIGHTS

if TYPE_CHECKING:
    from defipm.store.models import Cycle, RiskEvent


def _write_cycle_children(
    conn: Connection,
    run: str,
    cycle_id: str,
    timestamp: datetime,
    targets: dict[str, tuple[float | None, float]] | None,
    risk_events: list[tuple[str, str, str]] | None,
    snapshot: tuple[Decimal, Decimal, float, float] | None,
) -> None:
    """A cycle's target weights, risk events and closing equity snapshot (each only when given)."""
    if targets:
        conn.execute(
            insert(TARGET_WEIGHTS),
            [{"cycle_id": cycle_id, "symbol": s, "target": t, "executed": e} for s, (t, e) in targets.items()],
        )
    if risk_events:
        conn.execute(
            insert(RISK_EVENTS),
            [
                {"run": run, "cycle_id": cycle_id, "timestamp": timestamp, "limit": lim, "detail": d, "action": a}
                for lim, d, a in risk_events
            ],
        )
    if snapshot is not None:
        eq, cash, gross, net = snapshot
        conn.execute(
            insert(EQUITY_SNAPSHOTS).values(run=run, timestamp=timestamp, equity=eq, cash=cash, gross=gross, net=net)
        )


def default_url(path: str | Path = "defipm.db") -> str:
    return f"sqlite:///{Path(path).expanduser()}"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA busy_timeout=10000")  # first: switching a fresh file to WAL may wait for another process
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


ACCOUNT_KEY = "venue_account"
"""Setting of a run: the venue account it trades (``Store.bind_account``)."""
ACCOUNT_OWNERS = "~accounts"
"""Pseudo-run whose settings map a hash of each venue account to the run that trades it."""
DATABASE_SETTING = 'set `database` in the config (database = "sqlite:///path/defipm.db") or DEFIPM_DATABASE'
"""Where the store's URL comes from, named by every "cannot open database" error."""


class Store:
    """Database handle. ``Store("sqlite:///path.db")`` or ``Store("postgresql+psycopg://...")``."""

    def __init__(self, url: str | None = None, *, migrate: bool = True) -> None:
        self.url = url or default_url()
        hide_in_logs(self.url)  # a driver's or SQLAlchemy's log line never shows the password
        try:
            self.engine: Engine = create_engine(self.url, future=True)
        except (SQLAlchemyError, ModuleNotFoundError, ValueError) as exc:
            raise ConfigError(f"database URL {redact_url(self.url)}: {redact_text(str(exc), self.url)}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self._writer: Connection | None = None
        if migrate:
            self.migrate()

    def __repr__(self) -> str:
        return f"Store({redact_url(self.url)!r})"

    def migrate(self) -> None:
        """Bring the schema to the newest Alembic revision."""
        from defipm.store.migrate import ForeignSchemaError, upgrade

        try:
            upgrade(self.engine)
        except ForeignSchemaError as exc:
            where = self._open_hint().removeprefix(" (").removesuffix(")")
            raise ConfigError(
                f"cannot use database {redact_url(self.url)}{f' ({where})' if where else ''}: {exc}; {DATABASE_SETTING}"
            ) from None
        except SQLAlchemyError as exc:
            detail = redact_text(str(exc).splitlines()[0] if str(exc) else "", self.url)
            raise ConfigError(
                f"cannot open database {redact_url(self.url)}: {exc.__class__.__name__}: {detail}"
                f"{self._open_hint()}; {DATABASE_SETTING}"
            ) from None

    def _open_hint(self) -> str:
        """What to check when the database would not open: the SQLite file's folder, or the server's address."""
        url = self.engine.url
        if self.engine.dialect.name == "sqlite":
            if not url.database or url.database == ":memory:":
                return ""
            path = Path(url.database).resolve()
            if not path.parent.is_dir():
                return f" (the file {path}: its folder {path.parent} does not exist)"
            if path.is_dir():
                return f" (the file {path} is a folder)"
            if not os.access(path.parent, os.W_OK):
                return f" (the file {path}: its folder {path.parent} is not writable)"
            return f" (the file {path})"
        return f" (is the database server at {url.host or 'localhost'}:{url.port or 'default port'} running?)"

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A transaction on the store's long-lived write connection (no pool checkout on the hot path)."""
        conn = self._writer
        if conn is None or conn.closed or conn.invalidated:
            conn = self._writer = self.engine.connect()
        if conn.in_transaction():  # nested use: join the open transaction
            yield conn
            return
        with conn.begin():
            yield conn

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self.engine.dispose()

    # -- settings -------------------------------------------------------------------------------------------
    def get_setting(self, run: str, key: str) -> str | None:
        with self.engine.connect() as conn:
            return conn.execute(select(SETTINGS.c.value).where(SETTINGS.c.run == run, SETTINGS.c.key == key)).scalar()

    def set_setting(self, run: str, key: str, value: str | None) -> None:
        with self.begin() as conn:
            conn.execute(delete(SETTINGS).where(SETTINGS.c.run == run, SETTINGS.c.key == key))
            if value is not None:
                conn.execute(insert(SETTINGS).values(run=run, key=key, value=value))

    def bind_account(self, run: str, account: str) -> tuple[str, str] | None:
        """Tie portfolio ``run`` to the venue ``account`` it trades (a description such as "paper account 'x'"),
        both ways: a run trades one account, an account is traded by one run. The first call writes the tie (in
        one transaction; of two processes racing, one wins). Returns None when tied, or (the account ``run`` is
        tied to, the run ``account`` is tied to) when either differs, writing nothing."""
        owner_key = hashlib.sha256(account.encode()).hexdigest()[:64]
        value, run_col, key_col = SETTINGS.c.value, SETTINGS.c.run, SETTINGS.c.key
        with self.begin() as conn:
            tied = conn.execute(select(value).where(run_col == run, key_col == ACCOUNT_KEY)).scalar()
            owner = conn.execute(select(value).where(run_col == ACCOUNT_OWNERS, key_col == owner_key)).scalar()
            if (tied or account) != account or (owner or run) != run:
                return tied or account, owner or run
            if tied is None:
                conn.execute(insert(SETTINGS).values(run=run, key=ACCOUNT_KEY, value=account))
            if owner is None:
                conn.execute(insert(SETTINGS).values(run=ACCOUNT_OWNERS, key=owner_key, value=run))
        return None

    # -- records --------------------------------------------------------------------------------------------
    def record_cycle(
        self,
        *,
        run: str,
        cycle_id: str,
        timestamp: datetime,
        status: str,
        equity: Decimal | None,
        fees: Decimal | None,
        turnover: float | None,
        error: str | None,
        notes: list[str],
        targets: dict[str, tuple[float | None, float]] | None,
        risk_events: list[tuple[str, str, str]] | None,
        snapshot: tuple[Decimal, Decimal, float, float] | None,
        completed: bool = True,
        orders: int | None = None,
    ) -> None:
        """Write one cycle with its targets, risk events and closing equity snapshot in one transaction.

        Called twice for a cycle that sends orders: with ``completed=False`` just before its first order (the row
        then exists for the journal's orders to point to), and again when it is done; the second call replaces
        the first's row, and its targets and risk events unless they are None (kept as written)."""
        row = {
            "run": run,
            "timestamp": timestamp,
            "status": status,
            "equity": equity,
            "fees": fees,
            "turnover": turnover,
            "error": error,
            "notes": json.dumps(notes),
            "completed": completed,
            "orders": orders,
        }
        with self.begin() as conn:
            exists = conn.execute(select(CYCLES.c.id).where(CYCLES.c.id == cycle_id)).first() is not None
            if exists:
                conn.execute(update(CYCLES).where(CYCLES.c.id == cycle_id).values(**row))
                if targets is not None:
                    conn.execute(delete(TARGET_WEIGHTS).where(TARGET_WEIGHTS.c.cycle_id == cycle_id))
                if risk_events is not None:
                    conn.execute(delete(RISK_EVENTS).where(RISK_EVENTS.c.cycle_id == cycle_id))
            else:
                conn.execute(insert(CYCLES).values(id=cycle_id, **row))
            _write_cycle_children(conn, run, cycle_id, timestamp, targets, risk_events, snapshot)

    def incomplete_cycles(self, run: str) -> list[Cycle]:
        """Cycles of ``run`` whose row was opened before sending and never completed (the process stopped)."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CYCLES).where(CYCLES.c.run == run, CYCLES.c.completed.is_(False)).order_by(CYCLES.c.timestamp)
            )
            return records("Cycle", rows)

    def close_cycle(self, cycle_id: str, *, status: str, error: str, fees: Decimal, orders: int) -> None:
        """Complete a cycle row left open by a stopped process (its orders' outcomes are known by now)."""
        with self.begin() as conn:
            conn.execute(
                update(CYCLES)
                .where(CYCLES.c.id == cycle_id)
                .values(status=status, error=error, fees=fees, orders=orders, completed=True)
            )

    def orders_sent(self, run: str, cycle_id: str) -> tuple[int, Decimal]:
        """(orders sent, their fees) of one cycle, resent ones included (intents it never sent do not count)."""
        unsent = (OrderStatus.PLANNED.value, OrderStatus.CANCELLED.value)
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(ORDERS.c.status, ORDERS.c.fee).where(ORDERS.c.run == run, ORDERS.c.sent_cycle_id == cycle_id)
            ).all()
        sent = [fee for status, fee in rows if status not in unsent]
        return len(sent), sum((fee or Decimal(0) for fee in sent), Decimal(0))

    def record_flow(self, run: str, timestamp: datetime, amount: Decimal, kind: str, note: str | None = None) -> None:
        with self.begin() as conn:
            conn.execute(insert(FLOWS).values(run=run, timestamp=timestamp, amount=amount, kind=kind, note=note))

    def recent_cycles(self, run: str, limit: int = 10) -> list[Cycle]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(CYCLES)
                .where(CYCLES.c.run == run)
                .order_by(CYCLES.c.timestamp.desc(), CYCLES.c.id.desc())
                .limit(limit)
            )
            return records("Cycle", rows)

    def targets_of(self, cycle_id: str) -> dict[str, tuple[float | None, float]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(TARGET_WEIGHTS.c.symbol, TARGET_WEIGHTS.c.target, TARGET_WEIGHTS.c.executed).where(
                    TARGET_WEIGHTS.c.cycle_id == cycle_id
                )
            )
            return {s: (t, e) for s, t, e in rows}

    def equity_history(self, run: str) -> list[tuple[datetime, Decimal]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(EQUITY_SNAPSHOTS.c.timestamp, EQUITY_SNAPSHOTS.c.equity)
                .where(EQUITY_SNAPSHOTS.c.run == run)
                .order_by(EQUITY_SNAPSHOTS.c.timestamp, EQUITY_SNAPSHOTS.c.id)
            )
            return [(t, e) for t, e in rows]

    def flows(self, run: str) -> list[tuple[datetime, Decimal]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(FLOWS.c.timestamp, FLOWS.c.amount)
                .where(FLOWS.c.run == run)
                .order_by(FLOWS.c.timestamp, FLOWS.c.id)
            )
            return [(t, a) for t, a in rows]

    def risk_events(self, run: str) -> list[RiskEvent]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(RISK_EVENTS).where(RISK_EVENTS.c.run == run).order_by(RISK_EVENTS.c.id))
            return records("RiskEvent", rows)


def records(model: str, rows: Any) -> list[Any]:
    """Result rows as instances of the ORM class ``model`` of ``store/models.py``, imported only when there are
    rows (the trading path reads no such records and so never loads SQLAlchemy's ORM)."""
    found = list(rows)
    if not found:
        return []
    from defipm.store import models

    cls = getattr(models, model)
    return [cls(**row._mapping) for row in found]


def __getattr__(name: str) -> Any:
    if name == "Base":  # the declarative base, where it was importable from before ``store/tables.py``
        from defipm.store.models import Base

        return Base
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["Store", "default_url", "records", "redact_url"]
