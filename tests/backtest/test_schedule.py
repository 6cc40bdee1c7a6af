"""Rebalancing schedules: every k bars, every period, daily at HH:MM, weekly; and their spellings."""

from __future__ import annotations

import numpy as np
import pytest

from defipm.backtest.schedule import Daily, Every, EveryKBars, Weekly, parse_schedule
from defipm.core.errors import ConfigError

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
    assert weekly == Weekly(2, __import__("datetime").time(6, 0))
    picked = HOURS[weekly.due(HOURS)]
    assert [str(t)[:13] for t in picked] == ["2024-01-01T05", "2024-01-03T06", "2024-01-10T06"]


@pytest.mark.parametrize("spec", ["often", "daily@25", "weekly@xyz", "0bars", "-1h"])
def test_bad_schedules_are_named(spec: str) -> None:
    with pytest.raises(ConfigError, match="schedule"):
        parse_schedule(spec)
