"""The order journal: what the venue and the manager write through and ask, the one source of client order ids,
and an in-memory journal.

Every order intent is recorded (with a client order id) before it is sent, marked sent just before the venue
call, and updated with the venue's answer. ``reconcile`` asks the venue about every unfinished intent by client
order id, so an order whose answer was lost is never sent twice. The persistent journal
(``defipm.journal.SqlJournal``) implements the same protocol on the store, so this also holds across a restart.
"""

from __future__ import annotations

import itertools
import os
import secrets
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Protocol

from defipm.core.orders import FINAL_STATUSES, Order, OrderResult, OrderStatus

_LAST_DIGITS = tuple(f"{i:03x}" for i in range(4096))
"""The last three hex digits of an id's counter, in order."""


class ClientOrderIds:
    """The one source of client order ids: ``0x`` + 32 hex digits, the 16-byte format Hyperliquid's cloid takes.

    An id is a random 64-bit prefix drawn when the source is made (and again in a forked child) followed by a
    64-bit counter from 1: unique across calls, journals and processes (two prefixes collide with probability
    2^-64), and cheap on a backtest's hot path (no random draw per order, and no integer formatting per order:
    the counter's last three hex digits come from a table, its first thirteen are formatted once per 4,096 ids).
    Thread-safe: the ids come from one chain of C-level iterators over ``itertools.count``, advanced under the
    interpreter lock."""

    _live: weakref.WeakSet[ClientOrderIds] = weakref.WeakSet()

    def __init__(self) -> None:
        self._reseed()
        ClientOrderIds._live.add(self)

    def _reseed(self) -> None:
        self._prefix = "0x" + secrets.token_hex(8)
        heads = map(f"{self._prefix}%013x".__mod__, itertools.count())  # prefix + all but the last 3 digits
        blocks = map(map, map(attrgetter("__add__"), heads), itertools.repeat(_LAST_DIGITS))
        self._ids = itertools.chain.from_iterable(blocks)
        next(self._ids)  # the counter starts at 1

    def __call__(self) -> str:
        return next(self._ids)

    @classmethod
    def _after_fork(cls) -> None:
        for source in list(cls._live):
            source._reseed()


os.register_at_fork(after_in_child=ClientOrderIds._after_fork)

CLIENT_ORDER_IDS = ClientOrderIds()
"""The process's id source: every journal draws from it unless it is given its own."""
_FILLED = OrderStatus.FILLED


def new_client_order_id() -> str:
    """A fresh client order id from the process's source (``CLIENT_ORDER_IDS``)."""
    return CLIENT_ORDER_IDS()


class OrderLookup(Protocol):
    """What reconciliation asks a venue: its knowledge of one order, by client order id (``Venue.find_order``:
    the venue's lookup under the venue-error contract, so a venue that cannot answer raises a ``VenueError``)."""

    fills_by_size: bool
    """Whether a FILLED answer means the whole quantity (``Venue.fills_by_size``)."""

    def find_order(self, client_order_id: str) -> OrderResult | None: ...


@dataclass(slots=True)
class Intent:
    """An unfinished journal entry: the order and the cycle that planned it."""

    order: Order
    cycle_id: str | None
    status: OrderStatus
    created_at: datetime


@dataclass(slots=True)
class Reconciliation:
    """Outcome of matching the journal against the venue."""

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


class OrderJournal(Protocol):
    """Everything the venue (``execute_orders``, ``send_intents``) and the manager (reconciliation, resends) call
    on a journal."""

    ids: ClientOrderIds
    """Where the journal's client order ids come from (the planner stamps orders from it)."""

    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        """Persist intents (status PLANNED), giving each order without one a client order id; return them."""
        ...

    def mark_sent(self, client_order_id: str) -> None: ...

    def record_result(self, result: OrderResult) -> None: ...

    def cancel(self, client_order_id: str, reason: str) -> None:
        """Mark an unsent intent as never to be executed (final: nothing sends it later)."""
        ...

    def adopt(self, client_order_ids: Sequence[str], cycle_id: str) -> None:
        """Mark intents of an interrupted cycle as sent by ``cycle_id`` (the cycle about to resend them)."""
        ...

    def open_intents(self) -> list[Intent]:
        """Intents not known to be finished, oldest first, in plan order."""
        ...

    def newest_order(self) -> tuple[str | None, str] | None:
        """(cycle id, client order id) of the intent journalled last, or None for an empty journal."""
        ...

    def reconcile(self, venue: OrderLookup) -> Reconciliation:
        """Ask ``venue`` about every unfinished intent, record what it knows, return what it never saw."""
        ...


def reconcile_intents(journal: OrderJournal, venue: OrderLookup) -> Reconciliation:
    """Ask ``venue`` about every unfinished intent of ``journal``; record what it knows; return what it never saw.

    An intent the venue knows with an UNKNOWN outcome is not "never seen": it stays open (status UNKNOWN) and goes
    to ``unknown``, never to ``unsent``. A venue that cannot answer raises a ``VenueError``: nothing more is asked,
    and the intents stay open for the next reconciliation. Every journal's ``reconcile`` is this."""
    out = Reconciliation()
    for intent in journal.open_intents():
        assert intent.order.client_order_id is not None
        known = venue.find_order(intent.order.client_order_id)
        if known is None:
            out.unsent.append(intent)
            continue
        result = known.for_intent(intent.order, by_size=venue.fills_by_size)
        journal.record_result(result)
        if result.status is OrderStatus.UNKNOWN:
            out.unknown.append(result)
        else:
            out.confirmed.append(result)
    return out


class MemoryJournal:
    """Journal kept in memory: enough for backtests and benchmarks, useless after a crash.

    Only unfinished intents are kept, so a long backtest does not accumulate every order; within the process
    they reconcile like the persistent journal's."""

    def __init__(self, ids: ClientOrderIds | None = None) -> None:
        self.ids = ids or CLIENT_ORDER_IDS
        self._open: dict[str, tuple[Order, str | None, datetime]] = {}
        """Client order id -> (order, planning cycle, time journalled) of each intent not known to be final."""
        self._status: dict[str, OrderStatus] = {}
        """Status of the open intents past PLANNED."""
        self._newest: tuple[str | None, str] | None = None

    def record_intents(self, orders: Sequence[Order], cycle_id: str | None = None) -> list[Order]:
        out = []
        now = datetime.now(UTC)
        intents = self._open
        for o in orders:
            cloid = o.client_order_id
            if cloid is None:
                cloid = self.ids()
                o = Order(
                    o.symbol, o.side, o.quantity, o.order_type, o.limit_price, o.reduce_only, cloid, o.reference_price
                )
            intents[cloid] = (o, cycle_id, now)
            out.append(o)
        if out:
            self._newest = (cycle_id, out[-1].client_order_id or "")
        return out

    def mark_sent(self, client_order_id: str) -> None:
        self._status[client_order_id] = OrderStatus.SENT

    def record_result(self, result: OrderResult) -> None:
        cloid = result.order.client_order_id
        if cloid is None:
            return
        status = result.status
        if status is _FILLED or status in FINAL_STATUSES:  # an Enum's hash is a Python call: test identity first
            self._open.pop(cloid, None)
            self._status.pop(cloid, None)
        else:
            self._status[cloid] = status

    def cancel(self, client_order_id: str, reason: str) -> None:
        self._open.pop(client_order_id, None)
        self._status.pop(client_order_id, None)

    def adopt(self, client_order_ids: Sequence[str], cycle_id: str) -> None:
        """Nothing to do: the in-memory journal keeps no cycle rows."""

    def open_intents(self) -> list[Intent]:
        status = self._status
        return [
            Intent(order, cycle_id, status.get(cloid, OrderStatus.PLANNED), created_at)
            for cloid, (order, cycle_id, created_at) in self._open.items()
        ]

    def newest_order(self) -> tuple[str | None, str] | None:
        return self._newest

    def reconcile(self, venue: OrderLookup) -> Reconciliation:
        return reconcile_intents(self, venue)
