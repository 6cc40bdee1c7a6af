"""Builds a running portfolio from ``Settings``: store, venue (with its price feed when on paper), oracle and the
``PortfolioManager`` that ties them together. The CLI and services call this; library users may build the
pieces by hand instead."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from defipm.config import Settings
from defipm.core.errors import ConfigError
from defipm.manager import PortfolioManager
from defipm.oracles.base import Oracle
from defipm.registry import BuildContext, ComponentSpec, oracle_spec, venue_spec
from defipm.store.database import Store
from defipm.store.lock import RunLock
from defipm.venues.base import Venue

if TYPE_CHECKING:
    from defipm.venues.paper.venue import PaperVenue


def is_paper(cls: type) -> bool:
    """Whether ``cls`` is the paper venue or a subclass, without importing it (and NumPy) for other venues: a
    subclass of ``PaperVenue`` can only exist once its module was imported."""
    paper = sys.modules.get("defipm.venues.paper.venue")
    return paper is not None and issubclass(cls, paper.PaperVenue)


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
    lock: RunLock | None = None
    """This process's hold on the run (None for read-only use)."""

    def connect(self) -> None:
        """Connect the venue; a trading portfolio (holding its run's lock) then ties its run to the account
        connecting named (``Venue.connected_account``, e.g. the key's address), before anything is sent:
        ``ConfigError`` naming both when the run trades another account or the account belongs to another run."""
        self.venue.connect()
        if self.lock is not None:
            _bind_account(self.store, self.settings.run, self.venue.connected_account())

    def close(self) -> None:
        """Release the run's lock and close the store (idempotent)."""
        if self.lock is not None:
            self.lock.release()
        self.store.close()

    def __enter__(self) -> Portfolio:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


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
    if market.source == "csv" and market.path is not None:  # MarketSettings requires the path for csv
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


def build_portfolio(
    settings: Settings, *, allow_mainnet: bool = False, connect: bool = True, lock: bool = True
) -> Portfolio:
    """Check the whole config first (the mainnet opt-in, both components' params, ``[market]``), so bad input
    opens and writes nothing; then open the store, take the run's lock (``lock``: refused with
    ``PortfolioLockedError`` naming the holder while another process runs this portfolio; read-only callers pass
    False), build the oracle, build and connect the venue (its feed too, when on paper) and the manager.
    ``Portfolio.close()`` releases the lock."""
    check_mainnet_opt_in(settings, allow_mainnet)
    components = _checked_components(settings)
    store = Store(settings.database)
    run_lock = None
    try:
        run_lock = RunLock(store, settings.run).acquire() if lock else None
        return _assemble(settings, store, run_lock, components, connect)
    except BaseException:
        if run_lock is not None:
            run_lock.release()
        store.close()
        raise


def _checked_components(settings: Settings) -> tuple[ComponentSpec[Venue], ComponentSpec[Oracle]]:
    """Both components' params validated (and ``[market]`` only beside the paper venue), before anything opens."""
    params = dict(settings.venue.params)
    if settings.venue.kind == "paper":
        params.setdefault("account", settings.run)
    try:
        venue_plan = venue_spec(settings.venue.kind, params)
        oracle_plan = oracle_spec(settings.oracle.kind, settings.oracle.params)
    except ConfigError as exc:  # a bad param names the file it is in, as a bad top-level key does
        raise ConfigError(f"{settings.source}: {exc}") from None
    if not is_paper(venue_plan.cls) and "market" in settings.model_fields_set:
        raise ConfigError(
            f"market: only the paper venue reads [market], not {settings.venue.kind!r}: remove the section (or its "
            "DEFIPM_MARKET variables)"
        )
    return venue_plan, oracle_plan


def _bind_account(store: Store, run: str, account: str | None) -> None:
    """Refuse to trade when ``run`` trades another account, or ``account`` belongs to another run."""
    clash = store.bind_account(run, account) if account is not None else None
    if clash is None:
        return
    tied, owner = clash
    if tied != account:
        raise ConfigError(
            f"run {run!r} trades {tied} (since its first cycle), but the config (or its key) now names {account}: "
            f"its cycles, equity peak and journal belong to {tied}. Set the account (or key) back, or give the config "
            "another run name (run = ...) for another account"
        )
    raise ConfigError(
        f"{account} is traded by run {owner!r}, not {run!r}: one run per account (two would trade each other's "
        f"positions). Use run = {owner!r}, or another account for this run"
    )


def _assemble(
    settings: Settings,
    store: Store,
    lock: RunLock | None,
    components: tuple[ComponentSpec[Venue], ComponentSpec[Oracle]],
    connect: bool,
) -> Portfolio:
    venue_plan, oracle_plan = components
    context = BuildContext(store=store, run=settings.run, venue=settings.venue.kind)
    oracle = settings.rebalance.wrap(oracle_plan.build(context))  # before the venue, which may write its book
    if lock is not None:  # a command that trades: the run and its account belong to each other (checked first)
        _bind_account(store, settings.run, venue_plan.cls.account_identity(venue_plan.config))
    venue = venue_plan.build(context)
    if connect:  # without the run's lock the caller only reads (status, listings): a venue may connect keyless
        venue.connect(additional_params={"read_only": True} if lock is None else None)
        if lock is not None:  # the account only connecting names (a key's address) belongs to this run too
            _bind_account(store, settings.run, venue.connected_account())
    label = attach_paper_feed(venue, settings) if is_paper(type(venue)) else None  # type: ignore[arg-type]
    manager = PortfolioManager(
        oracle,
        venue,
        store=store,
        run=settings.run,
        risk=settings.risk.limits(),
        planner=settings.planner.config() if "planner" in settings.model_fields_set else None,
        lock=lock,
        rebalance=settings.rebalance.policy(),
    )
    return Portfolio(settings, store, venue, oracle, manager, label, lock)
