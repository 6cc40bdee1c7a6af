"""Bar grids: the regular times a file's bars sit on, inferred and checked per file, and lined up across files.

A file's grid is ``phase + k * interval`` (UTC, integer nanoseconds since the epoch). The interval is the file's
most common gap between bars (ties: the shortest), or the one given; every gap must be a whole number of intervals
(gaps are missing bars), else the file is refused naming the row. The interval of a file with a single bar cannot be
inferred: it must be given.

Files of one panel must share the interval (a folder of daily and hourly files is refused, naming the files of
each). They may differ in phase: daily bars stamped ``00:00Z`` beside daily bars stamped ``00:00+01:00`` (23:00
UTC). The panel then runs on the phase that delays the fewest bars the least (the sum of delays over files,
ties to the earliest phase), and each other file's bars are placed at the first grid time at or after their close:
a bar is never visible before it closes (no look-ahead), the panel keeps one interval (the annualisation is the
files' own), and each delay is reported in the panel's notes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.core.schedule import NS_PER_US, duration_ns, ns_duration


def _when(nanos: int) -> str:
    return (datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=nanos // NS_PER_US)).isoformat()


@dataclass(frozen=True, slots=True)
class BarGrid:
    """The times ``phase_ns + k * interval_ns`` (nanoseconds since the epoch, UTC); ``0 <= phase_ns < interval_ns``."""

    interval_ns: int
    phase_ns: int

    @property
    def interval(self) -> timedelta:
        return ns_duration(self.interval_ns)

    def describe_phase(self) -> str:
        """Where in each interval the grid sits, e.g. ``23:00:00 UTC`` for daily bars stamped at 00:00+01:00."""
        offset = timedelta(microseconds=self.phase_ns // NS_PER_US)
        if self.interval_ns <= 86_400 * 10**9:
            return f"{(datetime(1970, 1, 1) + offset):%H:%M:%S} UTC"
        return f"{offset} after the epoch's grid"


def infer_step(gaps: NDArray[np.int64]) -> int:
    """The most common gap (ties: the shortest), in nanoseconds."""
    values, counts = np.unique(gaps, return_counts=True)
    return int(values[np.argmax(counts)])


def file_grid(path: Path | str, times: NDArray[np.int64], interval: timedelta | None = None) -> BarGrid:
    """The grid of one file's (increasing) bar times, checked; raises ``DataError`` naming the file and row."""
    if len(times) < 2 and interval is None:
        raise DataError(
            f"{path}: only {len(times)} bar, so its bar interval cannot be inferred: give the interval "
            "(load_prices(interval=...), defipm backtest --interval 1d)"
        )
    gaps = np.diff(times)
    if interval is not None:
        step = duration_ns(interval)
        if step <= 0:
            raise DataError(f"{path}: the bar interval must be positive, got {interval}")
        if len(gaps) and int(gaps.min()) > step:
            raise DataError(
                f"{path}: no two bars are {interval} apart (the closest are {ns_duration(int(gaps.min()))} apart): "
                f"its bars are longer than the interval given"
            )
    else:
        step = infer_step(gaps)
        if step % NS_PER_US:
            raise DataError(f"{path}: bars {step} ns apart: the bar interval must be a whole number of microseconds")
    off = gaps % step != 0
    if off.any():
        i = int(np.argmax(off)) + 1
        raise DataError(
            f"{path}: the bar at row {i + 2} ({_when(int(times[i]))}) is {ns_duration(int(gaps[i - 1]))} after the "
            f"previous one, not a whole number of the file's {ns_duration(step)} bars: every bar of a file must sit "
            "on one grid (a daylight-saving or mixed time zone? write UTC times)"
        )
    return BarGrid(step, int(times[0]) % step)


def common_grid(grids: dict[str, BarGrid]) -> BarGrid:
    """The grid the files share (module doc); raises ``DataError`` naming the files when intervals differ."""
    by_interval: dict[int, list[str]] = {}
    for name, g in grids.items():
        by_interval.setdefault(g.interval_ns, []).append(name)
    if len(by_interval) > 1:
        groups = "; ".join(
            f"{ns_duration(step)} bars: {', '.join(names)}" for step, names in sorted(by_interval.items())
        )
        raise DataError(
            f"the files have different bar intervals ({groups}): load each interval separately, or resample them"
        )
    step = next(iter(by_interval))
    phases = sorted({g.phase_ns for g in grids.values()})
    best = min(phases, key=lambda p: (sum((p - g.phase_ns) % step for g in grids.values()), p))
    return BarGrid(step, best)


def alignment_delay(grid: BarGrid, common: BarGrid) -> int:
    """Nanoseconds to add to a file's bar close times to reach the first common grid time at or after them."""
    return (common.phase_ns - grid.phase_ns) % common.interval_ns


def alignment_notes(grids: dict[str, BarGrid], common: BarGrid) -> list[str]:
    """One note per delay: which files were moved onto the panel's grid, and by how much (an open-to-close shift
    moves a file by whole intervals, so its phase is the same for open and close times)."""
    by_delay: dict[int, list[str]] = {}
    for name, grid in grids.items():
        delay = alignment_delay(grid, common)
        if delay:
            by_delay.setdefault(delay, []).append(name)
    return [
        f"{', '.join(names)}: bars close {ns_duration(delay)} before the panel's {common.interval} grid "
        f"({common.describe_phase()}); each bar is used from the next grid time, {ns_duration(delay)} after it closes"
        for delay, names in sorted(by_delay.items())
    ]
