"""``MarketView``: the point-in-time window on a ``PricePanel`` that oracles read, and that cannot see the future.

The view reads a ``ReplayClock`` (a bar index) that only whoever replays history holds: the view itself cannot
move it, so an oracle given the view cannot step the replay onto the next bar's closes (``MarketView.advance``
refuses, and the refusal is recorded like a look-ahead). Every query ends at or before the clock: asking for a
time after it raises ``LookAheadError``, and the attempt is also remembered in ``violations`` so a replay can fail
even when the caller swallows the exception. Queries return read-only numpy
views bounded by index arithmetic, so their cost depends on the lookback asked for, not on how much history lies
behind the clock. (The arrays are views: a caller that walks ``.base`` on purpose can reach the whole panel.
That is circumvention, not an accident the view can stop.)
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError, LookAheadError
from defipm.data.panel import FIELDS, PricePanel, to_datetime, to_datetime64


class ReplayClock:
    """The bar a replay has reached, as an index into a panel. It only moves forward.

    Whoever replays history (the backtest engine, a notebook) holds the clock and advances it; oracles get a
    ``MarketView`` on it (``clock.view()``), which reads the clock and cannot move it.
    """

    __slots__ = ("_index", "_panel")

    def __init__(self, panel: PricePanel, index: int = 0) -> None:
        self._panel = panel
        self._index = -1
        self.advance(index)

    def advance(self, index: int) -> None:
        """Move to bar ``index``. Raises ``DataError`` outside the data or backwards."""
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise DataError(f"bar index must be a whole number, got {index!r}")
        if not 0 <= index < len(self._panel):
            raise DataError(f"bar index {index} outside the data (0..{len(self._panel) - 1})")
        if index < self._index:
            raise DataError(f"the clock only moves forward: at bar {self._index}, asked for {index}")
        self._index = int(index)

    @property
    def index(self) -> int:
        return self._index

    def view(self) -> MarketView:
        """A point-in-time view on this clock (what an oracle gets)."""
        return MarketView(self._panel, clock=self)


class MarketView:
    """Point-in-time access to a panel. ``now`` is the close time of the latest bar the view may show.

    ``MarketView(panel, index)`` is a view fixed at bar ``index`` (its own clock, which nobody else holds);
    ``MarketView(panel, clock=clock)`` (or ``clock.view()``) follows a replay's clock.
    """

    def __init__(self, panel: PricePanel, index: int = 0, *, clock: ReplayClock | None = None) -> None:
        if clock is not None and clock._panel is not panel:
            raise DataError("a MarketView must read a clock over the same panel")
        self._panel = panel
        self._clock = clock if clock is not None else ReplayClock(panel, index)
        self.violations: list[str] = []
        """Every look-ahead attempt (and every attempt to move the clock), as the message of the error it raised."""

    # -- the clock ------------------------------------------------------------------------------------------
    def advance(self, index: int) -> None:
        """Refused: a view cannot move the replay clock (its holder does, ``ReplayClock.advance``). The attempt
        raises ``LookAheadError`` and is recorded in ``violations``, so a replay fails even if it is swallowed."""
        msg = (
            f"look-ahead: a MarketView cannot move the replay clock (asked for bar {index} at bar {self.index}, "
            f"{self.now.isoformat()}); only the replay engine advances it"
        )
        self.violations.append(msg)
        raise LookAheadError(msg)

    @property
    def index(self) -> int:
        return self._clock.index

    @property
    def now(self) -> datetime:
        return to_datetime(self._panel.timestamps[self._clock.index])

    @property
    def symbols(self) -> tuple[str, ...]:
        """Every symbol of the data (listed now or not)."""
        return self._panel.symbols

    @property
    def left_out(self) -> tuple[str, ...]:
        """Symbols the source holds that ``--symbols`` left out (``PricePanel.left_out``)."""
        return self._panel.left_out

    @property
    def interval(self) -> timedelta:
        return self._panel.interval

    @property
    def periods_per_year(self) -> float:
        return self._panel.periods_per_year

    @property
    def source(self) -> str:
        """Where the data came from (a folder, "synthetic seed=7", ...)."""
        return self._panel.source

    def _lookahead(self, what: str, timestamp: object) -> LookAheadError:
        msg = f"look-ahead: {what} asked for {timestamp}, but the clock is at {self.now.isoformat()}"
        self.violations.append(msg)
        return LookAheadError(msg)

    def end_index(self, end: datetime | np.datetime64 | None = None) -> int:
        """Index of the last bar at or before ``end`` (default: the clock). Raises for ``end`` after the clock."""
        now = self._clock.index
        if end is None:
            return now
        key = to_datetime64(end)
        if key > self._panel.timestamps[now]:
            raise self._lookahead("a query", end)
        return self._panel.index_at_or_before(key)

    # -- queries --------------------------------------------------------------------------------------------
    def universe(self, at: datetime | None = None) -> list[str]:
        """Symbols listed at ``at`` (default now): from their first bar on, while their latest bar is recent
        (``defipm.data.panel.STALE_AFTER_BARS``); decided from bars up to ``at`` only."""
        i = self.end_index(at)
        if i < 0:
            return []
        mask = self._panel.listed(i)
        return [s for s, m in zip(self._panel.symbols, mask, strict=True) if m]

    def prices(self, at: datetime | None = None) -> dict[str, float]:
        """Latest close of every listed symbol at ``at`` (default now)."""
        i = self.end_index(at)
        if i < 0:
            return {}
        row = self._panel.close[i]
        mask = self._panel.listed(i)
        return {s: float(row[j]) for j, s in enumerate(self._panel.symbols) if mask[j]}

    def history(
        self, field: str = "close", lookback: int | None = None, end: datetime | None = None
    ) -> NDArray[np.float64]:
        """``(bars, symbols)`` read-only array of ``field`` over the last ``lookback`` bars ending at ``end``.

        Columns follow ``symbols``; NaN before a symbol's first bar. ``lookback=None`` returns all history up to
        ``end`` (still a view: no copy).
        """
        if field not in FIELDS:
            raise DataError(f"unknown field {field!r}; expected one of {', '.join(FIELDS)}")
        stop = self.end_index(end) + 1
        start = 0 if lookback is None else max(0, stop - int(lookback))
        if lookback is not None and lookback < 1:
            raise DataError(f"lookback must be at least 1 bar, got {lookback}")
        return getattr(self._panel, field)[start:stop]

    def series(
        self, symbol: str, field: str = "close", lookback: int | None = None, end: datetime | None = None
    ) -> NDArray[np.float64]:
        """One symbol's ``field`` over the last ``lookback`` bars up to ``end`` (NaNs before its first bar)."""
        return self.history(field, lookback, end)[:, self._panel.column(symbol)]

    def real_bars(self, lookback: int | None = None, end: datetime | None = None) -> NDArray[np.bool_]:
        """``(bars, symbols)`` read-only mask, True where a symbol had a bar of its own (not a carried close), over
        the same bars as ``history``."""
        stop = self.end_index(end) + 1
        start = 0 if lookback is None else max(0, stop - int(lookback))
        return self._panel.has_bar[start:stop]

    def timestamps(self, lookback: int | None = None, end: datetime | None = None) -> NDArray[np.datetime64]:
        stop = self.end_index(end) + 1
        start = 0 if lookback is None else max(0, stop - int(lookback))
        return self._panel.timestamps[start:stop]

    def price_at(self, symbol: str, timestamp: datetime | None = None) -> float:
        """Close of ``symbol`` at the last bar at or before ``timestamp`` (default now)."""
        j = self._panel.column(symbol)
        i = self.end_index(timestamp)
        if i < 0 or i < self._panel.first_index[j]:
            raise DataError(f"{symbol}: no price at or before {timestamp or self.now} (its first bar is later)")
        return float(self._panel.close[i, j])

    def trailing_returns(self, lookback: int, end: datetime | None = None) -> NDArray[np.float64]:
        """Per symbol: ``close[end] / close[end - lookback bars] - 1``; NaN where the symbol is too young."""
        if lookback < 1:
            raise DataError(f"lookback must be at least 1 bar, got {lookback}")
        stop = self.end_index(end)
        if stop - lookback < 0:
            return np.full(len(self._panel.symbols), np.nan)
        close = self._panel.close
        with np.errstate(invalid="ignore"):
            return close[stop] / close[stop - lookback] - 1.0

    def bars_listed(self, end: datetime | None = None) -> NDArray[np.int64]:
        """Per symbol: how many bars it has been listed up to ``end`` (0 when not yet listed)."""
        i = self.end_index(end)
        return np.clip(i - self._panel.first_index + 1, 0, None)

    def column(self, symbol: str) -> int:
        return self._panel.column(symbol)

    def select(self, values: NDArray[np.float64], symbols: Sequence[str]) -> NDArray[np.float64]:
        """The entries of a per-symbol array for ``symbols`` (a helper for oracles ranking a universe)."""
        return values[[self._panel.column(s) for s in symbols]]
