"""The arbitrage engine's records as the store holds them: its runs with their persisted risk state (pause,
circuit breaker, the day's loss), profit and gas per strategy, and pages of opportunities, execution results and
the execution journal (with each execution's transactions).

Profit and gas sums are exact (decimal text summed as ``Decimal``): ``profit_native`` is wei of the native coin net
of gas with leftovers valued at market (``execution_results.actual_profit_native``; executions without a price are
counted in ``unpriced``), ``gas_cost_wei`` wei, ``gas_used`` gas units.
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection, Row

from defipm.arb.risk_state import RISK_STATE_KEY
from defipm.service.paging import Keys, Page, Window
from defipm.service.refusals import NotFound
from defipm.service.runs import distinct_runs
from defipm.store.arbitrage import (
    ArbExecutionRecord,
    ArbitrageOpportunityRecord,
    ArbTransactionRecord,
    ExecutionResultRecord,
)
from defipm.store.models import Setting

__all__ = [
    "arb_overview",
    "arb_runs",
    "execution_detail",
    "journal_page",
    "opportunities_page",
    "require_arb_run",
    "results_page",
    "risk_state",
]


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def arb_runs(conn: Connection) -> list[str]:
    """Arbitrage runs: those with a journalled execution or a stored risk state."""
    stored = conn.execute(select(Setting.run).where(Setting.key == RISK_STATE_KEY)).scalars()
    return sorted({*distinct_runs(conn, ArbExecutionRecord.run), *stored})


def require_arb_run(conn: Connection, run: str) -> None:
    runs = arb_runs(conn)
    if run not in runs:
        raise NotFound(f"unknown arbitrage run {run!r} (runs: {', '.join(runs) or 'none yet'})")


def risk_state(conn: Connection, run: str, now: datetime | None = None) -> dict[str, Any]:
    """The persisted risk state of ``run`` (``defipm.arb.risk_state``): pause, breaker, today's loss."""
    text = conn.execute(select(Setting.value).where(Setting.run == run, Setting.key == RISK_STATE_KEY)).scalar()
    try:
        saved = json.loads(text) if text else {}
    except ValueError:
        saved = None
    if not isinstance(saved, dict):
        return {"readable": False, "paused": None, "breaker_open": None}
    until = saved.get("breaker_open_until")
    open_until = datetime.fromisoformat(until) if until else None
    moment = now or datetime.now(UTC)
    return {
        "readable": True,
        "paused": bool(saved.get("paused", False)),
        "breaker_open": open_until is not None and open_until > moment,
        "breaker_open_until": open_until.isoformat() if open_until else None,
        "consecutive_failures": int(saved.get("consecutive_failures", 0)),
        "day": saved.get("day") or None,
        "day_loss_native": str(saved.get("day_loss", "0")),
    }


def _strategies(conn: Connection) -> list[dict[str, Any]]:
    found = dict(
        conn.execute(
            select(ArbitrageOpportunityRecord.strategy_type, func.count()).group_by(
                ArbitrageOpportunityRecord.strategy_type
            )
        ).all()
    )
    rows = conn.execute(
        select(
            ArbitrageOpportunityRecord.strategy_type, ExecutionResultRecord.success,
            ExecutionResultRecord.actual_profit_native, ExecutionResultRecord.gas_used,
            ExecutionResultRecord.gas_cost_wei,
        ).join(ArbitrageOpportunityRecord, ArbitrageOpportunityRecord.id == ExecutionResultRecord.opportunity_id)
    )  # fmt: skip
    tally: dict[str, dict[str, Any]] = defaultdict(
        lambda: {"executions": 0, "successes": 0, "profit_native": Decimal(0), "unpriced": 0, "gas_used": 0,
                 "gas_cost_wei": Decimal(0)}
    )  # fmt: skip
    for strategy, success, profit, gas, gas_wei in rows:
        t = tally[strategy]
        t["executions"] += 1
        t["successes"] += int(bool(success))
        t["gas_used"] += gas or 0
        t["gas_cost_wei"] += gas_wei or 0
        if profit is None:
            t["unpriced"] += 1
        else:
            t["profit_native"] += profit
    out = []
    for strategy in sorted(set(found) | set(tally)):
        t = tally[strategy]
        out.append({"strategy": strategy, "opportunities": found.get(strategy, 0), **t,
                    "profit_native": str(t["profit_native"]), "gas_cost_wei": str(t["gas_cost_wei"])})  # fmt: skip
    return out


def arb_overview(conn: Connection) -> dict[str, Any]:
    """Every arbitrage run's risk state and journal counts, and profit and gas per strategy."""
    journal = conn.execute(
        select(ArbExecutionRecord.run, ArbExecutionRecord.status, func.count()).group_by(
            ArbExecutionRecord.run, ArbExecutionRecord.status
        )
    ).all()
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for run, status, n in journal:
        counts[run][status] = n
    runs = [{"run": r, "risk": risk_state(conn, r), "journal": counts.get(r, {})} for r in arb_runs(conn)]
    return {"runs": runs, "strategies": _strategies(conn)}


def _opportunity_json(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id, "detected_at": r.detected_at.isoformat(), "strategy": r.strategy_type,
        "venues": json.loads(r.venues), "start_token": r.start_token, "amount_in": _s(r.amount_in),
        "estimated_profit": _s(r.estimated_profit), "confidence": r.confidence_score,
        "metadata": json.loads(r._mapping["metadata"] or "{}"),
    }  # fmt: skip


def opportunities_page(conn: Connection, window: Window) -> Page:
    o = ArbitrageOpportunityRecord
    conditions = window.filters(o.detected_at, strategy=o.strategy_type)
    return window.read(conn, select(o), Keys((o.detected_at, o.id)), _opportunity_json, conditions)


def _result_json(r: Row[Any]) -> dict[str, Any]:
    return {
        "id": r.id, "opportunity_id": r.opportunity_id, "strategy": r.strategy_type,
        "executed_at": r.executed_at.isoformat(), "engine": r.engine, "tx_hash": r.tx_hash,
        "success": r.success, "reason": r.reason, "actual_profit": _s(r.actual_profit),
        "profit_native": _s(r.actual_profit_native), "gas_used": r.gas_used, "gas_cost_wei": _s(r.gas_cost_wei),
        "gas_cost_usd": r.gas_cost_usd, "execution_time_ms": r.execution_time_ms,
    }  # fmt: skip


def results_page(conn: Connection, window: Window) -> Page:
    e, o = ExecutionResultRecord, ArbitrageOpportunityRecord
    query = select(e, o.strategy_type).join(o, o.id == e.opportunity_id, isouter=True)
    return window.read(
        conn, query, Keys((e.id,)), _result_json, window.filters(e.executed_at, strategy=o.strategy_type)
    )


def _journal_json(r: Any) -> dict[str, Any]:
    return {
        "id": r.id, "run": r.run, "engine": r.engine, "status": r.status, "start_token": r.start_token,
        "amount_in": _s(r.amount_in), "expected_profit": _s(r.expected_profit), "profit": _s(r.profit),
        "profit_native": _s(r.profit_native), "gas_used": r.gas_used, "gas_cost_wei": _s(r.gas_cost_wei),
        "held": json.loads(r.held or "{}"), "reason": r.reason, "created_at": r.created_at.isoformat(),
        "updated_at": r.updated_at.isoformat(),
    }  # fmt: skip


def journal_page(conn: Connection, window: Window) -> Page:
    x = ArbExecutionRecord
    conditions = window.filters(x.created_at, run=x.run, status=x.status)
    return window.read(conn, select(x), Keys((x.created_at, x.id)), _journal_json, conditions)


def execution_detail(conn: Connection, execution_id: str) -> dict[str, Any]:
    """One journalled execution with its plan and transactions; ``NotFound`` names an unknown id."""
    row = conn.execute(select(ArbExecutionRecord).where(ArbExecutionRecord.id == execution_id)).first()
    if row is None:
        raise NotFound(f"unknown arbitrage execution {execution_id!r}")
    t = ArbTransactionRecord
    txs = conn.execute(select(t).where(t.execution_id == execution_id).order_by(t.seq)).all()
    return {
        **_journal_json(row),
        "plan": json.loads(row.plan),
        "transactions": [
            {
                "tx_hash": x.tx_hash,
                "seq": x.seq,
                "purpose": x.purpose,
                "hop": x.hop,
                "nonce": x.nonce,
                "status": x.status,
                "block_number": x.block_number,
                "gas_used": x.gas_used,
                "gas_cost_wei": _s(x.gas_cost_wei),
                "replaced_by": x.replaced_by,
                "flows": json.loads(x.flows) if x.flows else None,
            }
            for x in txs
        ],
    }
