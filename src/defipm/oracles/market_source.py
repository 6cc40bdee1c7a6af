"""Where an oracle that reads price history gets its point-in-time view at a cycle's time.

In a backtest, the replay's ``MarketView`` (its clock is the cycle's time; asking past it is a ``LookAheadError``).
Live and on paper, a folder of OHLCV files read at each cycle (through the price cache) and viewed at the last bar
closed by the cycle's time; a newest bar more than ``STALE_BARS`` intervals older than that is noted, since the
weights then describe an older market.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal

from defipm.core.errors import ConfigError, DataError
from defipm.data.view import MarketView

STALE_BARS = 3


class MarketSource:
    """A backtest's ``market`` view, or a ``folder`` of OHLCV files (``bar_label``: what a file's time means)."""

    def __init__(
        self,
        market: MarketView | None,
        folder: Path | None = None,
        bar_label: Literal["open", "close"] = "open",
        symbols: Sequence[str] | None = None,
    ) -> None:
        if market is None and folder is None:
            raise ConfigError(
                "oracle.params.data: this oracle reads price history: set data = a folder of OHLCV files, or run it "
                "in a backtest"
            )
        if market is None and folder is not None and not folder.is_dir():
            raise ConfigError(f"oracle.params.data: no such data folder {folder}")
        self.market, self.folder, self.bar_label = market, folder, bar_label
        self.symbols = tuple(symbols) if symbols is not None else None

    @property
    def fixed(self) -> bool:
        """Whether every cycle reads the same view (a backtest's), whose clock moves with the replay."""
        return self.market is not None

    def view_at(self, timestamp: datetime) -> tuple[MarketView, str | None]:
        """The view at ``timestamp``, and a note when the folder's newest bar is stale."""
        if self.market is not None:
            return self.market, None
        from defipm.data.cache import load_prices

        assert self.folder is not None
        panel = load_prices(self.folder, self.symbols, bar_label=self.bar_label)
        index = panel.index_at_or_before(timestamp)
        if index < 0:
            raise DataError(
                f"{self.folder}: no bar closed by {timestamp:%Y-%m-%d %H:%M} (the first closes {panel.start})"
            )
        view = MarketView(panel, index)
        note = None
        if timestamp - view.now > STALE_BARS * panel.interval:
            note = f"the newest bar in {self.folder} closed {view.now:%Y-%m-%d %H:%M}, well before {timestamp:%Y-%m-%d %H:%M}"
        return view, note
