"""Prediction tables from any source, read into the one validated table every signal oracle ranks
(``MetaModelHistory``: ``date``, ``symbol``, ``meta_model``).

- ``ColumnMap``: which of a file's columns hold the date, the asset id and the prediction (e.g. CrowdCent's
  ``release_date``, ``id``, ``pred_10d``).
- ``read_signal_file(path, columns)``: a local CSV or Parquet file with any such columns; a mapped column the file
  lacks is an error naming the file, the column, the key that maps it and the columns it has.
- ``signal_frame(frame, columns, source)``: the same for a table already in memory (a download).

Predictions are checked for being finite numbers; only Numerai's meta-model is also held to [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from defipm.core.errors import DataError
from defipm.data.numerai import MetaModelHistory, read_meta_model_file

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, slots=True)
class ColumnMap:
    """Column names of a prediction table: the date (a calendar day, UTC), the asset id and the prediction (a
    number; larger = stronger)."""

    date: str = "date"
    asset: str = "symbol"
    prediction: str = "meta_model"

    def renames(self) -> dict[str, str]:
        return {self.date: "date", self.asset: "symbol", self.prediction: "meta_model"}


NUMERAI_COLUMNS = ColumnMap()
CROWDCENT_COLUMNS = ColumnMap(date="release_date", asset="id", prediction="pred_10d")
"""CrowdCent's Hyperliquid-ranking meta-model: one row per release date and asset, ``pred_10d`` and ``pred_30d``."""


def signal_frame(
    frame: pd.DataFrame, columns: ColumnMap, source: str, *, score_range: tuple[float, float] | None = None
) -> MetaModelHistory:
    """``frame`` with the mapped columns, renamed and validated. Raises ``DataError`` naming a missing column."""
    found = [str(c) for c in frame.columns]
    for key, name in (("date", columns.date), ("asset", columns.asset), ("prediction", columns.prediction)):
        if name not in frame.columns:
            raise DataError(
                f"{source}: no column {name!r} (the {key} column, columns.{key} in the config); the file has "
                f"{', '.join(found) or 'no columns'}: set columns.{key} to one of them"
            )
    if len({columns.date, columns.asset, columns.prediction}) < 3:
        raise DataError(f"{source}: the date, asset and prediction columns must be three different columns")
    picked = frame.loc[:, [columns.date, columns.asset, columns.prediction]].rename(columns=columns.renames())
    return MetaModelHistory.from_frame(picked, source, score_range=score_range)


def read_signal_file(
    path: str | os.PathLike[str],
    columns: ColumnMap = NUMERAI_COLUMNS,
    *,
    score_range: tuple[float, float] | None = None,
) -> MetaModelHistory:
    """A local CSV or Parquet prediction file (by suffix) with ``columns``, validated. Raises ``DataError``."""
    return signal_frame(read_meta_model_file(path), columns, str(path), score_range=score_range)
