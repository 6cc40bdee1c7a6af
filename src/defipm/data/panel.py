"""``PricePanel``: aligned OHLCV arrays (bars x symbols) over the union of every symbol's bar times.

Ragged histories are kept honest: a symbol is *listed* from its first bar while its latest bar is at most
``STALE_AFTER_BARS`` old, judged from past bars only; before its first bar every field is NaN (never back- or
forward-filled). After its first bar a missing bar (a gap in the source, or the end of its file) carries the last
close into ``open/high/low/close`` with volume 0, and ``has_bar`` is False there, so positions can be marked
while callers can still tell a real bar from a carried one.

``timestamps`` are the times at which each bar's close is known (bar close times, UTC, numpy ``datetime64[ns]``):
the replay clock runs on them. The loader shifts open-labelled files (Yahoo's daily ``Date``) by one interval.
Every timestamp sits on one grid, ``timestamps[0] + k * interval``: a panel whose times do not is refused, so the
annualisation (``periods_per_year``) and the bar shift always describe the bars themselves (the loader infers and
checks each file's grid, ``defipm.data.grid``). Numpy only, so the synthetic generator and the engine need no
pandas.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.core.metrics import periods_per_year
from defipm.core.schedule import duration_ns, ns_duration
from defipm.data.grid import infer_step

FIELDS = ("open", "high", "low", "close", "volume")
STALE_AFTER_BARS = 3
"""A symbol with no bar for more than this many bars leaves the universe until it trades again. Decided from the
bars up to the clock only: whether a symbol that stopped trading will trade again is not known at the time."""


def left_out_note(names: Sequence[str], *other_fixes: str) -> str:
    """The one wording of symbols the data holds but ``--symbols`` left out, and the fixes: ``SOL: in the data but
    left out by --symbols (add it to --symbols, or OTHER_FIX)``."""
    them = "it" if len(names) == 1 else "them"
    fixes = ", or ".join((f"add {them} to --symbols", *other_fixes))
    return f"{', '.join(names)}: in the data but left out by --symbols ({fixes})"


def span_text(start: datetime | None, end: datetime | None) -> str:
    """A requested span as people say it: "between 2024-01-01 and 2024-06-30 12:00", "from 2030-01-01", "up to
    2019-12-31" (a bound that is midnight is shown as its date)."""

    def shown(t: datetime) -> str:
        return f"{t:%Y-%m-%d}" if (t.hour, t.minute, t.second) == (0, 0, 0) else f"{t:%Y-%m-%d %H:%M}"

    if start is not None and end is not None:
        return f"between {shown(start)} and {shown(end)}"
    if start is not None:
        return f"from {shown(start)}"
    return f"up to {shown(end)}" if end is not None else "in the whole data"


def to_datetime64(value: datetime | np.datetime64 | str) -> np.datetime64:
    """A UTC ``datetime64[ns]``; naive datetimes are taken as UTC, aware ones converted to UTC."""
    if isinstance(value, np.datetime64):
        return value.astype("datetime64[ns]")
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(value, "ns")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(value: np.datetime64) -> datetime:
    """A timezone-aware UTC ``datetime`` from a ``datetime64`` (microsecond precision)."""
    micros = int(value.astype("datetime64[us]").astype(np.int64))
    return _EPOCH + timedelta(microseconds=micros)


def to_datetimes(values: NDArray[np.datetime64]) -> list[datetime]:
    """``to_datetime`` of each of ``values``, the array converted in one pass (a replay's clock times, up front)."""
    return [_EPOCH + timedelta(microseconds=m) for m in values.astype("datetime64[us]").astype(np.int64).tolist()]


@dataclass(frozen=True, eq=False)
class PricePanel:
    """OHLCV of many symbols on one time axis. Arrays are ``(bars, symbols)`` float64 and read-only."""

    timestamps: NDArray[np.datetime64]
    symbols: tuple[str, ...]
    open: NDArray[np.float64]
    high: NDArray[np.float64]
    low: NDArray[np.float64]
    close: NDArray[np.float64]
    volume: NDArray[np.float64]
    has_bar: NDArray[np.bool_]
    interval: timedelta
    synthetic: bool = False
    """True for generated prices (``defipm.data.synthetic``): reports label them as synthetic."""
    source: str = ""
    """Where the data came from (a folder, "synthetic seed=7", ...), for reports."""
    funding: NDArray[np.float64] | None = field(default=None, repr=False)
    """Per bar and symbol: the funding rate paid over that bar, as a fraction of position notional (longs pay
    positive rates, shorts receive them; 0 where none), e.g. from a folder's ``funding/`` files; None: no data."""
    notes: tuple[str, ...] = ()
    """What loading did that a reader of the results should know (files moved onto the grid, funding gaps)."""
    left_out: tuple[str, ...] = ()
    """Symbols the source holds that the loader was asked to leave out (``load_prices(folder, symbols)``, the
    commands' ``--symbols``): a check that misses one of them says so (``left_out_note``), not "not in the data"."""
    first_index: NDArray[np.int64] = field(init=False, repr=False)
    """Per symbol: index of its first bar (``len(timestamps)`` when it has none)."""
    last_index: NDArray[np.int64] = field(init=False, repr=False)
    """Per symbol: index of its last bar (-1 when it has none)."""
    _ts_int: NDArray[np.int64] = field(init=False, repr=False)
    _last_bar: NDArray[np.int32] = field(init=False, repr=False)
    """Per bar and symbol: index of the symbol's latest real bar at or before that bar (-1 before its first)."""

    def __post_init__(self) -> None:
        shape = (len(self.timestamps), len(self.symbols))
        for name in (*FIELDS, "has_bar"):
            arr = getattr(self, name)
            if arr.shape != shape:
                raise DataError(f"panel field {name!r} has shape {arr.shape}, expected {shape}")
            arr.setflags(write=False)
        self.timestamps.setflags(write=False)
        if len(set(self.symbols)) != len(self.symbols):
            raise DataError(f"duplicated symbols in panel: {self.symbols}")
        if self.funding is not None:
            if self.funding.shape != shape:
                raise DataError(f"panel funding has shape {self.funding.shape}, expected {shape}")
            self.funding.setflags(write=False)
        if shape[0] > 1 and not np.all(np.diff(self.timestamps.astype(np.int64)) > 0):
            raise DataError("panel timestamps must be strictly increasing")
        self._check_grid()
        first = np.full(shape[1], shape[0], dtype=np.int64)
        last = np.full(shape[1], -1, dtype=np.int64)
        any_bar = self.has_bar.any(axis=0)
        first[any_bar] = np.argmax(self.has_bar[:, any_bar], axis=0)
        last[any_bar] = shape[0] - 1 - np.argmax(self.has_bar[::-1, any_bar], axis=0)
        object.__setattr__(self, "first_index", first)
        object.__setattr__(self, "last_index", last)
        object.__setattr__(self, "_ts_int", self.timestamps.astype(np.int64))
        rows = np.arange(shape[0], dtype=np.int32)[:, None]
        last_bar = np.maximum.accumulate(np.where(self.has_bar, rows, np.int32(-1)), axis=0) if shape[0] else rows
        last_bar.setflags(write=False)
        object.__setattr__(self, "_last_bar", last_bar)

    def _check_grid(self) -> None:
        """Every timestamp on ``timestamps[0] + k * interval``; names the first one off it and its symbols."""
        if not isinstance(self.interval, timedelta) or duration_ns(self.interval) <= 0:
            raise DataError(f"panel interval must be a positive duration, got {self.interval!r}")
        if len(self.timestamps) < 2:
            return
        ts = self.timestamps.astype(np.int64)
        off = (ts - ts[0]) % duration_ns(self.interval) != 0
        if off.any():
            i = int(np.argmax(off))
            who = [s for s, has in zip(self.symbols, self.has_bar[i], strict=True) if has]
            raise DataError(
                f"the bars are not on one {self.interval} grid: {to_datetime(self.timestamps[i]).isoformat()} "
                f"(bars of {', '.join(who) or 'no symbol'}) is {ns_duration(int(ts[i] - ts[i - 1]))} after the "
                f"previous bar time; give each symbol's bars the same interval and phase, or pass interval="
            )

    def with_funding(self, funding: NDArray[np.float64] | None, notes: Sequence[str] = ()) -> PricePanel:
        """This panel with per-bar funding rates (bars x symbols, see ``funding``) and more notes."""
        return replace(self, funding=funding, notes=(*self.notes, *notes))

    # -- construction ---------------------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        timestamps: Sequence[np.datetime64] | NDArray[np.datetime64],
        symbols: Sequence[str],
        close: NDArray[np.float64],
        *,
        open: NDArray[np.float64] | None = None,
        high: NDArray[np.float64] | None = None,
        low: NDArray[np.float64] | None = None,
        volume: NDArray[np.float64] | None = None,
        interval: timedelta | None = None,
        synthetic: bool = False,
        source: str = "",
        notes: Sequence[str] = (),
    ) -> PricePanel:
        """Build from ``(bars, symbols)`` arrays with NaN where a symbol has no bar; fills gaps as described above.

        ``interval`` defaults to the most common gap between ``timestamps``; either way every timestamp must sit on
        its grid (``DataError`` names the first that does not)."""
        ts = np.asarray(timestamps, dtype="datetime64[ns]")
        close = np.asarray(close, dtype=np.float64)
        has_bar = ~np.isnan(close)
        fields = {
            "open": open if open is not None else close,
            "high": high if high is not None else close,
            "low": low if low is not None else close,
            "close": close,
        }
        out: dict[str, NDArray[np.float64]] = {}
        carried_close = _carry_forward(close)
        for name, arr in fields.items():
            arr = np.asarray(arr, dtype=np.float64).copy()
            arr[~has_bar] = carried_close[~has_bar]
            out[name] = arr
        vol = np.zeros_like(close) if volume is None else np.nan_to_num(np.asarray(volume, dtype=np.float64))
        vol = vol.copy()
        vol[~has_bar] = 0.0
        vol[np.isnan(carried_close)] = np.nan
        return cls(
            timestamps=ts,
            symbols=tuple(symbols),
            volume=vol,
            has_bar=has_bar,
            interval=interval or infer_interval(ts),
            synthetic=synthetic,
            source=source,
            notes=tuple(notes),
            open=out["open"],
            high=out["high"],
            low=out["low"],
            close=out["close"],
        )

    # -- shape and time -------------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.timestamps)

    @property
    def periods_per_year(self) -> float:
        return periods_per_year(self.interval)

    @property
    def start(self) -> datetime:
        return to_datetime(self.timestamps[0])

    @property
    def end(self) -> datetime:
        return to_datetime(self.timestamps[-1])

    def datetime_at(self, index: int) -> datetime:
        return to_datetime(self.timestamps[index])

    def index_at_or_before(self, timestamp: datetime | np.datetime64) -> int:
        """Index of the last bar at or before ``timestamp`` (-1 when it is before the first bar)."""
        key = to_datetime64(timestamp).astype(np.int64)
        return int(np.searchsorted(self._ts_int, key, side="right")) - 1

    def column(self, symbol: str) -> int:
        try:
            return self.symbols.index(symbol)
        except ValueError:
            raise DataError(f"unknown symbol {symbol!r}; the data has {', '.join(self.symbols)}") from None

    def listed(self, index: int) -> NDArray[np.bool_]:
        """Mask of symbols listed at bar ``index``: from their first bar on, while their latest bar is at most
        ``STALE_AFTER_BARS`` old. Uses bars up to ``index`` only (a symbol's later bars must not decide it)."""
        last = self._last_bar[index]
        return (last >= 0) & (index - last <= STALE_AFTER_BARS)

    # -- sub-panels -----------------------------------------------------------------------------------------
    def slice(self, start: int, stop: int) -> PricePanel:
        """Bars ``[start, stop)`` as a new panel (arrays are copied so they are owned)."""
        sl = np.s_[start:stop]
        return PricePanel(
            timestamps=self.timestamps[sl].copy(),
            symbols=self.symbols,
            interval=self.interval,
            synthetic=self.synthetic,
            source=self.source,
            has_bar=self.has_bar[sl].copy(),
            funding=None if self.funding is None else self.funding[sl].copy(),
            notes=self.notes,
            left_out=self.left_out,
            **{f: getattr(self, f)[sl].copy() for f in FIELDS},
        )

    def between(self, start: datetime | None = None, end: datetime | None = None) -> PricePanel:
        """Bars with ``start <= timestamp <= end`` (either bound optional)."""
        lo = 0 if start is None else int(np.searchsorted(self._ts_int, to_datetime64(start).astype(np.int64)))
        hi = len(self) if end is None else self.index_at_or_before(end) + 1
        if hi <= lo:
            raise DataError(
                f"no bars {span_text(start, end)} (the data covers {span_text(self.start, self.end).removeprefix('between ')})"
            )
        return self.slice(lo, hi)

    def select(self, symbols: Sequence[str]) -> PricePanel:
        """Only ``symbols`` (in that order); bars where none of them is listed are dropped."""
        cols = [self.column(s) for s in symbols]
        keep = self.has_bar[:, cols].any(axis=1) | _between_listing(self, cols)
        return PricePanel(
            timestamps=self.timestamps[keep].copy(),
            symbols=tuple(symbols),
            interval=self.interval,
            synthetic=self.synthetic,
            source=self.source,
            has_bar=self.has_bar[keep][:, cols].copy(),
            funding=None if self.funding is None else self.funding[keep][:, cols].copy(),
            notes=self.notes,
            left_out=(*self.left_out, *(s for s in self.symbols if s not in symbols)),
            **{f: getattr(self, f)[keep][:, cols].copy() for f in FIELDS},
        )

    def to_columns(self) -> dict[str, NDArray[np.generic]]:
        """Long format (one row per symbol and real bar): the columns the cache stores."""
        t_idx, s_idx = np.nonzero(self.has_bar)
        return {
            "timestamp": self.timestamps[t_idx],
            "symbol": np.asarray(self.symbols, dtype=object)[s_idx],
            **{f: getattr(self, f)[t_idx, s_idx] for f in FIELDS},
        }

    @classmethod
    def from_columns(
        cls,
        columns: Mapping[str, NDArray[np.generic]],
        *,
        interval: timedelta | None = None,
        source: str = "",
        symbols: Sequence[str] | None = None,
        notes: Sequence[str] = (),
    ) -> PricePanel:
        """Inverse of ``to_columns``: pivot long rows (timestamp, symbol, OHLCV) onto the union time axis."""
        ts = np.asarray(columns["timestamp"], dtype="datetime64[ns]")
        sym = np.asarray(columns["symbol"], dtype=object)
        names = list(symbols) if symbols is not None else sorted({str(s) for s in sym})
        axis, t_idx = np.unique(ts, return_inverse=True)
        pos = {s: i for i, s in enumerate(names)}
        s_idx = np.fromiter((pos[str(s)] for s in sym), dtype=np.int64, count=len(sym))
        arrays = {}
        for f in FIELDS:
            arr = np.full((len(axis), len(names)), np.nan)
            arr[t_idx, s_idx] = np.asarray(columns[f], dtype=np.float64)
            arrays[f] = arr
        return cls.from_arrays(
            axis,
            names,
            arrays["close"],
            open=arrays["open"],
            high=arrays["high"],
            low=arrays["low"],
            volume=arrays["volume"],
            interval=interval,
            source=source,
            notes=notes,
        )


def _between_listing(panel: PricePanel, cols: list[int]) -> NDArray[np.bool_]:
    idx = np.arange(len(panel))[:, None]
    inside = np.asarray(((idx >= panel.first_index[cols]) & (idx <= panel.last_index[cols])).any(axis=1), dtype=bool)
    return inside


def _carry_forward(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Forward-fill NaNs down each column, never before a column's first value."""
    out = values.copy()
    mask = np.isnan(out)
    idx = np.where(~mask, np.arange(out.shape[0])[:, None], 0)
    np.maximum.accumulate(idx, axis=0, out=idx)
    filled = out[idx, np.arange(out.shape[1])]
    seen = np.maximum.accumulate(~mask, axis=0)
    return np.where(seen, filled, np.nan)


def infer_interval(timestamps: NDArray[np.datetime64]) -> timedelta:
    """The bar interval of one series of times: the most common gap between consecutive timestamps (ties: the
    shortest). The panel then checks that every timestamp sits on that grid."""
    if len(timestamps) < 2:
        raise DataError("cannot infer the bar interval from fewer than 2 bars; pass interval=")
    ns: NDArray[np.int64] = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
    nanos = infer_step(np.diff(ns))
    if nanos <= 0:
        raise DataError("timestamps are not increasing; cannot infer the bar interval")
    return ns_duration(nanos)
