"""The persistent order journal: every intent is written (with its client order id) before it is sent, and every
venue answer after. At start-up ``reconcile`` asks the venue about each unfinished intent by client order id, so
a crash between sending and recording never leads to a second order for the same intent.

Every order carries the cycle that planned it (``cycle_id``) and the cycle that sent it (``sent_cycle_id``: the
same, or the cycle that resent it after a restart); every fill carries the sending cycle and its time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from sqlalchemy import bindparam, insert, select, update

from defipm.core.journal import (
    CLIENT_ORDER_IDS,
    ClientOrderIds,
    Intent,
    OrderLookup,
    Reconciliation,
    reconcile_intents,
)
from defipm.core.orders import Order, OrderResult, OrderStatus, OrderType, Side
from defipm.store.database import Store, records
from defipm.store.tables import FILLS, ORDERS

if TYPE_CHECKING:
    from defipm.store.models import OrderRecord

logger = logging.getLogger(__name__)

OPEN_STATUSES = (
    OrderStatus.PLANNED.value,
    OrderStatus.SENT.value,
    OrderStatus.UNKNOWN.value,
    OrderStatus.RESTING.value,
)
"""Statuses of intents not known to be finished: reconciliation asks the venue about each (a resting limit or
stop may have filled while the process was down)."""


def _now() -> datetime:
    return datetime.now(UTC)


# Prebuilt statements: the hot path of a rebalance binds parameters only (no per-order statement building).
_MARK_SENT = (
    update(ORDERS)
    .where(ORDERS.c.client_order_id == bindparam("cloid"))
    .values(status=OrderStatus.SENT.value, updated_at=bindparam("now"))
)
_RECORD_RESULT = (
    update(ORDERS)
    .where(ORDERS.c.client_order_id == bindparam("cloid"))
    .values(
        status=bindparam("status"),
        filled_quantity=bindparam("filled", type_=ORDERS.c.filled_quantity.type),
        average_price=bindparam("avg", type_=ORDERS.c.average_price.type),
        fee=bindparam("fee_total", type_=ORDERS.c.fee.type),
        error=bindparam("err"),
        updated_at=bindparam("now", type_=ORDERS.c.updated_at.type),
    )
)
_INSERT_FILL = insert(FILLS)
_SENT_CYCLE = select(ORDERS.c.sent_cycle_id).where(ORDERS.c.client_order_id == bindparam("cloid"))


class SqlJournal:
    """Order journal on the store. ``run`` separates portfolios sharing one database."""

    def __init__(self, store: Store, run: str = "default", ids: ClientOrderIds | None = None) -> None:
        self.store = store
        self.run = run
        self.ids = ids or CLIENT_ORDER_IDS
        self._sender: dict[str, str | None] = {}
        """Sending cycle of the intents this journal object wrote or adopted and has not seen finish (the fill
        rows' ``cycle_id`` without a query per order); others are read from the store."""

    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        if not orders:
            return []
        now = _now()
        out = [o if o.client_order_id else replace(o, client_order_id=self.ids()) for o in orders]
        rows = [
            {
                "client_order_id": o.client_order_id,
                "run": self.run,
                "cycle_id": cycle_id,
                "sent_cycle_id": cycle_id,
                "seq": i,
                "symbol": o.symbol,
                "side": o.side.value,
                "quantity": o.quantity,
                "order_type": o.order_type.value,
                "limit_price": o.limit_price,
                "reference_price": o.reference_price,
                "reduce_only": o.reduce_only,
                "status": OrderStatus.PLANNED.value,
                "created_at": now,
                "updated_at": now,
            }
            for i, o in enumerate(out)
        ]
        with self.store.begin() as conn:
            conn.execute(insert(ORDERS), rows)
        for o in out:
            assert o.client_order_id is not None
            self._sender[o.client_order_id] = cycle_id
        return out

    def mark_sent(self, client_order_id: str) -> None:
        with self.store.begin() as conn:
            conn.execute(_MARK_SENT, {"cloid": client_order_id, "now": _now()})

    def adopt(self, client_order_ids: Sequence[str], cycle_id: str) -> None:
        """Mark intents of an interrupted cycle as sent by ``cycle_id`` (the cycle about to resend them)."""
        if not client_order_ids:
            return
        with self.store.begin() as conn:
            conn.execute(
                update(ORDERS)
                .where(ORDERS.c.client_order_id.in_(list(client_order_ids)))
                .values(sent_cycle_id=cycle_id, updated_at=_now())
            )
        self._sender.update(dict.fromkeys(client_order_ids, cycle_id))

    def newest_order(self) -> tuple[str | None, str] | None:
        """(cycle id, client order id) of the intent journalled last in this run, or None for an empty journal."""
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(ORDERS.c.cycle_id, ORDERS.c.client_order_id)
                .where(ORDERS.c.run == self.run)
                .order_by(ORDERS.c.created_at.desc(), ORDERS.c.seq.desc())
                .limit(1)
            ).first()
        return (row[0], row[1]) if row is not None else None

    def record_result(self, result: OrderResult) -> None:
        cloid = result.order.client_order_id
        known = cloid is not None and cloid in self._sender
        sender = None
        if known:
            assert cloid is not None
            sender = self._sender.pop(cloid) if result.status.is_final else self._sender[cloid]
        with self.store.begin() as conn:
            conn.execute(
                _RECORD_RESULT,
                {
                    "cloid": cloid,
                    "status": result.status.value,
                    "filled": result.filled_quantity,
                    "avg": result.average_price,
                    "fee_total": result.fees,
                    "err": result.error,
                    "now": _now(),
                },
            )
            if result.fills:
                sent_by = sender if known else conn.execute(_SENT_CYCLE, {"cloid": cloid}).scalar()
                now = _now()
                conn.execute(
                    _INSERT_FILL,
                    [
                        {
                            "run": self.run,
                            "client_order_id": cloid,
                            "cycle_id": sent_by,
                            "symbol": f.symbol,
                            "side": f.side.value,
                            "quantity": f.quantity,
                            "price": f.price,
                            "fee": f.fee,
                            "timestamp": f.timestamp or now,
                            "venue_order_id": f.venue_order_id,
                        }
                        for f in result.fills
                    ],
                )

    def cancel(self, client_order_id: str, reason: str) -> None:
        """Mark an unsent intent as never to be executed."""
        with self.store.begin() as conn:
            conn.execute(
                update(ORDERS)
                .where(ORDERS.c.client_order_id == client_order_id)
                .values(status=OrderStatus.CANCELLED.value, error=reason, updated_at=_now())
            )

    def open_intents(self) -> list[Intent]:
        """Intents not known to be finished, oldest first, in plan order."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(ORDERS)
                .where(ORDERS.c.run == self.run, ORDERS.c.status.in_(OPEN_STATUSES))
                .order_by(ORDERS.c.created_at, ORDERS.c.seq)
            ).all()
        return [
            Intent(
                order=Order(
                    symbol=r.symbol,
                    side=Side(r.side),
                    quantity=r.quantity,
                    order_type=OrderType(r.order_type),
                    limit_price=r.limit_price,
                    reduce_only=r.reduce_only,
                    client_order_id=r.client_order_id,
                    reference_price=r.reference_price,
                ),
                cycle_id=r.cycle_id,
                status=OrderStatus(r.status),
                created_at=r.created_at,
            )
            for r in rows
        ]

    def orders(self, cycle_id: str | None = None) -> list[OrderRecord]:
        """Journal rows of this run (or of one cycle), in plan order."""
        query = select(ORDERS).where(ORDERS.c.run == self.run)
        if cycle_id is not None:
            query = query.where(ORDERS.c.cycle_id == cycle_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(ORDERS.c.created_at, ORDERS.c.seq))
            return records("OrderRecord", rows)

    def reconcile(self, venue: OrderLookup) -> Reconciliation:
        """Ask ``venue`` about every unfinished intent; record what it knows; return what it never saw (see
        ``defipm.core.journal.reconcile_intents``)."""
        rec = reconcile_intents(self, venue)
        logger.log(
            logging.DEBUG if rec.clean else logging.INFO,
            "journal %s: reconciled with the venue: %d confirmed (%s), %d never sent, %d still unknown",
            self.run,
            len(rec.confirmed),
            ", ".join(f"{r.order.client_order_id} {r.status.value}" for r in rec.confirmed) or "none",
            len(rec.unsent),
            len(rec.unknown),
        )
        return rec
