"""Fault-injecting paper venues for testing oracles, managers and recovery: fail the k-th order, lose a reply.

``FaultyVenue(fail_on={3: "reject"})`` rejects the third order; ``"unavailable"`` raises a transport error before
the order reaches the book; ``"lost_reply"`` executes the order and then raises, as when a reply times out
after the exchange acted (the journal must find the order by client order id instead of sending it again);
``"garbled_reply"`` executes the order and then raises a plain ``VenueError``, as when an answer cannot be read;
``"exception"`` raises a ``RuntimeError`` before the order reaches the book and ``"exception_after"`` after it
executed, as a bug or an untranslated library error in a venue would; ``"broken_lookup"`` executes the order,
loses the reply, and the first lookup of it by client order id raises a ``KeyError`` (a venue whose answer to the
lookup cannot be read by its own code).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from defipm.core.errors import OrderRejectedError, VenueError, VenueUnavailableError
from defipm.core.orders import Order, OrderResult
from defipm.venues.paper.venue import PaperVenue

Fault = Literal["reject", "unavailable", "lost_reply", "garbled_reply", "exception", "exception_after", "broken_lookup"]


class FaultyVenue(PaperVenue):
    def __init__(self, *, fail_on: Mapping[int, Fault] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_on = dict(fail_on or {})
        self.submitted = 0
        self._broken_lookups: set[str] = set()

    def submit_order(self, order: Order) -> OrderResult:
        self.submitted += 1
        fault = self.fail_on.get(self.submitted)
        if fault == "reject":
            raise OrderRejectedError(
                f"{order.symbol}: injected rejection of order #{self.submitted}", symbol=order.symbol
            )
        if fault == "unavailable":
            raise VenueUnavailableError(f"injected outage on order #{self.submitted}")
        if fault == "exception":
            raise RuntimeError(f"injected bug before order #{self.submitted}")
        result = super().submit_order(order)
        if fault == "lost_reply":
            raise VenueUnavailableError(f"injected timeout after order #{self.submitted} executed")
        if fault == "broken_lookup":
            self._broken_lookups.add(order.client_order_id or "")
            raise VenueUnavailableError(f"injected timeout after order #{self.submitted} executed")
        if fault == "garbled_reply":
            raise VenueError(f"injected unreadable answer to order #{self.submitted}")
        if fault == "exception_after":
            raise RuntimeError(f"injected bug after order #{self.submitted} executed")
        return result

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        if client_order_id in self._broken_lookups:
            self._broken_lookups.discard(client_order_id)
            raise KeyError(f"injected unreadable lookup answer for {client_order_id}")
        return super().lookup_order(client_order_id)
