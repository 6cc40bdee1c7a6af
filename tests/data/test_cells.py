"""Every loader reads dates and numbers through one checked path: a bad cell is one line naming the file, the row,
the column, the value and the fix, and no pandas message or warning reaches the user."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path

import pytest

from defipm.core.errors import ConfigError, DataError
from defipm.data.cache import load_prices
from defipm.data.cells import NUMBER_FIX, TIME_FIX, parse_times

pd = pytest.importorskip("pandas")

DAILY = "Date,Close,High,Low,Open,Volume\n"
"""The daily (and hourly) layout of the shared data."""
WIDE = "Date,Open,High,Low,Close,Volume,BaseVolume\n"
"""The wide Bybit panel's layout."""


def _bars(tmp_path: Path, header: str, rows: list[str]) -> Callable[[], object]:
    folder = tmp_path / "bars"
    folder.mkdir()
    (folder / "A.csv").write_text(header + "\n".join(rows) + "\n")
    return lambda: load_prices(folder, cache=False)


def _funding(tmp_path: Path, rows: list[str]) -> Callable[[], object]:
    load = _bars(tmp_path, DAILY, ["2024-01-01,1,1,1,1,1", "2024-01-02,1,1,1,1,1", "2024-01-03,1,1,1,1,1"])
    (tmp_path / "bars" / "funding").mkdir()
    (tmp_path / "bars" / "funding" / "A.csv").write_text("date,funding_rate\n" + "\n".join(rows) + "\n")
    return load


def _weights(tmp_path: Path, rows: list[str]) -> Callable[[], object]:
    from defipm.oracles.static import load_weights_file

    path = tmp_path / "weights.csv"
    path.write_text("symbol,weight\n" + "\n".join(rows) + "\n")
    return lambda: load_weights_file(path)


def _manifest(tmp_path: Path, row: str) -> Callable[[], object]:
    load = _bars(tmp_path, DAILY, ["2024-01-01,1,1,1,1,1", "2024-01-02,1,1,1,1,1"])
    (tmp_path / "bars" / "symbols.csv").write_text("Symbol,BaseAsset,PriceMultiplier,FirstDate\n" + row + "\n")
    return load


def _signals(tmp_path: Path, rows: list[str]) -> Callable[[], object]:
    from defipm.data.signals import read_signal_file

    path = tmp_path / "signals.csv"
    path.write_text("date,symbol,meta_model\n" + "\n".join(rows) + "\n")
    return lambda: read_signal_file(path)


CASES = {
    "daily: a word for a date": (
        lambda t: _bars(t, DAILY, ["2024-01-01,1,1,1,1,1", "notadate,1,1,1,1,1"]),
        "bars/A.csv: row 3: Date 'notadate' is not a date: " + TIME_FIX,
    ),
    "hourly: a time pandas cannot read among offset times": (
        lambda t: _bars(t, DAILY, ["2024-01-01 00:00:00+00:00,1,1,1,1,1", "2024-01-01+01:00,1,1,1,1,1"]),
        "bars/A.csv: row 3: Date '2024-01-01+01:00' is not a date: " + TIME_FIX,
    ),
    "daily: a number with a thousands separator": (
        lambda t: _bars(t, DAILY, ["2024-01-01,1,1,1,1,1", '2024-01-02,"1,000",1,1,1,1']),
        "bars/A.csv: row 3 (2024-01-02 00:00:00+00:00): Close '1,000' is not a number: " + NUMBER_FIX,
    ),
    "daily_wide: a unit in the base volume": (
        lambda t: _bars(t, WIDE, ["2024-01-01,1,1,1,1,1,1", "2024-01-02,1,1,1,1,1,5 BTC"]),
        "bars/A.csv: row 3 (2024-01-02 00:00:00+00:00): BaseVolume '5 BTC' is not a number: " + NUMBER_FIX,
    ),
    "funding: a rate in percent": (
        lambda t: _funding(t, ["2024-01-01T08:00:00Z,0.0001", "2024-01-01T16:00:00Z,0.01%"]),
        "funding/A.csv: row 3 (2024-01-01 16:00:00+00:00): funding_rate '0.01%' is not a number: " + NUMBER_FIX,
    ),
    "funding: a word for a time": (
        lambda t: _funding(t, ["2024-01-01T08:00:00Z,0.0001", "soon,0.0001"]),
        "funding/A.csv: row 3: date 'soon' is not a date: " + TIME_FIX,
    ),
    "weights file: a word for a weight": (
        lambda t: _weights(t, ["BTC,0.5", "ETH,half"]),
        "weights.csv line 3: weight of ETH 'half' is not a number: " + NUMBER_FIX,
    ),
    "contract manifest: a day in another format": (
        lambda t: _manifest(t, "A,A,1,01/01/2024"),
        "symbols.csv line 2: FirstDate '01/01/2024' is not a date: write the day as YYYY-MM-DD",
    ),
    "signal table: a word for a date": (
        lambda t: _signals(t, ["2024-01-01,BTC,0.5", "tomorrow,ETH,0.5"]),
        "signals.csv: row 3: date 'tomorrow' is not a date",
    ),
    "signal table: a word for a prediction": (
        lambda t: _signals(t, ["2024-01-01,BTC,0.5", "2024-01-01,ETH,high"]),
        "signals.csv: row 3: meta_model 'high' is not a number: " + NUMBER_FIX,
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_cell_is_one_line_naming_file_row_value_and_fix(tmp_path: Path, case: str) -> None:
    make, expected = CASES[case]
    load = make(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a pandas warning on the way would fail here
        with pytest.raises((DataError, ConfigError)) as err:
            load()
    message = str(err.value)
    assert expected in message
    assert "\n" not in message and "format=" not in message and "You might want" not in message


@pytest.mark.parametrize(
    "cells",
    [
        ["2024-01-01", "2024-01-02 00:00:00+00:00", "2024-01-03T00:00:00Z"],  # plain and offset ISO 8601 mixed
        ["01/01/2024", "01/02/2024", "01/03/2024"],  # one format, inferred from the first cell
        [" 2024-01-01 ", "2024-01-02", "2024-01-03"],  # spaces around a cell
    ],
)
def test_dates_in_one_readable_layout_are_read_without_warnings(cells: list[str]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        times = parse_times("f.csv", pd.Series(cells, dtype=object), "Date")
    assert list(times) == list(pd.date_range("2024-01-01", periods=3, freq="D", tz="UTC"))


def test_an_empty_time_is_named_by_its_row() -> None:
    with pytest.raises(DataError, match=r"^f.csv: row 3: Date is empty \(every row needs a time\)$"):
        parse_times("f.csv", pd.Series(["2024-01-01", None, "2024-01-03"], dtype=object), "Date")
