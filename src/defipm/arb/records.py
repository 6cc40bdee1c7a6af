"""Converters from the arbitrage bus events to the rows of ``arbitrage_opportunities`` and ``execution_results``
(the tables live in ``defipm.store.arbitrage``, with the rest of the schema).
"""

from __future__ import annotations

import json
from decimal import Decimal

from defipm.arb.events import ArbitrageOpportunity, ExecutionResult
from defipm.store.arbitrage import ArbitrageOpportunityRecord, ExecutionResultRecord

__all__ = ["ArbitrageOpportunityRecord", "ExecutionResultRecord", "execution_row", "opportunity_row"]


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
