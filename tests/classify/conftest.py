"""Fixtures of the classifier tests: the real data folders (skipped with a message where absent) and small panels
built bar by bar so every rule's answer is known."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from defipm.data.panel import PricePanel

pytest.importorskip("duckdb")

DATA = Path(os.environ.get("DEFIPM_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
FIXTURES = DATA.parent / "fixtures"
T0 = datetime(2024, 1, 1, tzinfo=UTC)


def real_folder(*parts: str) -> Path:
    folder = DATA.joinpath(*parts)
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder} (set DEFIPM_DATA to the shared data folder)")
    return folder


@pytest.fixture(scope="session")
def real_data():  # type: ignore[no-untyped-def]
    """``real_data("prices", "daily")``: a folder of the shared data, or a skip naming where it was looked for."""
    return real_folder


@pytest.fixture(scope="session")
def hyperliquid_fixtures() -> Path:
    folder = FIXTURES / "hyperliquid"
    if not folder.is_dir():
        pytest.skip(f"recorded Hyperliquid responses not found at {folder}")
    return folder


@pytest.fixture(scope="session")
def wide_folder() -> Path:
    return real_folder("prices", "daily_wide")


@pytest.fixture(scope="session")
def price_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One price cache for the session, so the wide panel's 329 files are parsed once."""
    return tmp_path_factory.mktemp("price-cache")


@pytest.fixture(scope="session")
def wide_panel(wide_folder: Path, price_cache: Path) -> Iterator[PricePanel]:
    import warnings

    from defipm.data.cache import load_prices

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCH's listing-day Open/Low of 0 (tested in tests/data)
        yield load_prices(wide_folder, cache=price_cache)


def _daily_panel(close: dict[str, list[float]], volume: dict[str, list[float]] | None = None) -> PricePanel:
    """Daily bars closing at T0 + k days; NaN = no bar (before listing or a gap)."""
    symbols = list(close)
    n = max(len(v) for v in close.values())
    arr = np.full((n, len(symbols)), np.nan)
    vol = np.full((n, len(symbols)), np.nan)
    for j, s in enumerate(symbols):
        values = close[s]
        arr[n - len(values) :, j] = values
        if volume is not None and s in volume:
            vol[n - len(values) :, j] = volume[s]
        else:
            vol[n - len(values) :, j] = 1_000_000.0
    times = [np.datetime64(T0.replace(tzinfo=None) + timedelta(days=k), "ns") for k in range(n)]
    return PricePanel.from_arrays(times, symbols, arr, volume=vol, interval=timedelta(days=1), source="test bars")


@pytest.fixture
def daily_panel():  # type: ignore[no-untyped-def]
    """A builder of daily panels from close (and volume) lists, for tests that need exact answers."""
    return _daily_panel


@pytest.fixture
def known(daily_panel) -> PricePanel:  # type: ignore[no-untyped-def]
    """Eight tokens whose verdict under ``SMALL`` settings is known (see test_screen)."""
    k = np.arange(30, dtype=float)
    sol = np.where(k <= 19, 100.0, np.where(k <= 25, 130.0, 120.0))
    return daily_panel(
        {
            "BTC": list(100 + 2 * k),  # steady rise, liquid: kept
            "ETH": list(100 + 2 * k),  # the same prices, almost no volume: volume
            "SOL": list(sol),  # up 20% over the window but falling this week: trend
            "UNI": list(100 + k),  # up, but less than the mean: return
            "ADA": list(100 - k),  # down: return
            "DOGE": list(100 * 1.1**k),  # a meme coin: category, and not in the means
            "USDC": [1.0] * 30,  # a stablecoin: category
            "NEAR": list(100 + 5 * np.arange(10.0)),  # listed 10 days ago: history
        },
        volume={"ETH": [1000.0] * 30},
    )


SMALL = {"window_days": 10, "trend_short_days": 3, "trend_long_days": 6, "min_history_bars": 15}
"""Short windows for 30-bar panels."""


@pytest.fixture
def small() -> dict[str, int]:
    return dict(SMALL)
