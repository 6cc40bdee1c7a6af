"""Converters between the arbitrage bus events and the rows of ``arbitrage_opportunities`` and
``execution_results`` (the tables live in ``defipm.store.arbitrage``, with the rest of the schema): events to rows
for the recorder, rows back to events for readers in another process (the service feeds ``ArbMetrics`` with them).
A row keeps the start token and the pools, not the whole token path or the net profit in native wei, so an event
read back names the start token only and has no ``net_profit_native``.
"""

from __future__ import annotations

import json
from decimal import Decimal

from defipm.arb.events import ArbitrageOpportunity, ExecutionResult
from defipm.store.arbitrage import ArbitrageOpportunityRecord, ExecutionResultRecord

__all__ = [
    "ArbitrageOpportunityRecord",
    "ExecutionResultRecord",
    "execution_event",
    "execution_row",
    "opportunity_event",
    "opportunity_row",
]


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
        gas_cost_wei=Decimal(event.gas_cost_wei),
        actual_profit_native=None if event.actual_profit_native is None else Decimal(event.actual_profit_native),
    )


def opportunity_event(row: ArbitrageOpportunityRecord) -> ArbitrageOpportunity:
    metadata = json.loads(row.metadata_json or "{}")
    return ArbitrageOpportunity(
        at=row.detected_at,
        opportunity_id=row.id,
        strategy_type=row.strategy_type,
        tokens=(row.start_token,),
        venues=tuple(json.loads(row.venues)),
        amount_in=int(row.amount_in),
        estimated_profit=int(row.estimated_profit),
        net_profit_native=None,
        confidence_score=row.confidence_score,
        metadata=metadata if isinstance(metadata, dict) else {},
    )


def execution_event(row: ExecutionResultRecord) -> ExecutionResult:
    return ExecutionResult(
        at=row.executed_at,
        opportunity_id=row.opportunity_id,
        engine=row.engine,
        success=row.success,
        tx_hash=row.tx_hash,
        actual_profit=int(row.actual_profit),
        gas_used=row.gas_used,
        gas_cost_usd=row.gas_cost_usd,
        execution_time_ms=row.execution_time_ms,
        reason=row.reason,
        actual_profit_native=None if row.actual_profit_native is None else int(row.actual_profit_native),
        gas_cost_wei=int(row.gas_cost_wei or 0),
    )
