"""SQLAlchemy models of everything defipm records: manager cycles, target weights, the order journal, fills,
equity snapshots, quote-currency flows, risk events, run settings (kill switch, peak equity, risk limits), run locks,
the paper venue's books, the rotations of the classifier oracle with their classification tables, the service's
audit of write requests, and the learned allocator's model registry (``rl_models``). Every row belongs to a ``run``
(one portfolio), so several portfolios can share one database.

Schema changes go through a new Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, MetaData, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from defipm.store.types import DecimalText, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _now() -> datetime:
    return datetime.now(UTC)


class Cycle(Base):
    """One ``manage_portfolio`` call."""

    __tablename__ = "cycles"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16))
    equity: Mapped[Decimal | None] = mapped_column(DecimalText())
    fees: Mapped[Decimal | None] = mapped_column(DecimalText())
    turnover: Mapped[float | None] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text)
    notes: Mapped[str | None] = mapped_column(Text)
    """JSON list of remarks (oracle notes, skipped trades)."""
    completed: Mapped[bool] = mapped_column(Boolean, default=False)
    """False from just before the cycle's first order is sent until the cycle is recorded in full; a row left
    incomplete (status "running") belongs to a process that stopped mid-cycle, and is closed at the restart."""
    orders: Mapped[int | None] = mapped_column(Integer)
    """Orders this cycle sent, resent intents of an interrupted cycle included."""
    recorded_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=_now, onupdate=_now, index=True)
    """When the row was last written (the writer's clock; set on every insert and update): lets a reader in another
    process find new and changed cycles without scanning (``timestamp`` is the cycle's own time, which a replay
    sets in the past). NULL for rows written before revision 0007."""
    __table_args__ = (Index("ix_cycles_run_timestamp", "run", "timestamp", "id"),)


class TargetWeight(Base):
    __tablename__ = "target_weights"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    cycle_id: Mapped[str] = mapped_column(ForeignKey("cycles.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    target: Mapped[float | None] = mapped_column(Float)
    """Weight the oracle asked for (NULL when it was not a finite number)."""
    executed: Mapped[float] = mapped_column(Float)
    """Weight after risk limits."""


class OrderRecord(Base):
    """The order journal: one row per intent, written before the order is sent."""

    __tablename__ = "orders"
    client_order_id: Mapped[str] = mapped_column(String(66), primary_key=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    cycle_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The cycle that planned the order (None for a manual trade)."""
    sent_cycle_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The cycle that sent it: the planning cycle, or the one that resent it after a restart."""
    seq: Mapped[int] = mapped_column(Integer)
    """Position of the order in its plan."""
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(DecimalText())
    order_type: Mapped[str] = mapped_column(String(16))
    limit_price: Mapped[Decimal | None] = mapped_column(DecimalText())
    reference_price: Mapped[Decimal | None] = mapped_column(DecimalText())
    reduce_only: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(20), index=True)
    filled_quantity: Mapped[Decimal | None] = mapped_column(DecimalText())
    average_price: Mapped[Decimal | None] = mapped_column(DecimalText())
    fee: Mapped[Decimal | None] = mapped_column(DecimalText())
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (
        Index("ix_orders_run_created_at", "run", "created_at", "client_order_id"),
        Index("ix_orders_run_symbol_created_at", "run", "symbol", "created_at", "client_order_id"),
        Index("ix_orders_run_status", "run", "status"),
    )


class FillRecord(Base):
    __tablename__ = "fills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    client_order_id: Mapped[str | None] = mapped_column(String(66), index=True)
    cycle_id: Mapped[str | None] = mapped_column(String(64), index=True)
    """The cycle that sent the order (``orders.sent_cycle_id``)."""
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(DecimalText())
    price: Mapped[Decimal] = mapped_column(DecimalText())
    fee: Mapped[Decimal] = mapped_column(DecimalText())
    timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the fill happened (the venue's time; the time it was recorded when the venue gives none)."""
    venue_order_id: Mapped[str | None] = mapped_column(String(128))
    __table_args__ = (
        Index("ix_fills_run_id", "run", "id"),
        Index("ix_fills_run_symbol_id", "run", "symbol", "id"),
        Index("ix_fills_run_timestamp", "run", "timestamp"),
    )


class EquitySnapshot(Base):
    __tablename__ = "equity_snapshots"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    equity: Mapped[Decimal] = mapped_column(DecimalText())
    cash: Mapped[Decimal] = mapped_column(DecimalText())
    gross: Mapped[float] = mapped_column(Float)
    net: Mapped[float] = mapped_column(Float)
    __table_args__ = (Index("ix_equity_snapshots_run_timestamp", "run", "timestamp"),)


class Flow(Base):
    """A deposit (+) or withdrawal (-) of quote currency: not profit, not loss."""

    __tablename__ = "flows"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    amount: Mapped[Decimal] = mapped_column(DecimalText())
    kind: Mapped[str] = mapped_column(String(32))
    note: Mapped[str | None] = mapped_column(Text)


class RiskEvent(Base):
    __tablename__ = "risk_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    cycle_id: Mapped[str | None] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    limit: Mapped[str] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(32))


class Setting(Base):
    """Persistent per-run state: the kill switch, the equity peak of the drawdown breaker."""

    __tablename__ = "settings"
    run: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class PaperAccount(Base):
    """The paper venue's account: its books survive a restart."""

    __tablename__ = "paper_accounts"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    mode: Mapped[str] = mapped_column(String(8))
    cash: Mapped[Decimal] = mapped_column(DecimalText())
    initial_cash: Mapped[Decimal | None] = mapped_column(DecimalText(), nullable=True)
    """The cash the account was opened with (null for accounts opened before revision 0009)."""
    fill_count: Mapped[int] = mapped_column(Integer, default=0)
    """Fills so far: seeds the slippage noise so a restart continues the same random sequence."""
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PaperPosition(Base):
    __tablename__ = "paper_positions"
    account: Mapped[str] = mapped_column(ForeignKey("paper_accounts.name"), primary_key=True)
    symbol: Mapped[str] = mapped_column(String(64), primary_key=True)
    quantity: Mapped[Decimal] = mapped_column(DecimalText())
    price: Mapped[Decimal | None] = mapped_column(DecimalText())
    """Last mark price."""


class PaperFill(Base):
    """The paper exchange's own record of executions, looked up by client order id after a restart."""

    __tablename__ = "paper_fills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(ForeignKey("paper_accounts.name"), index=True)
    client_order_id: Mapped[str] = mapped_column(String(66))
    symbol: Mapped[str] = mapped_column(String(64))
    side: Mapped[str] = mapped_column(String(4))
    quantity: Mapped[Decimal] = mapped_column(DecimalText())
    price: Mapped[Decimal] = mapped_column(DecimalText())
    fee: Mapped[Decimal] = mapped_column(DecimalText())
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    __table_args__ = (UniqueConstraint("account", "client_order_id"),)


class RotationRecord(Base):
    """One re-selection of the set an oracle holds (the classifier's rotation at the end of each period)."""

    __tablename__ = "rotations"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    run: Mapped[str] = mapped_column(String(64), index=True)
    oracle: Mapped[str] = mapped_column(String(64))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime())
    """When the set took effect (the close time of the last bar the classification used)."""
    period_end: Mapped[datetime | None] = mapped_column(UTCDateTime())
    """When the next rotation is due."""
    held: Mapped[str] = mapped_column(Text)
    """JSON list of the symbols held for the period, highest return first."""
    added: Mapped[str] = mapped_column(Text)
    """JSON list: symbols not held in the previous period."""
    dropped: Mapped[str] = mapped_column(Text)
    """JSON list: symbols of the previous period no longer held."""
    excluded: Mapped[str] = mapped_column(Text)
    """JSON object: rule -> how many tokens it excluded."""
    params: Mapped[str] = mapped_column(Text)
    """JSON object: the screen's settings."""
    __table_args__ = (Index("ix_rotations_run_timestamp", "run", "timestamp"),)


class ClassificationRow(Base):
    """One token of a rotation's classification table: its metrics and verdict (``defipm.classify.result``)."""

    __tablename__ = "classifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    rotation_id: Mapped[str] = mapped_column(ForeignKey("rotations.id"), index=True)
    symbol: Mapped[str] = mapped_column(String(64))
    asset: Mapped[str] = mapped_column(String(64))
    categories: Mapped[str] = mapped_column(String(255))
    bars: Mapped[int] = mapped_column(Integer)
    ret: Mapped[float | None] = mapped_column("return", Float)
    """Cumulative return over the window (fraction); NULL without the history."""
    ma_short: Mapped[float | None] = mapped_column(Float)
    ma_long: Mapped[float | None] = mapped_column(Float)
    volume: Mapped[float | None] = mapped_column(Float)
    """Mean daily dollar volume over the window."""
    sortino: Mapped[float | None] = mapped_column(Float)
    kept: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(String(16))
    """The first rule the token failed; NULL when kept."""
    rank: Mapped[int | None] = mapped_column(Integer)


class RunLockRecord(Base):
    """Which process runs a portfolio: one row per run while a process holds its lock (``store/lock.py``)."""

    __tablename__ = "run_locks"
    run: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(String(32))
    """Random id of this holding: every renewal, take-over and release matches on it."""
    host: Mapped[str] = mapped_column(String(255))
    """Host name of the holder, for people."""
    machine: Mapped[str] = mapped_column(String(128))
    """Identity of the holder's process table (kernel boot id and pid namespace); '' when unknown. A holder's pid
    is only looked up from the same machine."""
    pid: Mapped[int] = mapped_column(Integer)
    process_start: Mapped[str] = mapped_column(String(32))
    """Start of the holder's process in clock ticks since boot ('' when unknown): a live holder and a new process
    that reused its pid differ here."""
    acquired_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[float] = mapped_column(Float)
    """End of the lease, seconds since 1970 by the database's clock; the holder renews it while it runs."""


class AuditRecord(Base):
    """One write request to the service (kill switch, arbitrage pause), done or refused: when, what, from where."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    action: Mapped[str] = mapped_column(String(32))
    """What was asked: ``kill_switch.engage``, ``kill_switch.release``, ``arb.pause``, ``arb.resume``; a request
    refused before its body was read (no or a wrong token) is ``kill_switch`` or ``arb.pause_resume``."""
    run: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    """``done``, or why nothing changed: ``unauthorized``, ``not_found``, ``invalid``."""
    status_code: Mapped[int] = mapped_column(Integer)
    client: Mapped[str] = mapped_column(String(64))
    """The requesting address (host:port as the server saw it)."""
    detail: Mapped[str] = mapped_column(Text, default="")
    """The reason given with the request, or the refusal (never a token)."""


class RLModelRecord(Base):
    """One registered model of the learned allocator (``defipm.rl.registry``): the files live in ``path``; this
    row lets the CLI and the service list models without reading the folder. Read-only once written."""

    __tablename__ = "rl_models"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)
    """``name@version``."""
    name: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    path: Mapped[str] = mapped_column(Text)
    """The model's folder (``policy.zip`` and ``card.json``)."""
    symbols: Mapped[str] = mapped_column(Text)
    """JSON list of the symbols the model trades, in its order."""
    interval_seconds: Mapped[float] = mapped_column(Float)
    """Bar length of its data, in seconds."""
    window: Mapped[int] = mapped_column(Integer)
    """Bars of history per observation."""
    rebalance_every: Mapped[int] = mapped_column(Integer)
    """Bars between two decisions."""
    data_start: Mapped[datetime] = mapped_column(UTCDateTime())
    data_end: Mapped[datetime] = mapped_column(UTCDateTime())
    data_hash: Mapped[str] = mapped_column(String(64))
    """SHA-256 of the bars it was trained and tested on."""
    figures: Mapped[str] = mapped_column(Text)
    """JSON object: {"train": {...}, "test": {...}}, the figures of each part (``PerformanceSummary`` keys)."""
    card: Mapped[str] = mapped_column(Text)
    """The whole card as JSON (``defipm.rl.model.ModelCard``)."""
    __table_args__ = (UniqueConstraint("name", "version"),)
