"""Fan-out of the store's changes to every live client: one poller for all of them.

``EventHub.subscribe()`` gives a client its own bounded queue. While at least one client listens, one task polls the
``StoreFeed`` every ``interval`` seconds (in a worker thread: the database driver blocks) and puts each event in
every queue; a client too slow to keep up (queue full) is dropped (its stream ends; the browser reconnects). The
feed is started afresh when the first client arrives, so a client gets what is written after it connected. When
the database cannot be read, each client gets one ``error`` event with the cause, and polling goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio

from defipm.service.access import DatabaseUnavailable, StoreAccess
from defipm.service.feed import StoreEvent, StoreFeed

__all__ = ["EventHub"]

log = logging.getLogger("defipm.service")
QUEUE_SIZE = 1_000
CLOSED = StoreEvent("closed", None, "closed", {})


class EventHub:
    def __init__(self, access: StoreAccess, *, interval: float = 0.25) -> None:
        self.access = access
        self.interval = interval
        self._queues: set[asyncio.Queue[StoreEvent]] = set()
        self._task: asyncio.Task[None] | None = None
        self._feed: StoreFeed | None = None

    @property
    def listeners(self) -> int:
        return len(self._queues)

    async def ready(self) -> None:
        """Start the feed if no client listens yet; raises ``DatabaseUnavailable`` when the store cannot be read."""
        if self._feed is None:
            self._feed = await anyio.to_thread.run_sync(self._start_feed)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[StoreEvent]]:
        """A queue of the events written from now on, for the duration of the ``async with``."""
        queue: asyncio.Queue[StoreEvent] = asyncio.Queue(QUEUE_SIZE)
        await self.ready()
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll_while_listened())
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    def _start_feed(self) -> StoreFeed:
        with self.access.read() as conn:
            return StoreFeed(conn)

    def _poll(self) -> list[StoreEvent]:
        assert self._feed is not None
        with self.access.read() as conn:
            return self._feed.poll(conn)

    async def _poll_while_listened(self) -> None:
        failing = False
        while self._queues:
            await asyncio.sleep(self.interval)
            try:
                events = await anyio.to_thread.run_sync(self._poll)
                failing = False
            except DatabaseUnavailable as exc:
                if not failing:
                    events = [StoreEvent("error", None, "error", {"error": str(exc)})]
                    failing = True
                else:
                    events = []
            self._deliver(events)
        self._feed = None

    def _deliver(self, events: list[StoreEvent]) -> None:
        for queue in list(self._queues):
            for event in events:
                try:
                    queue.put_nowait(event)
                except asyncio.QueueFull:
                    log.warning("a live client fell %d events behind: dropped", QUEUE_SIZE)
                    self._queues.discard(queue)
                    with contextlib.suppress(asyncio.QueueFull):
                        queue.get_nowait()
                        queue.put_nowait(CLOSED)
                    break

    async def close(self) -> None:
        self._queues.clear()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
