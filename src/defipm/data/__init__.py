"""Market data: OHLCV panels, the point-in-time ``MarketView`` on a ``ReplayClock``, data folders (bars, funding,
side files) loaded with a cache, synthetic prices.

``PricePanel``, ``MarketView`` and ``synthetic_panel`` need numpy only; ``load_prices`` and ``read_ohlcv`` need
the ``backtest`` extra (pandas, pyarrow, duckdb) and import it when called.
"""

from __future__ import annotations

from typing import Any

from defipm.data.panel import PricePanel
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv
from defipm.data.view import MarketView, ReplayClock

__all__ = [
    "MarketView", "PricePanel", "ReplayClock", "load_prices", "read_ohlcv", "synthetic_panel", "write_synthetic_csv",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    if name == "load_prices":
        from defipm.data.cache import load_prices

        return load_prices
    if name == "read_ohlcv":
        from defipm.data.ohlcv import read_ohlcv

        return read_ohlcv
    raise AttributeError(name)
