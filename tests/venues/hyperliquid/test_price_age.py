"""A Hyperliquid venue used directly (no manager) refreshes market data older than ``max_price_age`` before it plans
(issue 12.3: orders were sized at the mids read at connect time)."""

from __future__ import annotations

import time
from decimal import Decimal

from defipm import Weights


def test_set_portfolio_weights_refreshes_stale_mids(venue, exchange):  # type: ignore[no-untyped-def]
    read_at_connect = venue.get_prices()["BTC"]
    moved = (read_at_connect * Decimal("1.032")).quantize(Decimal(1))
    exchange.engine.set_mid("BTC", moved)
    venue.max_price_age = 0.05
    time.sleep(0.1)  # the mids read at connect are now older than max_price_age
    report = venue.set_portfolio_weights(Weights({"BTC": 0.1}))
    [result] = report.results
    assert result.order.reference_price == moved != read_at_connect
    assert venue.market_time() is not None
