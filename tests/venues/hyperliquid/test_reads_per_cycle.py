"""What a process reads from the exchange: connecting reads the key's authority, the fee rates and meta once (the
SDK's ``Info`` is given the meta read, not left to read it again); the market and the account are read by the
cycle, once, not by ``connect`` just before the cycle reads them again; every later cycle reads them afresh."""

from __future__ import annotations

from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.venues.hyperliquid.sim import LocalExchange

MARKET = ("meta", "spotMeta", "metaAndAssetCtxs", "allMids")


def market_reads(exchange: LocalExchange) -> dict[str, int]:
    return {kind: exchange.stats.by_type.get(kind, 0) for kind in MARKET}


def test_connecting_reads_meta_once_and_leaves_the_market_to_the_first_question(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet)
    assert market_reads(exchange) == {"meta": 1, "spotMeta": 1, "metaAndAssetCtxs": 0, "allMids": 0}
    assert venue.market_time() is None
    assert venue.get_prices()["BTC"] > 0  # the first question reads the market and the account
    assert market_reads(exchange) == {"meta": 1, "spotMeta": 1, "metaAndAssetCtxs": 1, "allMids": 1}
    assert exchange.stats.by_type["clearinghouseState"] == 1


def test_each_cycle_reads_the_market_once(exchange, wallet, make_venue):
    venue = make_venue(exchange.url, wallet)
    manager = PortfolioManager(StaticOracle({"BTC": 0.3, "ETH": -0.2}), venue, run="hl")
    assert manager.manage_portfolio().ok
    assert market_reads(exchange) == {"meta": 1, "spotMeta": 1, "metaAndAssetCtxs": 1, "allMids": 1}
    assert manager.manage_portfolio().ok  # a later cycle reads afresh, however recent the last read
    assert market_reads(exchange) == {"meta": 1, "spotMeta": 1, "metaAndAssetCtxs": 2, "allMids": 2}
