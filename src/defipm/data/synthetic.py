"""Synthetic prices: a seeded geometric random walk, clearly labelled synthetic.

For demos, tests and benchmarks that must not depend on real data. The same seed gives the same panel on every
machine (numpy's PCG64). Symbols are named ``SYN000``, ``SYN001``, ... and the panel has ``synthetic=True`` and
a ``source`` of ``"synthetic (geometric random walk, seed=N)"`` so no report can pass it off as market data.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from defipm.data.panel import PricePanel, to_datetime64

SYNTHETIC_PREFIX = "SYN"


def synthetic_symbols(n: int) -> list[str]:
    width = max(3, len(str(n - 1)))
    return [f"{SYNTHETIC_PREFIX}{i:0{width}d}" for i in range(n)]


def synthetic_panel(
    n_assets: int = 10,
    n_bars: int = 365,
    *,
    seed: int = 0,
    interval: timedelta = timedelta(days=1),
    start: datetime = datetime(2020, 1, 1, tzinfo=UTC),
    annual_drift: float = 0.0,
    annual_volatility: float = 0.8,
    market_correlation: float = 0.5,
    start_price: float | Sequence[float] = 100.0,
    daily_volume: float = 50_000_000.0,
    ragged: bool = False,
    symbols: Sequence[str] | None = None,
) -> PricePanel:
    """A ``(n_bars, n_assets)`` OHLCV panel of correlated geometric random walks.

    annual_drift / annual_volatility: per asset, as fractions a year (365 days): 0.8 = 80% volatility.
    market_correlation: share of each asset's variance driven by one common factor (0..1).
    start_price: one price for all or one per asset.
    daily_volume: mean traded value per day in quote currency (scaled to the bar interval, lognormal noise).
    ragged: when True, asset ``i`` lists at bar ``i * n_bars // (2 * n_assets)``, so later assets have shorter
      histories (NaN before their first bar), as real coins do.
    symbols: names to use instead of ``SYN000``...
    """
    if n_assets < 1 or n_bars < 2:
        raise ValueError(f"need n_assets >= 1 and n_bars >= 2, got {n_assets} and {n_bars}")
    if not 0.0 <= market_correlation <= 1.0:
        raise ValueError(f"market_correlation must be within [0, 1], got {market_correlation}")
    names = list(symbols) if symbols is not None else synthetic_symbols(n_assets)
    if len(names) != n_assets:
        raise ValueError(f"{len(names)} symbols given for {n_assets} assets")
    bars_per_year = 365.0 * 86_400.0 / interval.total_seconds()
    bar_volume = daily_volume * interval.total_seconds() / 86_400.0
    open_, high, low, close, volume = _random_walk_bars(
        np.random.default_rng(seed), (n_bars, n_assets), annual_drift / bars_per_year,
        annual_volatility / math.sqrt(bars_per_year), market_correlation, start_price, bar_volume,
    )  # fmt: skip
    if ragged:
        for i in range(n_assets):
            k = i * n_bars // (2 * n_assets)
            for arr in (open_, high, low, close, volume):
                arr[:k, i] = np.nan
    t0 = to_datetime64(start)
    step = np.timedelta64(int(interval.total_seconds() * 1e9), "ns")
    times = t0 + step * np.arange(n_bars)
    return PricePanel.from_arrays(
        times,
        names,
        close,
        open=open_,
        high=high,
        low=low,
        volume=volume,
        interval=interval,
        synthetic=True,
        source=f"synthetic (geometric random walk, seed={seed})",
    )


def _random_walk_bars(
    rng: np.random.Generator,
    shape: tuple[int, int],
    drift: float,
    sigma: float,
    market_correlation: float,
    start_price: float | Sequence[float],
    bar_volume: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(open, high, low, close, volume) of ``shape`` (bars, assets): log returns ``drift - sigma^2 / 2 + sigma x
    shock`` per bar, each shock a ``market_correlation`` share of one common factor; opens near the previous close,
    wicks around the body, lognormal volumes averaging ``bar_volume``."""
    n_bars, n_assets = shape
    common = rng.standard_normal((n_bars, 1))
    own = rng.standard_normal(shape)
    shocks = math.sqrt(market_correlation) * common + math.sqrt(1.0 - market_correlation) * own
    log_ret = drift - 0.5 * sigma * sigma + sigma * shocks
    log_ret[0] = 0.0
    first = np.asarray(start_price, dtype=np.float64) * np.ones(n_assets)
    close = first * np.exp(np.cumsum(log_ret, axis=0))
    prev = np.vstack([close[:1], close[:-1]])
    open_ = prev * np.exp(sigma * 0.1 * rng.standard_normal(shape))
    wick = np.abs(sigma * 0.5 * rng.standard_normal(shape))
    high = np.maximum(open_, close) * np.exp(wick)
    low = np.minimum(open_, close) * np.exp(-wick)
    volume = bar_volume * rng.lognormal(mean=-0.125, sigma=0.5, size=shape)
    return open_, high, low, close, volume


def write_synthetic_csv(folder: str | Path, panel: PricePanel) -> list[Path]:
    """Write a panel as ``<SYMBOL>.csv`` files in the ``Date,Close,High,Low,Open,Volume`` layout (times labelled
    by bar close, so load them back with ``bar_label="close"``). Returns the files written."""
    root = Path(folder)
    root.mkdir(parents=True, exist_ok=True)
    out = []
    for j, sym in enumerate(panel.symbols):
        path = root / f"{sym}.csv"
        rows = ["Date,Close,High,Low,Open,Volume"]
        for i in np.nonzero(panel.has_bar[:, j])[0]:
            ts = np.datetime_as_string(panel.timestamps[i], unit="s")
            values = (panel.close, panel.high, panel.low, panel.open, panel.volume)
            rows.append(f"{ts}+00:00," + ",".join(repr(float(v[i, j])) for v in values))
        path.write_text("\n".join(rows) + "\n")
        out.append(path)
    return out
