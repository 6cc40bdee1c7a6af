"""The persistent order journal: every intent is written (with its client order id) before it is sent, and every
venue answer after. At start-up ``reconcile`` asks the venue about each unfinished intent by client order id, so
a crash between sending and recording never leads to a second order for the same intent.

Every order carries the cycle that planned it (``cycle_id``) and the cycle that sent it (``sent_cycle_id``: the
same, or the cycle that resent it after a restart); every fill carries the sending cycle and its time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, cast

from sqlalchemy import Table, bindparam, insert, select, update

from defipm.core.journal import new_client_order_id
from defipm.core.orders import Order, OrderResult, OrderStatus, OrderType, Side
from defipm.store.database import Store
from defipm.store.models import FillRecord, OrderRecord

if TYPE_CHECKING:
    from defipm.venues.base import Venue

OPEN_STATUSES = (OrderStatus.PLANNED.value, OrderStatus.SENT.value, OrderStatus.UNKNOWN.value)


def _now() -> datetime:
    return datetime.now(UTC)


# Prebuilt statements: the hot path of a rebalance binds parameters only (no per-order statement building).
_ORDERS = cast(Table, OrderRecord.__table__)
_MARK_SENT = (
    update(_ORDERS)
    .where(_ORDERS.c.client_order_id == bindparam("cloid"))
    .values(status=OrderStatus.SENT.value, updated_at=bindparam("now"))
)
_RECORD_RESULT = (
    update(_ORDERS)
    .where(_ORDERS.c.client_order_id == bindparam("cloid"))
    .values(
        status=bindparam("status"),
        filled_quantity=bindparam("filled", type_=_ORDERS.c.filled_quantity.type),
        average_price=bindparam("avg", type_=_ORDERS.c.average_price.type),
        fee=bindparam("fee_total", type_=_ORDERS.c.fee.type),
        error=bindparam("err"),
        updated_at=bindparam("now", type_=_ORDERS.c.updated_at.type),
    )
)
_INSERT_FILL = insert(cast(Table, FillRecord.__table__))
_SENT_CYCLE = select(_ORDERS.c.sent_cycle_id).where(_ORDERS.c.client_order_id == bindparam("cloid"))


@dataclass(slots=True)
class Intent:
    """An unfinished journal entry: the order and the cycle that planned it."""

    order: Order
    cycle_id: str | None
    status: OrderStatus
    created_at: datetime


@dataclass(slots=True)
class Reconciliation:
    """Outcome of matching the journal against the venue after a restart."""

    confirmed: list[OrderResult] = field(default_factory=list)
    """Intents the venue knows: their real outcome is now recorded."""
    unsent: list[Intent] = field(default_factory=list)
    """Intents the venue never saw: safe to send (once) or to cancel."""
    unknown: list[OrderResult] = field(default_factory=list)
    """Intents the venue saw but whose outcome it cannot tell yet (e.g. a transaction still pending): kept open
    in the journal (status UNKNOWN), never resent, asked about again at the next reconciliation."""

    @property
    def clean(self) -> bool:
        return not self.confirmed and not self.unsent and not self.unknown


class SqlJournal:
    """Order journal on the store. ``run`` separates portfolios sharing one database."""

    def __init__(self, store: Store, run: str = "default") -> None:
        self.store = store
        self.run = run
        self._sender: dict[str, str | None] = {}
        """Sending cycle of the intents this journal object wrote or adopted and has not seen finish (the fill
        rows' ``cycle_id`` without a query per order); others are read from the store."""

    def new_client_order_id(self) -> str:
        return new_client_order_id()

    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        if not orders:
            return []
        now = _now()
        out = [o if o.client_order_id else replace(o, client_order_id=new_client_order_id()) for o in orders]
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
            conn.execute(insert(OrderRecord), rows)
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
                update(OrderRecord)
                .where(OrderRecord.client_order_id.in_(list(client_order_ids)))
                .values(sent_cycle_id=cycle_id, updated_at=_now())
            )
        self._sender.update(dict.fromkeys(client_order_ids, cycle_id))

    def sent_totals(self, cycle_id: str) -> tuple[int, Decimal]:
        """(orders sent, their fees) of one cycle, resent ones included (intents it never sent do not count)."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(OrderRecord.status, OrderRecord.fee).where(
                    OrderRecord.run == self.run, OrderRecord.sent_cycle_id == cycle_id
                )
            ).all()
        sent = [fee for status, fee in rows if status not in (OrderStatus.PLANNED.value, OrderStatus.CANCELLED.value)]
        return len(sent), sum((fee or Decimal(0) for fee in sent), Decimal(0))

    def newest_order(self) -> tuple[str | None, str] | None:
        """(cycle id, client order id) of the intent journalled last in this run, or None for an empty journal."""
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(OrderRecord.cycle_id, OrderRecord.client_order_id)
                .where(OrderRecord.run == self.run)
                .order_by(OrderRecord.created_at.desc(), OrderRecord.seq.desc())
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
                update(OrderRecord)
                .where(OrderRecord.client_order_id == client_order_id)
                .values(status=OrderStatus.CANCELLED.value, error=reason, updated_at=_now())
            )

    def open_intents(self) -> list[Intent]:
        """Intents not known to be finished, oldest first, in plan order."""
        with self.store.engine.connect() as conn:
            rows = conn.execute(
                select(OrderRecord)
                .where(OrderRecord.run == self.run, OrderRecord.status.in_(OPEN_STATUSES))
                .order_by(OrderRecord.created_at, OrderRecord.seq)
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
        query = select(OrderRecord).where(OrderRecord.run == self.run)
        if cycle_id is not None:
            query = query.where(OrderRecord.cycle_id == cycle_id)
        with self.store.engine.connect() as conn:
            rows = conn.execute(query.order_by(OrderRecord.created_at, OrderRecord.seq))
            return [OrderRecord(**row._mapping) for row in rows]

    def reconcile(self, venue: Venue) -> Reconciliation:
        """Ask ``venue`` about every unfinished intent; record what it knows; return what it never saw.

        An intent the venue knows with an UNKNOWN outcome is not "never seen": it stays open (status UNKNOWN)
        and goes to ``unknown``, never to ``unsent``. A venue that cannot answer raises a ``VenueError``
        (``Venue.find_order``): nothing more is asked, and the intents stay open for the next reconciliation."""
        out = Reconciliation()
        for intent in self.open_intents():
            assert intent.order.client_order_id is not None
            known = venue.find_order(intent.order.client_order_id)
            if known is None:
                out.unsent.append(intent)
                continue
            result = replace(known, order=intent.order)
            self.record_result(result)
            if result.status is OrderStatus.UNKNOWN:
                out.unknown.append(result)
            else:
                out.confirmed.append(result)
        return out
