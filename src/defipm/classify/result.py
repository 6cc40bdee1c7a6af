"""``Classification``: the screen's answer at one time, a table of every token with its metrics and verdict.

Columns of ``table`` (one row per symbol of the data, kept tokens first, then by return, highest first):

==============  ========================================================================================
symbol          the data's name (``1000PEPE``)
asset           the token behind it (``PEPE``) and ``multiplier`` tokens per contract (1000)
categories      its tags, ``;``-separated ("" when the tag table does not know it)
bars            usable bars at or before t (0 for a token with no bar in the screen's span: not trading)
return          cumulative return over ``window_days`` (a fraction; NaN without the history)
ma_short        mean close over ``trend_short_days``; ``ma_long`` over ``trend_long_days`` (price units)
trend           ``ma_short / ma_long - 1`` (positive = rising)
volume          mean daily dollar volume over ``window_days`` (quote currency a day; a day without a bar adds 0)
sortino         annualised Sortino ratio of the bar returns over ``sortino_days`` (NaN without a losing bar)
kept            True for the tokens to hold
reason          the first rule an excluded token fails (``RULES`` order), None when kept
rank            position by return among tokens that have one (1 = highest)
==============  ========================================================================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defipm.classify.config import RULES, ScreenConfig
from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

COLUMNS = (
    "symbol", "asset", "multiplier", "categories", "bars", "return", "ma_short", "ma_long", "trend", "volume",
    "sortino", "kept", "reason", "rank",
)  # fmt: skip


@dataclass(frozen=True, slots=True, eq=False)
class Classification:
    """The screen at ``at`` (the close time of the last bar used; ``requested`` is the time asked for)."""

    at: datetime
    requested: datetime
    table: pd.DataFrame
    config: ScreenConfig
    means: dict[str, float] = field(default_factory=dict)
    """The candidates' cross-sectional means: ``return``, ``volume``, ``sortino`` (NaN with no candidate)."""
    candidates: int = 0
    """Tokens with enough history that no category rule excludes (the set the means are taken over)."""
    min_bars: int = 0
    """Usable bars the history rule asked of each token (``ScreenConfig.min_bars`` at the data's interval)."""

    @property
    def kept(self) -> tuple[str, ...]:
        """The symbols to hold, highest return first."""
        return tuple(self.table.loc[self.table["kept"], "symbol"])

    @property
    def excluded_counts(self) -> dict[str, int]:
        """Rule -> how many tokens it excluded (every rule of ``RULES``, zeros included)."""
        counts = self.table["reason"].value_counts()
        return {rule: int(counts.get(rule, 0)) for rule in RULES}

    def summary(self) -> str:
        """One line: how many were kept, and how many each rule excluded."""
        counts = ", ".join(f"{rule} {n}" for rule, n in self.excluded_counts.items() if n)
        kept = len(self.kept)
        return f"{kept} of {len(self.table)} token(s) kept at {self.at:%Y-%m-%d %H:%M}; excluded: {counts or 'none'}"

    def rows(self) -> list[dict[str, Any]]:
        """The table as one dict per token, in table order."""
        return self.table.to_dict("records")  # type: ignore[no-any-return]

    def explain(self, row: Mapping[str, Any]) -> str:
        """Why a row of ``rows()`` is kept or excluded, with the numbers that decided it."""
        c, means = self.config, self.means
        reason = row["reason"]
        if reason is None:
            return f"kept: return {row['return']:+.1%} (mean {means['return']:+.1%})"
        if reason == "history" and not row["bars"]:
            return f"no bar in the last {c.longest_window_days} days: not trading at t"
        if reason == "history" and row["bars"] < self.min_bars:
            return f"{row['bars']} bar(s) at t; needs {self.min_bars}"
        if reason == "history":
            return f"no bar at the start of its {c.longest_window_days}-day window, or none in the last few bars"
        if reason == "category":
            return f"{row['categories'] or 'untagged'}: excluded ({', '.join(sorted(c.excluded_categories))})"
        if reason == "return":
            return f"return {row['return']:+.1%} not above the mean {means['return']:+.1%}{_margin(c)}"
        if reason == "trend":
            return (
                f"{c.trend_short_days}-day MA {row['ma_short']:.6g} not above the {c.trend_long_days}-day MA "
                f"{row['ma_long']:.6g}"
            )
        if reason == "volume":
            return f"daily volume {row['volume']:,.0f} not above {c.volume_threshold:g} x mean {means['volume']:,.0f}"
        if reason == "sortino":
            return f"Sortino {row['sortino']:.2f} not above {c.sortino_threshold:g} x mean {means['sortino']:.2f}"
        return f"return rank {row['rank']} outside the top {c.top_n}"

    def write(self, path: str | Path) -> Path:
        """Write ``table`` as CSV (``.csv``) or Parquet (``.parquet``/``.pq``); returns the path."""
        target = Path(path)
        suffix = target.suffix.lower()
        if suffix not in (".csv", ".parquet", ".pq"):
            raise ConfigError(f"{target}: unsupported table format {suffix!r} (use .csv or .parquet)")
        target.parent.mkdir(parents=True, exist_ok=True)
        frame = self.table.assign(at=self.at.isoformat())
        if suffix == ".csv":
            frame.to_csv(target, index=False)
        else:
            frame.to_parquet(target, index=False)
        return target


def _margin(config: ScreenConfig) -> str:
    return f" + margin {config.return_margin:+.1%}" if config.return_margin else ""


def finite_or_none(value: Any) -> float | None:
    """A float for storage and JSON: None for NaN, infinity or a missing value."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None
