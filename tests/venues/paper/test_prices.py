"""What the paper venue takes as a price, when a price is too old to trade at, and a held symbol the latest update
left out: bad values are refused by name and change nothing; stale marks value the book but are never traded at."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm import MissingPriceError, OrderStatus, PaperVenue, VenueUnavailableError, Weights
from defipm.core.orders import SkipReason

T0 = datetime(2024, 1, 1, tzinfo=UTC)
PRICES = {"BTC": 40_000.0, "ETH": 2_000.0}


@pytest.mark.parametrize(
    "bad",
    [True, False, None, "abc", "40000", math.nan, math.inf, -1.0, 0.0, 0, Decimal("NaN"), Decimal("sNaN"),
     Decimal("-Infinity"), Decimal(0), [1.0]],
)  # fmt: skip
def test_a_bad_price_refuses_the_whole_update_naming_it_and_changes_nothing(bad):
    v = PaperVenue(initial_cash=Decimal(10_000))
    v.update_market(T0, PRICES)
    with pytest.raises(MissingPriceError, match=r"ETH=") as exc:
        v.update_market(T0 + timedelta(hours=1), {"BTC": 41_000.0, "ETH": bad})
    assert "refused" in str(exc.value)
    assert v.timestamp == T0 and v.get_prices() == {"BTC": Decimal(40_000), "ETH": Decimal(2_000)}


def test_a_naive_time_or_an_empty_symbol_is_refused():
    v = PaperVenue(initial_cash=Decimal(10_000))
    with pytest.raises(MissingPriceError, match="timezone-aware"):
        v.update_market(datetime(2024, 1, 1), PRICES)
    with pytest.raises(MissingPriceError, match="not a symbol name"):
        v.update_market(T0, {"": 1.0})
    with pytest.raises(MissingPriceError, match="volume update"):
        v.update_market(T0, PRICES, {"BTC": -5.0})


price_values = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.integers(-(10**30), 10**30),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
)


@settings(max_examples=200, deadline=None)
@given(prices=st.dictionaries(st.sampled_from(["BTC", "ETH", "SOL"]), price_values, min_size=1))
def test_fuzzed_price_updates_are_taken_whole_or_refused_by_name(prices):
    v = PaperVenue(initial_cash=Decimal(10_000))
    v.update_market(T0, PRICES)
    try:
        v.update_market(T0 + timedelta(hours=1), prices)
    except MissingPriceError as exc:
        assert any(f"{s}=" in str(exc) for s in prices)
        assert v.timestamp == T0
        return
    for s, p in prices.items():
        got = v.get_prices()[s]
        assert got > 0 and got.is_finite() and not isinstance(p, bool)
        assert got == (p if isinstance(p, Decimal) else Decimal(repr(float(p))) if isinstance(p, float) else p)


def test_a_held_symbol_missing_from_the_update_is_stale_and_not_traded_at_its_old_price():
    """Issue 11.10: ETH drops out of the feed; the rebalance neither closes nor trades it at the old 2,000."""
    v = PaperVenue(initial_cash=Decimal(10_000))
    v.update_market(T0, PRICES)
    v.set_portfolio_weights(Weights({"BTC": 0.4, "ETH": 0.4}))
    eth = v.get_positions()["ETH"]
    v.update_market(T0 + timedelta(hours=1), {"BTC": 42_000.0})
    assert v.get_universe() == ["BTC"]
    assert v.get_equity() == v.get_cash() + v.get_positions()["BTC"] * 42_000 + eth * 2_000  # still valued
    assert set(v.untradable()) == {"ETH"}
    report = v.set_portfolio_weights(Weights({"BTC": 0.5}))
    assert [o.order.symbol for o in report.results] == ["BTC"]
    [kept] = [k for k in report.skipped if k.symbol == "ETH"]
    assert kept.reason is SkipReason.STALE_PRICE and "no price in the latest market update" in kept.detail
    assert v.get_positions()["ETH"] == eth
    refused = v.execute_trade("ETH", -eth)  # asked for directly: refused, not filled at 2,000
    assert refused.status is OrderStatus.REJECTED and "stale" in refused.error
    v.update_market(T0 + timedelta(hours=2), {"BTC": 42_000.0, "ETH": 1_900.0})  # quoted again: tradable
    assert v.untradable() == {} and v.execute_trade("ETH", -eth).status is OrderStatus.FILLED


class MovingFeed:
    label = "test feed"

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self):  # type: ignore[no-untyped-def]
        self.calls += 1
        return datetime.now(UTC), {"BTC": 31_100.0, "ETH": 2_000.0}, None


def test_a_venue_used_directly_refreshes_prices_older_than_max_price_age():
    """Issue 12.3: set_portfolio_weights sized orders at the prices read long before (BTC 30,135 -> 31,100)."""
    feed = MovingFeed()
    v = PaperVenue(initial_cash=Decimal(10_000), max_price_age=60, feed=feed)
    v.update_market(datetime.now(UTC) - timedelta(minutes=10), {"BTC": 30_135.0, "ETH": 2_000.0})
    report = v.set_portfolio_weights(Weights({"BTC": 0.5}))
    assert feed.calls == 1
    [result] = report.results
    assert result.order.reference_price == Decimal("31100.0") and result.status is OrderStatus.FILLED
    assert v.execute_trade("ETH", 1).status is OrderStatus.FILLED and feed.calls == 1  # fresh now: no refresh


def test_a_venue_that_cannot_refresh_refuses_stale_prices_for_manual_trades_too():
    v = PaperVenue(initial_cash=Decimal(10_000), max_price_age=60)
    v.update_market(datetime.now(UTC) - timedelta(minutes=10), PRICES)
    with pytest.raises(MissingPriceError, match="above max_price_age 60s"):
        v.execute_trade("BTC", "0.01")
    assert v.get_positions() == {}


@pytest.mark.parametrize("error", [ValueError("bad json"), KeyError("mids"), TypeError("None"), OSError("down")])
def test_a_failing_feed_is_a_venue_error_naming_it(error):
    def feed():  # type: ignore[no-untyped-def]
        raise error

    feed.label = "flaky feed"  # type: ignore[attr-defined]
    v = PaperVenue(initial_cash=Decimal(10_000), feed=feed)
    expected = VenueUnavailableError if isinstance(error, OSError) else MissingPriceError
    with pytest.raises(expected, match="flaky feed"):
        v.refresh()
