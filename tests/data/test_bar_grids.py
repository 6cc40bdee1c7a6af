"""Bar grids are inferred and checked per file, never guessed once for a folder (issue 8 item 2): files at another
phase are moved to the first grid time at or after each bar's close, other intervals and off-grid rows are refused
by name, and the annualisation is the files' own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defipm.backtest import BacktestConfig, run_backtest
from defipm.core.errors import DataError
from defipm.data.cache import load_prices
from defipm.data.ohlcv import panel_from_files
from defipm.data.panel import PricePanel
from defipm.oracles.momentum import MomentumOracle

HOUR = np.timedelta64(1, "h")


def _write(folder: Path, symbol: str, stamps: list[str], closes: list[float] | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    closes = closes or [100.0 + i for i in range(len(stamps))]
    path = folder / f"{symbol}.csv"
    pd.DataFrame({"Date": stamps, "Close": closes}).to_csv(path, index=False)
    return path


def _mixed_offsets(src: Path, dst: Path, start: str, end: str) -> None:
    """BTC stamped 00:00Z and ETH 00:00+01:00, the same daily bars otherwise."""
    for sym, suffix in (("BTC", "T00:00:00Z"), ("ETH", "T00:00:00+01:00")):
        frame = pd.read_csv(src / f"{sym}.csv")
        frame = frame[(frame.Date >= start) & (frame.Date <= end)].copy()
        frame.to_csv(_folder(dst / "plain") / f"{sym}.csv", index=False)
        frame["Date"] = frame["Date"] + suffix
        frame.to_csv(_folder(dst / "mixed") / f"{sym}.csv", index=False)


def _folder(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_real_daily_files_with_mixed_offsets_are_daily(shared_prices: Path, tmp_path: Path) -> None:
    """Before: a 1-hour panel (8,760 periods a year) showing ETH's daily bar 23 hours before it closed; momentum on
    2024 read Sharpe -13.63. Now ETH's bars are used at the next daily close and the run equals the plain one."""
    _mixed_offsets(shared_prices / "daily", tmp_path, "2024-01-01", "2024-12-31")
    mixed = load_prices(tmp_path / "mixed", cache=False)
    plain = load_prices(tmp_path / "plain", cache=False)
    assert mixed.interval == plain.interval == timedelta(days=1) and mixed.periods_per_year == plain.periods_per_year
    np.testing.assert_array_equal(mixed.timestamps, plain.timestamps)
    np.testing.assert_array_equal(mixed.close, plain.close)
    assert mixed.notes == (
        "ETH.csv: bars close 1:00:00 before the panel's 1 day, 0:00:00 grid (00:00:00 UTC); each bar is used from "
        "the next grid time, 1:00:00 after it closes",
    )
    cfg = BacktestConfig(benchmark=None)
    runs = [run_backtest(p, lambda v: MomentumOracle(v, lookback=10, n_long=1, n_short=1), cfg) for p in (mixed, plain)]
    assert runs[0].summary().sharpe == runs[1].summary().sharpe
    assert runs[0].summary().sharpe > -2  # not the look-ahead's -13.63
    assert runs[0].notes[0].startswith("ETH.csv: bars close 1:00:00 before")


def test_files_of_different_intervals_are_refused_by_name(tmp_path: Path) -> None:
    _write(tmp_path, "DAY", ["2024-01-01", "2024-01-02", "2024-01-03"])
    _write(tmp_path, "HOUR", ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T02:00Z"])
    with pytest.raises(DataError, match=r"different bar intervals \(1:00:00 bars: HOUR.csv; 1 day, 0:00:00 bars: DAY"):
        load_prices(tmp_path, cache=False)


def test_a_row_off_the_files_grid_is_refused_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "A", ["2024-03-30T00:00+01:00", "2024-03-31T00:00+01:00", "2024-04-01T00:00+02:00",
                                  "2024-04-02T00:00+02:00", "2024-04-03T00:00+02:00"])  # fmt: skip
    with pytest.raises(DataError) as err:
        load_prices(tmp_path, cache=False)
    assert f"{path}: the bar at row 4 (2024-03-31T22:00:00+00:00) is 23:00:00 after the previous one" in str(err.value)


def test_a_single_bar_needs_its_interval(tmp_path: Path) -> None:
    _write(tmp_path, "A", ["2024-01-01", "2024-01-02"])
    path = _write(tmp_path, "ONE", ["2024-01-02"])
    with pytest.raises(DataError, match=rf"{path}: only 1 bar, so its bar interval cannot be inferred"):
        load_prices(tmp_path, cache=False)
    panel = load_prices(tmp_path, interval=timedelta(days=1), cache=False)
    assert panel.interval == timedelta(days=1) and len(panel) == 2


def test_an_interval_shorter_than_the_bars_is_refused(tmp_path: Path) -> None:
    """Daily bars declared hourly would be shifted one hour to a 'close' 23 hours early."""
    path = _write(tmp_path, "A", ["2024-01-01", "2024-01-02", "2024-01-04"])
    with pytest.raises(DataError, match=rf"{path}: no two bars are 1:00:00 apart"):
        load_prices(tmp_path, interval=timedelta(hours=1), cache=False)
    sparse = _write(tmp_path / "s", "B", ["2024-01-01T00:00Z", "2024-01-01T01:00Z", "2024-01-01T05:00Z"])
    assert len(load_prices(sparse.parent, interval=timedelta(hours=1), cache=False)) == 3


def test_a_panel_off_its_grid_names_the_symbols() -> None:
    days = np.datetime64("2024-01-01", "ns") + np.arange(4) * np.timedelta64(1, "D")
    stamps = np.sort(np.concatenate([days, days[1:2] + np.timedelta64(23, "h")]))
    close = np.full((5, 2), np.nan)
    close[[0, 1, 3, 4], 0] = 1.0
    close[2, 1] = 2.0  # B's only bar, at 23:00
    with pytest.raises(DataError, match=r"not on one 1 day, 0:00:00 grid: .*bars of B"):
        PricePanel.from_arrays(stamps, ["A", "B"], close, interval=timedelta(days=1))


@st.composite
def gaps(draw: st.DrawFn) -> list[int]:
    """Gaps between a file's bars, in intervals: mostly one interval, some missing bars (2 or 3 intervals)."""
    ones = draw(st.integers(1, 15))
    longer = draw(st.lists(st.integers(2, 3), max_size=ones - 1))
    return draw(st.permutations([1] * ones + longer))


files = st.lists(
    st.tuples(st.integers(0, 23), st.integers(0, 30), gaps()),  # phase (hours), first bar (intervals), gaps
    min_size=1,
    max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(layout=files, step_hours=st.sampled_from([1, 4, 24]), label=st.sampled_from(["open", "close"]))
def test_per_file_grids_never_show_a_bar_before_it_closes(tmp_path_factory, layout, step_hours, label) -> None:
    """Any mix of phases and gaps: one panel interval (the files'), every time on its grid, and each bar shown at
    the first grid time at or after its close, never before it and less than one interval after it."""
    folder = tmp_path_factory.mktemp("grid")
    step = np.timedelta64(step_hours, "h")
    bars: dict[str, tuple[np.ndarray, list[float]]] = {}
    for k, (phase, first, gaps) in enumerate(layout):
        offsets = first + np.concatenate([[0], np.cumsum(gaps)])
        stamps = np.datetime64("2024-01-01T00:00", "ns") + (phase % step_hours) * HOUR + offsets * step
        closes = [float(1000 * k + i + 1) for i in range(len(stamps))]
        _write(folder, f"S{k}", [f"{s}Z" for s in stamps.astype("datetime64[s]")], closes)
        bars[f"S{k}"] = (stamps, closes)
    panel = panel_from_files({s: folder / f"{s}.csv" for s in bars}, bar_label=label)
    assert panel.interval == timedelta(hours=step_hours)
    ts = panel.timestamps.astype(np.int64)
    assert ((ts - ts[0]) % (step_hours * 3600 * 10**9) == 0).all()
    for j, (sym, (stamps, closes)) in enumerate(bars.items()):
        shown = panel.timestamps[panel.has_bar[:, j]]
        assert panel.close[panel.has_bar[:, j], j].tolist() == closes
        closed = stamps + (step if label == "open" else np.timedelta64(0, "h"))
        assert (shown >= closed).all() and (shown - closed < step).all(), sym
