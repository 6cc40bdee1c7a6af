"""The point-in-time view: nothing after the clock, ragged universes, bounded windows."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from defipm.core.errors import DataError, LookAheadError
from defipm.data.synthetic import synthetic_panel
from defipm.data.view import MarketView, ReplayClock


@pytest.fixture
def panel():  # type: ignore[no-untyped-def]
    return synthetic_panel(4, 100, seed=5, ragged=True)


def test_queries_end_at_the_clock(panel) -> None:  # type: ignore[no-untyped-def]
    view = MarketView(panel, 50)
    assert view.history("close").shape[0] == 51
    assert view.history("close", lookback=10).shape == (10, 4)
    assert np.array_equal(view.history("close", 1)[0], panel.close[50], equal_nan=True)
    assert view.timestamps()[-1] == panel.timestamps[50]
    later = view.now + timedelta(days=1)
    for attempt in (
        lambda: view.history("close", 5, end=later),
        lambda: view.price_at("SYN000", later),
        lambda: view.trailing_returns(5, end=later),
        lambda: view.universe(at=later),
        lambda: view.prices(at=later),
    ):
        with pytest.raises(LookAheadError, match="look-ahead"):
            attempt()
    assert len(view.violations) == 5
    with pytest.raises(ValueError):
        view.history()[0, 0] = 1.0  # read-only


def test_ragged_universe_and_no_fill_before_first_bar(panel) -> None:  # type: ignore[no-untyped-def]
    first = panel.first_index
    assert list(first) == [0, 12, 25, 37]
    view = MarketView(panel, 20)
    assert view.universe() == ["SYN000", "SYN001"]
    assert np.isnan(view.series("SYN003")).all()
    assert np.isnan(view.trailing_returns(10))[1]  # listed 9 bars ago: too young for a 10-bar return
    with pytest.raises(DataError, match="first bar is later"):
        view.price_at("SYN003")


def test_clock_only_moves_forward(panel) -> None:  # type: ignore[no-untyped-def]
    clock = ReplayClock(panel, 30)
    with pytest.raises(DataError, match="only moves forward"):
        clock.advance(10)
    with pytest.raises(DataError, match="outside the data"):
        clock.advance(1000)
    view = clock.view()
    clock.advance(31)
    assert view.index == 31 and view.now == panel.datetime_at(31)  # the view follows its clock


@pytest.mark.parametrize("index", [31, 30, 29])
def test_a_view_cannot_move_its_clock(panel, index: int) -> None:  # type: ignore[no-untyped-def]
    clock = ReplayClock(panel, 30)
    view = clock.view()
    with pytest.raises(LookAheadError, match="cannot move the replay clock"):
        view.advance(index)
    assert clock.index == 30 and view.index == 30
    assert len(view.violations) == 1  # recorded, so a replay fails even when the error is swallowed


def test_synthetic_is_seeded_and_labelled() -> None:
    a, b = synthetic_panel(3, 50, seed=9), synthetic_panel(3, 50, seed=9)
    assert np.array_equal(a.close, b.close)
    assert not np.array_equal(a.close, synthetic_panel(3, 50, seed=10).close)
    assert a.synthetic and "synthetic" in a.source and a.symbols[0].startswith("SYN")
    assert (a.close > 0).all() and (a.high >= a.low).all()


def _days(n: int) -> np.ndarray:
    return np.datetime64("2024-01-01") + np.arange(n) * np.timedelta64(1, "D")


@pytest.mark.parametrize("gap", [2, 6])
def test_the_universe_in_a_gap_is_decided_from_past_bars_only(gap: int) -> None:
    from defipm.data.panel import STALE_AFTER_BARS, PricePanel

    a = np.arange(20.0) + 100
    comes_back, gone = a.copy(), a.copy()
    comes_back[5 : 5 + gap] = np.nan  # no bars for `gap` bars, then trades again
    gone[5:] = np.nan  # stops trading for good at bar 5
    panels = [PricePanel.from_arrays(_days(20), ["A", "B"], np.c_[a, b]) for b in (comes_back, gone)]
    for i in range(5 + gap):  # the two panels hold the same information up to here
        views = [MarketView(p, i) for p in panels]
        assert views[0].universe() == views[1].universe()
        assert views[0].prices() == views[1].prices()
        stale = i - 4  # bars since B's last bar
        assert ("B" in views[0].universe()) == (stale <= STALE_AFTER_BARS)
    assert "B" in MarketView(panels[0], 5 + gap).universe()  # it trades again: listed again
    assert MarketView(panels[0], 5 + gap).prices()["B"] == 105 + gap


def test_an_empty_span_is_named_as_asked_with_the_data_s_span():
    from datetime import UTC, datetime

    from defipm.core.errors import DataError
    from defipm.data.panel import span_text
    from defipm.data.synthetic import synthetic_panel

    panel = synthetic_panel(2, 30, seed=1)
    late = datetime(2030, 1, 1, tzinfo=UTC)
    with pytest.raises(DataError) as exc:
        panel.between(late, None)
    assert str(exc.value).startswith("no bars from 2030-01-01 (the data covers ") and "None" not in str(exc.value)
    assert span_text(None, datetime(2019, 12, 31, 12, 30, tzinfo=UTC)) == "up to 2019-12-31 12:30"
    assert span_text(late, late) == "between 2030-01-01 and 2030-01-01"
