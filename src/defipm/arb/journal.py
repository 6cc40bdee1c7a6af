"""The arbitrage execution journal: executions recorded like orders, so a restart resolves instead of resending.

``ArbJournal(store, run)`` keeps, per run:

- ``begin(plan, engine)``: the execution (its opportunity id, the hops with their exact amounts, the minimum
  profit), written before anything is signed; an opportunity id journalled before raises ``JournalError`` (one
  execution per opportunity, whatever the process);
- ``tx_log(execution_id)``: the ``TxLog`` the engines call after signing and before broadcasting each
  transaction (nonce, hash, what it is for); the first one moves the execution from "planned" to "sent";
- ``open_executions()``: what a (re)started process must resolve before trading: executions planned, sent or
  holding tokens, oldest first, with their transactions (``transactions``);
- ``record_outcome`` / ``settle``: what the chain said about a transaction, and the execution's final account
  (profit in the start token, gas, tokens held, status).

Rows live in ``arbitrage_executions`` / ``arbitrage_transactions`` (``defipm.store.arbitrage``) on SQLite or
PostgreSQL; every write is its own committed transaction, so a killed process loses nothing it wrote.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError

from defipm.arb.execution.plan import ExecutionPlan, HopPlan
from defipm.arb.execution.txlog import TxStep
from defipm.core.errors import JournalError
from defipm.store.arbitrage import ArbExecutionRecord, ArbTransactionRecord

if TYPE_CHECKING:
    from defipm.chain.transactions import SignedTx
    from defipm.store import Store

__all__ = ["OPEN", "ArbJournal", "JournalledExecution", "JournalledTx"]

PLANNED, SENT, HELD, SETTLED, ABANDONED = "planned", "sent", "held", "settled", "abandoned"
OPEN = (PLANNED, SENT, HELD)
"""Statuses of an execution that must be resolved before trading."""


@dataclass(frozen=True, slots=True)
class JournalledTx:
    """A transaction of an execution as journalled. ``status``: signed, mined, reverted or dropped; ``flows``:
    the wallet's token changes in its receipt (raw units)."""

    tx_hash: str
    seq: int
    step: TxStep
    nonce: int
    status: str
    block_number: int | None = None
    gas_used: int = 0
    gas_cost_wei: int = 0
    flows: dict[str, int] = field(default_factory=dict)
    to: str = ""
    data: str = "0x"
    replaced_by: str | None = None


@dataclass(frozen=True, slots=True)
class JournalledExecution:
    """An execution as journalled: the cycle (``hops`` with their exact amounts) and where it stands."""

    id: str
    engine: str
    status: str
    start_token: str
    amount_in: int
    expected_profit: int
    min_profit: int
    hops: tuple[HopPlan, ...]
    created_at: datetime
    held: dict[str, int] = field(default_factory=dict)
    reason: str | None = None


class _JournalTxLog:
    """The ``TxLog`` of one execution: one row per signed transaction, committed before it is broadcast."""

    def __init__(self, journal: ArbJournal, execution_id: str) -> None:
        self.journal = journal
        self.execution_id = execution_id

    def signed(self, tx: SignedTx, step: TxStep) -> None:
        self.journal._add_tx(self.execution_id, tx, step)


class ArbJournal:
    """Journal of one arbitrage run (``run`` names it in the store)."""

    def __init__(self, store: Store, run: str = "arb") -> None:
        self.store = store
        self.run = run

    # -- writing ---------------------------------------------------------------------------------------------
    def begin(self, plan: ExecutionPlan, engine: str) -> None:
        """Record ``plan`` as planned, before anything is signed. Raises JournalError when its opportunity id was
        journalled before."""
        now = datetime.now(UTC)
        body = {"hops": [asdict(h) for h in plan.hops], "min_profit": plan.min_profit}
        try:
            with self.store.begin() as conn:
                conn.execute(
                    insert(ArbExecutionRecord).values(
                        id=plan.opportunity_id, run=self.run, engine=engine, status=PLANNED,
                        start_token=plan.start_token, amount_in=Decimal(plan.amount_in),
                        expected_profit=Decimal(plan.expected_profit), plan=json.dumps(body),
                        created_at=now, updated_at=now, held="{}",
                    )
                )  # fmt: skip
        except IntegrityError:
            raise JournalError(
                f"opportunity {plan.opportunity_id} was journalled before: not executing it twice"
            ) from None

    def tx_log(self, execution_id: str) -> _JournalTxLog:
        """The ``TxLog`` engines write ``execution_id``'s transactions to."""
        return _JournalTxLog(self, execution_id)

    def _add_tx(self, execution_id: str, tx: SignedTx, step: TxStep) -> None:
        now = datetime.now(UTC)
        with self.store.begin() as conn:
            seq = conn.execute(
                select(func.count())
                .select_from(ArbTransactionRecord)
                .where(ArbTransactionRecord.execution_id == execution_id)
            ).scalar_one()
            conn.execute(
                insert(ArbTransactionRecord).values(
                    tx_hash=tx.tx_hash, execution_id=execution_id, seq=seq, purpose=step.purpose, hop=step.hop,
                    nonce=tx.nonce, to_address=tx.to, data=tx.data, token_in=step.token_in, token_out=step.token_out,
                    amount_in=None if step.amount_in is None else Decimal(step.amount_in), status="signed",
                    created_at=now, updated_at=now,
                )
            )  # fmt: skip
            conn.execute(
                update(ArbExecutionRecord)
                .where(ArbExecutionRecord.id == execution_id, ArbExecutionRecord.status == PLANNED)
                .values(status=SENT, updated_at=now)
            )

    def record_outcome(
        self, tx_hash: str, status: str, *, block: int | None = None, gas_used: int = 0, gas_cost_wei: int = 0,
        flows: Mapping[str, int] | None = None, replaced_by: str | None = None,
    ) -> None:  # fmt: skip
        """What the chain says about ``tx_hash``: mined or reverted (with gas and token flows; ``replaced_by`` the
        hash that was mined in its place), or dropped."""
        with self.store.begin() as conn:
            conn.execute(
                update(ArbTransactionRecord)
                .where(ArbTransactionRecord.tx_hash == tx_hash)
                .values(
                    status=status, block_number=block, gas_used=gas_used, gas_cost_wei=Decimal(gas_cost_wei),
                    flows=json.dumps({t: str(v) for t, v in (flows or {}).items()}), replaced_by=replaced_by,
                    updated_at=datetime.now(UTC),
                )
            )  # fmt: skip

    def settle(
        self, execution_id: str, status: str, *, profit: int = 0, profit_native: int | None = None,
        gas_used: int = 0, gas_cost_wei: int = 0, held: Mapping[str, int] | None = None, reason: str = "",
    ) -> None:  # fmt: skip
        """Close (or, with status "held", park) an execution with its account."""
        with self.store.begin() as conn:
            conn.execute(
                update(ArbExecutionRecord)
                .where(ArbExecutionRecord.id == execution_id)
                .values(
                    status=status, profit=Decimal(profit),
                    profit_native=None if profit_native is None else Decimal(profit_native), gas_used=gas_used,
                    gas_cost_wei=Decimal(gas_cost_wei), held=json.dumps({t: str(v) for t, v in (held or {}).items()}),
                    reason=reason, updated_at=datetime.now(UTC),
                )
            )  # fmt: skip

    # -- reading ---------------------------------------------------------------------------------------------
    def open_executions(self) -> list[JournalledExecution]:
        """Executions of this run that are planned, sent or holding tokens, oldest first."""
        return self._executions(ArbExecutionRecord.status.in_(OPEN))

    def execution(self, execution_id: str) -> JournalledExecution:
        """One execution of this run; JournalError when it was never journalled."""
        found = self._executions(ArbExecutionRecord.id == execution_id)
        if not found:
            raise JournalError(f"execution {execution_id} is not in the journal of run {self.run!r}")
        return found[0]

    def executions(self) -> list[JournalledExecution]:
        """Every execution of this run, oldest first."""
        return self._executions(None)

    def _executions(self, where: Any) -> list[JournalledExecution]:
        query = select(ArbExecutionRecord).where(ArbExecutionRecord.run == self.run)
        if where is not None:
            query = query.where(where)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(ArbExecutionRecord.created_at, ArbExecutionRecord.id)).all()
        return [_execution(r._mapping) for r in rows]

    def transactions(self, execution_id: str) -> list[JournalledTx]:
        """The transactions of ``execution_id`` in the order they were signed."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(ArbTransactionRecord)
                .where(ArbTransactionRecord.execution_id == execution_id)
                .order_by(ArbTransactionRecord.seq)
            ).all()
        return [_tx(r._mapping) for r in rows]

    def ledger(self) -> list[tuple[str, str, int, int | None, int, dict[str, int]]]:
        """(execution id, status, start-token profit, profit in native wei, gas cost wei, held) of every execution
        of this run, oldest first: what the wallet should show."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(ArbExecutionRecord)
                .where(ArbExecutionRecord.run == self.run)
                .order_by(ArbExecutionRecord.created_at, ArbExecutionRecord.id)
            ).all()
        out = []
        for r in rows:
            m = r._mapping
            native = None if m["profit_native"] is None else int(m["profit_native"])
            gas = int(m["gas_cost_wei"] or 0)
            out.append((m["id"], m["status"], int(m["profit"] or 0), native, gas, _amounts(m["held"])))
        return out


def _amounts(text: str | None) -> dict[str, int]:
    return {t: int(v) for t, v in json.loads(text or "{}").items()}


def _execution(m: Any) -> JournalledExecution:
    body = json.loads(m["plan"])
    return JournalledExecution(
        id=m["id"], engine=m["engine"], status=m["status"], start_token=m["start_token"],
        amount_in=int(m["amount_in"]), expected_profit=int(m["expected_profit"]), min_profit=int(body["min_profit"]),
        hops=tuple(HopPlan(**h) for h in body["hops"]), created_at=m["created_at"], held=_amounts(m["held"]),
        reason=m["reason"],
    )  # fmt: skip


def _tx(m: Any) -> JournalledTx:
    amount = m["amount_in"]
    step = TxStep(m["purpose"], m["hop"], m["token_in"], m["token_out"], None if amount is None else int(amount))
    return JournalledTx(
        tx_hash=m["tx_hash"], seq=m["seq"], step=step, nonce=m["nonce"], status=m["status"],
        block_number=m["block_number"], gas_used=int(m["gas_used"] or 0), gas_cost_wei=int(m["gas_cost_wei"] or 0),
        flows=_amounts(m["flows"]), to=m["to_address"], data=m["data"], replaced_by=m["replaced_by"],
    )  # fmt: skip
