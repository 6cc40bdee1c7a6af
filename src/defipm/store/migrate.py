"""Bring a database's schema to the newest Alembic revision in ``store/migrations`` (no alembic.ini needed), safely
when several processes open the same fresh database at once.

Fast path: when ``alembic_version`` already names the head revision, opening a store costs one ``SELECT`` and
Alembic is not even imported. The head is read from the revision files themselves (``revision = "..."`` and
``down_revision = ...``), so re-chaining or adding a migration needs no constant updated anywhere.

Slow path: the migration runs under a lock that spans the whole database, taken before Alembic reads the current
version: SQLite's write lock (``BEGIN IMMEDIATE``; other processes wait on ``busy_timeout``) or a PostgreSQL
transaction-scoped advisory lock. The second of two racing processes therefore waits, then finds the schema at head
and does nothing (never "table ... already exists"). DDL is transactional on both backends, so a failed migration
leaves nothing half-built.

Before migrating, the database must be defipm's: fresh, or at a revision of the shipped files. Another
application's SQLite file (tables but no ``alembic_version``: the wrong file), a database holding tables named as
defipm's, or one a newer defipm wrote (a revision these files do not know) raises ``ForeignSchemaError`` and nothing
is written. A PostgreSQL database may hold other applications' tables beside defipm's (a shared database is usual
there), as long as none has the name of one of defipm's.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x646566_69706D
"""PostgreSQL advisory lock key held while migrating (any 64-bit number unlikely to collide: b"defipm")."""

_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN_REVISION = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_QUOTED = re.compile(r"['\"]([^'\"]+)['\"]")


class ForeignSchemaError(Exception):
    """The database holds a schema defipm did not write, or a revision of a newer defipm; the message says which."""


@lru_cache(maxsize=1)
def known_revisions() -> frozenset[str]:
    """Every revision of the shipped revision files."""
    found = (_REVISION.search(path.read_text(encoding="utf-8")) for path in (MIGRATIONS / "versions").glob("*.py"))
    return frozenset(match.group(1) for match in found if match is not None)


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The single head of the shipped revision files, or None when there is not exactly one (Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revision = _REVISION.search(source)
        if revision is None:
            continue
        revisions.add(revision.group(1))
        down = _DOWN_REVISION.search(source)
        if down is not None:
            parents.update(_QUOTED.findall(down.group(1)))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 else None


def current_revision(engine: Engine) -> str | None:
    """The revision recorded in ``alembic_version``; None for a fresh database (or one that cannot be read)."""
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:
        return None
    return rows[0] if len(rows) == 1 else None


def alembic_config(engine: Engine) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def check_schema(conn: Connection) -> None:
    """Raise ``ForeignSchemaError`` unless the database is fresh or at a shipped revision (read on ``conn``)."""
    tables = set(inspect(conn).get_table_names())
    if "alembic_version" not in tables:
        from defipm.store.tables import METADATA

        clash = tables & set(METADATA.tables)
        foreign = clash if conn.dialect.name == "postgresql" else tables  # a shared PostgreSQL database is usual
        if foreign:
            shown = ", ".join(sorted(foreign)[:5]) + (" ..." if len(foreign) > 5 else "")
            named = " named as defipm's" if clash else ""
            raise ForeignSchemaError(
                f"it holds {len(foreign)} table(s){named} that defipm did not create ({shown}) and no defipm schema "
                "version: another application's database, left as it is"
            )
        return
    versions = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    unknown = sorted(set(versions) - known_revisions())
    if unknown:
        raise ForeignSchemaError(
            f"its schema is at revision {', '.join(unknown)}, unknown to this defipm (its newest is {head_revision()}): "
            "written by a newer defipm (upgrade defipm) or another application; left as it is"
        )


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate ``engine``'s database to ``revision`` (the newest by default). Raises SQLAlchemyError, or
    ``ForeignSchemaError`` (writing nothing) for a database that is not defipm's or a newer defipm's."""
    if revision == "head" and (head := head_revision()) is not None and current_revision(engine) == head:
        return
    from alembic import command

    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")  # the write lock first: a racing process waits here
        elif engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        check_schema(conn)
        cfg = alembic_config(engine)
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)
        conn.commit()
