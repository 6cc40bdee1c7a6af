"""``ScreenConfig``: every threshold of the token screen, a frozen pydantic model that refuses unknown keys.

Windows are in days of bar-close time (``window_days=60`` is 60 daily bars, or 1,440 hourly ones); so is the history
requirement (``min_history_days=180``: 180 usable daily bars, or 4,320 hourly ones), unless ``min_history_bars``
gives it as a count of bars. ``parse_config`` turns a params mapping (config file, ``-p key=value``) into a model,
with one ``ConfigError`` naming every unknown key (with a suggestion and the accepted list) or bad value.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from defipm.classify.tags import CATEGORIES, check_categories, parse_categories
from defipm.config_schema import ConfigModel, problems
from defipm.core.errors import ConfigError

DEFAULT_HISTORY_DAYS = 180.0
"""The history a token needs by default: about six months."""
RULES = ("history", "category", "return", "trend", "volume", "sortino", "top_n")
"""The screen's rules, in the order a token is judged; an excluded token's reason is the first it fails."""


class ScreenConfig(ConfigModel):
    """The classifier's settings (``[oracle.params]`` of ``kind = "classifier"``, or ``defipm classify -p``).

    window_days: days of the cumulative return and of the mean daily dollar volume (default 60).
    return_margin: a token is kept when its return exceeds the candidates' mean return plus this (a fraction,
        0.05 = five percentage points; default 0: simply above the average).
    trend: require the short moving average of the close above the long one (default on).
    trend_short_days / trend_long_days: the two moving averages' windows in days (7 and 30).
    volume_threshold: keep tokens whose mean daily dollar volume over the window exceeds this multiple of the
        candidates' mean (1.0); 0 turns the volume rule off.
    min_history_days: history a token needs at or before t, in days of usable bars at the data's interval (default
        180, about six months: 180 daily bars, 4,320 hourly ones); the windows must also be covered.
    min_history_bars: the history requirement as a count of usable bars instead (set one of the two).
    include_meme: keep meme coins in the candidate set (default False: excluded by the category rule).
    exclude_categories: other categories the category rule excludes (default stablecoin, wrapped, synthetic).
    sortino_threshold: when set, keep tokens whose Sortino ratio over ``sortino_days`` exceeds the candidates'
        mean Sortino times this; None (default) turns the rule off.
    sortino_days: the Sortino window in days (default: ``window_days``).
    top_n: when set, keep only the N highest returns among the tokens that pass every other rule.
    tags: extra category tags, token -> categories (``{NEWCOIN = ["meme"]}``); an entry replaces the shipped
        tags of that token.
    tag_file: a tag table file in the shipped format (``symbol,categories``), applied before ``tags``.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    window_days: int = Field(default=60, ge=1)
    return_margin: float = 0.0
    trend: bool = True
    trend_short_days: int = Field(default=7, ge=1)
    trend_long_days: int = Field(default=30, ge=1)
    volume_threshold: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    min_history_days: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    min_history_bars: int | None = Field(default=None, ge=1)
    include_meme: bool = False
    exclude_categories: tuple[str, ...] = ("stablecoin", "wrapped", "synthetic")
    sortino_threshold: float | None = Field(default=None, allow_inf_nan=False)
    sortino_days: int | None = Field(default=None, ge=2)
    top_n: int | None = Field(default=None, ge=1)
    tags: dict[str, list[str] | str] = Field(default_factory=dict)
    tag_file: Path | None = None

    @field_validator("return_margin")
    @classmethod
    def _finite(cls, value: float) -> float:
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("must be a finite number")
        return value

    @field_validator("exclude_categories", mode="before")
    @classmethod
    def _categories(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [v for v in value.replace(";", ",").split(",") if v.strip()]
        if isinstance(value, list | tuple) and value:
            try:
                return tuple(sorted(check_categories(value, "exclude_categories")))
            except ConfigError as exc:
                raise ValueError(str(exc).removeprefix("exclude_categories: ")) from None
        return value

    @field_validator("tags")
    @classmethod
    def _tags(cls, value: dict[str, list[str] | str]) -> dict[str, list[str] | str]:
        for symbol, categories in value.items():
            try:
                if isinstance(categories, str):
                    parse_categories(categories, symbol)
                else:
                    check_categories(categories, symbol)
            except ConfigError as exc:
                raise ValueError(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _windows(self) -> ScreenConfig:
        if self.min_history_days is not None and self.min_history_bars is not None:
            raise ValueError(
                f"min_history_days ({self.min_history_days:g}) and min_history_bars ({self.min_history_bars}) both "
                "set: give the history requirement once, in days (any bar interval) or in bars"
            )
        if self.trend and self.trend_short_days >= self.trend_long_days:
            raise ValueError(
                f"trend_short_days ({self.trend_short_days}) must be shorter than trend_long_days "
                f"({self.trend_long_days})"
            )
        return self

    def min_bars(self, interval: timedelta) -> int:
        """Usable bars a token needs at bars of ``interval``: ``min_history_bars`` when set, else
        ``min_history_days`` of them (rounded up; at least 1)."""
        if self.min_history_bars is not None:
            return self.min_history_bars
        return max(1, math.ceil(self.history_days * 86_400 / interval.total_seconds() - 1e-9))

    @property
    def history_days(self) -> float:
        """``min_history_days``, 180 (about six months) when neither it nor ``min_history_bars`` is set."""
        return self.min_history_days if self.min_history_days is not None else DEFAULT_HISTORY_DAYS

    def history_rule(self, interval: timedelta) -> str:
        """The history requirement as the config says it, for messages: ``min_history_days=180 (180 bars)``."""
        if self.min_history_bars is not None:
            return f"min_history_bars={self.min_history_bars}"
        return f"min_history_days={self.history_days:g} ({self.min_bars(interval):,} bars)"

    @property
    def excluded_categories(self) -> frozenset[str]:
        """Every category the category rule excludes (meme unless ``include_meme``)."""
        return frozenset(self.exclude_categories) | (frozenset() if self.include_meme else {"meme"})

    @property
    def sortino_window_days(self) -> int:
        return self.sortino_days if self.sortino_days is not None else self.window_days

    @property
    def longest_window_days(self) -> int:
        """The longest window the screen reads back from t, in days."""
        windows = [self.window_days]
        if self.trend:
            windows.append(self.trend_long_days)
        if self.sortino_threshold is not None:
            windows.append(self.sortino_window_days)
        return max(windows)


Model = TypeVar("Model", bound=BaseModel)


def parse_config(model: type[Model], params: Mapping[str, Any], what: str) -> Model:
    """``model(**params)``, or one ``ConfigError`` naming every bad key under ``what`` (an unknown key with a
    suggestion and the accepted keys), worded as every other config error (``defipm.config_schema.problems``)."""
    try:
        return model.model_validate(dict(params))
    except ValidationError as exc:
        raise ConfigError("; ".join(problems(exc, model, what))) from None


__all__ = ["CATEGORIES", "RULES", "ScreenConfig", "parse_config"]
