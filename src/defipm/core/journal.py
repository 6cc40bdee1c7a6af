"""The order-journal interface the execution step writes through, and an in-memory journal.

Every order intent is recorded (with a client order id) before it is sent, marked sent just before the venue
call, and updated with the venue's answer. The persistent journal (``defipm.journal.SqlJournal``) implements the
same protocol on the store, so a restart can reconcile instead of sending twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from defipm.core.orders import Order, OrderResult, OrderStatus


def new_client_order_id() -> str:
    """A fresh client order id: ``0x`` + 32 hex digits (the 16-byte format Hyperliquid's cloid requires)."""
    return "0x" + uuid.uuid4().hex


@runtime_checkable
class OrderJournal(Protocol):
    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        """Persist intents (status PLANNED), giving each order without one a client order id; return them."""
        ...

    def mark_sent(self, client_order_id: str) -> None: ...

    def record_result(self, result: OrderResult) -> None: ...


class MemoryJournal:
    """Journal kept in memory: enough for backtests and benchmarks, useless after a crash.

    Client order ids are a random per-journal prefix plus a counter: unique, and cheap on a backtest's hot path.
    Only unfinished intents are kept (``status``), so a long backtest does not accumulate every order.
    """

    def __init__(self) -> None:
        self._prefix = "0x" + uuid.uuid4().hex[:16]
        self._next = 0
        self.status: dict[str, OrderStatus] = {}
        """Client order id -> status of each intent not yet known to be final."""

    def new_client_order_id(self) -> str:
        self._next += 1
        return f"{self._prefix}{self._next:016x}"

    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        out = []
        for o in orders:
            if o.client_order_id is None:
                cloid = self.new_client_order_id()
                o = Order(
                    o.symbol, o.side, o.quantity, o.order_type, o.limit_price, o.reduce_only, cloid, o.reference_price
                )
            assert o.client_order_id is not None
            self.status[o.client_order_id] = OrderStatus.PLANNED
            out.append(o)
        return out

    def mark_sent(self, client_order_id: str) -> None:
        self.status[client_order_id] = OrderStatus.SENT

    def record_result(self, result: OrderResult) -> None:
        cloid = result.order.client_order_id
        if cloid is None:
            return
        if result.status.is_final:
            self.status.pop(cloid, None)
        else:
            self.status[cloid] = result.status
