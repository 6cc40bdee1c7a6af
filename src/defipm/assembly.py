"""Builds a running portfolio from ``Settings``: store, venue (with its price feed when on paper), oracle and the
``PortfolioManager`` that ties them together. The CLI and services call this; library users may build the
pieces by hand instead."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from defipm.config import Settings
from defipm.core.errors import ConfigError
from defipm.manager import PortfolioManager
from defipm.oracles.base import Oracle
from defipm.registry import BuildContext, build_oracle, build_venue
from defipm.store.database import Store
from defipm.venues.base import Venue
from defipm.venues.paper.venue import PaperVenue

PAPER_TRADING_MAX_PRICE_AGE = 300.0
"""Seconds a live paper quote may be old before the venue refreshes it or refuses to trade on it."""


@dataclass(slots=True)
class Portfolio:
    settings: Settings
    store: Store
    venue: Venue
    oracle: Oracle
    manager: PortfolioManager
    market_label: str | None = None
    """Where paper prices come from, shown to the user (e.g. that they are synthetic)."""


def attach_paper_feed(venue: PaperVenue, settings: Settings) -> str:
    """Give the paper venue its price feed. Live sources (synthetic, hyperliquid) stamp quotes with the time they
    are read, so the venue also gets ``PAPER_TRADING_MAX_PRICE_AGE`` unless the config sets ``max_price_age``; a
    csv folder's latest bars are old by nature and are labelled so instead."""
    market = settings.market
    if market.source != "csv" and venue.max_price_age is None:
        venue.max_price_age = PAPER_TRADING_MAX_PRICE_AGE
    if market.source == "hyperliquid":
        from defipm.venues.hyperliquid.feed import HyperliquidMidsFeed

        hl_feed = HyperliquidMidsFeed(market.network, market.base_url)
        venue.feed = hl_feed
        return hl_feed.label
    if market.source == "csv":
        if market.path is None:
            raise ConfigError("market.path: required when market.source = 'csv'")
        from defipm.data.feeds import LatestBarFeed

        csv_feed = LatestBarFeed(market.path)
        venue.feed = csv_feed
        return csv_feed.label
    from defipm.data.feeds import SyntheticFeed
    from defipm.data.synthetic import synthetic_symbols

    symbols = synthetic_symbols(market.n_assets)
    marks = venue.get_prices() if venue.timestamp is not None or venue.positions else {}
    feed = SyntheticFeed(
        symbols,
        seed=market.seed + venue.fill_count,
        annual_volatility=market.volatility,
        interval=timedelta(hours=market.interval_hours),
        start={s: float(p) for s, p in marks.items()},
    )
    venue.feed = feed
    return feed.label


def check_mainnet_opt_in(settings: Settings, allow_mainnet: bool) -> None:
    """Mainnet needs both the config's opt-in (``allow_mainnet = true``) and the command line's (``--mainnet``)."""
    params = settings.venue.params
    wants_mainnet = params.get("network") == "mainnet" or bool(params.get("allow_mainnet"))
    if wants_mainnet and not allow_mainnet:
        raise ConfigError(
            f"venue {settings.venue.kind!r} is configured for mainnet (real money): pass --mainnet on the command "
            "line as well to confirm"
        )


def build_portfolio(settings: Settings, *, allow_mainnet: bool = False, connect: bool = True) -> Portfolio:
    """Open the store, build and connect the venue (its feed too, when on paper), the oracle and the manager."""
    check_mainnet_opt_in(settings, allow_mainnet)
    store = Store(settings.database)
    context = BuildContext(store=store, run=settings.run, venue=settings.venue.kind)
    params = dict(settings.venue.params)
    if settings.venue.kind == "paper":
        params.setdefault("account", settings.run)
    venue = build_venue(settings.venue.kind, params, context)
    if connect:
        venue.connect()
    label = attach_paper_feed(venue, settings) if isinstance(venue, PaperVenue) else None
    oracle = build_oracle(settings.oracle.kind, settings.oracle.params, context)
    manager = PortfolioManager(
        oracle,
        venue,
        store=store,
        run=settings.run,
        risk=settings.risk.limits(),
        planner=settings.planner.config() if "planner" in settings.model_fields_set else None,
    )
    return Portfolio(settings, store, venue, oracle, manager, label)
