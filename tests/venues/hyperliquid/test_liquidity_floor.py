"""The liquidity floor: coins under a configured open interest or 24h volume (``metaAndAssetCtxs``, read by the
same request that reads ``meta``) leave the universe, and a book holding one closes it at the next rebalance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from defipm.core.errors import ConfigError
from defipm.venues.hyperliquid.config import make_config
from defipm.venues.hyperliquid.sim.views import MarketFigures


def test_coins_under_the_floor_leave_the_universe_and_are_noted(exchange, wallet, make_venue):
    exchange.engine.contexts["SOL"] = MarketFigures(open_interest_usd=Decimal(2_000_000))
    exchange.engine.contexts["DOGE"] = MarketFigures(day_volume_usd=Decimal(500_000))
    venue = make_venue(exchange.url, wallet, min_open_interest=5_000_000, min_day_volume=1_000_000)
    universe = venue.get_universe()
    assert "SOL" not in universe and "DOGE" not in universe and "BTC" in universe
    (notice,) = venue.pop_notices()
    assert "2 coin(s) left out" in notice and "SOL: open interest $2,000,000 < $5,000,000" in notice
    assert "DOGE: 24h volume $500,000 < $1,000,000" in notice
    ctx = venue.asset_contexts()["SOL"]
    assert ctx.open_interest_usd == pytest.approx(Decimal(2_000_000), rel=Decimal("1e-6"))
    metas, contexts = exchange.stats.by_type["meta"], exchange.stats.by_type["metaAndAssetCtxs"]
    venue.refresh()  # the contexts come with meta in one answer: a refresh reads no separate meta
    assert exchange.stats.by_type["meta"] == metas and exchange.stats.by_type["metaAndAssetCtxs"] == contexts + 1


def test_a_held_coin_that_falls_under_the_floor_is_closed_by_the_next_rebalance(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet, min_open_interest=5_000_000)
    venue.set_portfolio_weights({"BTC": 0.2, "SOL": 0.2})
    exchange.engine.contexts["SOL"] = MarketFigures(open_interest_usd=Decimal(1_000_000))
    venue.refresh()
    target = {c: w for c, w in {"BTC": 0.2, "SOL": 0.2}.items() if c in venue.get_universe()}
    report = venue.set_portfolio_weights(target)  # an oracle picks from the universe only
    assert report.ok and set(venue.get_positions()) == {"BTC"}


def test_a_floor_must_be_a_finite_amount():
    with pytest.raises(ConfigError, match="min_open_interest"):
        make_config(min_open_interest=-1)
    with pytest.raises(ConfigError, match="min_day_volume"):
        make_config(min_day_volume=float("inf"))
