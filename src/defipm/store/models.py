"""SQLAlchemy ORM classes of everything defipm records: manager cycles, target weights, the order journal, fills,
equity snapshots, quote-currency flows, risk events, run settings (kill switch, peak equity, risk limits), run locks,
the paper venue's books, the rotations of the classifier oracle with their classification tables, the service's
audit of write requests, and the learned allocator's model registry (``rl_models``). Every row belongs to a ``run``
(one portfolio), so several portfolios can share one database.

Each class is mapped onto its Core table in ``store/tables.py`` (``Cycle`` onto ``CYCLES``), where the schema is
defined; the annotations here type the attributes and say what each column holds. The trading path (store,
journal, run lock, paper books) uses the tables and never imports this module, so it never loads the ORM.

Schema changes go through a new Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy.orm import DeclarativeBase, Mapped, column_property

from defipm.store import tables


class Base(DeclarativeBase):
    metadata = tables.METADATA


class Cycle(Base):
    """One ``manage_portfolio`` call."""

    __table__ = tables.CYCLES
    id: Mapped[str]
    run: Mapped[str]
    timestamp: Mapped[datetime]
    status: Mapped[str]
    equity: Mapped[Decimal | None]
    fees: Mapped[Decimal | None]
    turnover: Mapped[float | None]
    error: Mapped[str | None]
    notes: Mapped[str | None]
    """JSON list of remarks (oracle notes, skipped trades)."""
    completed: Mapped[bool]
    """False from just before the cycle's first order is sent until the cycle is recorded in full; a row left
    incomplete (status "running") belongs to a process that stopped mid-cycle, and is closed at the restart."""
    orders: Mapped[int | None]
    """Orders this cycle sent, resent intents of an interrupted cycle included."""
    recorded_at: Mapped[datetime | None]
    """When the row was last written (the writer's clock; set on every insert and update): lets a reader in another
    process find new and changed cycles without scanning (``timestamp`` is the cycle's own time, which a replay
    sets in the past). NULL for rows written before revision 0007."""


class TargetWeight(Base):
    __table__ = tables.TARGET_WEIGHTS
    id: Mapped[int]
    cycle_id: Mapped[str]
    symbol: Mapped[str]
    target: Mapped[float | None]
    """Weight the oracle asked for (NULL when it was not a finite number)."""
    executed: Mapped[float]
    """Weight after risk limits."""


class OrderRecord(Base):
    """The order journal: one row per intent, written before the order is sent."""

    __table__ = tables.ORDERS
    client_order_id: Mapped[str]
    run: Mapped[str]
    cycle_id: Mapped[str | None]
    """The cycle that planned the order (None for a manual trade)."""
    sent_cycle_id: Mapped[str | None]
    """The cycle that sent it: the planning cycle, or the one that resent it after a restart."""
    seq: Mapped[int]
    """Position of the order in its plan."""
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    order_type: Mapped[str]
    limit_price: Mapped[Decimal | None]
    reference_price: Mapped[Decimal | None]
    reduce_only: Mapped[bool]
    status: Mapped[str]
    filled_quantity: Mapped[Decimal | None]
    average_price: Mapped[Decimal | None]
    fee: Mapped[Decimal | None]
    error: Mapped[str | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class FillRecord(Base):
    __table__ = tables.FILLS
    id: Mapped[int]
    run: Mapped[str]
    client_order_id: Mapped[str | None]
    cycle_id: Mapped[str | None]
    """The cycle that sent the order (``orders.sent_cycle_id``)."""
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    timestamp: Mapped[datetime | None]
    """When the fill happened (the venue's time; the time it was recorded when the venue gives none)."""
    venue_order_id: Mapped[str | None]


class EquitySnapshot(Base):
    __table__ = tables.EQUITY_SNAPSHOTS
    id: Mapped[int]
    run: Mapped[str]
    timestamp: Mapped[datetime]
    equity: Mapped[Decimal]
    cash: Mapped[Decimal]
    gross: Mapped[float]
    net: Mapped[float]


class Flow(Base):
    """A deposit (+) or withdrawal (-) of quote currency: not profit, not loss."""

    __table__ = tables.FLOWS
    id: Mapped[int]
    run: Mapped[str]
    timestamp: Mapped[datetime]
    amount: Mapped[Decimal]
    kind: Mapped[str]
    note: Mapped[str | None]


class RiskEvent(Base):
    __table__ = tables.RISK_EVENTS
    id: Mapped[int]
    run: Mapped[str]
    cycle_id: Mapped[str | None]
    timestamp: Mapped[datetime]
    limit: Mapped[str]
    detail: Mapped[str]
    action: Mapped[str]


class Setting(Base):
    """Persistent per-run state: the kill switch, the equity peak of the drawdown breaker."""

    __table__ = tables.SETTINGS
    run: Mapped[str]
    key: Mapped[str]
    value: Mapped[str]


class PaperAccount(Base):
    """The paper venue's account: its books survive a restart."""

    __table__ = tables.PAPER_ACCOUNTS
    name: Mapped[str]
    mode: Mapped[str]
    cash: Mapped[Decimal]
    initial_cash: Mapped[Decimal | None]
    """The cash the account was opened with (null for accounts opened before revision 0009)."""
    fill_count: Mapped[int]
    """Fills so far: seeds the slippage noise so a restart continues the same random sequence."""
    updated_at: Mapped[datetime]


class PaperPosition(Base):
    __table__ = tables.PAPER_POSITIONS
    account: Mapped[str]
    symbol: Mapped[str]
    quantity: Mapped[Decimal]
    price: Mapped[Decimal | None]
    """Last mark price."""


class PaperFill(Base):
    """The paper exchange's own record of executions, looked up by client order id after a restart."""

    __table__ = tables.PAPER_FILLS
    id: Mapped[int]
    account: Mapped[str]
    client_order_id: Mapped[str]
    symbol: Mapped[str]
    side: Mapped[str]
    quantity: Mapped[Decimal]
    price: Mapped[Decimal]
    fee: Mapped[Decimal]
    timestamp: Mapped[datetime]


class RotationRecord(Base):
    """One re-selection of the set an oracle holds (the classifier's rotation at the end of each period)."""

    __table__ = tables.ROTATIONS
    id: Mapped[str]
    run: Mapped[str]
    oracle: Mapped[str]
    timestamp: Mapped[datetime]
    """When the set took effect (the close time of the last bar the classification used)."""
    period_end: Mapped[datetime | None]
    """When the next rotation is due."""
    held: Mapped[str]
    """JSON list of the symbols held for the period, highest return first."""
    added: Mapped[str]
    """JSON list: symbols not held in the previous period."""
    dropped: Mapped[str]
    """JSON list: symbols of the previous period no longer held."""
    excluded: Mapped[str]
    """JSON object: rule -> how many tokens it excluded."""
    params: Mapped[str]
    """JSON object: the screen's settings."""


class ClassificationRow(Base):
    """One token of a rotation's classification table: its metrics and verdict (``defipm.classify.result``)."""

    __table__ = tables.CLASSIFICATIONS
    id: Mapped[int]
    rotation_id: Mapped[str]
    symbol: Mapped[str]
    asset: Mapped[str]
    categories: Mapped[str]
    bars: Mapped[int]
    ret: Mapped[float | None] = column_property(tables.CLASSIFICATIONS.c["return"])
    """Cumulative return over the window (fraction); NULL without the history."""
    ma_short: Mapped[float | None]
    ma_long: Mapped[float | None]
    volume: Mapped[float | None]
    """Mean daily dollar volume over the window."""
    sortino: Mapped[float | None]
    kept: Mapped[bool]
    reason: Mapped[str | None]
    """The first rule the token failed; NULL when kept."""
    rank: Mapped[int | None]


class RunLockRecord(Base):
    """Which process runs a portfolio: one row per run while a process holds its lock (``store/lock.py``)."""

    __table__ = tables.RUN_LOCKS
    run: Mapped[str]
    owner: Mapped[str]
    """Random id of this holding: every renewal, take-over and release matches on it."""
    host: Mapped[str]
    """Host name of the holder, for people."""
    machine: Mapped[str]
    """Identity of the holder's process table (kernel boot id and pid namespace); '' when unknown. A holder's pid
    is only looked up from the same machine."""
    pid: Mapped[int]
    process_start: Mapped[str]
    """Start of the holder's process in clock ticks since boot ('' when unknown): a live holder and a new process
    that reused its pid differ here."""
    acquired_at: Mapped[datetime]
    expires_at: Mapped[float]
    """End of the lease, seconds since 1970 by the database's clock; the holder renews it while it runs."""


class AuditRecord(Base):
    """One write request to the service (kill switch, arbitrage pause), done or refused: when, what, from where."""

    __table__ = tables.AUDIT_LOG
    id: Mapped[int]
    at: Mapped[datetime]
    action: Mapped[str]
    """What was asked: ``kill_switch.engage``, ``kill_switch.release``, ``arb.pause``, ``arb.resume``; a request
    refused before its body was read (no or a wrong token) is ``kill_switch`` or ``arb.pause_resume``."""
    run: Mapped[str]
    outcome: Mapped[str]
    """``done``, or why nothing changed: ``unauthorized``, ``not_found``, ``invalid``."""
    status_code: Mapped[int]
    client: Mapped[str]
    """The requesting address (host:port as the server saw it)."""
    detail: Mapped[str]
    """The reason given with the request, or the refusal (never a token)."""


class RLModelRecord(Base):
    """One registered model of the learned allocator (``defipm.rl.registry``): the files live in ``path``; this
    row lets the CLI and the service list models without reading the folder. Read-only once written."""

    __table__ = tables.RL_MODELS
    id: Mapped[str]
    """``name@version``."""
    name: Mapped[str]
    version: Mapped[int]
    created_at: Mapped[datetime]
    path: Mapped[str]
    """The model's folder (``policy.zip`` and ``card.json``)."""
    symbols: Mapped[str]
    """JSON list of the symbols the model trades, in its order."""
    interval_seconds: Mapped[float]
    """Bar length of its data, in seconds."""
    window: Mapped[int]
    """Bars of history per observation."""
    rebalance_every: Mapped[int]
    """Bars between two decisions."""
    data_start: Mapped[datetime]
    data_end: Mapped[datetime]
    data_hash: Mapped[str]
    """SHA-256 of the bars it was trained and tested on."""
    figures: Mapped[str]
    """JSON object: {"train": {...}, "test": {...}}, the figures of each part (``PerformanceSummary`` keys)."""
    card: Mapped[str]
    """The whole card as JSON (``defipm.rl.model.ModelCard``)."""
