"""Writes the arbitrage loop's events to the store: every opportunity (with its risk decision) and every execution.

``ArbRecorder(store).attach(bus)`` subscribes to ``ArbitrageOpportunity`` and ``ExecutionResult`` and inserts one
``arbitrage_opportunities`` / ``execution_results`` row per event (``defipm.arb.records``), on SQLite or PostgreSQL.
A database error is raised inside the handler; the bus reports it in ``bus.errors`` and trading goes on.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from defipm.arb.events import ArbitrageOpportunity, EventBus, ExecutionResult
from defipm.arb.records import ArbitrageOpportunityRecord, ExecutionResultRecord, execution_row, opportunity_row
from defipm.store import Store

__all__ = ["ArbRecorder"]


class ArbRecorder:
    """Persists arbitrage events into ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def attach(self, bus: EventBus) -> None:
        bus.subscribe(ArbitrageOpportunity, self.record_opportunity)
        bus.subscribe(ExecutionResult, self.record_execution)

    def record_opportunity(self, event: ArbitrageOpportunity) -> None:
        with Session(self.store.engine) as session, session.begin():
            session.add(opportunity_row(event))

    def record_execution(self, event: ExecutionResult) -> None:
        with Session(self.store.engine) as session, session.begin():
            session.add(execution_row(event))

    def opportunities(self) -> list[ArbitrageOpportunityRecord]:
        """Every recorded opportunity, oldest first."""
        with Session(self.store.engine) as session:
            rows = session.scalars(select(ArbitrageOpportunityRecord).order_by(ArbitrageOpportunityRecord.detected_at))
            return list(rows)

    def executions(self) -> list[ExecutionResultRecord]:
        """Every recorded execution, oldest first."""
        with Session(self.store.engine) as session:
            return list(session.scalars(select(ExecutionResultRecord).order_by(ExecutionResultRecord.id)))
