"""Durations and rebalancing schedules: every k bars, every period, daily at HH:MM, weekly; and their one grammar."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.errors import ConfigError
from defipm.core.schedule import (
    MAX_DURATION,
    Daily,
    Every,
    EveryKBars,
    Weekly,
    next_on_grid,
    parse_duration,
    parse_schedule,
    spell_duration,
)

HOURS = np.arange(np.datetime64("2024-01-01T05:00"), np.datetime64("2024-01-15T00:00"), np.timedelta64(1, "h")).astype(
    "datetime64[ns]"
)


def test_schedules_pick_the_expected_bars() -> None:
    assert parse_schedule("3bars") == EveryKBars(3)
    assert EveryKBars(3).due(HOURS).sum() == int(np.ceil(len(HOURS) / 3))
    every = parse_schedule("48h")
    assert isinstance(every, Every)
    picked = HOURS[every.due(HOURS)]
    assert (np.diff(picked) == np.timedelta64(48, "h")).all()
    daily = parse_schedule("daily@12:30")
    assert isinstance(daily, Daily)
    picked = HOURS[daily.due(HOURS)]
    assert picked[0] == HOURS[0] and all(str(t)[11:16] == "13:00" for t in picked[1:])  # first bar at/after 12:30
    weekly = parse_schedule("weekly@wed@06:00")
    assert weekly == Weekly(2, time(6, 0))
    picked = HOURS[weekly.due(HOURS)]
    assert [str(t)[:13] for t in picked] == ["2024-01-01T05", "2024-01-03T06", "2024-01-10T06"]


@pytest.mark.parametrize("spec", ["often", "daily@25", "weekly@xyz", "0bars", "-1h"])
def test_bad_schedules_are_named(spec: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        parse_schedule(spec)


DAILY_2024 = np.arange(np.datetime64("2024-01-01"), np.datetime64("2025-02-13"), np.timedelta64(1, "D")).astype(
    "datetime64[ns]"
)


def test_the_last_bar_of_a_long_replay_is_not_dropped() -> None:
    """Issue 8 item 4: numpy sized the target ``arange`` in floating point and lost the last day (2025-02-12 is a
    Wednesday)."""
    assert str(DAILY_2024[-1])[:10] == "2025-02-12"
    assert Daily().due(DAILY_2024).all()
    weekly = Weekly(2).due(DAILY_2024)
    assert weekly[-1]
    assert weekly.sum() == 1 + 52 + 7  # the first bar, then 52 Wednesdays of 2024 and 7 of 2025 to 02-12


def _reference(timestamps: np.ndarray, period_start: Callable[[datetime], datetime]) -> list[bool]:
    """Due bars by plain datetime arithmetic: the first bar, then each bar whose interval since the previous bar
    contains a target (``period_start(t)`` is the latest target at or before ``t``)."""
    times = [datetime(1970, 1, 1) + timedelta(microseconds=int(t) // 1000) for t in timestamps.astype(np.int64)]
    return [i == 0 or period_start(times[i]) > times[i - 1] for i in range(len(times))]


def _latest_daily(at: time) -> Callable[[datetime], datetime]:
    def start(t: datetime) -> datetime:
        target = datetime.combine(t.date(), at)
        return target if target <= t else target - timedelta(days=1)

    return start


def _latest_weekly(weekday: int, at: time) -> Callable[[datetime], datetime]:
    def start(t: datetime) -> datetime:
        target = datetime.combine(t.date() - timedelta(days=(t.weekday() - weekday) % 7), at)
        return target if target <= t else target - timedelta(days=7)

    return start


bars = st.builds(
    lambda start, step, n: (
        np.datetime64("1990-01-01", "ns")
        + np.timedelta64(start, "m")
        + np.arange(n, dtype=np.int64) * np.timedelta64(step, "m")
    ),
    start=st.integers(0, 60 * 24 * 365 * 80),  # any minute from 1990 to 2070
    step=st.sampled_from([1, 15, 60, 240, 24 * 60, 7 * 24 * 60, 37]),
    n=st.integers(1, 6000),
)
clock_times = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 59]))


@settings(max_examples=60, deadline=None)
@given(ts=bars, at=clock_times, weekday=st.integers(0, 6))
def test_calendar_schedules_are_exact_at_any_length(ts: np.ndarray, at: time, weekday: int) -> None:
    assert Daily(at).due(ts).tolist() == _reference(ts, _latest_daily(at))
    assert Weekly(weekday, at).due(ts).tolist() == _reference(ts, _latest_weekly(weekday, at))


@settings(max_examples=40, deadline=None)
@given(ts=bars, hours=st.integers(1, 24 * 30))
def test_every_period_is_exact_at_any_length(ts: np.ndarray, hours: int) -> None:
    period = hours * 3600 * 10**9
    due = Every(timedelta(hours=hours)).due(ts)
    t = ts.astype(np.int64)
    assert due[0] and (np.diff(t[due]) >= period).all()
    last = 0  # no bar between two picks (or after the last) is a whole period after the previous pick
    for i in range(len(t)):
        if due[i]:
            last = i
        else:
            assert int(t[i]) - int(t[last]) < period


def test_durations_are_exact_and_bounded() -> None:
    assert parse_schedule("1.5h") == Every(timedelta(minutes=90))
    assert parse_duration("0.1h") == timedelta(minutes=6)
    for bad in ("0h", "99999999999d", "1.0000000001m", "h", "3x"):
        with pytest.raises(ConfigError, match=r"duration|microseconds|longer"):
            parse_duration(bad)
    with pytest.raises(ConfigError, match="whole number"):
        EveryKBars(1.5)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="time zone"):
        Daily(time(0, 0, tzinfo=UTC))
    assert parse_schedule("weekly@wednesday@06:00") == Weekly(2, time(6, 0))
    for spec in ("dailyish", "daily@00:00@x", "weekly@wedx"):
        with pytest.raises(ConfigError, match="schedule"):
            parse_schedule(spec)


@settings(max_examples=60, deadline=None)
@given(micros=st.integers(1, MAX_DURATION // timedelta(microseconds=1)))
def test_a_duration_reads_back_from_its_spelling(micros: int) -> None:
    """One grammar: whatever ``spell_duration`` writes (reports, error messages) parses to the same duration."""
    value = timedelta(microseconds=micros)
    assert parse_duration(spell_duration(value)) == value


def test_every_unit_of_the_grammar() -> None:
    assert [parse_duration(t) for t in ("30s", "90m", "90min", "1.5h", "2d", "1w")] == [
        timedelta(seconds=30), timedelta(minutes=90), timedelta(minutes=90), timedelta(minutes=90),
        timedelta(days=2), timedelta(weeks=1),
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"--every '2h' is out of range: the duration must be from 0.01s to 1h"):
        parse_duration("2h", "--every", shortest=timedelta(milliseconds=10), longest=timedelta(hours=1))


# -- next_time: the same schedules on the clock (defipm run) ----------------------------------------------------

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_CLOCK = st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2200, 1, 1)).map(
    lambda t: t.replace(tzinfo=UTC)
)
_SPELLINGS = st.sampled_from(["1h", "30m", "0.01s", "7d", "daily@18:15", "5d@00:30", "weekly@sun@23:59", "90m"])


@given(after=_CLOCK, spec=_SPELLINGS)
def test_next_time_is_the_first_grid_point_strictly_after(after, spec):
    schedule = parse_schedule(spec)
    due = schedule.next_time(after)
    period = {"weekly@sun@23:59": timedelta(days=7), "daily@18:15": timedelta(days=1), "5d@00:30": timedelta(days=5)}
    step = period.get(spec) or schedule.period  # type: ignore[attr-defined]
    assert after < due <= after + step
    assert schedule.next_time(due - timedelta(microseconds=1)) == due  # nothing due between
    assert schedule.next_time(due) == due + step  # the grid, not the start-up time


@settings(max_examples=30)
@given(after=_CLOCK)
def test_next_time_agrees_with_the_backtest_mask(after):
    """A replay of minute bars from ``after`` rebalances (after its first bar) exactly at ``next_time``."""
    schedule = parse_schedule("daily@18:15")
    start = after.replace(second=0, microsecond=0)
    naive = start.replace(tzinfo=None)
    bars = np.array([naive + timedelta(minutes=i) for i in range(2 * 24 * 60)], dtype="datetime64[us]")
    mask = schedule.due(bars)
    second = bars[1:][mask[1:]][0].astype(datetime).replace(tzinfo=UTC)
    assert second == schedule.next_time(start)


def test_next_on_grid_refuses_a_naive_time():
    with pytest.raises(ConfigError, match="no time zone"):
        next_on_grid(datetime(2024, 1, 1), 0, 10**9)


def test_bar_counts_have_no_clock_time():
    with pytest.raises(ConfigError, match="counts bars, not clock time"):
        parse_schedule("5bars").next_time(datetime(2024, 1, 1, tzinfo=UTC))
