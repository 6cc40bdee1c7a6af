"""The synthetic paper-trading feed refuses settings that would end in a traceback or in non-finite prices."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import pytest

from defipm.core.errors import ConfigError
from defipm.data.feeds import SyntheticFeed


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"interval": timedelta(0)}, "interval"),
        ({"interval": timedelta(microseconds=1)}, "interval"),
        ({"interval": timedelta(days=10_000)}, "interval"),
        ({"annual_volatility": float("nan")}, "annual_volatility"),
        ({"annual_volatility": float("inf")}, "annual_volatility"),
        ({"daily_volume": -1.0}, "daily_volume"),
        ({"start": {"SYN000": 0.0}}, "start price of 'SYN000'"),
        ({"start": {"SYN000": True}}, "start price of 'SYN000'"),
        ({"start": {"SYN000": float("inf")}}, "start price of 'SYN000'"),
    ],
)
def test_bad_feed_settings_are_named(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError, match=f"synthetic feed: {name}"):
        SyntheticFeed(3, **kwargs)


def test_a_valid_feed_quotes_finite_positive_prices() -> None:
    feed = SyntheticFeed(3, seed=1, annual_volatility=5.0, interval=timedelta(days=366))
    for _ in range(20):
        _, prices, volumes = feed()
        assert all(math.isfinite(p) and p > 0 for p in prices.values()) and all(v >= 0 for v in volumes.values())
