"""The benchmark of a backtest: a symbol of the data or an OHLCV file, aligned on the replay's bars.

The benchmark must cover the whole replay (from its first bar): a series that starts later or ends earlier is an
error naming it, rather than a silently shortened comparison. A benchmark file's bar grid is inferred and checked
like a data file's and must have the data's interval; each bar uses the latest benchmark close at or before it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.core.schedule import duration_ns, spell_duration
from defipm.data.grid import file_grid
from defipm.data.panel import PricePanel, to_datetime

DEFAULT_BENCHMARK = "BTC"


def benchmark_prices(
    benchmark: str | None, panel: PricePanel, lo: int, hi: int, bar_label: str = "open"
) -> tuple[str | None, NDArray[np.float64] | None]:
    """(name, closes on bars ``lo..hi-1``) of the benchmark, or (None, None) when there is none.

    ``benchmark`` is a symbol of ``panel`` (or of its folder, left out of the traded symbols by ``--symbols``: read
    from its file there) or a path to a ``.csv``/``.parquet`` OHLCV file whose times mean ``bar_label``: "open"
    (shifted one bar to the close, as the data loader does) or "close". The default ``"BTC"`` is quietly dropped
    when the data has no BTC.
    """
    if benchmark is None:
        return None, None
    start, end = to_datetime(panel.timestamps[lo]), to_datetime(panel.timestamps[hi - 1])
    if benchmark in panel.symbols:
        j = panel.column(benchmark)
        first, last = int(panel.first_index[j]), int(panel.last_index[j])
        if first > lo or last < hi - 1:
            raise DataError(
                f"benchmark {benchmark!r} covers {panel.datetime_at(first)} to {panel.datetime_at(last)}, "
                f"outside the backtest's {start} to {end}; choose a later start or another benchmark"
            )
        return benchmark, np.asarray(panel.close[lo:hi, j], dtype=np.float64).copy()
    path = Path(benchmark)
    if benchmark in panel.left_out:  # in the data's folder, left out of the trading symbols by --symbols
        from defipm.data.ohlcv import find_files

        path = find_files(panel.source, [benchmark])[benchmark]
    if path.suffix.lower() in (".csv", ".parquet", ".pq"):
        from defipm.data.ohlcv import read_ohlcv, utc_ns

        frame = read_ohlcv(path)
        step = duration_ns(panel.interval)
        ns = utc_ns(frame)
        grid = file_grid(path, ns, panel.interval if len(ns) < 2 else None)
        if grid.interval_ns != step:
            raise DataError(
                f"benchmark file {path} has {spell_duration(grid.interval)} bars, the data "
                f"{spell_duration(panel.interval)} bars: use a benchmark "
                "with the data's interval"
            )
        times = (ns + (step if bar_label == "open" else 0)).astype("datetime64[ns]")
        close = frame["close"].to_numpy(dtype=np.float64)
        wanted = panel.timestamps[lo:hi]
        idx = np.searchsorted(times, wanted, side="right") - 1  # the latest benchmark close at or before each bar
        if idx[0] < 0 or times[-1] < wanted[-1] - np.timedelta64(step, "ns"):
            raise DataError(
                f"benchmark file {path} covers {to_datetime(times[0])} to {to_datetime(times[-1])}, "
                f"outside the backtest's {start} to {end}"
            )
        return path.stem, close[idx]
    if benchmark == DEFAULT_BENCHMARK:
        return None, None
    raise DataError(
        f"benchmark {benchmark!r} is neither a symbol of the data ({', '.join(panel.symbols)}) nor a .csv/.parquet file"
    )
