"""The journal contract: one source of client order ids (16-byte cloids, unique across journals and forked
processes), and the in-memory journal reconciling like the persistent one."""

from __future__ import annotations

import multiprocessing
import re
from decimal import Decimal

from defipm.core.journal import CLIENT_ORDER_IDS, ClientOrderIds, MemoryJournal, new_client_order_id
from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, Side

CLOID = re.compile(r"0x[0-9a-f]{32}")


def _ids_in_child(queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    queue.put([CLIENT_ORDER_IDS() for _ in range(3)])


def test_ids_are_cloids_unique_across_sources_and_forked_processes():
    own = ClientOrderIds()
    ids = [own() for _ in range(1_000)] + [new_client_order_id() for _ in range(1_000)]
    assert all(CLOID.fullmatch(i) for i in ids) and len(set(ids)) == len(ids)
    queue: multiprocessing.Queue = multiprocessing.get_context("fork").Queue()  # type: ignore[type-arg]
    children = [multiprocessing.get_context("fork").Process(target=_ids_in_child, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    forked = [i for _ in children for i in queue.get(timeout=30)]
    for child in children:
        child.join(timeout=30)
    mine = [CLIENT_ORDER_IDS() for _ in range(3)]
    assert len(set(forked + mine)) == 9, "a forked process repeated its parent's ids"


def test_an_id_s_last_64_bits_count_from_1_in_order_past_every_block_of_4096():
    own = ClientOrderIds()
    ids = [own() for _ in range(10_000)]
    assert all(CLOID.fullmatch(i) for i in ids) and {i[:18] for i in ids} == {ids[0][:18]}
    assert [int(i[18:], 16) for i in ids] == list(range(1, 10_001))


def test_journals_share_one_source_unless_given_their_own():
    a, b = MemoryJournal(), MemoryJournal()
    assert a.ids is b.ids is CLIENT_ORDER_IDS
    own = ClientOrderIds()
    (order,) = MemoryJournal(own).record_intents([Order("A", Side.BUY, Decimal(1))])
    assert order.client_order_id is not None and order.client_order_id[:18] == own()[:18]


class Venue:
    """Answers ``find_order`` from a table (the reconciliation's question; FILLED means the whole quantity)."""

    fills_by_size = True

    def __init__(self, known: dict[str, OrderResult]) -> None:
        self.known = known

    def find_order(self, client_order_id: str) -> OrderResult | None:
        return self.known.get(client_order_id)


def test_the_memory_journal_reconciles_its_open_intents():
    journal = MemoryJournal()
    filled, lost, pending = journal.record_intents(
        [Order(s, Side.BUY, Decimal(1)) for s in ("A", "B", "C")], cycle_id="c1"
    )
    for order in (filled, lost, pending):
        journal.mark_sent(order.client_order_id or "")
        journal.record_result(OrderResult(order, OrderStatus.UNKNOWN, error="timeout"))
    assert [i.status for i in journal.open_intents()] == [OrderStatus.UNKNOWN] * 3
    assert journal.newest_order() == ("c1", pending.client_order_id)
    fill = Fill("A", Side.BUY, Decimal(1), Decimal(100), Decimal("0.05"), filled.client_order_id)
    venue = Venue({
        filled.client_order_id or "": OrderResult(filled, OrderStatus.FILLED, (fill,)),
        pending.client_order_id or "": OrderResult(pending, OrderStatus.UNKNOWN, error="pending"),
    })  # fmt: skip
    rec = journal.reconcile(venue)
    assert [r.order.symbol for r in rec.confirmed] == ["A"]
    assert [i.order.symbol for i in rec.unsent] == ["B"]
    assert [r.order.symbol for r in rec.unknown] == ["C"]
    journal.cancel(lost.client_order_id or "", "never sent")
    assert [i.order.symbol for i in journal.open_intents()] == ["C"]  # the filled and the cancelled are final
