"""Tranched rebalancing: k staggered sub-portfolios, each rebalanced every k periods, so turnover spreads out.

``TranchedOracle(inner, tranches=k, period=1 day)`` holds k tranches of 1/k of the book each. Time is cut into
periods from ``anchor``; in period p tranche ``p mod k`` takes the inner oracle's target of that period, and every
other tranche keeps the target of the period it last rebalanced in (``t - j periods`` for the tranche that
rebalanced j periods ago). The book is the average of the k tranche targets, so each period only about 1/k of
it changes names. Tranche targets are re-derived from the inner oracle at those earlier times (a point-in-time
oracle answers the same), so a restart needs no stored state; they are cached per period.

Before the inner oracle has k periods of signal, a tranche with nothing at its time takes the current target
(``seed_full``, the default: the whole book is invested from the first period) or holds cash (``seed_full=False``:
the book is built up a tranche a period); either way the report says so. A tranche's symbols that left the
universe are dropped (noted). Each tranche is held at its target weights between its rebalances (a constant mix,
traded back beyond the venue's no-trade band), not left to drift with prices.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from defipm.core.errors import ConfigError, DataError
from defipm.core.weights import Weights
from defipm.oracles.base import Oracle, Rotation

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class TranchedOracle(Oracle):
    """The average of ``tranches`` staggered books of ``inner`` (module doc).

    tranches: k, the number of sub-portfolios (1 = the inner oracle as it is).
    period: the rebalance period of the schedule (each tranche rebalances every k of them).
    anchor: where period 0 starts (UTC midnight of 1970-01-01 by default: periods are calendar-aligned).
    seed_full: before k periods of signal exist, fill the tranches with the current target (else cash).
    """

    name = "tranched"

    def __init__(
        self,
        inner: Oracle,
        tranches: int,
        period: timedelta = timedelta(days=1),
        *,
        anchor: datetime = EPOCH,
        seed_full: bool = True,
    ) -> None:
        super().__init__()
        if not isinstance(tranches, int) or not 1 <= tranches <= 1000:
            raise ConfigError(f"tranches must be a whole number from 1 to 1000, got {tranches!r}")
        if period <= timedelta(0):
            raise ConfigError(f"the tranche period must be a positive duration, got {period}")
        self.inner = inner
        self.tranches = tranches
        self.period = period
        self.anchor = anchor if anchor.tzinfo is not None else anchor.replace(tzinfo=UTC)
        self.seed_full = seed_full
        self.name = f"{inner.name} in {tranches} tranches"
        self.constraints = replace(inner.constraints, target_gross=None, allow_empty=True)
        self._targets: dict[int, Weights | None] = {}

    def period_of(self, timestamp: datetime) -> int:
        """The index of the period ``timestamp`` falls in (from ``anchor``)."""
        t = timestamp if timestamp.tzinfo is not None else timestamp.replace(tzinfo=UTC)
        return math.floor((t - self.anchor) / self.period)

    def _target(self, period: int, at: datetime, universe: Sequence[str]) -> Weights | None:
        """The inner target of an earlier ``period`` (asked at ``at``, cached), or None when it had no signal."""
        if period not in self._targets:
            try:
                self._targets[period] = self.inner.fetch_portfolio_weights(at, universe)
            except DataError:  # no signal at that time yet (before the data starts)
                self._targets[period] = None
            self.inner.pop_notes()  # that period's remarks were reported when it was current
            for old in [p for p in self._targets if p <= period - 2 * self.tranches]:
                del self._targets[old]
        return self._targets[period]

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        p = self.period_of(timestamp)
        current = self.inner.fetch_portfolio_weights(timestamp, universe)
        self._targets[p] = current
        for remark in self.inner.pop_notes():
            self.note(remark)
        allowed, book, seeded, dropped = set(universe), dict[str, float](), 0, set[str]()
        for ago in range(self.tranches):
            target = current if ago == 0 else self._target(p - ago, timestamp - ago * self.period, universe)
            if target is None:
                seeded += 1
                target = current if self.seed_full else Weights({})
            for symbol, w in target.items():
                if symbol not in allowed:
                    dropped.add(symbol)
                    continue
                book[symbol] = book.get(symbol, 0.0) + w / self.tranches
        if seeded:
            how = "the current target" if self.seed_full else "cash"
            self.note(f"tranches: {seeded} of {self.tranches} have no signal of their own yet: they hold {how}")
        if dropped:
            self.note(f"tranches: left the universe, dropped: {', '.join(sorted(dropped))}")
        return Weights({s: w for s, w in book.items() if w})

    def publication(self, timestamp: datetime) -> datetime | None:
        return self.inner.publication(timestamp)

    def rotations(self) -> Sequence[Rotation]:
        return self.inner.rotations()
