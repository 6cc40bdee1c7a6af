"""``PaperVenue``: a simulated exchange that fills at the mid moved by its fill model (bounded slippage, a cap on
the share of a bar's volume), charges taker fees, keeps perpetual-style long/short books with margin checks and
liquidation at the maintenance margin (or spot books with no shorts), applies funding, and persists its books in
the store so a restart continues where it stopped.

Market data is pushed in with ``update_market`` (a backtest feeds one historical bar at a time; paper trading
feeds live or synthetic quotes). The same object is the backtester's simulator and the paper-trading venue.
Each phase of a plan comes as one batch (``submit_orders``), executed in sequence exactly as one order at a time
would be. Only symbols priced by the latest update trade: a held symbol missing from it keeps its last mark for valuation
but is not traded at that stale price (the planner skips it and the venue refuses fills on it).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal, InvalidOperation
from itertools import islice
from numbers import Real

from defipm.component import BuildContext
from defipm.core.account import AccountSnapshot, marked_values
from defipm.core.amounts import format_amount as plain
from defipm.core.amounts import to_decimal
from defipm.core.errors import (
    DefipmError,
    InsufficientMarginError,
    MissingPriceError,
    OrderRejectedError,
    UnknownSymbolError,
    VenueError,
    VenueUnavailableError,
)
from defipm.core.instruments import InstrumentRules
from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, OrderType, Side, SkippedOrder, SkipReason
from defipm.core.planner import PlannerConfig
from defipm.store.database import Store
from defipm.venues.base import CashTransfers, Venue
from defipm.venues.paper.book import PaperBook
from defipm.venues.paper.fill_model import SlippageModel, noise_draw, worst_slippage
from defipm.venues.paper.liquidation import LIQUIDATION_ID_PREFIX, Liquidation, default_maintenance_fraction
from defipm.venues.paper.params import PaperMode, PaperParams, checked
from defipm.venues.paper.quotes import checked_prices, checked_volumes

ZERO = Decimal(0)
_BUY = Side.BUY
_LIMIT, _LIMIT_IOC, _STOP = OrderType.LIMIT, OrderType.LIMIT_IOC, OrderType.STOP
_FILLED, _PARTIAL = OrderStatus.FILLED, OrderStatus.PARTIALLY_FILLED
_MEAN_ABS_NORMAL = math.sqrt(2.0 / math.pi)
"""E|z| for a standard normal z: the mean of the fill model's half-normal noise term, per unit of noise_bps."""
DEFAULT_INITIAL_CASH = Decimal(10_000)
"""Cash a new paper account opens with when ``initial_cash`` is not given (quote currency)."""
_MARGIN_SLACK = Decimal("1.000000001")
"""Relative room a batch keeps below the margin limit for its checks to be skipped (decimal rounding is ~1e-28)."""
RECENT_RESULTS = 1_000
"""Order results kept in memory for ``lookup_order`` (at least this many, at most twice); older ones are found
through the store's fill log."""


def _funding_rate(symbol: str, rate: object) -> Decimal:
    """One funding rate as a Decimal; a boolean, text or non-finite rate is a ``ValueError`` naming the symbol."""
    try:
        if isinstance(rate, bool) or not isinstance(rate, (Real, Decimal)):
            raise TypeError
        r = rate if isinstance(rate, Decimal) else Decimal(repr(float(rate)))
    except (TypeError, ValueError, OverflowError):
        r = Decimal("NaN")
    if not r.is_finite():
        raise ValueError(f"funding rate for {symbol}: expected a finite number, got {rate!r}")
    return r


def _worst_cost(taker_fee: Decimal, slippage: SlippageModel) -> Decimal:
    """The most one fill can cost the equity per unit of its notional at the mid: the taker fee at the worst fill
    price and the slippage, both at the fill model's cap (``max_slippage_bps``; 0 without a model)."""
    cap = Decimal(repr(slippage.max_slippage_bps)) / 10_000 if slippage.active else ZERO
    return abs(taker_fee) * (1 + cap) + cap


def _maintenance_margin(max_leverage: Decimal, given: Decimal | float | str | None) -> Decimal:
    """The perp maintenance margin: ``given`` (below the initial margin ``1 / max_leverage``), or by default half
    the initial margin, as on Hyperliquid."""
    if given is None:
        return default_maintenance_fraction(max_leverage)
    margin: Decimal = checked("maintenance_margin", given)
    initial = 1 / max_leverage
    if not margin < initial:
        raise ValueError(
            f"paper venue maintenance_margin must be below the initial margin 1 / max_leverage = {initial:.6g}, "
            f"got {given}"
        )
    return margin


MarketFeed = Callable[[], tuple[datetime, Mapping[str, float], Mapping[str, float] | None]]


class PaperVenue(Venue):
    """Simulated venue.

    mode: ``PaperMode.PERP`` ("perp": long/short, margin = gross notional / max_leverage) or ``PaperMode.SPOT``
        ("spot": long only, cash never negative).
    initial_cash: quote currency a new account starts with (default 10,000). When the store already holds the
        account, leave it out (None): the stored books go on. Given and different from what the stored account
        was opened with, it is refused (``ValueError`` naming both and the fix), never silently ignored.
    taker_fee: fee as a fraction of notional; overrides the fee of ``rules``.
    rules: per-symbol ``InstrumentRules`` (a mapping or a function); defaults allow any size to 1e-8.
    max_leverage: perp margin limit: gross notional <= equity x max_leverage after every fill.
    maintenance_margin: perp maintenance margin as a fraction of gross notional; when a market update leaves
        equity below it, every position is liquidated (see ``defipm.venues.paper.liquidation``). Default: half the
        initial margin at ``max_leverage``, ``1 / (2 x max_leverage)``, as on Hyperliquid.
    max_price_age: refuse to trade on prices older than this many seconds (None = no check; backtests).
    feed: optional callable returning (timestamp, prices, volumes); ``refresh`` pulls from it.
    """

    name = "paper"
    config_model = PaperParams
    """How a config file's ``[venue.params]`` are checked (see ``defipm.registry``)."""

    def __init__(
        self,
        *,
        initial_cash: Decimal | float | str | None = None,
        mode: PaperMode | str = PaperMode.PERP,
        taker_fee: Decimal | float | str = Decimal("0.00045"),
        slippage: SlippageModel | None = None,
        rules: Mapping[str, InstrumentRules] | Callable[[str], InstrumentRules] | None = None,
        max_leverage: Decimal | float | str = Decimal(3),
        seed: int = 0,
        store: Store | None = None,
        account: str = "paper",
        max_price_age: float | None = None,
        feed: MarketFeed | None = None,
        maintenance_margin: Decimal | float | str | None = None,
    ) -> None:
        self.mode: PaperMode = checked("mode", mode)
        self.allows_shorts = self.mode is PaperMode.PERP
        self._spot = self.mode is PaperMode.SPOT
        self.taker_fee: Decimal = checked("taker_fee", taker_fee)
        self.slippage = slippage or SlippageModel()
        self._slippage_active = self.slippage.active
        self._fill_costs = self.slippage.costs  # bound once: the per-order path calls it for every fill
        self._worst_cost = _worst_cost(self.taker_fee, self.slippage)
        # each phase of a plan comes as one batch (``submit_orders``); a subclass that overrides ``submit_order`` (a
        # fault-injecting test venue) gets one order at a time, so that its override sees every order
        self.batch_orders = type(self).submit_order is PaperVenue.submit_order
        # by default, keep back the fixed slippage so costs never leave the book above its target gross
        self.planner = PlannerConfig(cost_reserve_bps=self.slippage.fixed_bps)
        self._rules = rules
        self.max_leverage: Decimal = checked("max_leverage", max_leverage)
        self.maintenance_margin = _maintenance_margin(self.max_leverage, maintenance_margin)
        self.seed = seed
        self.max_price_age: float | None = checked("max_price_age", max_price_age)
        self.feed = feed
        self.account = account
        self._prices: dict[str, Decimal] = {}
        """Last mark of every symbol ever priced (held symbols are valued at it)."""
        self._quoted: Mapping[str, Decimal] = {}
        """The latest update's prices: the only ones traded at."""
        self._volumes: dict[str, float] = {}
        self._universe: list[str] | None = None
        self.timestamp: datetime | None = None
        self._results: dict[str, OrderResult] = {}
        """Recent results by client order id, oldest first; trimmed to the newest ``RECENT_RESULTS`` in batches
        (deleting a dict's oldest key one at a time gets slower as deleted slots pile up at its front)."""
        self._rules_cache: dict[str, InstrumentRules] = {}
        self._exposure_cache: tuple[Decimal, Decimal] | None = None
        """(marked value, gross notional): kept by the fills that track it, else None until next asked for."""
        self._marks_cache: tuple[dict[str, Decimal], Decimal] | None = None
        """(quantity x mark of each position, their sum): the one marking per change (``_marked_book``)."""
        self.liquidations: list[Liquidation] = []
        """Every liquidation so far, oldest first."""
        self._notices: list[str] = []
        self._book = PaperBook(store, account) if store is not None else None
        self.cash = ZERO
        self.positions: dict[str, Decimal] = {}
        """Signed size by symbol (flat symbols absent)."""
        self.fill_count = 0
        self._open_account(initial_cash)

    def _open_account(self, initial_cash: Decimal | float | str | None) -> None:
        """The account the store holds (its cash, positions and marks), or a new one with ``initial_cash``."""
        loaded = self._book.load() if self._book is not None else None
        if loaded is not None:
            if loaded.mode != self.mode:
                raise ValueError(
                    f"paper account {self.account!r} is stored in {loaded.mode} mode, not {self.mode}: set "
                    f"mode = {loaded.mode!r}, or use another account name (account = ...) for a {self.mode} account"
                )
            self._check_initial_cash(loaded.initial_cash, initial_cash)
            self.cash = loaded.cash
            self.positions = loaded.positions
            self._prices.update(loaded.marks)
            self._exposure_cache = self._marks_cache = None
            self.fill_count = loaded.fill_count
        else:
            cash = checked("initial_cash", DEFAULT_INITIAL_CASH if initial_cash is None else initial_cash)
            self.cash = cash
            self.positions = {}
            self.fill_count = 0
            if self._book is not None:
                self._book.create(cash, self.mode)

    def _check_initial_cash(self, opened_with: Decimal | None, initial_cash: Decimal | float | str | None) -> None:
        """Refuse an ``initial_cash`` other than the stored account's: it would be silently ignored."""
        if initial_cash is None or opened_with is None:
            return
        asked = checked("initial_cash", initial_cash)
        if asked != opened_with:
            raise ValueError(
                f"paper account {self.account!r} is already in the store, opened with {plain(opened_with)} cash; "
                f"initial_cash = {plain(asked)} only opens a new account: remove initial_cash to go on with the "
                "stored books, use another account name (account = ...) to start afresh, or move cash with "
                "`defipm deposit` / `defipm withdraw`"
            )

    @classmethod
    def from_config(cls, config: PaperParams, context: BuildContext | None = None) -> PaperVenue:
        """Build from checked ``[venue.params]`` and the run's store."""
        return cls(**config.venue_kwargs(), store=context.store if context is not None else None)

    # -- market data ----------------------------------------------------------------------------------------
    def update_market(
        self,
        timestamp: datetime,
        prices: Mapping[str, float | Decimal],
        volumes: Mapping[str, float] | None = None,
    ) -> None:
        """Set mid prices (and optional bar volumes in quote currency) as of ``timestamp`` (timezone-aware).

        Symbols absent from ``prices`` leave the universe; held ones keep their last mark for valuation but are
        not traded until a later update prices them again. A price that is not a positive, finite number (NaN, 0,
        a boolean, text, None) refuses the whole update with ``MissingPriceError`` naming it; nothing changes.
        In perp mode, an update that leaves equity below the maintenance margin liquidates every position."""
        new = checked_prices(timestamp, prices)
        vols = checked_volumes(timestamp, volumes)
        self.timestamp = timestamp
        if self._universe is None or new.keys() != self._quoted.keys():  # a backtest's listed set rarely changes
            self._universe = sorted(new)
        self._prices.update(new)
        self._quoted = new
        self._volumes = vols
        self._exposure_cache = self._marks_cache = None
        if not self.positions or self._below_maintenance():
            return
        if self._book is not None:
            self._save_state()  # persist the marks, so a restarted venue (or `defipm status`) values the book right

    def _below_maintenance(self) -> bool:
        """Perp mode: liquidate every position when equity is below the maintenance margin (True if it did)."""
        if self._spot or not self.positions:
            return False
        value, gross = self._exposure()
        equity = self.cash + value
        maintenance = gross * self.maintenance_margin
        if equity < maintenance:
            self._liquidate(equity, maintenance)
            return True
        return False

    def refresh(self) -> None:
        """Pull the next quotes from ``feed`` (when there is one). A feed that fails or answers something that is
        not a price update raises a ``VenueError`` naming the feed; the venue keeps its previous prices."""
        if self.feed is None:
            return
        label = getattr(self.feed, "label", type(self.feed).__name__)
        try:
            ts, prices, volumes = self.feed()
        except DefipmError:
            raise
        except (OSError, TimeoutError) as exc:
            raise VenueUnavailableError(f"price feed {label}: {type(exc).__name__}: {exc}") from None
        except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
            raise MissingPriceError(f"price feed {label}: unreadable answer ({type(exc).__name__}: {exc})") from None
        if not isinstance(prices, Mapping) or not (volumes is None or isinstance(volumes, Mapping)):
            raise MissingPriceError(f"price feed {label}: expected prices and volumes by symbol, got {prices!r}")
        self.update_market(ts, prices, volumes)

    def market_time(self) -> datetime | None:
        return self.timestamp

    def untradable(self) -> dict[str, SkippedOrder]:
        """Held symbols the latest market update did not price: valued at their last mark, never traded at it."""
        quoted = self._quoted
        if self.positions.keys() <= quoted.keys():  # the usual case, checked at C speed
            return {}
        stale = f"no price in the latest market update ({self.timestamp}); its last mark is stale, not traded at"
        return {
            s: SkippedOrder(s, ZERO, SkipReason.STALE_PRICE, f"{s}: {stale}")
            for s, q in self.positions.items()
            if q and s not in quoted
        }

    def pop_notices(self) -> list[str]:
        notices, self._notices = self._notices, []
        return notices

    def get_universe(self) -> list[str]:
        return list(self._universe) if self._universe is not None else sorted(self._prices)

    def get_prices(self) -> dict[str, Decimal]:
        """The latest mark of every listed or held symbol (a held symbol's may be stale: see ``untradable``)."""
        return dict(self._prices)

    def get_positions(self) -> dict[str, Decimal]:
        return {s: q for s, q in self.positions.items() if q}

    def get_cash(self) -> Decimal:
        return self.cash

    def snapshot(self) -> AccountSnapshot:
        """The account with its book marked once per change (see ``_marked_book``)."""
        values, value = self._marked_book()
        return AccountSnapshot.marked(self.cash, self.get_positions(), self.get_prices(), values, value)

    @classmethod
    def account_identity(cls, config: PaperParams) -> str | None:
        """ "paper account '<account>'": its books live in the portfolio's store."""
        return f"paper account {config.account!r}"

    def expected_slippage(self, order: Order) -> Decimal | None:
        """The fill model's slippage on ``order`` at its reference price (else the current quote) and the latest
        bar's volume, with the noise term at its mean (``E|z| = sqrt(2/pi)``), on the notional that would fill;
        quote currency. None for a symbol without a current price."""
        price = order.reference_price or self._quoted.get(order.symbol)
        if price is None:
            return None
        notional = float(order.quantity * price)
        if not self._slippage_active or not notional:
            return ZERO
        filled, slip, _ = self.slippage.costs(notional, self._volumes.get(order.symbol), 0.0, _MEAN_ABS_NORMAL)
        return Decimal(repr(filled * slip))

    def planner_for(self, config: PlannerConfig | None) -> PlannerConfig | None:
        """In spot mode, ``config`` with the cash check on, whoever chose the planner (the manager, a backtest), so
        no plan asks for more cash than the account has after fees and slippage: each order's worst slippage under
        the fill model (``worst_slippage``: spread, impact at its size on the latest bar's volume, noise at its
        limit, within the cap), or none without a fill model. A perp account's ``config`` is returned as is."""
        if not self._spot:
            return config
        base = config or PlannerConfig()
        if base.spot_slippage_cap_bps is not None or base.spot_slippage is not None:
            return base
        if not self._slippage_active:
            return replace(base, spot_slippage_cap_bps=0.0)
        return replace(base, spot_slippage=self._worst_slippage)

    def _worst_slippage(self, order: Order) -> float:
        """The fill model's worst adverse move (a fraction) for ``order`` at its reference price, this bar."""
        price = order.reference_price or self._quoted.get(order.symbol) or ZERO
        return worst_slippage(self.slippage, float(order.quantity * price), self._volumes.get(order.symbol))

    def get_rules(self, symbol: str) -> InstrumentRules:
        cached = self._rules_cache.get(symbol)
        if cached is not None:
            return cached
        if self._rules is None:
            base = InstrumentRules()
        elif callable(self._rules) and not isinstance(self._rules, Mapping):
            base = self._rules(symbol)
        else:
            base = self._rules.get(symbol, InstrumentRules())
        rules = replace(base, taker_fee=self.taker_fee, max_leverage=self.max_leverage)
        self._rules_cache[symbol] = rules
        return rules

    def submit_order(self, order: Order) -> OrderResult:
        try:
            fill = self._fill(order)
        except OrderRejectedError as exc:
            result = OrderResult(order, OrderStatus.REJECTED, error=str(exc))
        else:
            filled, asked = fill.quantity, order.quantity
            result = OrderResult(order, _FILLED if filled is asked or filled == asked else _PARTIAL, (fill,))
        if order.client_order_id:
            self._results[order.client_order_id] = result
        self._trim_results()
        return result

    def submit_orders(self, orders: Sequence[Order]) -> list[OrderResult]:
        """Execute ``orders`` in sequence, as an exchange's batch endpoint does: each is filled or refused exactly as
        ``submit_order`` would (its refusal, or a symbol the venue does not list, is its own result, and the orders
        after it still execute). ``send_intents`` hands over each phase of a plan (its reductions, then its
        increases) as one batch. When no order of the batch can breach the margin whatever its turn
        (``_margin_bound_holds``), the per-order margin check and the exposure it tracks are skipped: none could
        fail, and the exposure is marked afresh when next asked for."""
        checked = not self._margin_bound_holds(orders)
        if not checked and not all(o.reduce_only for o in orders):
            self._exposure_cache = None  # the fills below leave it to be marked afresh (reductions track it)
        fill_one, known = self._fill, self._results
        results: list[OrderResult] = []
        append = results.append
        for order in orders:
            try:
                fill = fill_one(order, checked)
            except OrderRejectedError as exc:
                result = OrderResult(order, OrderStatus.REJECTED, error=str(exc))
            except VenueError as exc:  # a symbol never listed: as ``send_intents`` answers it for a single order
                result = self._failed_send(order, exc)
            else:
                filled, asked = fill.quantity, order.quantity
                result = OrderResult(order, _FILLED if filled is asked or filled == asked else _PARTIAL, (fill,))
            append(result)
            if order.client_order_id:  # known at once: a fault later in the batch is looked up by id
                known[order.client_order_id] = result
        self._trim_results()
        return results

    def _trim_results(self) -> None:
        """Keep the newest ``RECENT_RESULTS`` results for ``lookup_order`` once twice as many are kept (bounded:
        fills also live in the store when there is one)."""
        known = self._results
        if len(known) >= 2 * RECENT_RESULTS:
            self._results = dict(islice(known.items(), len(known) - RECENT_RESULTS, None))

    def _margin_bound_holds(self, orders: Sequence[Order]) -> bool:
        """Whether no order of ``orders`` can be refused for margin, whatever its turn: in perp mode, the gross
        notional after every order that is not reduce-only has filled (each adds at most its size x mid) stays
        within ``max_leverage`` x the equity less every order's worst cost (taker fee and slippage at the fill
        model's cap), with a relative slack far above decimal rounding. A batch of reduce-only orders always
        holds (they add no exposure). Spot mode checks its cash per order instead."""
        if all(o.reduce_only for o in orders):
            return True
        if self._spot or len(orders) < 2:
            return False
        quoted = self._quoted
        added = traded = ZERO
        for o in orders:
            mid = quoted.get(o.symbol)
            if mid is None:
                return False  # its refusal says why; the others are checked one by one
            notional = o.quantity * mid
            traded += notional
            if not o.reduce_only:
                added += notional
        value, gross = self._exposure_cache or self._exposure()
        equity_left = self.cash + value - traded * self._worst_cost
        return (gross + added) * _MARGIN_SLACK <= equity_left * self.max_leverage

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        known = self._results.get(client_order_id)
        if known is not None:
            return known
        if self._book is not None:
            fill = self._book.find_fill(client_order_id)
            if fill is not None:
                order = Order(fill.symbol, fill.side, fill.quantity, client_order_id=client_order_id)
                return OrderResult(order, OrderStatus.FILLED, fills=(fill,))
        return None

    # -- cash flows and funding -----------------------------------------------------------------------------
    def cash_transfers(self) -> CashTransfers:
        """Deposits and withdrawals change the paper account's cash."""
        return self

    def deposit(self, amount: Decimal | float | str) -> Decimal:
        """Add quote currency (a flow: the manager records it so it never counts as profit). Returns new cash."""
        amt = to_decimal(amount)
        if not amt.is_finite() or amt <= 0:
            raise ValueError(f"deposit amount must be positive, got {plain(amount)}")
        self.cash += amt
        self._save_state()
        return self.cash

    def withdraw(self, amount: Decimal | float | str) -> Decimal:
        """Remove quote currency; refuses to take out more than the free margin (or cash in spot mode)."""
        amt = to_decimal(amount)
        if not amt.is_finite() or amt <= 0:
            raise ValueError(f"withdrawal amount must be positive, got {plain(amount)}")
        free = self.withdrawable()
        if amt > free:
            cents = free.quantize(Decimal("0.01"), rounding=ROUND_DOWN)  # an amount that can be withdrawn as shown
            raise InsufficientMarginError(f"withdrawal of {plain(amt)} exceeds withdrawable {plain(cents)}")
        self.cash -= amt
        self._save_state()
        return self.cash

    def withdrawable(self) -> Decimal:
        equity = self.get_equity()
        if self._spot:
            return max(self.cash, ZERO)
        return max(equity - self.margin_used(), ZERO)

    def margin_used(self) -> Decimal:
        return self._exposure()[1] / self.max_leverage

    def apply_funding(self, rates: Mapping[str, float | Decimal]) -> Decimal:
        """Charge one funding period: a long pays ``rate x notional`` (receives when negative). Returns the total.
        A payment that leaves equity below the maintenance margin liquidates the book at once, as a mark would
        (the exchange does not wait for the next price to close an account that funding has drained). A rate that
        is not a finite number (NaN, a boolean, text) raises ``ValueError`` naming its symbol; nothing is charged."""
        if self._spot:
            return ZERO
        checked_rates = {s: _funding_rate(s, rate) for s, rate in rates.items()}  # all checked before any is charged
        total = ZERO
        for s, q in self.positions.items():
            r = checked_rates.get(s)
            if not q or r is None:
                continue
            payment = q * self._prices[s] * r
            self.cash -= payment
            total += payment
        if total and not self._below_maintenance():
            self._save_state()
        return total

    # -- internals ------------------------------------------------------------------------------------------
    def _check_fresh(self) -> None:
        if self.max_price_age is None or self.timestamp is None:
            return
        age = (datetime.now(UTC) - self.timestamp).total_seconds()
        if age > self.max_price_age:
            raise MissingPriceError(f"prices are {age:.0f}s old, above max_price_age {self.max_price_age:.0f}s")

    def _marked_book(self) -> tuple[dict[str, Decimal], Decimal]:
        """(quantity x mark of each position, their sum), marked afresh only after a fill or a price update; a held
        symbol without a mark is a ``MissingPriceError`` naming it."""
        if self._marks_cache is None:
            values = marked_values(self.positions, self._prices)
            self._marks_cache = (values, sum(values.values(), ZERO))
        return self._marks_cache

    def _exposure(self) -> tuple[Decimal, Decimal]:
        """(marked position value, gross notional), cached until prices or positions change other than by a fill
        that tracks it."""
        if self._exposure_cache is None:
            values, value = self._marked_book()
            self._exposure_cache = (value, sum(map(abs, values.values()), ZERO))
        return self._exposure_cache

    def _fillable_mid(self, order: Order) -> Decimal:
        """The mid ``order`` fills around; refuses an unpriced or stale symbol and an order type paper lacks."""
        s = order.symbol
        mid = self._quoted.get(s)
        if mid is None:
            if s in self._prices:  # held or once listed, but not priced by the latest update
                raise OrderRejectedError(
                    f"{s}: no price in the latest market update ({self.timestamp}): not filling at a stale mark",
                    symbol=s,
                )
            raise UnknownSymbolError(f"{s}: not listed on the paper venue (no price)")
        if self.max_price_age is not None:  # never fill on prices the venue itself calls stale
            try:
                self._check_fresh()
            except MissingPriceError as exc:
                raise OrderRejectedError(f"{s}: {exc}", symbol=s) from None
        if order.order_type is _LIMIT or order.order_type is _STOP:
            raise OrderRejectedError(f"{s}: the paper venue only takes market and IOC orders", symbol=s)
        return mid

    def _fill(self, order: Order, margin: bool = True) -> Fill:
        """Fill ``order`` on the books, or refuse it (``OrderRejectedError``). Every order of a backtest comes through
        here: the usual case (a priced symbol, a market order on the size step, no minimum notional) is checked
        inline, anything else by the careful checks that name the problem. ``margin``: check the perp margin
        (False only when the whole batch cannot breach it)."""
        s, qty, buy = order.symbol, order.quantity, order.side is _BUY
        mid = self._quoted.get(s)
        if mid is None or self.max_price_age is not None or order.order_type is _LIMIT or order.order_type is _STOP:
            mid = self._fillable_mid(order)
        current = self.positions.get(s, ZERO)
        if order.reduce_only and (
            not current or (current > ZERO) is buy or qty > (current if current > ZERO else -current)
        ):  # comparisons against the ZERO decimal: an int operand is converted each time
            raise OrderRejectedError(
                f"{s}: reduce-only {order.side.value} {plain(qty)} would not reduce position {plain(current)}", symbol=s
            )
        if self._spot and not buy and qty > current:
            raise OrderRejectedError(
                f"{s}: spot mode forbids shorts (position {plain(current)}, sell {plain(qty)})", symbol=s
            )
        rules = self._rules_cache.get(s) or self.get_rules(s)
        try:
            off_step = qty % rules.size_step
        except InvalidOperation:  # beyond 28 digits of steps: the careful check refuses it
            off_step = qty
        if off_step or rules.min_notional:  # a close may be off the step; any minimum notional is checked there
            self._check_rules(s, qty, mid, current, buy)
        price = mid
        if self._slippage_active:
            qty, price = self._model_fill(s, qty, mid, buy)
        limit = order.limit_price
        if limit is not None and order.order_type is _LIMIT_IOC and (price > limit if buy else price < limit):
            raise OrderRejectedError(
                f"{s}: IOC limit {plain(limit)} not reachable (fill would be {plain(price, 8)})", symbol=s
            )
        notional = qty * price
        fee = notional * self.taker_fee
        cash_after = (self.cash - notional if buy else self.cash + notional) - fee
        new_position = current + qty if buy else current - qty
        exposure = None
        if self._spot:
            if cash_after < ZERO:
                raise InsufficientMarginError(
                    f"{s}: buying {plain(qty)} needs {plain((notional if buy else -notional) + fee, 12)}, cash is "
                    f"{plain(self.cash, 12)}",
                    symbol=s,
                )
        elif margin:
            at_mid = notional if price is mid else qty * mid
            exposure = self._margin_after(order, qty, mid, at_mid, current, new_position, cash_after)
        elif order.reduce_only and self._exposure_cache is not None:  # a batch of reductions: the gross falls by it
            at_mid = notional if price is mid else qty * mid
            value, gross = self._exposure_cache
            exposure = (value + at_mid if buy else value - at_mid, gross - at_mid)
        fill = Fill(s, order.side, qty, price, fee, order.client_order_id, self.timestamp)
        self._book_fill(fill, cash_after, new_position, mid, exposure)
        return fill

    def _margin_after(
        self,
        order: Order,
        qty: Decimal,
        mid: Decimal,
        at_mid: Decimal,
        current: Decimal,
        new_position: Decimal,
        cash_after: Decimal,
    ) -> tuple[Decimal, Decimal]:
        """(marked value, gross notional) after ``qty`` of ``order`` fills (``at_mid``: ``qty`` x ``mid``); refuses
        it when it adds exposure (a close or a reduction is always allowed) beyond ``max_leverage`` x the equity
        left after it."""
        value, gross = self._exposure_cache or self._exposure()
        value_after = value + at_mid if order.side is _BUY else value - at_mid  # exactly ``value + signed * mid``
        abs_current = current if current >= ZERO else -current
        abs_new = new_position if new_position >= ZERO else -new_position
        gross_after = gross + (abs_new - abs_current) * mid
        if (abs_new > abs_current or (new_position and (current > ZERO) != (new_position > ZERO))) and (
            gross_after > (cash_after + value_after) * self.max_leverage
        ):
            self._refuse_margin(order, qty, gross_after, cash_after + value_after)
        return value_after, gross_after

    def _refuse_margin(self, order: Order, qty: Decimal, gross_after: Decimal, equity_after: Decimal) -> None:
        """The refusal of an order that adds exposure beyond ``max_leverage`` x the equity left after its fee."""
        raise InsufficientMarginError(
            f"{order.symbol}: {order.side.value} {plain(qty)} needs margin for gross notional {gross_after:.2f}, "
            f"above max_leverage {plain(self.max_leverage)} x the equity left after its fee ({equity_after:.2f})",
            symbol=order.symbol,
        )

    def _check_rules(self, s: str, qty: Decimal, mid: Decimal, current: Decimal, buy: bool) -> None:
        """Refuse, as an exchange would, an order off the symbol's size step or below its minimum notional. An order
        that closes the whole position may be off the step (a position left by other rules); it is held to the
        minimum notional only when ``min_notional_on_close``."""
        rules = self.get_rules(s)
        closes = bool(current) and (current > 0) != buy and qty == abs(current)
        try:
            off_step = not closes and qty % rules.size_step != 0
        except InvalidOperation:  # more steps than 28 digits hold: no exchange takes such an order
            off_step = True
        if off_step:
            raise OrderRejectedError(
                f"{s}: size {plain(qty)} is not a multiple of the size step {plain(rules.size_step)}", symbol=s
            )
        if qty * mid < rules.min_notional and (not closes or rules.min_notional_on_close):
            raise OrderRejectedError(
                f"{s}: notional {plain(qty * mid, 12)} is below the minimum notional {plain(rules.min_notional)}",
                symbol=s,
            )

    def _model_fill(self, s: str, qty: Decimal, mid: Decimal, buy: bool) -> tuple[Decimal, Decimal]:
        """(quantity that fills, fill price) under the fill model. Refuses an order of which nothing fills, and
        any price that is not positive and finite, whatever model produced it."""
        rng = self._rng()
        notional = float(qty * mid)
        volume = self._volumes.get(s)
        filled, slip, _ = self._fill_costs(notional, volume, 0.0, noise_draw(rng) if rng is not None else 0.0)
        if not filled >= 0.0 or not 0.0 <= slip < 1.0:  # also true for NaN: a fill price <= 0 or not finite
            raise OrderRejectedError(
                f"{s}: the fill model answered filled {filled!r}, slippage {slip!r}: the fill price would not be "
                f"a positive, finite price (mid {mid})",
                symbol=s,
            )
        if filled < notional:
            qty = self.get_rules(s).round_size(qty * Decimal(repr(filled / notional)))
            if not qty:
                raise OrderRejectedError(
                    f"{s}: nothing fills: max_participation {self.slippage.max_participation} of the bar's volume "
                    f"({volume if volume is not None else 'unknown'}) is below one size step",
                    symbol=s,
                )
        move = Decimal(repr(slip))  # 0 <= move < 1 (checked above): the price is positive and finite
        return qty, (mid * (1 + move) if buy else mid * (1 - move))

    def _book_fill(
        self,
        fill: Fill,
        cash_after: Decimal,
        new_position: Decimal,
        mid: Decimal,
        exposure: tuple[Decimal, Decimal] | None,
    ) -> None:
        """Apply one fill to the books (and the store's fill log, in one transaction); ``exposure``: the (marked
        value, gross notional) after it, or None to mark them afresh when next asked for."""
        s = fill.symbol
        self.cash = cash_after
        if new_position:
            self.positions[s] = new_position
        else:
            self.positions.pop(s, None)
        self._exposure_cache = exposure
        self._marks_cache = None
        self.fill_count += 1
        if self._book is not None:
            self._book.save_fill(fill, cash_after, new_position, mid, self.fill_count)

    def _liquidate(self, equity: Decimal, maintenance: Decimal) -> None:
        """Close every position at its mark (fill model slippage without the participation cap, taker fee)."""
        model = replace(self.slippage, max_participation=None)
        fills = []
        for s in sorted(self.positions):
            q = self.positions[s]
            if not q:
                continue
            mid = self._prices[s]
            slip = model.costs(float(abs(q) * mid), self._volumes.get(s)).slippage if model.active else 0.0
            move = Decimal(repr(slip))
            buy = q < 0
            price = mid * (1 + move) if buy else mid * (1 - move)
            fee = abs(q) * price * self.taker_fee
            cash_after = self.cash + q * price - fee
            cloid = f"{LIQUIDATION_ID_PREFIX}{self.fill_count + 1}"
            fill = Fill(s, Side.BUY if buy else Side.SELL, abs(q), price, fee, cloid, self.timestamp)
            self._book_fill(fill, cash_after, ZERO, mid, (ZERO, ZERO))
            fills.append(fill)
        shortfall = -self.cash if self.cash < 0 else ZERO
        if shortfall:
            self.cash = ZERO
        self._exposure_cache = None
        event = Liquidation(self.timestamp, equity, maintenance, tuple(fills), shortfall)
        self.liquidations.append(event)
        self._notices.append(event.describe())
        self._save_state()

    def _rng(self) -> random.Random | None:
        if not self.slippage.noise_bps:
            return None
        return random.Random(f"{self.seed}:{self.fill_count}")

    def _save_state(self) -> None:
        if self._book is not None:
            self._book.save_state(self.cash, self.positions, self._prices, self.fill_count)
