"""The Alembic migrations build exactly the schema the models declare, on SQLite and PostgreSQL."""

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
    assert "hunter2-secret" not in str(exc.value)
    assert "***" in str(exc.value)
