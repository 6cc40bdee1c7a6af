"""Reading and checking OHLCV files: one CSV or Parquet file per symbol, the symbol being the file's stem.

Accepted columns (case-insensitive, any order): a time column (``Date``, ``Datetime``, ``Timestamp`` or
``Time``), ``Close`` (required), and any of ``Open``, ``High``, ``Low``, ``Volume``, ``BaseVolume``; ``Adj Close``
is ignored. That covers the ``Date,Close,High,Low,Open,Volume`` Yahoo layout, with or without ``+00:00`` offsets
(naive times are UTC), and the ``Date,Open,High,Low,Close,Volume,BaseVolume`` layout of the wide Bybit panel.
Anything else is an error naming the file and the column, and so are NaN or non-positive closes, negative or NaN
volume, an impossible bar (High below Low, or an Open or Close outside Low..High), and non-increasing or
duplicated times (naming the row and the time, and the fix). Dates and numbers are read by ``defipm.data.cells``.

``Volume`` is the traded value in quote currency (dollars). ``BaseVolume`` is the traded quantity (in contract
units): where both are given, each bar's average price ``Volume / BaseVolume`` must lie within its Low..High
(an error names the row otherwise: the columns are swapped or in other units); where only ``BaseVolume`` is given,
the dollar volume is estimated as ``BaseVolume x (High + Low + Close) / 3``.

Open, High and Low are auxiliary (nothing trades on them): a value of exactly 0 there, such as the Open and Low
of a listing-day bar in the wide panel, is kept as unknown (NaN) with a ``DataWarning`` naming the file, column
and rows, and the bar's Close and Volume are still used. Negative, NaN or infinite values stay errors.

A folder may hold a contract manifest, ``symbols.csv`` (``defipm.data.contracts``); it is never read as bars.

Needs pandas (the ``backtest`` extra).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import numpy as np
from numpy.typing import NDArray

from defipm.config_schema import missing_file
from defipm.core.errors import DataError
from defipm.data.cells import parse_numbers, parse_times, row_label
from defipm.data.folder import BAR_SUFFIXES, scan_folder
from defipm.data.grid import alignment_delay, alignment_notes, common_grid, file_grid
from defipm.data.panel import FIELDS, PricePanel

if TYPE_CHECKING:
    import pandas as pd

TIME_COLUMNS = ("date", "datetime", "timestamp", "time")
IGNORED_COLUMNS = ("adj close", "adj_close", "adjclose")
SUFFIXES = BAR_SUFFIXES
BASE_VOLUME_COLUMNS = ("basevolume", "base_volume", "base volume")
AUXILIARY_PRICES = ("open", "high", "low")
BAR_TOLERANCE = 1e-9
"""Relative slack of the Low <= Open, Close <= High check, for figures a source wrote with float noise."""
VWAP_TOLERANCE = 1e-4
"""Relative slack of the Volume / BaseVolume check, for the rounding of the source's figures."""


class DataWarning(UserWarning):
    """Input the loader kept but could not use in full (e.g. a bar's Open of 0 kept as unknown)."""


BarLabel = Literal["open", "close"]


def read_ohlcv(path: str | Path) -> pd.DataFrame:
    """One symbol's bars as a DataFrame indexed by UTC time with float columns open/high/low/close/volume.

    Raises ``DataError`` naming the file (and column or row) for every problem listed in the module doc.
    """
    import pandas as pd

    path = Path(path)
    raw = read_table(path, "OHLCV")
    names = {str(c).strip().lower(): c for c in raw.columns}
    time_col = time_column(path, names, list(raw.columns))
    unexpected = [
        str(c)
        for key, c in names.items()
        if key not in FIELDS and key not in TIME_COLUMNS and key not in IGNORED_COLUMNS + BASE_VOLUME_COLUMNS
    ]
    if unexpected:
        raise DataError(
            f"{path}: unexpected column(s) {', '.join(repr(c) for c in unexpected)} "
            f"(expected Date and Close, optionally Open, High, Low, Volume, BaseVolume)"
        )
    base_cols = [names[c] for c in BASE_VOLUME_COLUMNS if c in names]
    if len(base_cols) > 1:
        raise DataError(f"{path}: several base-volume columns {base_cols}; keep one")
    if "close" not in names:
        raise DataError(f"{path}: missing column 'Close'")
    if raw.empty:
        raise DataError(f"{path}: no rows")

    times = parse_times(path, raw[time_col], str(time_col))
    frame = pd.DataFrame(index=pd.DatetimeIndex(times, name="timestamp"))
    for field in FIELDS:
        if field not in names:
            continue
        col = names[field]
        values = parse_numbers(path, raw[col], str(col), times)
        _check_values(path, str(col), field, values, times)
        if field in AUXILIARY_PRICES:
            values = _unrecorded_as_unknown(path, str(col), values, times)
        frame[field] = values
    _check_bar_ranges(path, frame, {f: str(names[f]) for f in FIELDS if f in names}, times)
    if base_cols:
        base = parse_numbers(path, raw[base_cols[0]], str(base_cols[0]), times)
        _base_volume(path, str(base_cols[0]), base, frame, times)
    check_times(path, str(time_col), times)
    return frame


def read_table(path: Path, what: str) -> pd.DataFrame:
    """A CSV or Parquet file (by suffix) as a DataFrame with its time index, if any, as a column."""
    import pandas as pd

    if not path.is_file():
        raise DataError(missing_file(f"{what} file", path))
    try:
        raw = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except Exception as exc:  # pandas raises many types; translate at the boundary
        raise DataError(f"{path}: cannot read: {exc}") from exc
    if isinstance(raw.index, pd.DatetimeIndex):
        raw = raw.reset_index()
    return raw


def time_column(path: Path, names: dict[str, object], columns: list[object]) -> object:
    """The one time column among ``names`` (lower-cased name -> column)."""
    time_cols = [names[c] for c in TIME_COLUMNS if c in names]
    if not time_cols:
        raise DataError(f"{path}: no time column (expected one of {', '.join(TIME_COLUMNS)}; got {columns})")
    if len(time_cols) > 1:
        raise DataError(f"{path}: several time columns {time_cols}; keep one")
    return time_cols[0]


def _unrecorded_as_unknown(path: Path, col: str, values: np.ndarray, times: pd.Series) -> np.ndarray:
    """An Open/High/Low of exactly 0 (a source's way of saying it has none) becomes unknown (NaN), with a warning
    naming the rows; any other non-positive, NaN or infinite value stays an error."""
    zero = values == 0
    if not zero.any():
        return values
    rows = np.nonzero(zero)[0]
    shown = ", ".join(f"row {i + 2} ({times.iloc[i]})" for i in rows[:3])
    more = f" and {len(rows) - 3} more" if len(rows) > 3 else ""
    warnings.warn(
        f"{path}: column {col!r} is 0 at {shown}{more}: not a price; kept as unknown (the Close is used)",
        DataWarning,
        stacklevel=4,
    )
    out = values.copy()
    out[zero] = np.nan
    return out


def _check_bar_ranges(path: Path, frame: pd.DataFrame, columns: dict[str, str], times: pd.Series) -> None:
    """Each bar's Low <= High, and its Open and Close within Low..High (an unknown, NaN, value is not compared;
    ``BAR_TOLERANCE`` of slack). Raises ``DataError`` naming the first row that breaks it and the columns."""
    low = frame["low"].to_numpy() if "low" in frame else None
    high = frame["high"].to_numpy() if "high" in frame else None
    if low is None and high is None:
        return
    with np.errstate(invalid="ignore"):
        if low is not None and high is not None:
            _refuse_row(path, high < low * (1 - BAR_TOLERANCE), times, f"{columns['high']} {{high}} is below "
                        f"{columns['low']} {{low}}", frame)  # fmt: skip
        for field in ("open", "close"):
            if field not in frame:
                continue
            value = frame[field].to_numpy()
            name = columns[field]
            if low is not None:
                _refuse_row(path, value < low * (1 - BAR_TOLERANCE), times, f"{name} {{{field}}} is below "
                            f"{columns['low']} {{low}}", frame)  # fmt: skip
            if high is not None:
                _refuse_row(path, value > high * (1 + BAR_TOLERANCE), times, f"{name} {{{field}}} is above "
                            f"{columns['high']} {{high}}", frame)  # fmt: skip


def _refuse_row(path: Path, bad: np.ndarray, times: pd.Series, what: str, frame: pd.DataFrame) -> None:
    """``DataError`` for the first ``bad`` row: ``what`` filled with that row's values, and the fix."""
    if not bad.any():
        return
    i = int(np.argmax(bad))
    values = {f: f"{frame[f].iloc[i]:g}" for f in FIELDS if f in frame}
    raise DataError(
        f"{row_label(path, i, times)}: {what.format(**values)}: a bar needs Low <= Open, Close <= High; correct "
        "the row (are columns swapped?) or remove it"
    )


def _base_volume(path: Path, col: str, base: np.ndarray, frame: pd.DataFrame, times: pd.Series) -> None:
    """Check Volume against BaseVolume (average price within Low..High), or estimate Volume from it."""
    _check_values(path, col, "volume", base, times)
    low = frame["low"].to_numpy() if "low" in frame else frame["close"].to_numpy()
    high = frame["high"].to_numpy() if "high" in frame else frame["close"].to_numpy()
    if "volume" not in frame:
        close = frame["close"].to_numpy()
        typical = np.where(np.isfinite(low) & np.isfinite(high), (high + low + close) / 3.0, close)
        frame["volume"] = base * typical
        return
    volume = frame["volume"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        vwap = volume / base
        outside = (vwap < low * (1 - VWAP_TOLERANCE)) | (vwap > high * (1 + VWAP_TOLERANCE))
    bad = np.where(base > 0, outside, volume > 0)
    if bad.any():
        i = int(np.argmax(bad))
        raise DataError(
            f"{row_label(path, i, times)}: Volume {volume[i]} / {col} {base[i]} = {vwap[i]:.6g} is not a "
            f"price within the bar's Low..High ({low[i]:.6g}..{high[i]:.6g}): Volume must be the traded value in "
            f"quote currency and {col} the traded quantity"
        )


def _check_values(path: Path, col: str, field: str, values: np.ndarray, times: pd.Series) -> None:
    bad_nan = np.isnan(values)
    if bad_nan.any():
        i = int(np.argmax(bad_nan))
        raise DataError(
            f"{path}: column {col!r} is NaN at row {i + 2} ({times.iloc[i]}); {int(bad_nan.sum())} NaN(s): fill the "
            "cell(s) or remove the row(s)"
        )
    # an Open/High/Low of 0 passes here: read_ohlcv keeps it as unknown
    bad = values < 0 if field in ("volume", *AUXILIARY_PRICES) else values <= 0
    if bad.any():
        i = int(np.argmax(bad))
        what = "negative" if field == "volume" else "non-positive"
        raise DataError(
            f"{path}: column {col!r} has a {what} value {values[i]} at row {i + 2} ({times.iloc[i]}): prices must be "
            "positive and volumes at least 0; correct the row or remove it"
        )
    if not np.isfinite(values).all():
        i = int(np.argmax(~np.isfinite(values)))
        raise DataError(
            f"{path}: column {col!r} is infinite at row {i + 2} ({times.iloc[i]}): correct the row or remove it"
        )


def check_times(path: Path, col: str, times: pd.Series) -> None:
    """Strictly increasing times; names the row of a duplicate or of a step back."""
    t = times.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    if len(t) < 2:
        return
    step = np.diff(t)
    if (step == 0).any():
        i = int(np.argmax(step == 0)) + 1
        raise DataError(f"{path}: column {col!r} has a duplicated time {times.iloc[i]} at row {i + 2}")
    if (step < 0).any():
        i = int(np.argmax(step < 0)) + 1
        raise DataError(
            f"{path}: column {col!r} is not increasing: {times.iloc[i]} at row {i + 2} comes after {times.iloc[i - 1]}"
        )


def find_files(folder: str | Path, symbols: Sequence[str] | None = None) -> dict[str, Path]:
    """Symbol -> bar file in ``folder`` (``<SYMBOL>.csv`` or ``.parquet``); every other entry is classified and
    anything nothing reads is refused (``defipm.data.folder.scan_folder``); names the missing symbols."""
    return scan_folder(folder, symbols).bars


def utc_ns(frame: pd.DataFrame) -> NDArray[np.int64]:
    """A frame's UTC time index as integer nanoseconds."""
    return frame.index.tz_convert("UTC").tz_localize(None).to_numpy("datetime64[ns]").astype(np.int64)


def panel_from_files(
    files: dict[str, Path], *, bar_label: BarLabel = "open", interval: timedelta | None = None, source: str = ""
) -> PricePanel:
    """Read every file, check it, and align them on the union of their times (see ``PricePanel``).

    Each file's bar grid is inferred and checked on its own (``defipm.data.grid``; ``interval`` gives the bar
    length instead of inferring it); the files must share the interval, and files stamped at another phase are
    moved to the first grid time at or after each bar's close (reported in the panel's notes).
    ``bar_label="open"`` (Yahoo's convention: a daily bar is labelled by the day it opens) moves every time to
    the bar's close, ``time + interval``, so the replay clock only sees a close once it has happened.
    """
    if bar_label not in ("open", "close"):
        raise DataError(f"bar_label must be 'open' or 'close', got {bar_label!r}")
    if interval is not None and (not isinstance(interval, timedelta) or interval < timedelta(microseconds=1)):
        raise DataError(f"interval must be a positive timedelta (the bar length) or None, got {interval!r}")
    frames = {sym: read_ohlcv(path) for sym, path in files.items()}
    times = {sym: utc_ns(frame) for sym, frame in frames.items()}
    grids = {sym: file_grid(files[sym], t, interval) for sym, t in times.items()}
    common = common_grid({files[sym].name: g for sym, g in grids.items()})
    step = common.interval_ns
    columns: dict[str, list[np.ndarray]] = {k: [] for k in ("timestamp", "symbol", *FIELDS)}
    for sym, frame in frames.items():
        n = len(frame)
        shift = (step if bar_label == "open" else 0) + alignment_delay(grids[sym], common)
        columns["timestamp"].append((times[sym] + shift).astype("datetime64[ns]"))
        columns["symbol"].append(np.full(n, sym, dtype=object))
        close = frame["close"].to_numpy()
        for f in FIELDS:
            if f in frame:
                columns[f].append(frame[f].to_numpy())
            else:
                columns[f].append(close if f != "volume" else np.full(n, np.nan))
    merged = {k: np.concatenate(v) for k, v in columns.items()}
    notes = alignment_notes({files[sym].name: g for sym, g in grids.items()}, common)
    return PricePanel.from_columns(merged, interval=common.interval, source=source, symbols=list(files), notes=notes)
