"""``defipm run --every``: the backtest's schedule grammar (``defipm.core.schedule``) on the clock.

A duration (``30m``, ``1h``, ``1d``) runs on the epoch's grid of that length (on the hour for ``1h``), ``daily@18:15``,
``3d@18:15`` (every 3 days at 18:15 UTC) and ``weekly@mon@09:00`` at their UTC times: aligned to the clock, not to
the moment the run started, so a restart keeps the same cycle times. ``5bars`` is refused: a live run has no bars.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    from defipm.core.schedule import Schedule

SHORTEST_INTERVAL = timedelta(milliseconds=10)
LONGEST_INTERVAL = timedelta(days=366)
RUN_SPELLINGS = (
    "give a duration from 10ms (0.01s) to 366d (30m, 1h, 1d) or a time of day in UTC (daily@18:15, 3d@18:15, "
    "weekly@mon@09:00)"
)
"""What ``--every`` accepts, named in every refusal."""


def parse_interval(text: str) -> timedelta:
    """A duration in the one grammar from 10 ms to a year (a longer wait is a mistake, a shorter one a busy loop)."""
    from defipm.core.schedule import parse_duration

    try:
        return parse_duration(text, "--every", shortest=SHORTEST_INTERVAL, longest=LONGEST_INTERVAL)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc)) from None


def parse_run_schedule(text: str) -> Schedule:
    """The ``Schedule`` of ``--every``: a bounded duration (``Every``), or a time-of-day schedule (``Daily``,
    ``Weekly``). Raises ``typer.BadParameter`` naming the spelling for anything else."""
    from defipm.core.schedule import Every, EveryKBars, is_duration, parse_schedule

    if is_duration(text):  # the run's own bounds, never the backtest's wider ones
        return Every(parse_interval(text))
    try:
        schedule = parse_schedule(text)
    except ConfigError as exc:
        if "not understood" in str(exc):  # the backtest's examples include bars, which a run refuses
            raise typer.BadParameter(f"--every {text!r} not understood: {RUN_SPELLINGS}") from None
        raise typer.BadParameter(str(exc).replace("schedule", "--every", 1)) from None
    if isinstance(schedule, EveryKBars):
        raise typer.BadParameter(f"--every {text!r} counts bars, which a live run does not have: {RUN_SPELLINGS}")
    return schedule
