"""The service's way into the store: opened on first use, never created, every database failure one clear error.

``StoreAccess(url)`` opens the ``Store`` (migrating it, as every defipm process does) the first time a request needs
it, so ``defipm serve`` starts while the database is down or not yet written and answers 503 until it is there. A
SQLite file that does not exist is not created (the service would otherwise make an empty database a run then
shares). Reads wait at most ``busy_timeout`` seconds for a lock, then fail instead of hanging the request.
``DatabaseUnavailable`` carries the cause, with any password removed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from defipm.core.errors import ConfigError, DefipmError
from defipm.core.redaction import redact_text, redact_url
from defipm.store import Store

__all__ = ["DatabaseUnavailable", "StoreAccess"]

T = TypeVar("T")


class DatabaseUnavailable(DefipmError):
    """The database cannot be read or written now (missing, locked, unreachable): HTTP 503."""


class StoreAccess:
    """Lazily opened store of ``url``. ``busy_timeout``: seconds a SQLite statement waits for another writer."""

    def __init__(self, url: str, *, busy_timeout: float = 2.0) -> None:
        self.url = url
        self.busy_timeout = busy_timeout
        self._store: Store | None = None
        self._lock = threading.Lock()
        self._writing = threading.Lock()
        """Writes share the store's one write connection: one request at a time."""

    def __repr__(self) -> str:
        return f"StoreAccess({redact_url(self.url)!r})"

    def sqlite_file(self) -> Path | None:
        """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
        try:
            url = make_url(self.url)
        except ArgumentError:
            return None
        if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
            return None
        return Path(url.database)

    @property
    def store(self) -> Store:
        """The open store; raises ``DatabaseUnavailable`` naming why it cannot be opened."""
        if self._store is not None:
            return self._store
        with self._lock:
            if self._store is None:
                self._store = self._open()
        return self._store

    def _open(self) -> Store:
        path = self.sqlite_file()
        if path is not None and not path.exists():
            raise DatabaseUnavailable(
                f"database {path} does not exist: start a run that writes it, or pass the right one with --db"
            )
        try:
            store = Store(self.url)
        except ConfigError as exc:
            raise DatabaseUnavailable(str(exc)) from None
        if store.engine.dialect.name == "sqlite":
            millis = int(self.busy_timeout * 1000)
            event.listen(store.engine, "connect", lambda conn, _r: conn.execute(f"PRAGMA busy_timeout={millis}"))
            store.engine.dispose()  # pooled connections made before the listener get the new timeout too
        return store

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for reads; any database failure becomes ``DatabaseUnavailable``."""
        store = self.store
        try:
            with store.engine.connect() as conn:
                yield conn
        except (DBAPIError, PoolTimeout) as exc:  # the driver's errors; a bug of ours stays a 500
            raise self.unavailable(exc) from None

    def write(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(store, *args)`` in one transaction of the store's write connection (store functions such as
        ``set_kill_switch`` and the audit row join it, so they commit together or not at all); database failures
        become ``DatabaseUnavailable``."""
        store = self.store
        try:
            with self._writing, store.begin():
                return fn(store, *args)
        except (DBAPIError, PoolTimeout) as exc:  # the driver's errors; a bug of ours stays a 500
            raise self.unavailable(exc) from None

    def unavailable(self, exc: DBAPIError | PoolTimeout) -> DatabaseUnavailable:
        cause = exc.orig if isinstance(exc, DBAPIError) else exc
        first = (str(cause).splitlines() or [type(cause).__name__])[0]
        return DatabaseUnavailable(
            f"database {redact_url(self.url)} is unavailable: {redact_text(first, self.url)}; try again when it is "
            "free (a long write by another process, or the server is down)"
        )

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
