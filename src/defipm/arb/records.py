"""The arbitrage engine's tables on the store's declarative ``Base``: ``arbitrage_opportunities`` and
``execution_results`` (the design's columns), and converters from the bus events to rows.

Token amounts are exact integers of any size, stored as decimal text (``DecimalText``) so SQLite and PostgreSQL
keep every wei. ``venues`` and ``metadata`` are JSON text. Import this module before creating tables or running
migrations so ``Base.metadata`` includes both tables.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal

from sqlalchemy import Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from defipm.arb.events import ArbitrageOpportunity, ExecutionResult
from defipm.store.models import Base
from defipm.store.types import DecimalText, UTCDateTime

__all__ = ["ArbitrageOpportunityRecord", "ExecutionResultRecord", "execution_row", "opportunity_row"]


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
    """One execution attempt of an opportunity. ``actual_profit`` raw start-token units, negative for a loss."""

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


def opportunity_row(event: ArbitrageOpportunity) -> ArbitrageOpportunityRecord:
    return ArbitrageOpportunityRecord(
        id=event.opportunity_id,
        detected_at=event.at,
        strategy_type=event.strategy_type,
        venues=json.dumps(list(event.venues)),
        start_token=event.start_token,
        amount_in=Decimal(event.amount_in),
        estimated_profit=Decimal(event.estimated_profit),
        confidence_score=event.confidence_score,
        metadata_json=json.dumps(event.metadata, default=str),
    )


def execution_row(event: ExecutionResult) -> ExecutionResultRecord:
    return ExecutionResultRecord(
        opportunity_id=event.opportunity_id,
        executed_at=event.at,
        engine=event.engine,
        tx_hash=event.tx_hash,
        actual_profit=Decimal(event.actual_profit),
        gas_used=event.gas_used,
        gas_cost_usd=event.gas_cost_usd,
        execution_time_ms=event.execution_time_ms,
        success=event.success,
        reason=event.reason,
    )
