"""The arbitrage engine's tables on the store's declarative ``Base``.

- ``arbitrage_opportunities`` / ``execution_results``: what the loop found and what each execution did (the
  records the event bus writes; ``defipm.arb.records`` converts events to rows).
- ``arbitrage_executions`` / ``arbitrage_transactions``: the execution journal. An execution (one per opportunity,
  keyed by its id) is written before anything is sent, and each transaction (nonce and hash) after signing and
  before broadcasting, so a restarted process finds what was in flight and never executes an opportunity twice
  (``defipm.arb.journal``).

Token amounts are exact integers of any size, stored as decimal text (``DecimalText``) so SQLite and PostgreSQL
keep every wei. ``venues``, ``metadata``, ``plan``, ``held`` and ``flows`` are JSON text. Schema changes go through
an Alembic revision in ``store/migrations/versions``.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from defipm.store.models import Base
from defipm.store.types import DecimalText, UTCDateTime

__all__ = ["ArbExecutionRecord", "ArbTransactionRecord", "ArbitrageOpportunityRecord", "ExecutionResultRecord"]


class ArbitrageOpportunityRecord(Base):
    """One detected opportunity. ``estimated_profit``: net profit, raw units of the start token."""

    __tablename__ = "arbitrage_opportunities"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    strategy_type: Mapped[str] = mapped_column(String(16))
    venues: Mapped[str] = mapped_column(Text)
    """JSON list of pool addresses, in hop order."""
    start_token: Mapped[str] = mapped_column(String(42))
    amount_in: Mapped[Decimal] = mapped_column(DecimalText())
    estimated_profit: Mapped[Decimal] = mapped_column(DecimalText())
    confidence_score: Mapped[float] = mapped_column(Float)
    metadata_json: Mapped[str] = mapped_column("metadata", Text, default="{}")


class ExecutionResultRecord(Base):
    """One execution attempt of an opportunity. ``actual_profit`` raw start-token units, negative for a loss;
    ``actual_profit_native`` wei net of gas with tokens left over valued at market (None when unpriced)."""

    __tablename__ = "execution_results"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    opportunity_id: Mapped[str] = mapped_column(ForeignKey("arbitrage_opportunities.id"), index=True)
    executed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    engine: Mapped[str] = mapped_column(String(16))
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    actual_profit: Mapped[Decimal] = mapped_column(DecimalText())
    gas_used: Mapped[int] = mapped_column(Integer)
    gas_cost_usd: Mapped[float] = mapped_column(Float)
    execution_time_ms: Mapped[float] = mapped_column(Float)
    success: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    gas_cost_wei: Mapped[Decimal | None] = mapped_column(DecimalText())
    actual_profit_native: Mapped[Decimal | None] = mapped_column(DecimalText())


class ArbExecutionRecord(Base):
    """The journal of one execution. ``status``: planned (nothing signed yet), sent (transactions signed, some may be
    in flight), held (a capital cycle stopped half-way: tokens other than the start token are held), settled or
    abandoned (nothing was executed). Amounts in raw start-token units; ``profit_native`` and ``gas_cost_wei`` in
    wei of the native coin."""

    __tablename__ = "arbitrage_executions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    """The opportunity's id: one execution per opportunity."""
    run: Mapped[str] = mapped_column(String(64), index=True)
    engine: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    start_token: Mapped[str] = mapped_column(String(42))
    amount_in: Mapped[Decimal] = mapped_column(DecimalText())
    expected_profit: Mapped[Decimal] = mapped_column(DecimalText())
    plan: Mapped[str] = mapped_column(Text)
    """JSON: the hops (pool, kind, tokens, direction, fee, exact amounts) and the minimum profit."""
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    profit: Mapped[Decimal | None] = mapped_column(DecimalText())
    """Change of the wallet's start token over every transaction of the execution (unwinding included)."""
    profit_native: Mapped[Decimal | None] = mapped_column(DecimalText())
    gas_used: Mapped[int | None] = mapped_column(Integer)
    gas_cost_wei: Mapped[Decimal | None] = mapped_column(DecimalText())
    held: Mapped[str] = mapped_column(Text, default="{}")
    """JSON: token -> raw amount the execution left in the wallet besides the start token."""
    reason: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        Index("ix_arbitrage_executions_updated_at", "updated_at"),
        Index("ix_arbitrage_executions_run_created_at", "run", "created_at"),
    )


class ArbTransactionRecord(Base):
    """One signed transaction of an execution, written before it is broadcast. ``purpose``: approve, hop, flash,
    complete, unwind. ``status``: signed (outcome not yet read), mined, reverted (gas paid), dropped (never mined:
    not pending, no receipt, and its nonce free or taken by another call). ``flows``: JSON token -> the wallet's
    signed change in the receipt's Transfer logs."""

    __tablename__ = "arbitrage_transactions"
    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    execution_id: Mapped[str] = mapped_column(ForeignKey("arbitrage_executions.id"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    purpose: Mapped[str] = mapped_column(String(16))
    hop: Mapped[int | None] = mapped_column(Integer)
    nonce: Mapped[int] = mapped_column(Integer)
    to_address: Mapped[str] = mapped_column(String(42), default="")
    data: Mapped[str] = mapped_column(Text, default="0x")
    """The call (0x hex calldata): finds the transaction again if another with its nonce replaced it."""
    replaced_by: Mapped[str | None] = mapped_column(String(66))
    """Hash of the transaction that was mined with this nonce and the same call, when it is not this one."""
    token_in: Mapped[str | None] = mapped_column(String(42))
    token_out: Mapped[str | None] = mapped_column(String(42))
    amount_in: Mapped[Decimal | None] = mapped_column(DecimalText())
    status: Mapped[str] = mapped_column(String(16))
    block_number: Mapped[int | None] = mapped_column(Integer)
    gas_used: Mapped[int | None] = mapped_column(Integer)
    gas_cost_wei: Mapped[Decimal | None] = mapped_column(DecimalText())
    flows: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
