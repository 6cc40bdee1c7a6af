"""Reading the cells of a data file as times or numbers: the one checked path of every loader (bars, funding,
contract manifests, meta-model and signal tables, weights files).

A cell that is not what its column needs is one ``DataError`` line, one wording (``cell_error``): the file, the row
(with its time once the times are known), the column, the value as written and the fix. pandas' own messages and
warnings ("You might want to try: format='ISO8601'", "Could not infer format") never reach the user.

- ``parse_times(path, column, name)``: UTC times from ISO 8601 text (naive = UTC, offsets converted, both may mix
  in one column), from another single format pandas can infer from the first value (``01/31/2024``), or from epoch
  numbers in s, ms, us or ns.
- ``parse_numbers(path, column, name, times)``: floats; an empty cell is NaN (the caller decides whether it may be).
- ``number_cell``, ``whole_cell``, ``date_cell``: one text cell (CSV files read row by row).

Rows are numbered as a spreadsheet shows a CSV file with a header: the first data row is row 2.
"""

from __future__ import annotations

import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from defipm.core.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

FIRST_ROW = 2
"""The row number of a file's first data row (the header is row 1)."""
TIME_FIX = "write times as ISO 8601, such as 2024-01-31 or 2024-01-31 13:00:00+00:00; naive times are UTC"
NUMBER_FIX = "write plain decimal numbers such as 1234.5 or 1.2e-05, without thousands separators, units or %"


def cell_error(where: str, column: str, value: object, what: str, fix: str) -> DataError:
    """The one wording of a bad cell: ``{where}: {column} {value!r} is not {what}: {fix}``."""
    return DataError(f"{where}: {column} {value!r} is not {what}: {fix}")


def row_label(path: str | Path, index: int, times: pd.Series | None = None) -> str:
    """``path: row N`` of the ``index``-th data row, with its time when ``times`` are known."""
    at = f" ({times.iloc[index]})" if times is not None else ""
    return f"{path}: row {index + FIRST_ROW}{at}"


def parse_times(path: str | Path, column: pd.Series, name: str) -> pd.Series:
    """UTC times of ``column``. Raises ``DataError`` naming the first empty or unreadable cell, or numbers that
    are not epoch times after 1973."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(column):  # Parquet keeps times typed
        times = pd.to_datetime(column, utc=True)
    elif pd.api.types.is_numeric_dtype(column):  # epoch numbers: exchange exports use s, ms, us or ns
        times = pd.to_datetime(column, utc=True, unit=_epoch_unit(path, name, column))
    else:
        times = _text_times(column.astype("string").str.strip().fillna(""))
    empty = times.isna().to_numpy()
    if empty.any():
        i = int(np.argmax(empty))
        value = column.iloc[i]
        if pd.isna(value) or not str(value).strip():
            raise DataError(f"{row_label(path, i)}: {name} is empty (every row needs a time)")
        raise cell_error(row_label(path, i), name, value, "a date", TIME_FIX)
    return times


def _text_times(text: pd.Series) -> pd.Series:
    """ISO 8601 first (each cell on its own, so offset and plain dates may mix); else the one format pandas
    infers from the first cell, cell by cell guessing refused. Unreadable cells are NaT."""
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        iso = pd.to_datetime(text, utc=True, format="ISO8601", errors="coerce")
        if not (iso.isna() & (text != "")).any():
            return iso
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            inferred = pd.to_datetime(text, utc=True, errors="coerce")
    guessed = any("infer format" in str(w.message) for w in caught)  # pandas fell back to guessing per cell
    if guessed or inferred.isna().sum() > iso.isna().sum():
        return iso
    return inferred


def _epoch_unit(path: str | Path, name: str, values: pd.Series) -> str:
    """The unit of epoch times, from their size (any time from 1973 to 2286 is unambiguous)."""
    largest = float(np.nanmax(np.abs(values.to_numpy(dtype="float64")))) if len(values) else 0.0
    for unit, scale in (("s", 1e0), ("ms", 1e3), ("us", 1e6), ("ns", 1e9)):
        if 1e8 * scale <= largest < 1e10 * scale:
            return unit
    raise DataError(
        f"{path}: column {name!r} holds numbers ({largest:.0f} at most) that are not epoch times in s, ms, us or ns "
        "after 1973"
    )


def parse_numbers(path: str | Path, column: pd.Series, name: str, times: pd.Series | None = None) -> np.ndarray:
    """``column`` as float64; an empty cell is NaN. Raises ``DataError`` naming the first cell that is not a
    number (its row, and its time when ``times`` are given)."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(column):
        raise cell_error(row_label(path, 0, times), name, column.iloc[0], "a number", NUMBER_FIX)
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype="float64", na_value=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        numbers = pd.to_numeric(column, errors="coerce")
    text = column.astype("string").str.strip().fillna("")
    bad = (numbers.isna() & (text != "")).to_numpy(dtype=bool)
    if bad.any():
        i = int(np.argmax(bad))
        raise cell_error(row_label(path, i, times), name, column.iloc[i], "a number", NUMBER_FIX)
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def number_cell(where: str, column: str, text: str) -> float:
    """One cell as a float (``1.5``, ``-2e-3``); ``DataError`` in the one wording otherwise."""
    try:
        return float(text)
    except ValueError:
        raise cell_error(where, column, text, "a number", NUMBER_FIX) from None


def whole_cell(where: str, column: str, text: str) -> int:
    """One cell as an integer (``1000``); ``DataError`` in the one wording otherwise."""
    try:
        return int(text)
    except ValueError:
        raise cell_error(where, column, text, "a whole number", "write digits only, such as 1000") from None


def date_cell(where: str, column: str, text: str) -> date:
    """One cell as a calendar day (``YYYY-MM-DD``); ``DataError`` in the one wording otherwise."""
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise cell_error(where, column, text, "a date", "write the day as YYYY-MM-DD, such as 2024-01-31") from None
