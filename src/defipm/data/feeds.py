"""Live price feeds for paper trading: each call returns ``(timestamp, prices, volumes)`` for the paper venue.

``SyntheticFeed`` continues a seeded geometric random walk from the venue's last marks, one bar per call; it is
synthetic and says so in its ``label``. ``LatestBarFeed`` serves the most recent bar of a folder of OHLCV files.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from defipm.core.errors import ConfigError
from defipm.data.synthetic import synthetic_symbols

if TYPE_CHECKING:
    from defipm.data.panel import PricePanel


class SyntheticFeed:
    """Seeded random-walk quotes. ``start`` gives the first prices (default 100 each), e.g. the venue's marks."""

    label = "SYNTHETIC market (seeded geometric random walk, not real prices)"

    def __init__(
        self,
        symbols: Sequence[str] | int = 8,
        *,
        seed: int = 0,
        annual_volatility: float = 0.8,
        interval: timedelta = timedelta(hours=1),
        start: Mapping[str, float] | None = None,
        daily_volume: float = 50_000_000.0,
    ) -> None:
        """Raises ``ConfigError`` naming a parameter that is not finite, out of range, or a start price that is not
        a positive number (``interval`` from 1 second to 366 days, ``annual_volatility`` in [0, 5])."""
        _check_feed(interval, annual_volatility, daily_volume, start)
        self.symbols = synthetic_symbols(symbols) if isinstance(symbols, int) else list(symbols)
        self.interval = interval
        self.sigma = annual_volatility / math.sqrt(365 * 86_400 / interval.total_seconds())
        self.volume = daily_volume * interval.total_seconds() / 86_400
        self._rng = np.random.default_rng(seed)
        base = np.array([100.0 * (1 + i % 7) for i in range(len(self.symbols))])
        if start:
            base = np.array([float(start.get(s, b)) for s, b in zip(self.symbols, base, strict=True)])
        self.prices = base
        self.steps = 0

    def __call__(self) -> tuple[datetime, dict[str, float], dict[str, float]]:
        if self.steps:
            shocks = self._rng.standard_normal(len(self.symbols))
            self.prices = self.prices * np.exp(self.sigma * shocks - 0.5 * self.sigma**2)
        self.steps += 1
        now = datetime.now(UTC)
        prices = {s: float(f"{p:.6g}") for s, p in zip(self.symbols, self.prices, strict=True)}
        return now, prices, dict.fromkeys(self.symbols, self.volume)


def _number(name: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= float(value) <= high:
        raise ConfigError(f"synthetic feed: {name} must be a number in [{low:g}, {high:g}], got {value!r}")
    return float(value)


def _check_feed(
    interval: object, annual_volatility: object, daily_volume: object, start: Mapping[str, float] | None
) -> None:
    if not isinstance(interval, timedelta) or not timedelta(seconds=1) <= interval <= timedelta(days=366):
        raise ConfigError(f"synthetic feed: interval must be from 1 second to 366 days, got {interval!r}")
    _number("annual_volatility", annual_volatility, 0, 5)
    _number("daily_volume", daily_volume, 0, 1e15)
    for symbol, price in (start or {}).items():
        if isinstance(price, bool) or not isinstance(price, int | float) or not 0 < float(price) < math.inf:
            raise ConfigError(f"synthetic feed: start price of {symbol!r} must be a positive number, got {price!r}")


class LatestBarFeed:
    """The last bar of every symbol in a folder of OHLCV files (as loaded for backtests), all stamped with the
    folder's newest bar close.

    A symbol whose file ends before that newest bar has no price at that time: it is left out of every update, so
    it leaves the universe (as a backtest lists only symbols with a recent bar) and a held position keeps its last
    mark and is skipped as ``STALE_PRICE``; it is never quoted at its own older close. ``stale`` maps each such
    symbol to its last bar close (UTC), and ``label`` names them, when, and the fix."""

    def __init__(self, folder: str | Path) -> None:
        """Raises ``DataError`` (from the loader) for a folder or file that cannot be read."""
        from defipm.data.cache import load_prices

        self.folder = Path(folder)
        self._panel = load_prices(self.folder)
        self.as_of = self._panel.end
        self.stale = _stale_symbols(self._panel)
        self.label = f"latest bars from {self.folder}, closed {self.as_of:%Y-%m-%d %H:%M} UTC (not live prices)"
        if self.stale:
            self.label += "; " + _stale_note(self.stale)
        if self._panel.funding is not None:
            self.label += "; its funding/ files are not used (paper trading charges no funding from files)"

    def __call__(self) -> tuple[datetime, dict[str, float], dict[str, float]]:
        panel = self._panel
        last = len(panel) - 1
        close = np.asarray(panel.close)
        volume = np.asarray(panel.volume)
        prices: dict[str, float] = {}
        volumes: dict[str, float] = {}
        for j, symbol in enumerate(panel.symbols):
            if symbol not in self.stale and last >= 0 and math.isfinite(close[last, j]):
                prices[symbol] = float(close[last, j])
                volumes[symbol] = float(volume[last, j])
        # stamped with the bars' own close time, so a venue's max_price_age sees how old they are
        return self.as_of, prices, volumes


def _stale_symbols(panel: PricePanel) -> dict[str, datetime]:
    """Symbols without a real bar at the panel's last time, each with the close time of its own latest bar."""
    if not len(panel):
        return {}
    return {
        s: panel.datetime_at(int(panel.last_index[j]))
        for j, s in enumerate(panel.symbols)
        if not panel.has_bar[-1, j] and panel.last_index[j] >= 0
    }


def _stale_note(stale: Mapping[str, datetime]) -> str:
    ends = ", ".join(f"{s} (last bar closed {t:%Y-%m-%d %H:%M})" for s, t in sorted(stale.items()))
    them = "it" if len(stale) == 1 else "them"
    return (
        f"not traded: {ends}: older than the newest bar, so no price then (a held position keeps its last mark); "
        f"bring the file(s) up to date or remove {them}"
    )
