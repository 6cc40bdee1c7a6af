"""Alembic environment: uses the connection handed over by ``defipm.store.migrate``."""

from __future__ import annotations

from alembic import context

import defipm.store.arbitrage  # noqa: F401  (registers the arbitrage tables on Base)
from defipm.store.models import Base

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - only when someone runs the alembic CLI by hand
    raise RuntimeError("run migrations through defipm.store.migrate.upgrade(engine)")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
