"""History paginated past the API caps into the backtest loader's layout; USDC flows between spot and perp."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from defipm.core.errors import InsufficientMarginError
from defipm.venues.hyperliquid.flows import FlowKind
from defipm.venues.hyperliquid.history import fetch_candles, fetch_funding, store_history

pytest.importorskip("pandas")


def test_candles_paginate_past_5000(venue, exchange):
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    start = end - timedelta(hours=12_000)
    frame = fetch_candles(venue.client.post_info, "BTC", "1h", start, end)
    assert len(frame) == 12_001
    assert frame["date"].is_unique and frame["date"].is_monotonic_increasing
    assert exchange.stats.by_type["candleSnapshot"] == 3  # 5000 + 5000 + 2001
    assert list(frame.columns) == ["date", "open", "high", "low", "close", "volume", "trades"]


def test_funding_paginates_past_500(venue, exchange):
    start = datetime.now(UTC) - timedelta(hours=1_200)
    frame = fetch_funding(venue.client.post_info, "ETH", start)
    assert 1_199 <= len(frame) <= 1_201 and frame["date"].is_unique
    assert exchange.stats.by_type["fundingHistory"] == 3


def test_store_history_feeds_the_backtest_loader(venue, tmp_path):
    end = datetime.now(UTC)
    counts = store_history(
        venue.client.post_info, ["BTC", "ETH"], tmp_path, interval="1d", start=end - timedelta(days=60), end=end
    )
    assert counts["BTC"] >= 59
    assert (tmp_path / "funding" / "ETH.csv").is_file()
    from defipm.data import load_prices

    panel = load_prices(tmp_path, ["BTC", "ETH"], cache=False)
    assert set(panel.symbols) == {"BTC", "ETH"}


def test_usd_class_transfers_are_recorded(venue, exchange, wallet):
    flows = venue.flows
    before = venue.get_equity()
    out = flows.transfer(Decimal("250.5"), to_perp=False)
    assert out.kind is FlowKind.PERP_TO_SPOT and out.amount == Decimal("250.5") and out.ok
    venue.refresh()
    assert venue.get_equity() == before - Decimal("250.5")
    assert exchange.engine.views.spot_state(wallet.address)["balances"][0]["total"] == "250.5"
    back = flows.transfer(Decimal("100"), to_perp=True)
    assert back.kind is FlowKind.SPOT_TO_PERP
    assert [f.signed_perp_amount for f in flows.records] == [Decimal("-250.5"), Decimal("100")]
    with pytest.raises(InsufficientMarginError):
        flows.transfer(Decimal("10_000_000"), to_perp=False)
    assert flows.withdrawable() > 0


def test_an_unanswered_transfer_is_settled_from_the_spot_balance(exchange, wallet, make_venue):
    from defipm.core.errors import VenueUnavailableError
    from defipm.venues.hyperliquid.sim import Fault

    exchange.engine.accounts[wallet.address.lower()].spot_usdc = Decimal(500)
    venue = make_venue(exchange.url, wallet, timeout_secs=0.5, read_retries=0)
    # the exchange moves the money but the answer never arrives in time: a success, with its nonce
    exchange.inject(Fault("exchange", "usdClassTransfer", delay=1.0))
    landed = venue.deposit(Decimal(100))
    assert landed.ok and landed.nonce is not None
    assert exchange.engine.accounts[wallet.address.lower()].spot_usdc == Decimal(400)
    # the exchange fails before handling it: not executed, recorded with its nonce, and the caller told so
    exchange.inject(Fault("exchange", "usdClassTransfer", status=502))
    with pytest.raises(VenueUnavailableError, match="taken as not executed: check the account before retrying"):
        venue.deposit(Decimal(100))
    failed = venue.flows.records[-1]
    assert not failed.ok and failed.nonce is not None and failed.nonce > landed.nonce
    assert exchange.engine.accounts[wallet.address.lower()].spot_usdc == Decimal(400)
