"""Funding-rate files beside the bars (``funding/<SYMBOL>.csv``), turned into a per-bar funding rate of a panel.

The layout is what the Hyperliquid history download writes (``store_history``): a time column (``date``; the same
spellings and offsets as bar files) and ``funding_rate``, the fraction of position notional that longs pay to
shorts at that time (negative: shorts pay), one record per funding time (hourly on Hyperliquid). A ``premium``
column is informational and ignored. Anything else is an error naming the file and the column, and so are
non-numeric, non-finite or absurd rates (``|rate| >= MAX_FUNDING_RATE``: a rate written in percent?) and
duplicated or decreasing times.

A record at time ``t`` is paid by the positions held over the bar whose span ``(close before, close]`` contains
``t``: ``funding[i, j]`` is the sum of symbol ``j``'s rates in ``(timestamps[i-1], timestamps[i]]`` (the first
bar's span starts one interval before its close). Records outside the panel's bars are outside the replay. A
symbol without a funding file, or whose records do not cover its bars, is charged nothing there, and the panel's
notes say so.

Needs pandas (the ``backtest`` extra).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.core.schedule import duration_ns, ns_duration
from defipm.data.cells import parse_numbers, parse_times
from defipm.data.grid import infer_step
from defipm.data.ohlcv import TIME_COLUMNS, check_times, read_table
from defipm.data.panel import PricePanel, to_datetime

RATE_COLUMNS = ("funding_rate", "fundingrate")
INFORMATIONAL_COLUMNS = ("premium",)
MAX_FUNDING_RATE = 0.5
"""Largest accepted |rate| of one funding record (50% of notional; Hyperliquid caps funding at 4% an hour)."""


def read_funding(path: str | Path) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """(UTC times in integer nanoseconds, rates) of one funding file; raises ``DataError`` naming the problem."""
    path = Path(path)
    raw = read_table(path, "funding")
    names = {str(c).strip().lower(): c for c in raw.columns}
    rate_cols = [names[c] for c in RATE_COLUMNS if c in names]
    if not rate_cols:
        raise DataError(f"{path}: no funding rate column (expected 'funding_rate'; got {list(raw.columns)})")
    unexpected = [
        str(c) for key, c in names.items() if key not in (*TIME_COLUMNS, *RATE_COLUMNS, *INFORMATIONAL_COLUMNS)
    ]
    if unexpected or len(rate_cols) > 1:
        raise DataError(
            f"{path}: unexpected column(s) {', '.join(repr(c) for c in unexpected or rate_cols)} (a funding file "
            "holds date, funding_rate and optionally premium)"
        )
    time_col = [names[c] for c in TIME_COLUMNS if c in names]
    if len(time_col) != 1:
        raise DataError(f"{path}: expected one time column (one of {', '.join(TIME_COLUMNS)}), got {time_col}")
    if raw.empty:
        return np.zeros(0, dtype=np.int64), np.zeros(0)
    times = parse_times(path, raw[time_col[0]], str(time_col[0]))
    check_times(path, str(time_col[0]), times)
    rates = parse_numbers(path, raw[rate_cols[0]], str(rate_cols[0]), times)
    bad = ~np.isfinite(rates) | (np.abs(rates) >= MAX_FUNDING_RATE)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{path}: column {rate_cols[0]!r} has the rate {rates[i]} at row {i + 2} ({times.iloc[i]}): rates are "
            f"finite fractions of notional per funding time, below {MAX_FUNDING_RATE} in size (percent given?)"
        )
    ns = times.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)
    return ns, rates


def funding_per_bar(
    timestamps: NDArray[np.datetime64], interval: np.timedelta64 | int, times: NDArray[np.int64], rates: NDArray
) -> NDArray[np.float64]:
    """Per bar: the sum of ``rates`` whose ``times`` fall in the bar's span (module doc); ``interval`` in ns."""
    ts = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
    idx = np.searchsorted(ts, times, side="left")
    inside = (idx < len(ts)) & (times > ts[0] - int(interval))
    return np.bincount(idx[inside], weights=rates[inside], minlength=len(ts)).astype(np.float64)


def _coverage_note(path: Path, symbol: str, panel: PricePanel, times: NDArray[np.int64]) -> str | None:
    """A note when ``times`` leave part of ``symbol``'s bars without funding records (beyond one record gap)."""
    j = panel.column(symbol)
    if panel.last_index[j] < 0:
        return None
    step = duration_ns(panel.interval)
    start = int(panel.timestamps[panel.first_index[j]].astype(np.int64)) - step
    end = int(panel.timestamps[panel.last_index[j]].astype(np.int64))
    inside = times[(times > start) & (times <= end)]
    if not len(inside):
        return f"{path}: no funding record within {symbol}'s bars: {symbol} is charged no funding from it"
    gap = infer_step(np.diff(times)) if len(times) > 1 else step
    missing = []
    if int(inside[0]) - start > gap:
        missing.append(f"before {to_datetime(np.datetime64(int(inside[0]), 'ns')).isoformat()}")
    if end - int(inside[-1]) > gap:
        missing.append(f"after {to_datetime(np.datetime64(int(inside[-1]), 'ns')).isoformat()}")
    if not missing:
        return None
    return (
        f"{path}: funding records every {ns_duration(gap)} do not cover {symbol}'s bars "
        f"{' and '.join(missing)}: no funding is charged there"
    )


def attach_funding(panel: PricePanel, files: dict[str, Path]) -> PricePanel:
    """``panel`` with the per-bar funding of ``files`` (symbol -> funding file) and notes on what they miss."""
    if not files:
        return panel
    funding = np.zeros((len(panel), len(panel.symbols)))
    notes: list[str] = []
    step = duration_ns(panel.interval)
    for symbol, path in files.items():
        times, rates = read_funding(path)
        funding[:, panel.column(symbol)] = funding_per_bar(panel.timestamps, step, times, rates)
        note = _coverage_note(path, symbol, panel, times)
        if note:
            notes.append(note)
    without = [s for s in panel.symbols if s not in files]
    if without:
        notes.append(f"no funding file for {', '.join(without)}: charged no funding from files")
    return panel.with_funding(funding, notes)
