"""Rebalancing schedules: which bars of a replay are rebalance times.

- ``EveryKBars(k)``: the first bar, then every ``k`` bars.
- ``Every(period)``: the first bar, then the first bar at least ``period`` after the previous rebalance
  (``"48h"`` on daily bars = every 2 bars; on hourly bars = every 48 bars).
- ``Daily(at)``: the first bar at or after ``HH:MM`` UTC of each day.

Every schedule also rebalances on the replay's first bar, so a run starts invested.
- ``Weekly(weekday, at)``: the first bar at or after ``HH:MM`` UTC of that weekday, each week.

A schedule is a frozen value; ``due(timestamps)`` gives the boolean mask for a whole replay at once, so a replay
can be resumed or split (train/test) without hidden state. ``parse_schedule`` reads the CLI spellings:
``5bars``, ``24h``, ``2d``, ``1w``, ``daily@00:00``, ``weekly@mon@00:00``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_NS_PER_DAY = 86_400 * 10**9


class Schedule(Protocol):
    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Mask of the bars (UTC ``datetime64[ns]`` close times) at which to rebalance."""
        ...

    def describe(self) -> str: ...


@dataclass(frozen=True, slots=True)
class EveryKBars:
    k: int = 1

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"schedule: every k bars needs k >= 1, got {self.k}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        mask = np.zeros(len(timestamps), dtype=bool)
        mask[:: self.k] = True
        return mask

    def describe(self) -> str:
        return "every bar" if self.k == 1 else f"every {self.k} bars"


def _first_at_or_after(ts: NDArray[np.int64], targets: NDArray[np.int64]) -> NDArray[np.bool_]:
    """Mask of the first bar at or after each target time (targets sorted; several targets may share a bar)."""
    mask = np.zeros(len(ts), dtype=bool)
    idx = np.searchsorted(ts, targets, side="left")
    idx = idx[idx < len(ts)]
    mask[idx] = True
    return mask


@dataclass(frozen=True, slots=True)
class Every:
    period: timedelta

    def __post_init__(self) -> None:
        if self.period <= timedelta(0):
            raise ConfigError(f"schedule: period must be positive, got {self.period}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        ts = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
        mask = np.zeros(len(ts), dtype=bool)
        if not len(ts):
            return mask
        step = int(self.period.total_seconds() * 1e9)
        i = 0
        while i < len(ts):
            mask[i] = True
            i = int(np.searchsorted(ts, ts[i] + step, side="left"))
        return mask

    def describe(self) -> str:
        hours = self.period.total_seconds() / 3600
        return f"every {hours:g}h"


@dataclass(frozen=True, slots=True)
class Daily:
    at: time = time(0, 0)

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        ts = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
        if not len(ts):
            return np.zeros(0, dtype=bool)
        offset = (self.at.hour * 3600 + self.at.minute * 60) * 10**9
        day0 = (ts[0] // _NS_PER_DAY) * _NS_PER_DAY
        if day0 + offset > ts[0]:
            day0 -= _NS_PER_DAY
        targets = np.arange(day0 + offset, ts[-1] + 1, _NS_PER_DAY, dtype=np.int64)
        return _first_at_or_after(ts, targets)

    def describe(self) -> str:
        return f"daily at {self.at:%H:%M} UTC"


@dataclass(frozen=True, slots=True)
class Weekly:
    weekday: int = 0
    """0 = Monday ... 6 = Sunday."""
    at: time = time(0, 0)

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ConfigError(f"schedule: weekday must be 0 (Monday) .. 6 (Sunday), got {self.weekday}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        ts = np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)
        if not len(ts):
            return np.zeros(0, dtype=bool)
        first_day = datetime.fromtimestamp(int(ts[0] // 10**9), tz=UTC).date()
        back = (first_day.weekday() - self.weekday) % 7  # days back to the scheduled weekday
        offset = (self.at.hour * 3600 + self.at.minute * 60) * 10**9
        start = (ts[0] // _NS_PER_DAY - back) * _NS_PER_DAY + offset
        if start > ts[0]:
            start -= 7 * _NS_PER_DAY
        targets = np.arange(start, ts[-1] + 1, 7 * _NS_PER_DAY, dtype=np.int64)
        mask = _first_at_or_after(ts, targets)
        return mask

    def describe(self) -> str:
        return f"weekly on {WEEKDAYS[self.weekday]} at {self.at:%H:%M} UTC"


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(m|min|h|d|w)$")
_UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def _parse_time(text: str, spec: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ConfigError(f"schedule {spec!r}: time {text!r} is not HH:MM") from None


def parse_schedule(spec: str | int | Schedule) -> Schedule:
    """A schedule from its CLI spelling (see the module doc); an int is every k bars."""
    if not isinstance(spec, str | int):
        return spec
    if isinstance(spec, int):
        return EveryKBars(spec)
    text = spec.strip().lower()
    if m := re.fullmatch(r"(\d+)\s*bars?", text):
        return EveryKBars(int(m.group(1)))
    if m := _DURATION.fullmatch(text):
        return Every(timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)]))
    if text.startswith("daily"):
        parts = text.split("@")
        return Daily(_parse_time(parts[1], spec) if len(parts) > 1 else time(0, 0))
    if text.startswith("weekly"):
        parts = text.split("@")
        day = parts[1] if len(parts) > 1 else "mon"
        if day[:3] not in WEEKDAYS:
            raise ConfigError(f"schedule {spec!r}: weekday {day!r} is not one of {', '.join(WEEKDAYS)}")
        at = _parse_time(parts[2], spec) if len(parts) > 2 else time(0, 0)
        return Weekly(WEEKDAYS.index(day[:3]), at)
    raise ConfigError(
        f"schedule {spec!r} not understood: use e.g. '5bars', '24h', '2d', '1w', 'daily@00:00', 'weekly@mon@00:00'"
    )
