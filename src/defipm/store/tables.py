"""The database's tables as SQLAlchemy Core ``Table``s, on one ``METADATA`` with the naming convention of every
index and constraint: what the store, the journal, the run lock and the paper venue's books read and write.

``models.py`` maps an ORM class onto each table (``Cycle`` onto ``CYCLES``, ...) for the readers that want objects
and column attributes (``Cycle.run``): the service, the classifier's and the learned allocator's records, tests.
The trading path imports this module only, so a ``defipm rebalance`` never loads SQLAlchemy's ORM (a tenth of a
second of its start-up, issue 19). What each column holds is documented on its ORM class, in ``models.py``.

Schema changes go through a new Alembic revision in ``store/migrations/versions``; ``tests/store`` checks the
migrated schema equals these tables, and that the ORM classes name exactly their columns.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from defipm.store.types import DecimalText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
METADATA = MetaData(naming_convention=NAMING)
"""Every table of the store, the arbitrage tables of ``store/arbitrage.py`` included once that module is imported."""


def _now() -> datetime:
    return datetime.now(UTC)


CYCLES = Table(
    "cycles",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("run", String(64), nullable=False, index=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("status", String(16), nullable=False),
    Column("equity", DecimalText()),
    Column("fees", DecimalText()),
    Column("turnover", Float),
    Column("error", Text),
    Column("notes", Text),
    Column("completed", Boolean, nullable=False, default=False),
    Column("orders", Integer),
    Column("recorded_at", UTCDateTime(), default=_now, onupdate=_now, index=True),
    Index("ix_cycles_run_timestamp", "run", "timestamp", "id"),
)
TARGET_WEIGHTS = Table(
    "target_weights",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("cycle_id", String(64), ForeignKey("cycles.id"), nullable=False, index=True),
    Column("symbol", String(64), nullable=False),
    Column("target", Float),
    Column("executed", Float, nullable=False),
)
ORDERS = Table(
    "orders",
    METADATA,
    Column("client_order_id", String(66), primary_key=True),
    Column("run", String(64), nullable=False, index=True),
    Column("cycle_id", String(64), index=True),
    Column("sent_cycle_id", String(64), index=True),
    Column("seq", Integer, nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", DecimalText(), nullable=False),
    Column("order_type", String(16), nullable=False),
    Column("limit_price", DecimalText()),
    Column("reference_price", DecimalText()),
    Column("reduce_only", Boolean, nullable=False, default=False),
    Column("status", String(20), nullable=False, index=True),
    Column("filled_quantity", DecimalText()),
    Column("average_price", DecimalText()),
    Column("fee", DecimalText()),
    Column("error", Text),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index("ix_orders_run_created_at", "run", "created_at", "client_order_id"),
    Index("ix_orders_run_symbol_created_at", "run", "symbol", "created_at", "client_order_id"),
    Index("ix_orders_run_status", "run", "status"),
)
FILLS = Table(
    "fills",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(64), nullable=False, index=True),
    Column("client_order_id", String(66), index=True),
    Column("cycle_id", String(64), index=True),
    Column("symbol", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", DecimalText(), nullable=False),
    Column("price", DecimalText(), nullable=False),
    Column("fee", DecimalText(), nullable=False),
    Column("timestamp", UTCDateTime()),
    Column("venue_order_id", String(128)),
    Index("ix_fills_run_id", "run", "id"),
    Index("ix_fills_run_symbol_id", "run", "symbol", "id"),
    Index("ix_fills_run_timestamp", "run", "timestamp"),
)
EQUITY_SNAPSHOTS = Table(
    "equity_snapshots",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(64), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("equity", DecimalText(), nullable=False),
    Column("cash", DecimalText(), nullable=False),
    Column("gross", Float, nullable=False),
    Column("net", Float, nullable=False),
    Index("ix_equity_snapshots_run_timestamp", "run", "timestamp"),
)
FLOWS = Table(
    "flows",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(64), nullable=False, index=True),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("amount", DecimalText(), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("note", Text),
)
RISK_EVENTS = Table(
    "risk_events",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run", String(64), nullable=False, index=True),
    Column("cycle_id", String(64)),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("limit", String(64), nullable=False),
    Column("detail", Text, nullable=False),
    Column("action", String(32), nullable=False),
)
SETTINGS = Table(
    "settings",
    METADATA,
    Column("run", String(64), primary_key=True),
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)
PAPER_ACCOUNTS = Table(
    "paper_accounts",
    METADATA,
    Column("name", String(64), primary_key=True),
    Column("mode", String(8), nullable=False),
    Column("cash", DecimalText(), nullable=False),
    Column("initial_cash", DecimalText(), nullable=True),
    Column("fill_count", Integer, nullable=False, default=0),
    Column("updated_at", UTCDateTime(), nullable=False),
)
PAPER_POSITIONS = Table(
    "paper_positions",
    METADATA,
    Column("account", String(64), ForeignKey("paper_accounts.name"), primary_key=True),
    Column("symbol", String(64), primary_key=True),
    Column("quantity", DecimalText(), nullable=False),
    Column("price", DecimalText()),
)
PAPER_FILLS = Table(
    "paper_fills",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account", String(64), ForeignKey("paper_accounts.name"), nullable=False, index=True),
    Column("client_order_id", String(66), nullable=False),
    Column("symbol", String(64), nullable=False),
    Column("side", String(4), nullable=False),
    Column("quantity", DecimalText(), nullable=False),
    Column("price", DecimalText(), nullable=False),
    Column("fee", DecimalText(), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    UniqueConstraint("account", "client_order_id"),
)
ROTATIONS = Table(
    "rotations",
    METADATA,
    Column("id", String(64), primary_key=True),
    Column("run", String(64), nullable=False, index=True),
    Column("oracle", String(64), nullable=False),
    Column("timestamp", UTCDateTime(), nullable=False),
    Column("period_end", UTCDateTime()),
    Column("held", Text, nullable=False),
    Column("added", Text, nullable=False),
    Column("dropped", Text, nullable=False),
    Column("excluded", Text, nullable=False),
    Column("params", Text, nullable=False),
    Index("ix_rotations_run_timestamp", "run", "timestamp"),
)
CLASSIFICATIONS = Table(
    "classifications",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("rotation_id", String(64), ForeignKey("rotations.id"), nullable=False, index=True),
    Column("symbol", String(64), nullable=False),
    Column("asset", String(64), nullable=False),
    Column("categories", String(255), nullable=False),
    Column("bars", Integer, nullable=False),
    Column("return", Float),
    Column("ma_short", Float),
    Column("ma_long", Float),
    Column("volume", Float),
    Column("sortino", Float),
    Column("kept", Boolean, nullable=False),
    Column("reason", String(16)),
    Column("rank", Integer),
)
RUN_LOCKS = Table(
    "run_locks",
    METADATA,
    Column("run", String(64), primary_key=True),
    Column("owner", String(32), nullable=False),
    Column("host", String(255), nullable=False),
    Column("machine", String(128), nullable=False),
    Column("pid", Integer, nullable=False),
    Column("process_start", String(32), nullable=False),
    Column("acquired_at", UTCDateTime(), nullable=False),
    Column("expires_at", Float, nullable=False),
)
AUDIT_LOG = Table(
    "audit_log",
    METADATA,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("action", String(32), nullable=False),
    Column("run", String(64), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("client", String(64), nullable=False),
    Column("detail", Text, nullable=False, default=""),
)
RL_MODELS = Table(
    "rl_models",
    METADATA,
    Column("id", String(80), primary_key=True),
    Column("name", String(64), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("path", Text, nullable=False),
    Column("symbols", Text, nullable=False),
    Column("interval_seconds", Float, nullable=False),
    Column("window", Integer, nullable=False),
    Column("rebalance_every", Integer, nullable=False),
    Column("data_start", UTCDateTime(), nullable=False),
    Column("data_end", UTCDateTime(), nullable=False),
    Column("data_hash", String(64), nullable=False),
    Column("figures", Text, nullable=False),
    Column("card", Text, nullable=False),
    UniqueConstraint("name", "version"),
)
