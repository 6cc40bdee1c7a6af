"""Durations and rebalancing schedules: one grammar for every command and config that takes them.

Durations are a decimal number and a unit, exact (never through a float): ``30s``, ``90m`` (or ``90min``),
``1.5h``, ``2d``, ``1w`` (``parse_duration``). Schedules say which bars of a replay are rebalance times:

- ``EveryKBars(k)`` (``5bars``): the first bar, then every ``k`` bars.
- ``Every(period)`` (a duration): the first bar, then the first bar at least ``period`` after the previous
  rebalance (``"48h"`` on daily bars = every 2 bars; on hourly bars = every 48 bars).
- ``Daily(at)`` (``daily@00:00``): the first bar at or after ``at`` (UTC) of each day.
- ``Daily(at, days)`` (``3d@18:15``): the same, every ``days`` days counted from 1970-01-01 (so the grid is the
  clock's, the same in every run whenever it starts).
- ``Weekly(weekday, at)`` (``weekly@mon@00:00``): the first bar at or after ``at`` (UTC) of that weekday, each week.

Every schedule also rebalances on the replay's first bar, so a run starts invested. A schedule is a frozen value;
``due(timestamps)`` gives the boolean mask for a whole replay at once, so a replay can be resumed or split
(train/test) without hidden state. ``parse_schedule`` reads every spelling above; ``defipm run --every`` reads the
same grammar, and ``next_time(after)`` gives its next cycle on the clock: a duration's grid from the epoch (``1h``
on the hour, ``30m`` at :00 and :30), ``daily@``/``3d@``/``weekly@`` at their UTC times (``Nbars`` counts bars,
which a live run does not have).

Every computation is in integer nanoseconds: no count of days or steps goes through a float, so a schedule is
exact at any length (a rounded ``numpy.arange`` length once dropped the last bar of a 409-day replay).
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal, InvalidOperation

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NS_PER_US = 1000
NS_PER_DAY = 86_400 * 10**9
EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


def duration_ns(value: timedelta) -> int:
    """A ``timedelta`` as an exact integer number of nanoseconds (``total_seconds()`` is a float)."""
    return (value // timedelta(microseconds=1)) * NS_PER_US


def ns_duration(nanos: int) -> timedelta:
    """Integer nanoseconds as a ``timedelta`` (whole microseconds; grids finer than that are refused)."""
    return timedelta(microseconds=nanos // NS_PER_US)


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}
MICROSECOND = timedelta(microseconds=1)
MAX_DURATION = timedelta(days=3650)
"""The longest duration a spelling may give (ten years): longer is a typo, and would overflow a timedelta."""


def spell_duration(value: timedelta) -> str:
    """``value`` in the duration grammar: whole days, else whole hours or minutes, else seconds (``0.01s``)."""
    micros = value // MICROSECOND
    for unit in ("d", "h", "m"):
        size = _UNITS[unit] * 10**6
        if micros % size == 0:
            return f"{micros // size}{unit}"
    return f"{Decimal(micros).scaleb(-6).normalize():f}s"


def is_duration(text: str) -> bool:
    """Whether ``text`` is spelt as a duration (a number and a unit), whatever its range."""
    return _DURATION.fullmatch(str(text).strip().lower()) is not None


def parse_duration(
    text: str, what: str = "duration", *, shortest: timedelta = MICROSECOND, longest: timedelta = MAX_DURATION
) -> timedelta:
    """``"30s"``, ``"90m"``, ``"1.5h"``, ``"2d"``, ``"1w"`` as an exact ``timedelta`` (decimal, never through a float).

    Raises ``ConfigError`` naming ``what`` for anything else, for a value that is not a whole number of
    microseconds, and for one outside ``shortest .. longest`` (one microsecond to ``MAX_DURATION`` by default)."""
    m = _DURATION.fullmatch(str(text).strip().lower())
    if m is None:
        raise ConfigError(
            f"{what} {text!r} is not a duration: give a number and a unit s, m, h, d or w (e.g. 30s, 90m, 1.5h, 2d, 1w)"
        )
    try:
        micros = Decimal(m.group(1)) * _UNITS[m.group(2)] * 10**6
    except InvalidOperation:
        raise ConfigError(f"{what} {text!r} is not a duration") from None
    if not shortest // MICROSECOND <= micros <= longest // MICROSECOND:
        raise ConfigError(
            f"{what} {text!r} is out of range: the duration must be from {spell_duration(shortest)} to "
            f"{spell_duration(longest)}"
        )
    if micros != micros.to_integral_value():
        raise ConfigError(f"{what} {text!r} must be a whole number of microseconds")
    return timedelta(microseconds=int(micros))


def _ns(timestamps: NDArray[np.datetime64]) -> NDArray[np.int64]:
    return np.asarray(timestamps, dtype="datetime64[ns]").astype(np.int64)


class Schedule(ABC):
    """When to rebalance. A custom schedule subclasses this and gives ``due`` and ``describe``."""

    __slots__ = ()

    @abstractmethod
    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        """Mask of the bars (UTC ``datetime64[ns]`` close times) at which to rebalance."""

    @abstractmethod
    def describe(self) -> str:
        """The schedule in words, for reports."""

    def next_time(self, after: datetime) -> datetime:
        """The first time strictly after ``after`` (an aware datetime) at which this schedule is due on the
        clock, UTC. Raises ``ConfigError`` for a schedule that counts bars rather than time."""
        raise ConfigError(f"schedule {self.describe()!r} counts bars, not clock time: give a duration or a time of day")


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def next_on_grid(after: datetime, anchor: int, period: int) -> datetime:
    """The first time ``anchor + k * period`` (nanoseconds since the epoch, any integer k) strictly after
    ``after``, exact in integers. Raises ``ConfigError`` for a naive ``after``."""
    if after.tzinfo is None:
        raise ConfigError(f"schedule: {after} has no time zone; give an aware (UTC) time")
    now = duration_ns(after - EPOCH)
    return EPOCH + ns_duration(anchor + ((now - anchor) // period + 1) * period)


@dataclass(frozen=True, slots=True)
class EveryKBars(Schedule):
    k: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.k, bool) or not isinstance(self.k, int | np.integer) or self.k < 1:
            raise ConfigError(f"schedule: every k bars needs a whole number k >= 1, got {self.k!r}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        mask = np.zeros(len(timestamps), dtype=bool)
        mask[:: int(self.k)] = True
        return mask

    def describe(self) -> str:
        return "every bar" if self.k == 1 else f"every {self.k} bars"


def _first_at_or_after(ts: NDArray[np.int64], first_target: int, step: int) -> NDArray[np.bool_]:
    """Mask of the first bar at or after each target ``first_target + j * step`` up to the last bar (several
    targets may share a bar). The number of targets is counted with integer floor division: exact at any length."""
    mask = np.zeros(len(ts), dtype=bool)
    last = int(ts[-1])
    if first_target > last:
        return mask
    count = (last - first_target) // step + 1
    targets = first_target + step * np.arange(count, dtype=np.int64)
    idx = np.searchsorted(ts, targets, side="left")
    mask[idx[idx < len(ts)]] = True
    return mask


def _every_period_from(timestamps: NDArray[np.datetime64], anchor: int, period: int) -> NDArray[np.bool_]:
    """Mask of the first bar, then the first bar at or after each time ``anchor + k * period`` (nanoseconds since
    the epoch) after it."""
    ts = _ns(timestamps)
    if not len(ts):
        return np.zeros(0, dtype=bool)
    first = int(ts[0])
    target = (first - anchor) // period * period + anchor  # the latest target at or before the first bar
    mask = _first_at_or_after(ts, target + period, period)
    mask[0] = True
    return mask


def _check_at(at: object, what: str) -> int:
    """Nanoseconds after midnight of a naive ``time`` (schedule times are UTC)."""
    if not isinstance(at, time):
        raise ConfigError(f"schedule: {what} time must be a datetime.time, got {at!r}")
    if at.tzinfo is not None:
        raise ConfigError(f"schedule: {what} time {at} has a time zone; schedule times are UTC, give a naive time")
    return ((at.hour * 60 + at.minute) * 60 + at.second) * 10**9 + at.microsecond * 1000


@dataclass(frozen=True, slots=True)
class Every(Schedule):
    period: timedelta

    def __post_init__(self) -> None:
        if not isinstance(self.period, timedelta) or self.period <= timedelta(0):
            raise ConfigError(f"schedule: period must be a positive duration, got {self.period!r}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        ts = _ns(timestamps)
        mask = np.zeros(len(ts), dtype=bool)
        step = duration_ns(self.period)
        i = 0
        while i < len(ts):
            mask[i] = True
            i = int(np.searchsorted(ts, int(ts[i]) + step, side="left"))
        return mask

    def describe(self) -> str:
        hours = self.period / timedelta(hours=1)
        return f"every {hours:g}h"

    def next_time(self, after: datetime) -> datetime:
        return next_on_grid(after, 0, duration_ns(self.period))


@dataclass(frozen=True, slots=True)
class Daily(Schedule):
    at: time = time(0, 0)
    days: int = 1
    """Every this many days, counted from 1970-01-01 (1 = every day)."""

    def __post_init__(self) -> None:
        _check_at(self.at, "daily")
        if isinstance(self.days, bool) or not isinstance(self.days, int) or not 1 <= self.days <= 3650:
            raise ConfigError(f"schedule: every N days needs a whole N from 1 to 3650, got {self.days!r}")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        return _every_period_from(timestamps, _check_at(self.at, "daily"), self.days * NS_PER_DAY)

    def describe(self) -> str:
        every = "daily" if self.days == 1 else f"every {self.days} days"
        return f"{every} at {self.at:%H:%M} UTC"

    def next_time(self, after: datetime) -> datetime:
        return next_on_grid(after, _check_at(self.at, "daily"), self.days * NS_PER_DAY)


@dataclass(frozen=True, slots=True)
class Weekly(Schedule):
    weekday: int = 0
    """0 = Monday ... 6 = Sunday."""
    at: time = time(0, 0)

    def __post_init__(self) -> None:
        if isinstance(self.weekday, bool) or not isinstance(self.weekday, int) or not 0 <= self.weekday <= 6:
            raise ConfigError(f"schedule: weekday must be 0 (Monday) .. 6 (Sunday), got {self.weekday!r}")
        _check_at(self.at, "weekly")

    def due(self, timestamps: NDArray[np.datetime64]) -> NDArray[np.bool_]:
        return _every_period_from(timestamps, self._anchor(), 7 * NS_PER_DAY)

    def describe(self) -> str:
        return f"weekly on {WEEKDAYS[self.weekday]} at {self.at:%H:%M} UTC"

    def next_time(self, after: datetime) -> datetime:
        return next_on_grid(after, self._anchor(), 7 * NS_PER_DAY)

    def _anchor(self) -> int:
        """A target time in the epoch's week: Thursday 1970-01-01 plus the days to the weekday, plus ``at``."""
        return ((self.weekday - EPOCH_WEEKDAY) % 7) * NS_PER_DAY + _check_at(self.at, "weekly")


def _parse_time(text: str, spec: str) -> time:
    try:
        hh, mm = text.split(":")
        return time(int(hh), int(mm))
    except ValueError:
        raise ConfigError(f"schedule {spec!r}: time {text!r} is not HH:MM") from None


def parse_schedule(spec: str | int | Schedule) -> Schedule:
    """A schedule from its spelling (see the module doc); an int is every k bars; a ``Schedule`` as it is."""
    if isinstance(spec, Schedule):
        return spec
    if not isinstance(spec, str | int) or isinstance(spec, bool):
        raise ConfigError(f"schedule must be a spelling like '24h' or a Schedule, got {spec!r}")
    if isinstance(spec, int):
        return EveryKBars(spec)
    text = spec.strip().lower()
    if m := re.fullmatch(r"(\d+)\s*bars?", text):
        return EveryKBars(int(m.group(1)))
    if _DURATION.fullmatch(text):
        return Every(parse_duration(text, "schedule"))
    parts = text.split("@")
    if (m := re.fullmatch(r"(\d+)\s*d", parts[0])) and len(parts) == 2:
        return Daily(_parse_time(parts[1], spec), days=int(m.group(1)))
    if parts[0] == "daily" and len(parts) <= 2:
        return Daily(_parse_time(parts[1], spec) if len(parts) > 1 else time(0, 0))
    if parts[0] == "weekly" and len(parts) <= 3:
        day = parts[1] if len(parts) > 1 else "mon"
        names = {**{d: i for i, d in enumerate(WEEKDAYS)}, **{d: i for i, d in enumerate(WEEKDAY_NAMES)}}
        if day not in names:
            raise ConfigError(f"schedule {spec!r}: weekday {day!r} is not one of {', '.join(WEEKDAYS)}")
        at = _parse_time(parts[2], spec) if len(parts) > 2 else time(0, 0)
        return Weekly(names[day], at)
    raise ConfigError(
        f"schedule {spec!r} not understood: use e.g. '5bars', '24h', '2d', '1w', 'daily@00:00', '3d@18:15', "
        "'weekly@mon@00:00'"
    )
