"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL; racing processes
all open a fresh database; a database already at head is opened without Alembic, and the store's own reads and
writes never load SQLAlchemy's ORM; each ORM class names exactly its table's columns."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

import defipm.store.arbitrage  # noqa: F401
from defipm import Store
from defipm.store.models import Base


def test_migrated_schema_matches_models(store: Store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    tables = set(inspect(store.engine).get_table_names())
    assert {"cycles", "orders", "fills", "equity_snapshots", "flows", "arbitrage_opportunities"} <= tables
    assert {"arbitrage_executions", "arbitrage_transactions"} <= tables


def test_each_orm_class_names_exactly_its_table_s_columns():
    """``models.py`` maps its classes onto the Core tables of ``tables.py``: an annotation without a column, or a
    column without an annotation (untyped for mypy), is refused here."""
    from sqlalchemy import Table

    from defipm.store import tables

    mapped = [m.class_ for m in Base.registry.mappers if m.class_.__module__ == "defipm.store.models"]
    core = {t for t in vars(tables).values() if isinstance(t, Table)}
    assert {cls.__table__ for cls in mapped} == core
    for cls in mapped:
        annotated = {name for name, kind in cls.__annotations__.items() if str(kind).startswith("Mapped[")}
        columns = {p.key: [c.name for c in p.columns] for p in inspect(cls).column_attrs}
        assert annotated == set(columns), cls.__name__
        assert sorted(c for cs in columns.values() for c in cs) == sorted(c.name for c in cls.__table__.columns)


def test_the_store_reads_and_writes_without_the_orm(tmp_path):
    """Opening a store, the journal, the run lock and a cycle's record use the Core tables only: a rebalance never
    pays for importing SQLAlchemy's ORM (issue 19)."""
    import subprocess
    import sys

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Store(url).close()
    code = f"""
import sys
from datetime import UTC, datetime
from decimal import Decimal
from defipm.journal import SqlJournal
from defipm.store.database import Store
from defipm.store.lock import RunLock
store = Store({url!r})
lock = RunLock(store, "r").acquire()
now = datetime.now(UTC)
store.record_cycle(run="r", cycle_id="c1", timestamp=now, status="traded", equity=Decimal(1), fees=Decimal(0),
                   turnover=0.0, error=None, notes=[], targets={{"BTC": (0.5, 0.5)}}, risk_events=None,
                   snapshot=(Decimal(1), Decimal(1), 0.5, 0.5))
store.set_setting("r", "k", "v")
assert store.get_setting("r", "k") == "v" and store.incomplete_cycles("r") == []
assert SqlJournal(store, "r").open_intents() == []
lock.release()
print(sorted(m for m in sys.modules if m.startswith(("sqlalchemy.orm", "defipm.store.models", "alembic"))))
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == "[]"
    cycles = Store(url).recent_cycles("r")  # a reader that wants records still gets the ORM objects
    assert [(type(c).__name__, c.id, c.status, c.completed) for c in cycles] == [("Cycle", "c1", "traded", True)]


def test_reopening_is_idempotent(store: Store):
    again = Store(store.url)
    again.set_setting("r", "k", "v")
    assert store.get_setting("r", "k") == "v"
    again.close()


def test_decimals_survive_exactly(store: Store):
    from datetime import UTC, datetime
    from decimal import Decimal

    amount = Decimal("123456789012345.123456789012345678")
    store.record_flow("r", datetime(2024, 1, 1, tzinfo=UTC), amount, "deposit")
    assert store.flows("r") == [(datetime(2024, 1, 1, tzinfo=UTC), amount)]


def test_database_password_never_shown():
    import pytest

    from defipm import ConfigError

    url = "postgresql+psycopg://trader:hunter2-secret@127.0.0.1:1/defipm"
    with pytest.raises(ConfigError) as exc:
        Store(url)  # nothing listens on port 1: the error must not carry the password
    assert "hunter2-secret" not in str(exc.value) and "trader" not in str(exc.value)
    assert "postgresql+psycopg://127.0.0.1:1" in str(exc.value)  # scheme, host and port only


RACE = """
import multiprocessing as mp, sys
import defipm.store.database

def open_store(url, barrier, answers):
    barrier.wait()
    try:
        defipm.store.database.Store(url).close()
        answers.put("ok")
    except Exception as exc:
        answers.put(f"{type(exc).__name__}: {exc}")

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    barrier, answers = ctx.Barrier(4), ctx.Queue()
    procs = [ctx.Process(target=open_store, args=(sys.argv[1], barrier, answers)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    print([answers.get() for _ in procs])
"""


def _fresh_database(kind: str, request, tmp_path, suffix: str = "") -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.db'}"
    from sqlalchemy import create_engine, text

    base = request.getfixturevalue("postgres_url").rsplit("/", 1)[0]
    name = f"race_{abs(hash(request.node.nodeid)) % 10**8}{suffix}"
    admin = create_engine(base + "/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    return f"{base}/{name}"


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_processes_opening_a_fresh_database_at_once_all_succeed(kind, request, tmp_path):
    import subprocess
    import sys

    url = _fresh_database(kind, request, tmp_path)
    script = tmp_path / "race.py"
    script.write_text(RACE)
    out = subprocess.run([sys.executable, str(script), url], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == str(["ok"] * 4), out.stdout + out.stderr  # never "table ... already exists"
    store = Store(url)
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.close()


def test_the_head_read_from_the_revision_files_is_alembics():
    from alembic.script import ScriptDirectory

    from defipm.store.migrate import MIGRATIONS, head_revision

    assert head_revision() == ScriptDirectory(str(MIGRATIONS)).get_current_head()


def test_opening_a_database_at_head_skips_alembic_and_one_behind_is_migrated(tmp_path):
    import subprocess
    import sys

    from sqlalchemy import create_engine

    from defipm.store.migrate import current_revision, head_revision, upgrade

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    Store(url).close()
    code = f"import sys; from defipm.store.database import Store; Store({url!r}); print('alembic' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"

    behind = f"sqlite:///{tmp_path / 'old.sqlite'}"
    engine = create_engine(behind)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    engine.dispose()
    store = Store(behind)
    assert current_revision(store.engine) == head_revision()
    with store.engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    store.close()


def _sqlite_tables(path) -> list[tuple[str, ...]]:
    import sqlite3

    with sqlite3.connect(path) as conn:
        return conn.execute("SELECT name, sql FROM sqlite_master ORDER BY name").fetchall()


@pytest.mark.parametrize(
    ("setup", "named"),
    [
        (["CREATE TABLE notes (x)"], "notes"),  # another application's database
        (["CREATE TABLE cycles (x)"], "cycles"),  # one whose table names clash with defipm's
        (
            ["CREATE TABLE alembic_version (version_num VARCHAR(32))", "INSERT INTO alembic_version VALUES ('0042')"],
            "0042",
        ),
    ],
)
def test_a_database_that_is_not_defipm_s_is_refused_and_left_as_it_is(tmp_path, setup, named):
    import sqlite3

    from defipm.core.errors import ConfigError

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        for statement in setup:
            conn.execute(statement)
    before = _sqlite_tables(path)
    with pytest.raises(ConfigError) as caught:
        Store(f"sqlite:///{path}")
    assert named in str(caught.value) and "DEFIPM_DATABASE" in str(caught.value)
    assert _sqlite_tables(path) == before


def test_a_folder_as_the_sqlite_file_is_named_as_a_folder(tmp_path):
    from defipm.core.errors import ConfigError

    (tmp_path / "db.sqlite").mkdir()
    with pytest.raises(ConfigError, match="is a folder"):
        Store(f"sqlite:///{tmp_path / 'db.sqlite'}")


def test_a_shared_postgresql_database_keeps_other_tables_but_refuses_clashing_names(request, tmp_path):
    """Other applications' tables beside defipm's are usual in a PostgreSQL database; a table named as one of
    defipm's is not (it would be taken for defipm's, or fail half-way)."""
    from sqlalchemy import create_engine, text

    from defipm.core.errors import ConfigError

    url = _fresh_database("postgresql", request, tmp_path)
    other = create_engine(url)
    with other.begin() as conn:
        conn.execute(text("CREATE TABLE invoices (id integer primary key, total numeric)"))
        conn.execute(text("INSERT INTO invoices VALUES (1, 12.5)"))
    store = Store(url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.close()
    assert [d[0] for d in diff] == ["remove_table"] and diff[0][1].name == "invoices"  # only the other table
    with other.connect() as conn:
        assert conn.execute(text("SELECT total FROM invoices")).scalar_one() == 12.5

    clashing = _fresh_database("postgresql", request, tmp_path, suffix="_clash")
    with create_engine(clashing).begin() as conn:
        conn.execute(text("CREATE TABLE cycles (x integer)"))
    with pytest.raises(ConfigError, match=r"named as defipm's.*\(cycles\)"):
        Store(clashing)
    with create_engine(clashing).connect() as conn:
        assert "alembic_version" not in set(inspect_tables(conn))
    other.dispose()


def inspect_tables(conn) -> list[str]:
    from sqlalchemy import inspect

    return inspect(conn).get_table_names()
