"""Where a reader tailing a table has got to, so each new row is reported once although other processes write it.

Two kinds of table are tailed:

- ``IdWatermark``: rows with an integer id assigned at insert (fills, risk events, execution results). Ids are not
  committed in order on PostgreSQL (a sequence hands 10 to one transaction and 11 to another, which may commit
  first), so an id below the highest one seen that has not appeared is a *gap*: it is asked for again
  (``id > top OR id IN gaps``) until it appears or ``gap_timeout`` seconds pass (a rolled-back insert leaves a gap
  for ever).
- ``TimeWatermark``: rows keyed by a write time set by the writer (cycles' ``recorded_at``, an opportunity's
  ``detected_at``, a journalled execution's ``updated_at``). A slow writer may commit a row stamped a little before
  the newest one seen, so each query looks back ``lookback`` from the newest time, and rows already reported are
  dropped by their key (a key that includes the time reports a row written again).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Hashable, Iterable
from datetime import datetime, timedelta

__all__ = ["MAX_GAPS", "IdWatermark", "TimeWatermark"]

MAX_GAPS = 1_000
"""Gaps remembered at most (the oldest are given up first): a jump over many ids costs no more than this."""


class IdWatermark:
    """Tail position over integer ids. ``start``: ids up to it count as already reported."""

    def __init__(self, start: int = 0, *, gap_timeout: float = 30.0, clock: Callable[[], float] = time.monotonic):
        self.top = start
        self.gap_timeout = gap_timeout
        self._clock = clock
        self._gaps: dict[int, float] = {}

    @property
    def gaps(self) -> list[int]:
        """Ids below ``top`` still waited for, oldest first."""
        return list(self._gaps)

    def accept(self, ids: Iterable[int]) -> list[int]:
        """Record the ids a query for ``id > top OR id IN gaps`` returned; returns those not reported before, in
        increasing order."""
        now = self._clock()
        fresh = []
        for i in sorted(set(ids)):
            if i > self.top:
                for missing in range(max(self.top + 1, i - MAX_GAPS), i):
                    self._gaps[missing] = now
                self.top = i
                fresh.append(i)
            elif self._gaps.pop(i, None) is not None:
                fresh.append(i)
        while len(self._gaps) > MAX_GAPS:
            self._gaps.pop(next(iter(self._gaps)))
        for gap in [g for g, noticed in self._gaps.items() if now - noticed >= self.gap_timeout]:
            del self._gaps[gap]
        return fresh


class TimeWatermark:
    """Tail position over write times. ``start``: rows stamped at or before it count as already reported."""

    def __init__(self, start: datetime | None, *, lookback: timedelta = timedelta(seconds=5)) -> None:
        self.start = start
        self.newest = start
        self.lookback = lookback
        self._reported: dict[Hashable, datetime] = {}

    def since(self) -> datetime | None:
        """Ask for rows stamped after this (None: every row)."""
        return None if self.newest is None else self.newest - self.lookback

    def accept(self, rows: Iterable[tuple[Hashable, datetime]]) -> list[Hashable]:
        """Record ``(key, time)`` of the rows a query for ``time > since()`` returned; returns the keys not reported
        before, in the order given."""
        fresh = []
        for key, stamp in rows:
            if key in self._reported or (self.start is not None and stamp <= self.start):
                continue
            self._reported[key] = stamp
            fresh.append(key)
            if self.newest is None or stamp > self.newest:
                self.newest = stamp
        horizon = self.since()
        if horizon is not None:
            for key in [k for k, t in self._reported.items() if t < horizon]:
                del self._reported[key]
        return fresh
