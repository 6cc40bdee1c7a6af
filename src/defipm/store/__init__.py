"""Persistence: SQLAlchemy models, migrations and the ``Store`` facade (SQLite by default, PostgreSQL by URL)."""

from defipm.store.database import Store, default_url

__all__ = ["Store", "default_url"]
