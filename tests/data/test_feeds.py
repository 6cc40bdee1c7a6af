"""The paper-trading feeds: the synthetic one refuses settings that would end in a traceback or in non-finite
prices; a folder's latest bars never quote a symbol at a close older than the folder's newest bar."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from defipm.core.errors import ConfigError
from defipm.data.feeds import LatestBarFeed, SyntheticFeed


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


def _bars(folder: Path, symbol: str, closes: list[float]) -> None:
    folder.mkdir(exist_ok=True)
    rows = [f"2024-01-{d:02d},{c},{c},{c},{c},1000" for d, c in enumerate(closes, start=1)]
    (folder / f"{symbol}.csv").write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")


def test_a_file_that_ends_before_the_newest_bar_is_not_quoted(tmp_path: Path) -> None:
    """A's last bar closes five days before B's: the feed leaves A out (never quoted at its old close), says so in
    its label, and a paper venue holding A keeps A's last mark and skips it as STALE_PRICE."""
    pytest.importorskip("pandas")
    from defipm.core.orders import SkipReason
    from defipm.venues.paper.venue import PaperVenue

    _bars(tmp_path / "d", "A", [100, 101, 102, 103, 104])
    _bars(tmp_path / "d", "B", [50, 51, 52, 53, 54, 55, 56, 57, 58, 59])
    feed = LatestBarFeed(tmp_path / "d")
    ts, prices, volumes = feed()
    assert ts == datetime(2024, 1, 11, tzinfo=UTC)  # B's last bar (opened 01-10) closes on 01-11
    assert prices == {"B": 59.0} and set(volumes) == {"B"}
    assert feed.stale == {"A": datetime(2024, 1, 6, tzinfo=UTC)}
    assert "not traded: A (last bar closed 2024-01-06 00:00): older than the newest bar" in feed.label

    venue = PaperVenue(initial_cash=1000)
    venue.update_market(ts - timedelta(days=5), {"A": 90.0, "B": 50.0})
    venue.execute_trade("A", 1.0)
    venue.feed = feed
    venue.refresh()
    assert venue.get_universe() == ["B"]
    assert venue.get_prices()["A"] == Decimal(90)  # its last mark, not the file's 104
    assert venue.untradable()["A"].reason is SkipReason.STALE_PRICE


def test_a_folder_whose_files_end_together_quotes_every_symbol(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    _bars(tmp_path / "d", "A", [100, 101, 102])
    _bars(tmp_path / "d", "B", [50, 51, 52])
    feed = LatestBarFeed(tmp_path / "d")
    assert feed()[1] == {"A": 102.0, "B": 52.0} and feed.stale == {} and "not traded" not in feed.label
