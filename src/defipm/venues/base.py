"""The venue interface (the design's "DEX interface") and the rebalance it runs through the core planner.

A venue implements a handful of narrow primitives: market state (``get_universe``, ``get_prices``,
``get_positions``, ``get_cash``, ``get_rules``), one order (``submit_order``) and one lookup by client order id
(``lookup_order``). Everything else (``set_portfolio_weights``, ``execute_trade``) is built here on top of them,
once, so every venue plans and journals orders the same way.

Rules every venue gets from here, whoever calls it:
- prices older than ``max_price_age`` are refreshed before anything is planned or sent, and refused (a
  ``MissingPriceError``) if the refresh does not bring them back within it;
- symbols the venue calls ``untradable`` (e.g. held, but with no fresh price) keep their positions and are reported
  as skipped, never traded at a stale price;
- once an order of a rebalance fails, every later order that would raise exposure is re-checked on the book that
  actually resulted (``defipm.core.exposure``) and held back if it relied on the failed one;
- an exception from the venue's own code while sending (not a ``VenueError``) ends the send: that order is looked
  up by client order id (UNKNOWN if the venue cannot say), and the orders after it are cancelled, never sent.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from operator import attrgetter
from typing import Any, Protocol

from defipm.component import Configurable
from defipm.core.account import AccountSnapshot
from defipm.core.amounts import finite_positive, format_amount, to_decimal
from defipm.core.errors import MissingPriceError, OrderRejectedError, UnknownSymbolError, VenueError
from defipm.core.exposure import ExposureGuard
from defipm.core.instruments import InstrumentRules
from defipm.core.journal import MemoryJournal, OrderJournal
from defipm.core.names import unlisted
from defipm.core.orders import Order, OrderResult, OrderStatus, OrderType, Plan, Side, SkippedOrder, SkipReason
from defipm.core.planner import PlannerConfig, plan_rebalance
from defipm.core.reports import RebalanceReport
from defipm.core.weights import Weights

logger = logging.getLogger(__name__)

_FILLED = OrderStatus.FILLED
_status = attrgetter("status")
_SENT_ALL, _FAILED, _STOPPED = object(), object(), object()
"""How a run of sends ended (``Venue.send_intents``): every order filled, one did not, or a fault stopped it."""
ZERO = Decimal(0)
DEFAULT_MAX_PRICE_AGE = 60.0
"""Seconds a venue's cached market data may be old before it is refreshed (venues that read live ignore it)."""
HALTED_SKIP = "halted: only risk-reducing orders are sent"


class CashTransfers(Protocol):
    """Deposits into and withdrawals from a venue's account through defipm, in quote currency.

    A venue that takes them returns an implementation from ``Venue.cash_transfers`` (the paper venue: its own
    cash; Hyperliquid: USDC between the spot and perp balances). Both take a positive ``amount``; a refusal raises
    a ``DefipmError`` (``InsufficientMarginError`` for more than is withdrawable) and moves nothing."""

    def deposit(self, amount: Decimal) -> object:
        """Add ``amount`` to the account; returns the venue's record of it."""
        ...

    def withdraw(self, amount: Decimal) -> object:
        """Take ``amount`` out of the account; returns the venue's record of it."""
        ...


class Venue(Configurable, ABC):
    """Where orders are executed. Subclasses implement the abstract primitives below."""

    name: str = "venue"
    allows_shorts: bool = True
    """False for spot venues: the planner's targets must be long-only there."""
    fills_by_size: bool = True
    """A FILLED answer means the order's whole quantity filled: when a lookup finds an order by its fills alone,
    fewer than the journal's intent asked for is a partial fill. False for a venue whose orders are sized in value
    (a swap's buy spends a planned amount of the base; the tokens it gets differ from the planned quantity)."""
    stop_on_failure: bool = False
    """Stop a rebalance at the first failed order instead of continuing with the rest."""
    batch_orders: bool = False
    """True for a venue that sends each phase of a plan (a run of reductions, then one of increases) as one
    request (``submit_orders``); False sends one order at a time (``submit_order``)."""
    planner: PlannerConfig | None = None
    """The venue's default planner settings, used when a rebalance is given none."""
    max_price_age: float | None = DEFAULT_MAX_PRICE_AGE
    """Seconds the market data behind ``market_time`` may be old before planning or sending refreshes it (None:
    no check). Only venues that cache their market data (``market_time`` not None) are affected."""

    # -- lifecycle -----------------------------------------------------------------------------------------
    def connect(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        additional_params: Mapping[str, Any] | None = None,
    ) -> None:
        """Open connections / load credentials. Venues that need nothing accept and ignore the arguments.
        ``additional_params={"read_only": True}``: the caller only reads (status, listings), so a venue may connect
        without a signing key."""

    def refresh(self) -> None:
        """Bring cached market and account state up to date; the manager calls it once at the start of a cycle."""

    def market_time(self) -> datetime | None:
        """When the venue's cached market data was read (or the time it is stamped with), timezone-aware; None
        for a venue that reads prices live on every call."""
        return None

    def ensure_fresh_prices(self) -> bool:
        """Refresh when the market data is older than ``max_price_age``; True when it refreshed. Raises
        ``MissingPriceError`` when it is still too old after the refresh (the source has stopped updating)."""
        limit = self.max_price_age
        if limit is None:
            return False
        stamp = self.market_time()
        if stamp is None or (datetime.now(UTC) - stamp).total_seconds() <= limit:
            return False
        self.refresh()
        stamp = self.market_time()
        age = (datetime.now(UTC) - stamp).total_seconds() if stamp is not None else 0.0
        if age > limit:
            raise MissingPriceError(
                f"{self.name}: prices are {age:.0f}s old, above max_price_age {limit:.0f}s, even after a refresh"
            )
        return True

    @classmethod
    def account_identity(cls, config: Any) -> str | None:
        """The account a venue built from checked ``config`` trades, as people name it ("paper account 'main'"),
        when the portfolio's store must tie it to one run before the venue is built (``Store.bind_account``: a
        run's cycles, equity peak and journal belong to one account, and two runs must not trade one account);
        None when there is nothing to tie."""
        return None

    def connected_account(self) -> str | None:
        """The account the connected venue trades, as people name it ("hyperliquid testnet account 0x..."), when
        only connecting tells (a key's address): the portfolio ties its run to it after connecting, before anything
        is sent, as it does with ``account_identity`` before building. None when there is nothing more to tie (the
        default) or before ``connect``."""
        return None

    def untradable(self) -> dict[str, SkippedOrder]:
        """Symbols that cannot be traded now, each with the skip it is reported as (e.g. held, but with no fresh
        price: ``SkipReason.STALE_PRICE``). Plans leave their positions as they are."""
        return {}

    def cash_transfers(self) -> CashTransfers | None:
        """How money moves into and out of the account through defipm, or None where it does not (the default)."""
        return None

    def pop_notices(self) -> list[str]:
        """What the venue did on its own since the last call (e.g. a liquidation), one line each; the manager
        puts them in the cycle report."""
        return []

    # -- market and account state -------------------------------------------------------------------------
    @abstractmethod
    def get_universe(self) -> list[str]:
        """Symbols that can be traded now."""

    @abstractmethod
    def get_prices(self) -> dict[str, Decimal]:
        """Mid prices in quote currency for every symbol of the universe (and every held symbol)."""

    @abstractmethod
    def get_positions(self) -> dict[str, Decimal]:
        """Signed position sizes in base units (negative = short); flat symbols may be omitted."""

    @abstractmethod
    def get_cash(self) -> Decimal:
        """Quote-currency balance in the "cash + marked positions" convention (see ``AccountSnapshot``)."""

    @abstractmethod
    def get_rules(self, symbol: str) -> InstrumentRules:
        """Trading rules of one symbol. Raises ``UnknownSymbolError`` for a symbol the venue does not list."""

    def get_equity(self) -> Decimal:
        return self.snapshot().equity

    def snapshot(self) -> AccountSnapshot:
        return AccountSnapshot(cash=self.get_cash(), positions=self.get_positions(), prices=self.get_prices())

    # -- orders ---------------------------------------------------------------------------------------------
    @abstractmethod
    def submit_order(self, order: Order) -> OrderResult:
        """Send one order and return its outcome. Refusals return a REJECTED result or raise
        ``OrderRejectedError``; a transport failure raises ``VenueUnavailableError`` (outcome unknown)."""

    @abstractmethod
    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        """What the venue knows about an order by client order id, or None if it never saw it."""

    def submit_orders(self, orders: Sequence[Order]) -> list[OrderResult]:
        """Send ``orders`` as one request (venues with ``batch_orders``) and return one result per order, in
        order. A refusal of the whole request raises ``OrderRejectedError`` (every order rejected); a transport
        failure raises ``VenueUnavailableError`` (every outcome unknown until looked up by client order id)."""
        raise NotImplementedError(f"{self.name} sends one order at a time (batch_orders is False)")

    # -- hooks around a rebalance (defaults: nothing to do) ----------------------------------------------------
    def before_rebalance(self, journal: OrderJournal) -> bool:
        """Bring the account to a state a plan can start from, before it is read for planning (e.g. cancel the
        orders an earlier run left resting, recording their outcome in ``journal``). True when the account
        changed (a snapshot read before is stale)."""
        return False

    def prepare_orders(self, orders: Sequence[Order]) -> dict[str, str]:
        """Get the account ready for ``orders`` before anything is sent (e.g. set leverage): planning has no side
        effects, this step may. Returns the symbols that cannot be traded now, with the reason: their orders are
        not sent and their positions stay as they are."""
        return {}

    def expected_slippage(self, order: Order) -> Decimal | None:
        """The slippage ``order`` is expected to cost, quote currency, as this venue's cost model sees it now (for
        plans shown before sending); None when the venue has no model of it (the plan then shows what the planner
        reserves for slippage)."""
        return None

    def protective_orders(self) -> list[Order]:
        """Orders that guard the book as it stands after a rebalance (e.g. exchange stop losses), journalled and
        sent after the plan's orders."""
        return []

    def find_order(self, client_order_id: str) -> OrderResult | None:
        """``lookup_order`` under the venue-error contract, for whoever must ask (a send whose outcome is unknown,
        the journal's reconciliation): an exception from the venue's own code that is not a ``VenueError`` (a
        bug, an untranslated library error such as a ``KeyError`` on an odd answer) becomes a ``VenueError``
        naming it, so the order's outcome stays unknown and the cycle fails instead of the loop."""
        try:
            return self.lookup_order(client_order_id)
        except VenueError:
            raise
        except Exception as exc:
            raise VenueError(
                f"unexpected {type(exc).__name__} from {self.name} while looking up order {client_order_id}: {exc}"
            ) from exc

    def execute_trade(
        self,
        symbol: str,
        quantity: Decimal | float | int | str,
        order_type: OrderType | str = OrderType.MARKET,
        *,
        limit_price: Decimal | float | str | None = None,
        reduce_only: bool = False,
        journal: OrderJournal | None = None,
    ) -> OrderResult:
        """Trade ``quantity`` (signed: positive buys, negative sells) of ``symbol``, journalled like a rebalance."""
        qty = to_decimal(quantity, f"{symbol}: quantity")
        if not qty.is_finite() or not qty:
            raise ValueError(f"{symbol}: quantity must be a finite, non-zero number, got {quantity!r}")
        limit = finite_positive(limit_price, f"{symbol}: limit price") if limit_price is not None else None
        order_type = OrderType(order_type)
        self.ensure_fresh_prices()
        if symbol not in self.get_universe() and symbol not in self.get_positions():
            raise UnknownSymbolError(unlisted(symbol, self.name, self.get_universe()))
        rules = self.get_rules(symbol)
        size = rules.round_size(abs(qty))
        if not size:
            raise OrderRejectedError(
                f"{symbol}: quantity {format_amount(qty)} rounds to zero at size step {format_amount(rules.size_step)}",
                symbol=symbol,
            )
        order = Order(
            symbol=symbol,
            side=Side.of(qty),
            quantity=size,
            order_type=order_type,
            limit_price=limit,
            reduce_only=reduce_only,
            reference_price=self.get_prices().get(symbol),
        )
        refused = self.prepare_orders([order])
        if symbol in refused:
            raise OrderRejectedError(f"{symbol}: {refused[symbol]}", symbol=symbol)
        results, _ = self.execute_orders([order], journal or MemoryJournal())
        return results[0]

    # -- rebalancing ----------------------------------------------------------------------------------------
    def plan(
        self,
        weights: Weights,
        config: PlannerConfig | None = None,
        snapshot: AccountSnapshot | None = None,
        client_order_id: Callable[[], str] | None = None,
    ) -> tuple[AccountSnapshot, Plan]:
        """The orders ``set_portfolio_weights`` would send now. Planning sends nothing and changes nothing at the
        venue (it refreshes market data older than ``max_price_age``, as sending would); a venue's override must
        keep it so. Positions in ``untradable`` symbols are left as they are (reported as skipped)."""
        if self.ensure_fresh_prices():
            snapshot = None
        snap = snapshot if snapshot is not None else self.snapshot()
        blocked = self.untradable()
        positions: Mapping[str, Decimal] = snap.positions
        if blocked:
            positions = {s: q for s, q in positions.items() if s not in blocked}
            weights = Weights({s: w for s, w in weights.items() if s not in blocked})
        plan = plan_rebalance(
            positions,
            snap.prices,
            snap.equity,
            weights,
            self.get_rules,
            self.planner_for(config or self.planner),
            client_order_id,
        )
        if blocked:
            kept = tuple(blocked[s] for s in sorted(blocked))
            plan = Plan(plan.orders, kept + plan.skipped)
        return snap, plan

    def planner_for(self, config: PlannerConfig | None) -> PlannerConfig | None:
        """``config`` with what this venue's account demands of every plan (a spot venue: buys that fit its cash
        after fees and its slippage cap); ``config`` itself by default."""
        return config

    def set_portfolio_weights(
        self,
        weights: Weights | Mapping[str, float],
        *,
        planner: PlannerConfig | None = None,
        journal: OrderJournal | None = None,
        cycle_id: str | None = None,
        snapshot: AccountSnapshot | None = None,
        reduce_only: bool = False,
    ) -> RebalanceReport:
        """Rebalance to ``weights`` (signed fractions of equity): plan with the venue's rules, journal, execute.

        ``snapshot`` may pass the account state the caller has just read, to save reading it again.
        ``reduce_only`` sends only the orders that reduce a position (a halted book); the others are skipped."""
        target = weights if isinstance(weights, Weights) else Weights(weights)
        journal = journal or MemoryJournal()
        if self.before_rebalance(journal):
            snapshot = None
        if self.ensure_fresh_prices():  # also for venues whose own ``plan`` does not ask
            snapshot = None
        before, plan = self.plan(target, planner, snapshot, journal.ids)
        if reduce_only:
            kept = tuple(o for o in plan.orders if o.reduce_only)
            dropped = tuple(
                SkippedOrder(o.symbol, o.signed_quantity, SkipReason.HALTED, HALTED_SKIP)
                for o in plan.orders
                if not o.reduce_only
            )
            plan = Plan(kept, plan.skipped + dropped)
        plan = self._prepared(plan)
        results, stopped = self.execute_orders(plan.orders, journal, cycle_id=cycle_id)
        if not stopped:
            protective = self.protective_orders()
            if protective:
                guards, stopped = self.execute_orders(protective, journal, cycle_id=cycle_id)
                results += guards
        after = self.snapshot()
        report = RebalanceReport(
            target=target,
            before=before,
            after=after,
            results=tuple(results),
            skipped=plan.skipped,
            stopped_early=stopped,
        )
        if logger.isEnabledFor(logging.INFO):
            _log_rebalance(self.name, report)
        return report

    def _prepared(self, plan: Plan) -> Plan:
        """``plan`` without the orders of symbols ``prepare_orders`` refused (each reported as skipped)."""
        refused = self.prepare_orders(plan.orders) if plan.orders else {}
        if not refused:
            return plan
        kept = tuple(o for o in plan.orders if o.symbol not in refused)
        dropped = tuple(
            SkippedOrder(o.symbol, o.signed_quantity, SkipReason.LEVERAGE_REFUSED, refused[o.symbol])
            for o in plan.orders
            if o.symbol in refused
        )
        return Plan(kept, plan.skipped + dropped)

    rebalance_portfolio = set_portfolio_weights
    """The design's original name for ``set_portfolio_weights``."""

    def execute_orders(
        self, orders: Sequence[Order], journal: OrderJournal, *, cycle_id: str | None = None
    ) -> tuple[list[OrderResult], bool]:
        """Journal every intent, then send them in order. Returns the results and whether it stopped early."""
        intents = journal.record_intents(orders, cycle_id)
        return self.send_intents(intents, journal)

    def send_intents(self, intents: Sequence[Order], journal: OrderJournal) -> tuple[list[OrderResult], bool]:
        """Send already-journalled intents (each has a client order id) in order; used after a restart too.
        Returns the results (one per intent) and whether it stopped before sending them all.

        A venue with ``batch_orders`` gets each phase (a run of reductions, or of increases) in one request; once
        an order has failed, the rest go one at a time, each re-checked on the book that resulted."""
        results: list[OrderResult] = []
        guard: ExposureGuard | None = None
        debug = logger.isEnabledFor(logging.DEBUG)
        start = 0
        while start < len(intents):
            if guard is None and not self.batch_orders:  # the usual case: one at a time until one fails
                start, outcome = self._send_in_turn(intents, start, journal, results, debug)
            else:
                group = self._next_group(intents, start, single=guard is not None)
                start += len(group)
                to_send = self._held_back(group, guard, journal, results)
                if not to_send:
                    continue
                outcome = self._send_group(to_send, intents[start:], journal, results, debug)
                if guard is not None and outcome is not _STOPPED:
                    for result in results[len(results) - len(to_send) :]:
                        guard.record(result)
            if outcome is _STOPPED:
                return results, True
            if outcome is _FAILED:
                if self.stop_on_failure:
                    return results, len(results) < len(intents)
                if guard is None:
                    guard = self._exposure_guard(intents, results)
        return results, False

    def _send_in_turn(
        self, intents: Sequence[Order], start: int, journal: OrderJournal, results: list[OrderResult], debug: bool
    ) -> tuple[int, object]:
        """Send ``intents[start:]`` one at a time (``submit_order``) until one does not fill. Returns the index after
        the last order sent and ``_SENT_ALL``, ``_FAILED`` (the last one did not fill) or ``_STOPPED`` (a fault in
        the venue's own code: that order looked up, the rest cancelled). One tight loop: a backtest sends every
        order of every rebalance through it."""
        mark_sent, record_result, submit, append = (
            journal.mark_sent,
            journal.record_result,
            self.submit_order,
            results.append,
        )
        for i in range(start, len(intents)):
            order = intents[i]
            assert order.client_order_id is not None
            mark_sent(order.client_order_id)
            if debug:
                logger.debug("%s: order %s sent: %s", self.name, order.client_order_id, _order_text(order))
            try:
                result = submit(order)
            except VenueError as exc:
                result = self._failed_send(order, exc)
            except Exception as exc:  # a fault in the venue's own code: stop sending, ask about this order
                self._stop_after_fault([order], exc, intents[i + 1 :], journal, results)
                return i + 1, _STOPPED
            record_result(result)
            append(result)
            if debug:
                _log_result(self.name, result)
            if result.status is not _FILLED:
                return i + 1, _FAILED
        return len(intents), _SENT_ALL

    def _send_group(
        self,
        to_send: Sequence[Order],
        rest: Sequence[Order],
        journal: OrderJournal,
        results: list[OrderResult],
        debug: bool,
    ) -> object:
        """Send ``to_send`` (one order, or a batch) and record the results; ``_SENT_ALL``, ``_FAILED`` (some order
        did not fill) or ``_STOPPED`` (a fault in the venue's own code: those orders looked up, ``rest`` cancelled)."""
        for order in to_send:
            assert order.client_order_id is not None
            journal.mark_sent(order.client_order_id)
            if debug:
                logger.debug("%s: order %s sent: %s", self.name, order.client_order_id, _order_text(order))
        try:
            outcome = self._submit_group(to_send)
        except Exception as exc:  # a fault in the venue's own code: stop sending, ask about these orders
            self._stop_after_fault(to_send, exc, rest, journal, results)
            return _STOPPED
        for result in outcome:
            journal.record_result(result)
            results.append(result)
            if debug:
                _log_result(self.name, result)
        return _SENT_ALL if all(map(_FILLED.__eq__, map(_status, outcome))) else _FAILED

    def _stop_after_fault(
        self,
        sent: Sequence[Order],
        exc: Exception,
        rest: Sequence[Order],
        journal: OrderJournal,
        results: list[OrderResult],
    ) -> None:
        """After ``exc`` from the venue's own code while sending ``sent``: each of them looked up by client order id
        (``_faulted_send``), and ``rest`` cancelled, never sent."""
        for order in sent:
            faulted = self._faulted_send(order, exc)
            journal.record_result(faulted)
            results.append(faulted)
        self._cancel_rest(rest, f"not sent: the {sent[-1].symbol} order before it failed", journal, results)

    def _next_group(self, intents: Sequence[Order], start: int, *, single: bool) -> Sequence[Order]:
        """The orders sent together from ``start``: one, or for a batching venue the run of orders with the same
        ``reduce_only`` (a phase of the plan)."""
        if single or not self.batch_orders:
            return intents[start : start + 1]
        end = start + 1
        phase = intents[start].reduce_only
        while end < len(intents) and intents[end].reduce_only == phase:
            end += 1
        return intents[start:end]

    @staticmethod
    def _held_back(
        group: Sequence[Order], guard: ExposureGuard | None, journal: OrderJournal, results: list[OrderResult]
    ) -> list[Order]:
        """The orders of ``group`` the guard lets through; the others are recorded as cancelled with its reason."""
        if guard is None:
            return list(group)
        kept = []
        for order in group:
            reason = guard.hold_back(order)
            if reason is None:
                kept.append(order)
                continue
            held = OrderResult(order, OrderStatus.CANCELLED, error=f"{order.symbol}: {reason}")
            journal.record_result(held)
            results.append(held)
        return kept

    def _submit_group(self, orders: Sequence[Order]) -> list[OrderResult]:
        """One result per order of ``orders`` (sent alone, or as one batch). A venue error becomes each order's
        result (looked up by client order id unless it was a refusal); any other exception propagates."""
        if len(orders) == 1 and not self.batch_orders:
            try:
                return [self.submit_order(orders[0])]
            except VenueError as exc:
                return [self._failed_send(orders[0], exc)]
        try:
            outcome = self.submit_orders(orders)
        except VenueError as exc:
            return [self._failed_send(order, exc) for order in orders]
        if len(outcome) != len(orders):
            raise RuntimeError(f"{self.name}: {len(outcome)} results for a batch of {len(orders)} orders")
        return outcome

    def _exposure_guard(self, intents: Sequence[Order], results: Sequence[OrderResult]) -> ExposureGuard:
        """The guard for the rest of a plan after a failure, on the account as it is now; when the account
        cannot be read, one that lets only reduce-only orders through."""
        try:
            return ExposureGuard(intents, results, self.get_positions(), self.get_prices())
        except VenueError as exc:
            return ExposureGuard.blind(f"the account could not be read to re-check exposure ({exc})")

    def _cancel_rest(
        self, intents: Sequence[Order], reason: str, journal: OrderJournal, results: list[OrderResult]
    ) -> None:
        """Record never-sent intents as cancelled (final: a restart does not send them)."""
        for order in intents:
            cancelled = OrderResult(order, OrderStatus.CANCELLED, error=f"{order.symbol}: {reason}")
            journal.record_result(cancelled)
            results.append(cancelled)

    def _faulted_send(self, order: Order, exc: Exception) -> OrderResult:
        """The result of an order whose ``submit_order`` raised something other than a ``VenueError``: a bug or
        an untranslated library error, after which the order may or may not have reached the venue. It is looked
        up by client order id at once (never resent blind); UNKNOWN if the venue cannot say."""
        error = f"{order.symbol}: unexpected {type(exc).__name__} from {self.name} while sending: {exc}"
        try:
            known = self.find_order(order.client_order_id) if order.client_order_id else None
        except VenueError:  # the venue cannot answer either: the outcome stays unknown
            known = None
        if known is not None and known.status is not OrderStatus.UNKNOWN:
            return known.for_intent(order, by_size=self.fills_by_size)
        return OrderResult(order, OrderStatus.UNKNOWN, error=error)

    def _failed_send(self, order: Order, exc: VenueError) -> OrderResult:
        """The result of an order whose ``submit_order`` raised. A refusal is final; any other venue error (a
        timeout, an answer that cannot be read) leaves the outcome unknown until the venue says otherwise."""
        if isinstance(exc, OrderRejectedError):
            return OrderResult(order, OrderStatus.REJECTED, error=str(exc))
        # The order may or may not have reached the venue: ask by client order id before anything else.
        try:
            known = self.find_order(order.client_order_id) if order.client_order_id else None
        except VenueError:
            known = None
        if known is not None:
            return known.for_intent(order, by_size=self.fills_by_size)
        return OrderResult(order, OrderStatus.UNKNOWN, error=f"{order.symbol}: {exc}")


DEXInterface = Venue
"""The design's name for a venue."""


def _order_text(order: Order) -> str:
    """``SOL buy 0.5 (reduce-only)``: an order as the log names it."""
    text = f"{order.symbol} {order.side.value} {format_amount(order.quantity)}"
    return f"{text} (reduce-only)" if order.reduce_only else text


def _log_result(venue: str, result: OrderResult) -> None:
    """One order's outcome at DEBUG: filled (size and average price) or not (status and the venue's reason)."""
    order = result.order
    if result.fills:
        price = result.average_price
        logger.debug(
            "%s: order %s %s: %s filled %s at %s",
            venue,
            order.client_order_id,
            result.status.value,
            _order_text(order),
            format_amount(result.filled_quantity),
            format_amount(price) if price is not None else "-",
        )
    else:
        logger.debug(
            "%s: order %s %s: %s: %s",
            venue,
            order.client_order_id,
            result.status.value,
            _order_text(order),
            result.error,
        )


def _log_rebalance(venue: str, report: RebalanceReport) -> None:
    """The rebalance's INFO summary: orders by status and skips (WARNING when an order failed or is unknown)."""
    counts: dict[str, int] = {}
    for r in report.results:
        counts[r.status.value] = counts.get(r.status.value, 0) + 1
    statuses = ", ".join(f"{n} {status}" for status, n in sorted(counts.items())) or "none"
    ok = all(r.status is OrderStatus.FILLED for r in report.results)
    logger.log(
        logging.INFO if ok else logging.WARNING,
        "%s: rebalance sent %d orders (%s), %d skipped%s",
        venue,
        len(report.results),
        statuses,
        len(report.skipped),
        ", stopped early" if report.stopped_early else "",
    )
