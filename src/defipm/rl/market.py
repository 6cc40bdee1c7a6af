"""``MarketArrays``: the closes and dollar volumes of the assets a model trades, on one bar grid.

A model trades a fixed list of symbols. Its arrays come from a ``PricePanel`` (``from_panel``) or from a
point-in-time ``MarketView`` up to its clock (``from_view``: the rotation loop trains on what was known at t).
``data_hash`` fingerprints the bars a model was trained on (times, symbols, closes and volumes), so a card can
say exactly which data made it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.data.panel import PricePanel, left_out_note, to_datetime
from defipm.data.view import MarketView


@dataclass(frozen=True, slots=True, eq=False)
class MarketArrays:
    """Closes and dollar volumes, ``(bars, assets)`` float64, NaN where an asset has no price yet."""

    timestamps: NDArray[np.datetime64]
    """Bar close times (UTC ``datetime64[ns]``)."""
    symbols: tuple[str, ...]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]
    """Dollar volume of each bar (quote currency); NaN: unknown (no impact, no participation cap)."""
    interval: timedelta
    source: str = ""

    def __post_init__(self) -> None:
        shape = (len(self.timestamps), len(self.symbols))
        if self.close.shape != shape or self.volume.shape != shape:
            raise DataError(f"closes {self.close.shape} and volumes {self.volume.shape} must both be {shape}")
        if not self.symbols:
            raise DataError("a model needs at least one symbol")

    @classmethod
    def from_panel(cls, panel: PricePanel, symbols: Sequence[str] | None = None) -> MarketArrays:
        """The columns of ``symbols`` (default: every symbol of the panel); unknown symbols are named."""
        names = tuple(symbols) if symbols is not None else panel.symbols
        _check_symbols(names, panel.symbols, panel.source, panel.left_out)
        cols = [panel.column(s) for s in names]
        return cls(
            timestamps=panel.timestamps,
            symbols=names,
            close=np.ascontiguousarray(panel.close[:, cols]),
            volume=np.ascontiguousarray(panel.volume[:, cols]),
            interval=panel.interval,
            source=panel.source,
        )

    @classmethod
    def from_view(cls, view: MarketView, symbols: Sequence[str], lookback: int | None = None) -> MarketArrays:
        """The last ``lookback`` bars up to the view's clock (all of them with None): never a bar after it."""
        names = tuple(symbols)
        _check_symbols(names, view.symbols, view.source, view.left_out)
        cols = [view.column(s) for s in names]
        return cls(
            timestamps=np.array(view.timestamps(lookback)),
            symbols=names,
            close=np.ascontiguousarray(view.history("close", lookback)[:, cols]),
            volume=np.ascontiguousarray(view.history("volume", lookback)[:, cols]),
            interval=view.interval,
            source=view.source,
        )

    def __len__(self) -> int:
        return len(self.timestamps)

    def time(self, index: int) -> datetime:
        return to_datetime(self.timestamps[index])

    def first_complete(self) -> int:
        """The first bar from which every asset has a price on every bar (``len(self)`` when there is none)."""
        bad = ~(np.isfinite(self.close) & (self.close > 0))
        if not bad.any():
            return 0
        rows = np.nonzero(bad.any(axis=1))[0]
        return int(rows[-1]) + 1

    def data_hash(self, start: int = 0, stop: int | None = None) -> str:
        """SHA-256 of the bars ``[start, stop)``: times, symbols, closes and volumes, as hex."""
        sl = np.s_[start:stop]
        digest = hashlib.sha256()
        digest.update("\x1f".join(self.symbols).encode())
        for part in (self.timestamps[sl].astype("datetime64[ns]").astype(np.int64), self.close[sl], self.volume[sl]):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()


def _check_symbols(names: Sequence[str], available: Sequence[str], source: str, left_out: Sequence[str] = ()) -> None:
    if len(set(names)) != len(names):
        twice = sorted({s for s in names if list(names).count(s) > 1})
        raise DataError(f"symbols given twice: {', '.join(twice)}")
    missing = [s for s in names if s not in available]
    excluded = [s for s in missing if s in left_out]
    if excluded:
        raise DataError(left_out_note(excluded))
    if missing:
        where = f" in {source}" if source else ""
        raise DataError(f"no data for {', '.join(missing)}{where} (it has {len(available)} symbols)")
