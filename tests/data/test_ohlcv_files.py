"""Loading OHLCV folders: the real data's layouts, ragged histories, the cache, and every bad input named."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from defipm.core.errors import DataError
from defipm.data.cache import load_prices
from defipm.data.ohlcv import read_ohlcv
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv

HEADER = "Date,Close,High,Low,Open,Volume\n"


def _write(folder: Path, name: str, rows: list[str], header: str = HEADER) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(header + "\n".join(rows) + "\n")
    return path


GOOD = ["2024-01-01,10,11,9,10,100", "2024-01-02,11,12,10,10,100", "2024-01-03,12,13,11,11,100"]


def test_real_daily_data_loads_ragged(tmp_path: Path, shared_prices: Path) -> None:
    panel = load_prices(shared_prices / "daily", cache=tmp_path / "cache")
    assert len(panel.symbols) == 14 and panel.interval.days == 1
    j = panel.column("SOL")
    first = int(panel.first_index[j])
    assert np.isnan(panel.close[:first, j]).all(), "no value before a symbol's first bar"
    assert np.isfinite(panel.close[first:, j]).all()
    assert panel.datetime_at(first).date().isoformat() == "2020-04-11"  # first bar (open 04-10) closes on 04-11
    # AVAX has a 70-day hole: carried close, no bar, still listed
    a = panel.column("AVAX")
    hole = ~panel.has_bar[panel.first_index[a] : panel.last_index[a] + 1, a]
    assert hole.sum() == 69
    again = load_prices(shared_prices / "daily", cache=tmp_path / "cache")  # from the cache
    assert np.array_equal(again.close, panel.close, equal_nan=True)
    assert list((tmp_path / "cache").glob("*.parquet"))


def test_real_hourly_data_with_offsets_loads(shared_prices: Path) -> None:
    panel = load_prices(shared_prices / "hourly", ["BTC", "ETH"], cache=False)
    assert panel.interval.total_seconds() == 3600
    assert panel.periods_per_year == 8760
    assert (panel.volume == 0).any(), "hourly volume is often 0 in this source"


def test_cache_is_invalidated_when_a_file_changes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    _write(data, "AAA.csv", GOOD)
    p1 = load_prices(data, cache=tmp_path / "c")
    _write(data, "AAA.csv", [*GOOD, "2024-01-04,20,21,19,20,100"])
    p2 = load_prices(data, cache=tmp_path / "c")
    assert len(p1) == 3 and len(p2) == 4


def test_the_cache_keeps_the_requested_symbol_order(tmp_path: Path) -> None:
    panel = synthetic_panel(3, 20, seed=4, ragged=True)
    write_synthetic_csv(tmp_path / "csv", panel)
    first = load_prices(tmp_path / "csv", ["SYN002", "SYN000"], bar_label="close", cache=tmp_path / "c")
    again = load_prices(tmp_path / "csv", ["SYN000", "SYN002"], bar_label="close", cache=tmp_path / "c")
    assert len(list((tmp_path / "c").iterdir())) == 1  # one cached file serves both orders
    assert first.symbols == ("SYN002", "SYN000") and again.symbols == ("SYN000", "SYN002")
    assert np.array_equal(again.close[:, 0], panel.close[:, 0], equal_nan=True)


def test_parquet_and_csv_round_trip(tmp_path: Path) -> None:
    panel = synthetic_panel(3, 20, seed=3, ragged=True)
    write_synthetic_csv(tmp_path / "csv", panel)
    back = load_prices(tmp_path / "csv", bar_label="close", cache=False)
    assert np.allclose(back.close, panel.close, equal_nan=True)
    frame = read_ohlcv(tmp_path / "csv" / "SYN000.csv")
    (tmp_path / "pq").mkdir()
    frame.to_parquet(tmp_path / "pq" / "SYN000.parquet")
    assert np.allclose(load_prices(tmp_path / "pq", cache=False).close[:, 0], panel.close[:, 0])


@pytest.mark.parametrize(
    ("rows", "header", "message"),
    [
        (GOOD, "Date,Close,High,Low,Open,Volume,Foo\n", "unexpected column(s) 'Foo'"),
        (GOOD, "Date,High,Low,Open,Volume\n", "missing column 'Close'"),
        (GOOD, "Close,High,Low,Open,Volume\n", "no time column"),
        (["2024-01-01,10,11,9,10,100", "2024-01-02,,12,10,10,100"], HEADER, "column 'Close' is NaN at row 3"),
        (["2024-01-01,10,11,9,10,100", "2024-01-02,0,12,10,10,100"], HEADER, "column 'Close' has a non-positive"),
        (["2024-01-01,10,11,9,-1,100"], HEADER, "column 'Open' has a non-positive value -1.0"),
        (["2024-01-01,10,11,9,10,-5"], HEADER, "column 'Volume' has a negative value -5.0 at row 2"),
        (["2024-01-01,1,0.5,2,1,1"], HEADER, "row 2 (2024-01-01 00:00:00+00:00): High 0.5 is below Low 2: a bar"),
        (["2024-01-01,3,2,1,1,1"], HEADER, "row 2 (2024-01-01 00:00:00+00:00): Close 3 is above High 2: a bar"),
        (["2024-01-01,1.5,2,1,0.5,1"], HEADER, "row 2 (2024-01-01 00:00:00+00:00): Open 0.5 is below Low 1: a bar"),
        (["2024-01-01,1.5,2,1,1,1", "2024-01-02,0.9,2,1,1,1"], HEADER, "row 3 (2024-01-02 00:00:00+00:00): Close"),
        ([*GOOD, "2024-01-04,12,13,11,14,100"], HEADER, "row 5 (2024-01-04 00:00:00+00:00): Open 14 is above High"),
        (["2024-01-02,10,11,9,10,1", "2024-01-01,10,11,9,10,1"], HEADER, "column 'Date' is not increasing"),
        (["2024-01-01,10,11,9,10,1", "2024-01-01,10,11,9,10,1"], HEADER, "duplicated time 2024-01-01"),
        (["2024-01-01,abc,11,9,10,1"], HEADER, "row 2 (2024-01-01 00:00:00+00:00): Close 'abc' is not a number"),
        (["yesterday,10,11,9,10,1"], HEADER, "row 2: Date 'yesterday' is not a date"),
    ],
)
def test_bad_files_are_named(tmp_path: Path, rows: list[str], header: str, message: str) -> None:
    path = _write(tmp_path / "d", "BAD.csv", rows, header)
    with pytest.raises(DataError) as err:
        load_prices(tmp_path / "d", cache=False)
    assert message in str(err.value)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    "row",
    [
        "2024-01-01,10,11,9,10,100",  # inside
        "2024-01-01,11,11,9,9,100",  # Open and Close on the range's ends
        "2024-01-01,10,10,10,10,0",  # a flat bar without volume
        "2024-01-01,10,11,0,10,100",  # a Low of 0 is unknown (kept as NaN, with a DataWarning), not compared
    ],
)
@pytest.mark.filterwarnings("ignore::defipm.data.ohlcv.DataWarning")
def test_possible_bars_are_read(tmp_path: Path, row: str) -> None:
    frame = read_ohlcv(_write(tmp_path, "A.csv", [row]))
    assert len(frame) == 1


def test_missing_files_and_folders(tmp_path: Path) -> None:
    _write(tmp_path / "d", "AAA.csv", GOOD)
    with pytest.raises(DataError, match="missing file\\(s\\) for ZZZ"):
        load_prices(tmp_path / "d", ["AAA", "ZZZ"], cache=False)
    with pytest.raises(DataError, match="no such data folder"):
        load_prices(tmp_path / "nope", cache=False)
    with pytest.raises(DataError, match=r"AAA.csv is a file, not a data folder: give the folder that holds it \(.*d\)"):
        load_prices(tmp_path / "d" / "AAA.csv", cache=False)  # it exists: "no such folder" and a download misled
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match=r"no \.csv or \.parquet files"):
        load_prices(tmp_path / "empty", cache=False)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_epoch_times_are_read_in_their_unit(tmp_path: Path, unit: str) -> None:
    import pandas as pd

    hours = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[unit]
    epoch = [int(t.timestamp()) * per_second for t in hours]
    pd.DataFrame({"Timestamp": epoch, "Close": [1.0, 2.0, 3.0, 4.0, 5.0]}).to_csv(tmp_path / "A.csv", index=False)
    frame = read_ohlcv(tmp_path / "A.csv")
    assert list(frame.index) == list(hours)


def test_numbers_that_are_not_epoch_times_are_refused(tmp_path: Path) -> None:
    (tmp_path / "A.csv").write_text("Timestamp,Close\n1,1.0\n2,2.0\n")
    with pytest.raises(DataError, match=r"A.csv: column 'Timestamp' holds numbers .* not epoch times"):
        read_ohlcv(tmp_path / "A.csv")
