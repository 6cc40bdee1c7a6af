"""One process per portfolio: a lease-based lock on a run, kept in the store (SQLite or PostgreSQL alike).

``RunLock(store, run).acquire()`` writes the holder into ``run_locks`` (host, pid, start, a random owner id) with a
lease that ends ``lease`` seconds later by the database's clock. While it is held, a daemon thread renews the lease
every third of it, and the manager renews it at the start of every cycle: that renewal matches on the owner id, so a
process whose lock was taken over learns it before it trades (``PortfolioLockedError``) instead of trading beside
the new holder. ``release()`` (or leaving the ``with`` block) deletes the row.

A second process is refused with the holder named, unless the holder is provably gone:

- its lease ran out (it stopped renewing: killed, or its host is down): taken over on any host, by a compare-and-set
  that also requires the lease still to be over, so a holder renewing at that instant keeps its lock;
- it ran on this machine (same kernel boot and pid namespace) and its pid is gone, a zombie, or now belongs to a
  process started at another time (pid reuse): taken over at once. Pids are never judged across machines.

Why a table with a lease rather than PostgreSQL's advisory locks: an advisory lock lives in one session, so it is
lost silently on a dropped connection, breaks behind a transaction-pooling proxy, lingers for as long as the server
takes to notice a vanished client, records no holder to name, and does not exist on SQLite. Lease times come from
the database's clock, so clock skew between hosts does not matter.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Table, delete, insert, literal_column, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from defipm.core.errors import DefipmError, PortfolioLockedError
from defipm.store.tables import RUN_LOCKS

if TYPE_CHECKING:
    from defipm.store.database import Store

DEFAULT_LEASE = 60.0
"""Seconds a lock stays valid without renewal: how long a crashed holder on another host blocks its portfolio."""

_CLOCK_SQL = {
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
    "postgresql": "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)",
}
_LOCKS: Table = RUN_LOCKS


def database_clock(dialect: str) -> ColumnElement[Any]:
    """SQL for the database's current time in seconds since 1970 (float)."""
    try:
        return literal_column(_CLOCK_SQL[dialect])
    except KeyError:
        raise DefipmError(f"run locks support SQLite and PostgreSQL, not {dialect}") from None


def machine_id() -> str:
    """Identity of this process table: the kernel's boot id and the pid namespace (Linux), '' elsewhere (then a
    holder is only ever taken over when its lease runs out)."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        namespace = os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""
    return f"{boot}/{namespace}"


def process_start(pid: int) -> str | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22); None when there is no such
    live process (absent or a zombie), '' when it cannot be told."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    except OSError:
        return ""
    fields = stat.rsplit(")", 1)[-1].split()  # after "pid (comm)": state is field 3, starttime field 22
    if len(fields) < 20:
        return ""
    return None if fields[0] in ("Z", "X", "x") else fields[19]


@dataclass(frozen=True, slots=True)
class LockHolder:
    """Who holds a run's lock, as recorded."""

    owner: str
    host: str
    pid: int
    acquired_at: datetime
    expires_in: float
    """Seconds until the lease runs out unless renewed (negative: it ran out that long ago)."""
    machine: str
    process_start: str

    def describe(self) -> str:
        lease = (
            f"its lease runs out in {self.expires_in:.0f} s unless renewed"
            if self.expires_in >= 0
            else f"its lease ran out {-self.expires_in:.0f} s ago"
        )
        return f"pid {self.pid} on host {self.host!r} (since {self.acquired_at:%Y-%m-%d %H:%M:%S} UTC; {lease})"

    def gone(self) -> bool:
        """True when the holder provably no longer runs: same machine, and its pid is gone or was reused."""
        if not self.machine or self.machine != machine_id():
            return False
        now = process_start(self.pid)
        return now is None or bool(self.process_start and now and now != self.process_start)

    def alive(self) -> bool:
        """The holder still runs as far as can be told: not provably gone, and its lease not run out."""
        return self.expires_in >= 0 and not self.gone()

    def describe_state(self) -> str:
        """``running: <holder>``, or ``not running: <holder> stopped ...`` when it is gone or its lease ran out."""
        if self.alive():
            return f"running: {self.describe()}"
        return (
            f"not running: the last holder, {self.describe()}, stopped without releasing the lock (the next run "
            "takes it over)"
        )


def lock_holder(store: Store, run: str) -> LockHolder | None:
    """The recorded holder of ``run``'s lock, or None."""
    with store.engine.connect() as conn:
        return read_holder(conn, run)


def live_holder(store: Store, run: str) -> LockHolder | None:
    """The holder of ``run``'s lock when it still runs (``LockHolder.alive``), else None."""
    holder = lock_holder(store, run)
    return holder if holder is not None and holder.alive() else None


def read_holder(conn: Connection, run: str) -> LockHolder | None:
    """The recorded holder of ``run``'s lock, read on ``conn``."""
    clock = database_clock(conn.dialect.name)
    row = conn.execute(select(_LOCKS, clock.label("now")).where(_LOCKS.c.run == run)).first()
    if row is None:
        return None
    return LockHolder(
        row.owner, row.host, row.pid, row.acquired_at, row.expires_at - row.now, row.machine, row.process_start
    )


class RunLock:
    """The lock of portfolio ``run`` in ``store``: ``with RunLock(store, run): ...`` or ``acquire()``/``release()``.

    lease: seconds the lock stays valid without renewal (a holder that stops renewing is taken over after it).
    heartbeat: renew from a daemon thread every ``lease / 3`` seconds (off for an in-memory database, which no other
    process can open). Raises ``PortfolioLockedError`` when another process holds the run.
    """

    def __init__(self, store: Store, run: str, *, lease: float = DEFAULT_LEASE, heartbeat: bool = True) -> None:
        if not lease > 0:
            raise ValueError(f"lease must be a positive number of seconds, got {lease!r}")
        self.store = store
        self.run = run
        self.lease = float(lease)
        self.owner = uuid.uuid4().hex
        self.held = False
        self._lost = False
        in_memory = store.engine.url.database in (None, "", ":memory:")
        self._heartbeat_on = heartbeat and not in_memory
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        clock = database_clock(store.engine.dialect.name)
        self._renewal = (
            update(_LOCKS)
            .where(_LOCKS.c.run == run, _LOCKS.c.owner == self.owner)
            .values(expires_at=clock + self.lease)
        )

    def __repr__(self) -> str:
        return f"RunLock(run={self.run!r}, held={self.held})"

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.release()

    # -- acquiring -------------------------------------------------------------------------------------------
    def acquire(self) -> RunLock:
        """Take the lock, or take it over from a holder that is gone; else raise ``PortfolioLockedError``."""
        if self.held:
            return self
        try:
            for _ in range(5):  # each pass either ends or saw another process change the row meanwhile
                holder = lock_holder(self.store, self.run)
                if holder is None and self._insert():
                    break
                if holder is not None and self._take_over(holder):
                    break
            else:
                holder = lock_holder(self.store, self.run)
                raise PortfolioLockedError(self._refusal(holder))
        except SQLAlchemyError as exc:
            raise DefipmError(f"cannot lock portfolio {self.run!r} in {self.store!r}: {type(exc).__name__}") from None
        self.held, self._lost = True, False
        self._start_heartbeat()
        return self

    def _mine(self) -> dict[str, Any]:
        pid = os.getpid()
        return {
            "owner": self.owner,
            "host": socket.gethostname(),
            "machine": machine_id(),
            "pid": pid,
            "process_start": process_start(pid) or "",
            "acquired_at": datetime.now(UTC),
        }

    def _insert(self) -> bool:
        clock = database_clock(self.store.engine.dialect.name)
        try:
            with self.store.begin() as conn:
                conn.execute(insert(_LOCKS).values(run=self.run, expires_at=clock + self.lease, **self._mine()))
        except IntegrityError:  # another process inserted first: look again
            return False
        return True

    def _take_over(self, holder: LockHolder) -> bool:
        """Take over from ``holder`` if it is gone or its lease ran out (False when the row changed meanwhile);
        raise ``PortfolioLockedError`` if it is alive."""
        clock = database_clock(self.store.engine.dialect.name)
        match = [_LOCKS.c.run == self.run, _LOCKS.c.owner == holder.owner]
        if not holder.gone():
            if holder.expires_in >= 0:
                raise PortfolioLockedError(self._refusal(holder))
            match.append(_LOCKS.c.expires_at < clock)  # still over when we write: a renewal just now wins
        with self.store.begin() as conn:
            done = conn.execute(update(_LOCKS).where(*match).values(expires_at=clock + self.lease, **self._mine()))
        return done.rowcount == 1

    def _refusal(self, holder: LockHolder | None) -> str:
        who = holder.describe() if holder is not None else "another process"
        return (
            f"portfolio {self.run!r} is already being run by {who}: one process per portfolio. Stop that process "
            "(it releases the lock when it exits), or wait: a holder that stops renewing its lease is taken over "
            "when the lease runs out"
        )

    # -- holding ---------------------------------------------------------------------------------------------
    def renew(self) -> None:
        """Extend the lease, proving this process still holds the lock (the manager calls it before each cycle).

        Raises ``PortfolioLockedError`` when another process took the lock over (this one must stop trading), and
        ``DefipmError`` when the database cannot be reached (nothing is known: do not trade this cycle)."""
        if not self.held:
            raise PortfolioLockedError(f"portfolio {self.run!r}: this process does not hold its lock")
        try:
            with self.store.begin() as conn:
                renewed = conn.execute(self._renewal).rowcount == 1
        except SQLAlchemyError as exc:
            raise DefipmError(
                f"cannot renew the lock of portfolio {self.run!r} in {self.store!r}: {type(exc).__name__}; "
                "not trading until the database answers"
            ) from None
        if self._lost or not renewed:
            self._lost = True
            self._stop.set()
            holder = lock_holder(self.store, self.run)
            now = f"it is now held by {holder.describe()}" if holder is not None else "it is no longer recorded"
            raise PortfolioLockedError(
                f"portfolio {self.run!r}: this process lost its lock (its lease ran out without renewal); {now}. "
                "This process stops trading"
            )

    def _start_heartbeat(self) -> None:
        if not self._heartbeat_on:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._beat, name=f"defipm-lock-{self.run}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(self.lease / 3):
            try:
                with self.store.engine.begin() as conn:
                    renewed = conn.execute(self._renewal).rowcount == 1
            except SQLAlchemyError:
                continue  # the database is away: try again; the lease says how long that is safe
            if not renewed:
                self._lost = True  # taken over: the next renew() stops the manager
                return

    # -- releasing -------------------------------------------------------------------------------------------
    def release(self) -> None:
        """Stop renewing and delete the lock row if it is still this process's (idempotent)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if not self.held:
            return
        self.held = False
        try:
            with self.store.begin() as conn:
                conn.execute(delete(_LOCKS).where(_LOCKS.c.run == self.run, _LOCKS.c.owner == self.owner))
        except SQLAlchemyError:
            pass  # left behind: taken over at once on this machine (dead pid), elsewhere when the lease runs out


__all__ = ["DEFAULT_LEASE", "LockHolder", "RunLock", "lock_holder", "read_holder"]
