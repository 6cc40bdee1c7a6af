"""``HyperliquidVenue``: Hyperliquid perpetuals behind defipm's ``Venue`` interface.

State is read once per cycle (``refresh``: ``meta``, ``allMids``, ``clearinghouseState``) and again lazily after
any order. Positions are signed from ``szi`` (``positionValue`` is unsigned); cash follows the "cash + marked
positions" convention, ``accountValue - sum(szi * mid)``, so equity equals Hyperliquid's ``accountValue``.

Planning is the core planner with Hyperliquid's rules (see ``rules.py``) plus three venue-specific steps:
coins that are delisted, unlisted or missing from ``allMids`` are skipped with a reason; a flip whose closing leg
is under $10 becomes one order through zero; a position worth under $10 that must close is closed in two steps
(add enough to pass $10, then close it all reduce-only). Planning has no side effects: leverage is set in
``prepare_orders``, after planning and before the first order.

Orders (``orders.py``) go out as aggressive IOC limits at the mid +/- the slippage cap, or as resting limit orders
(``order_type = "limit"``), each with the journal's cloid, so ``lookup_order`` can find them after a timeout or
restart. Each phase of a rebalance (its reductions, then its increases) is ONE signed ``order`` action carrying
all its orders (``submit_orders``), and every order's status in the answer is read. Before a rebalance, orders
left open on the account (an earlier run's resting orders and stops) are cancelled and what they filled is
recorded (``before_rebalance``: cancel and replace, never stacked on); after it, stop losses are placed as
trigger orders when configured (``protective_orders``). The universe leaves out coins under the configured
open-interest or volume floor (``metaAndAssetCtxs``, read by ``refresh`` in place of ``meta``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pydantic import SecretStr

from defipm.core.account import AccountSnapshot
from defipm.core.errors import MissingPriceError, OrderRejectedError, UnknownSymbolError, VenueError
from defipm.core.instruments import InstrumentRules
from defipm.core.journal import OrderJournal
from defipm.core.names import unlisted
from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, OrderType, Plan, Side, SkippedOrder, SkipReason
from defipm.core.planner import PlannerConfig, plan_rebalance
from defipm.core.weights import Weights
from defipm.venues.base import CashTransfers, Venue
from defipm.venues.hyperliquid.authority import Authority
from defipm.venues.hyperliquid.client import HyperliquidClient
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials, MissingKeyError, load_credentials, read_account
from defipm.venues.hyperliquid.flows import FlowRecord, UsdcFlows
from defipm.venues.hyperliquid.orders import OrderTerms, TermsPolicy, order_terms, status_outcome
from defipm.venues.hyperliquid.parsing import (
    AssetContext,
    FeeRates,
    OpenOrder,
    OrderInfo,
    UserState,
    parse_asset_contexts,
    parse_meta,
    parse_mids,
    parse_order_status,
    parse_user_state,
)
from defipm.venues.hyperliquid.rules import MAKER_FEE, MIN_NOTIONAL, TAKER_FEE
from defipm.venues.hyperliquid.stops import stop_orders

ZERO = Decimal(0)
FILL_CLOCK_SLACK_MS = 5 * 60 * 1000
"""Fills are read from this long before the local send time, so a local clock ahead of the exchange's still
finds them."""
DUST_CLOSE_BUFFER = Decimal("1.1")
"""The first step of a two-step close adds this multiple of $10, so a small price move cannot undercut it."""

_STATUS = {"filled": OrderStatus.FILLED, "open": OrderStatus.RESTING, "triggered": OrderStatus.RESTING}


class HyperliquidVenue(Venue):
    """Hyperliquid perps via the official SDK. ``connect()`` loads credentials (see ``config.py``)."""

    name = "hyperliquid"
    allows_shorts = True
    config_model = HyperliquidConfig
    """Config params (``[venue.params]``) are validated by this model."""

    def __init__(self, config: HyperliquidConfig | None = None, *, credentials: Credentials | None = None) -> None:
        self.config = config or HyperliquidConfig()
        self.batch_orders = self.config.bulk_orders
        self._credentials = credentials
        self._client: HyperliquidClient | None = None
        self._meta: dict[str, dict[str, Any]] = {}
        self._rules: dict[str, InstrumentRules] = {}
        self._mids: dict[str, Decimal] = {}
        self._contexts: dict[str, AssetContext] = {}
        self._illiquid: dict[str, str] = {}
        self._state: dict[str, Any] = {}
        self._user = UserState({}, {}, {}, {}, ZERO, ZERO, ZERO, ZERO)
        self._stale = True
        self._leverage_set: dict[str, int] = {}
        self._flows: UsdcFlows | None = None
        self._market_read_at: datetime | None = None
        self._resting: set[str] = set()
        """Cloids of our orders seen resting (placed, or reported so when the journal asked): their final
        outcome is recorded in the journal when a rebalance cancels or finds them done."""
        self._notices: list[str] = []
        self._fees = FeeRates(TAKER_FEE, MAKER_FEE)
        cfg = self.config
        self._terms = TermsPolicy(
            slippage=Decimal(repr(cfg.slippage)),
            time_in_force=cfg.time_in_force,
            limit_offset=Decimal(repr(cfg.limit_offset)),
            stop_slippage=Decimal(repr(cfg.stop_loss.slippage)) if cfg.stop_loss else Decimal("0.05"),
        )

    def __repr__(self) -> str:
        address = self._client.address if self._client else None
        return f"HyperliquidVenue(network={self.config.network!r}, url={self.config.url!r}, address={address!r})"

    # -- lifecycle ------------------------------------------------------------------------------------------
    def connect(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        additional_params: Mapping[str, Any] | None = None,
    ) -> None:
        """``api_key`` is the owner account's address, ``secret_key`` the owner's or an agent (API) wallet's private
        key; without them the credentials come from ``load_credentials`` (the network's environment variables, a
        keystore, ``hyperliquid_config.json``) for the selected profile.

        Before anything else the exchange is asked who the key is (``check_authority``): the account itself or
        one of its approved agents, or for a vault its leader or the leader's agent. Any other key raises
        ``SignerNotAllowedError`` naming both addresses. Only reads are made: connecting signs nothing (leverage
        is set before a coin's first order, in ``prepare_orders``), so read-only commands never act on the
        account. Besides the key, connecting reads the fee rates (``userFees``); the market and the account are
        read by the first ``refresh`` or the first question about them, not before (a cycle starts with a
        ``refresh``, which would read them again).

        ``additional_params={"read_only": True}`` (status, listings): without any key configured, the account
        (``account_address``, the network's account variable or the vault) is read with no key; signing then
        fails naming the key variable."""
        if secret_key:
            creds = Credentials(secret_key=SecretStr(secret_key), account_address=api_key, source="connect()")
        else:
            try:
                creds = self._credentials or load_credentials(self.config)
            except MissingKeyError:
                account = read_account(self.config)
                if not (additional_params or {}).get("read_only") or account is None:
                    raise
                self._client = HyperliquidClient(self.config, None, account=account)
                self._read_fees()
                return
        client = HyperliquidClient(self.config, creds)
        client.check_authority()  # reads only: refuses a key that may not trade the account before anything else
        self._client = client
        self._read_fees()

    def _read_fees(self) -> None:
        """The account's own fee rates (``userFees``), for the planner's fee reserve and stand-in fills; the
        base tier's when they cannot be read (with a notice)."""
        try:
            self._fees = self.client.user_fees()
        except VenueError as exc:
            self._fees = FeeRates(TAKER_FEE, MAKER_FEE)
            self._notices.append(f"userFees could not be read ({exc}): planning with the base-tier fees")

    @property
    def client(self) -> HyperliquidClient:
        if self._client is None:
            raise RuntimeError("HyperliquidVenue: call connect() first")
        return self._client

    @property
    def address(self) -> str:
        """The account read and traded: the vault if one is configured, else the owner (never an agent wallet)."""
        assert self.client.address is not None
        return self.client.address

    def connected_account(self) -> str | None:
        """``hyperliquid <network> account <address>`` (the vault if one is traded; lowercase), once connected."""
        if self._client is None or self._client.address is None:
            return None
        return f"hyperliquid {self.config.network} account {self._client.address.lower()}"

    @property
    def authority(self) -> Authority | None:
        """Who the key is for the traded account (owner or agent), once connected."""
        return self._client.authority if self._client is not None else None

    def refresh(self) -> None:
        """Read ``metaAndAssetCtxs`` (meta and each coin's market figures in one answer), ``allMids`` and the
        account's ``clearinghouseState``."""
        c = self.client
        answer = c.post_info("metaAndAssetCtxs", {"type": "metaAndAssetCtxs"})
        mids = c.post_info("allMids", {"type": "allMids"})
        state = c.post_info("clearinghouseState", {"type": "clearinghouseState", "user": self.address})
        meta, contexts = parse_asset_contexts(answer)
        self.load_state(meta, mids, state, contexts)
        if len(self._meta) != len(c.info.coin_to_asset):
            c.info.set_perp_meta(meta, 0)  # newly listed coins

    def load_state(
        self,
        meta: dict[str, Any],
        all_mids: dict[str, Any],
        user_state: dict[str, Any],
        contexts: Mapping[str, AssetContext] | None = None,
    ) -> None:
        """Adopt decoded ``meta``, ``allMids`` and ``clearinghouseState`` answers (and the asset contexts of
        ``metaAndAssetCtxs``, for the liquidity floor); ``refresh`` uses it, so can offline planning from recorded
        responses. Raises ``MalformedAnswerError`` (a ``VenueError``) naming the coin and field of anything
        unusable, and then keeps the state it had."""
        rules, _ = parse_meta(meta)
        if self._fees.taker != TAKER_FEE:
            rules = {c: replace(r, taker_fee=self._fees.taker) for c, r in rules.items()}
        mids = parse_mids(all_mids)
        user = parse_user_state(user_state)
        self._meta = {a["name"]: a for a in meta["universe"]}
        self._rules, self._mids, self._state, self._user = rules, mids, user_state, user
        self._contexts = dict(contexts or {})
        self._illiquid = self._below_floor()
        self._stale = False
        self._market_read_at = datetime.now(UTC)

    def _below_floor(self) -> dict[str, str]:
        """Coins under the configured open-interest or day-volume floor, with the figure that failed."""
        cfg, out = self.config, {}
        for coin, ctx in self._contexts.items():
            if cfg.min_open_interest is not None and ctx.open_interest_usd < Decimal(repr(cfg.min_open_interest)):
                out[coin] = f"open interest ${ctx.open_interest_usd:,.0f} < ${cfg.min_open_interest:,.0f}"
            elif cfg.min_day_volume is not None and ctx.day_volume < Decimal(repr(cfg.min_day_volume)):
                out[coin] = f"24h volume ${ctx.day_volume:,.0f} < ${cfg.min_day_volume:,.0f}"
        return out

    def market_time(self) -> datetime | None:
        """When ``meta`` and ``allMids`` were last read (the base venue refreshes past ``max_price_age``)."""
        return self._market_read_at

    def mark_stale(self) -> None:
        """The account changed on the exchange: re-read ``clearinghouseState`` before the next answer about it."""
        self._stale = True

    def _fresh(self) -> None:
        """Market data (meta, mids) is read once per ``refresh``; account state again after any order."""
        if not self._meta:
            self.refresh()
        elif self._stale:
            state = self.client.post_info("clearinghouseState", {"type": "clearinghouseState", "user": self.address})
            self._user = parse_user_state(state)
            self._state = state
            self._stale = False

    def _market(self) -> None:
        if not self._meta:
            self.refresh()

    def pop_notices(self) -> list[str]:
        """Coins the liquidity floor left out of the universe, and protective orders that could not be placed."""
        notices, self._notices = self._notices, []
        if self._illiquid:
            shown = "; ".join(f"{c}: {why}" for c, why in sorted(self._illiquid.items())[:5])
            more = " ..." if len(self._illiquid) > 5 else ""
            notices.insert(
                0, f"liquidity floor: {len(self._illiquid)} coin(s) left out of the universe ({shown}{more})"
            )
        return notices

    # -- market and account state -------------------------------------------------------------------------
    def get_universe(self) -> list[str]:
        """Listed coins, less the delisted and those under the liquidity floor (``min_open_interest``,
        ``min_day_volume``)."""
        self._market()
        return [n for n, a in self._meta.items() if not a.get("isDelisted") and n not in self._illiquid]

    @property
    def fees(self) -> FeeRates:
        """The account's taker and maker fee rates (``userFees``, read on connect)."""
        return self._fees

    def asset_contexts(self) -> dict[str, AssetContext]:
        """Each coin's open interest, mark, 24h volume and funding as of the last ``refresh``."""
        self._market()
        return dict(self._contexts)

    def is_delisted(self, coin: str) -> bool:
        self._market()
        return bool(self._meta.get(coin, {}).get("isDelisted"))

    def get_positions(self) -> dict[str, Decimal]:
        self._fresh()
        return dict(self._user.positions)

    def entry_prices(self) -> dict[str, Decimal]:
        """Average entry price of each held coin."""
        self._fresh()
        return dict(self._user.entry_prices)

    def get_prices(self) -> dict[str, Decimal]:
        """Mids from ``allMids``; a held coin missing there is marked at ``positionValue / |szi|``."""
        self._fresh()
        prices = {c: m for c, m in self._mids.items() if c in self._meta and m > 0}
        for coin in self._user.positions:
            if coin not in prices:
                prices[coin] = self._user.mark(coin)
        return prices

    def get_equity(self) -> Decimal:
        self._fresh()
        return self._user.account_value

    def get_cash(self) -> Decimal:
        prices, positions = self.get_prices(), self.get_positions()
        return self.get_equity() - sum((q * prices[c] for c, q in positions.items()), ZERO)

    def withdrawable(self) -> Decimal:
        self._fresh()
        return self._user.withdrawable

    def get_rules(self, symbol: str) -> InstrumentRules:
        self._market()
        try:
            return self._rules[symbol]
        except KeyError:
            raise UnknownSymbolError(unlisted(symbol, "Hyperliquid", self._rules)) from None

    def sz_decimals(self, symbol: str) -> int:
        self.get_rules(symbol)
        return int(self._meta[symbol]["szDecimals"])

    # -- USDC flows (spot <-> perp) ---------------------------------------------------------------------------
    @property
    def flows(self) -> UsdcFlows:
        if self._flows is None:
            settle = max(2.0, 2 * self.config.timeout_secs)
            self._flows = UsdcFlows(self.client, settle_secs=settle, on_change=self.mark_stale)
        return self._flows

    def cash_transfers(self) -> CashTransfers:
        """Deposits and withdrawals move USDC between the spot balance and the perp account."""
        return self

    def deposit(self, amount: Decimal) -> FlowRecord:
        """Move USDC from the spot balance into the perp account (``usdClassTransfer``, toPerp)."""
        return self.flows.transfer(amount, to_perp=True)

    def withdraw(self, amount: Decimal) -> FlowRecord:
        """Move USDC from the perp account to the spot balance."""
        return self.flows.transfer(amount, to_perp=False)

    # -- leverage -------------------------------------------------------------------------------------------
    def set_leverage(self, coin: str, leverage: int) -> None:
        """``updateLeverage`` for one coin (cross or isolated per the config)."""
        self.get_rules(coin)
        self.client.update_leverage(coin, int(leverage), self.config.cross_margin)
        self._leverage_set[coin] = int(leverage)
        self._stale = True

    def current_leverage(self, coin: str) -> int | None:
        self._fresh()
        return self._user.leverage.get(coin, self._leverage_set.get(coin))

    def prepare_orders(self, orders: Sequence[Order]) -> dict[str, str]:
        """Apply the configured leverage (capped at each coin's ``maxLeverage``) to every coin an order adds
        exposure to, once per coin and process. Returns the coins the exchange refused it for, with the reason:
        those are not traded this cycle."""
        refused: dict[str, str] = {}
        for coin in dict.fromkeys(o.symbol for o in orders if not o.reduce_only):
            want = self.config.leverage.get(coin, self.config.default_leverage)
            if want is None:
                continue
            want = max(1, min(int(want), int(self.get_rules(coin).max_leverage)))
            if self._leverage_set.get(coin) == want:
                continue
            try:
                self.set_leverage(coin, want)
            except OrderRejectedError as exc:
                refused[coin] = f"leverage {want}x refused by the exchange: {exc}"
        return refused

    # -- planning -------------------------------------------------------------------------------------------
    def planner_config(self) -> PlannerConfig:
        kind = OrderType.LIMIT if self.config.order_type == "limit" else OrderType.MARKET
        return PlannerConfig(no_trade_band=self.config.no_trade_band, reserve_fees=True, order_type=kind)

    def plan(
        self,
        weights: Weights,
        config: PlannerConfig | None = None,
        snapshot: AccountSnapshot | None = None,
        client_order_id: Callable[[], str] | None = None,
    ) -> tuple[AccountSnapshot, Plan]:
        """The core planner over the tradable coins, then Hyperliquid's $10 adjustments. Reads only."""
        snap = snapshot if snapshot is not None else self.snapshot()
        skipped: list[SkippedOrder] = []
        tradable: dict[str, float] = {}
        for coin, w in weights.items():
            blocked = self._untradable(coin)
            if blocked is None:
                tradable[coin] = w
            elif w or snap.positions.get(coin):
                skipped.append(blocked)
        positions = {c: q for c, q in snap.positions.items() if self._untradable(c) is None}
        for coin, q in snap.positions.items():
            blocked = self._untradable(coin)
            if blocked is not None and coin not in weights:
                skipped.append(replace(blocked, signed_quantity=-q))
        plan = plan_rebalance(
            positions,
            snap.prices,
            snap.equity,
            Weights(tradable),
            self.get_rules,
            config or self.planner_config(),
            client_order_id,
        )
        plan = self._hl_adjust(plan, positions, snap.prices, Weights(tradable))
        return snap, Plan(plan.orders, tuple(skipped) + plan.skipped)

    def _untradable(self, coin: str) -> SkippedOrder | None:
        """The skip of a coin that cannot be traded now, or None."""
        if coin not in self._meta:
            return SkippedOrder(coin, ZERO, SkipReason.NOT_LISTED, f"{coin}: not listed on Hyperliquid (not in meta)")
        if self._meta[coin].get("isDelisted"):
            return SkippedOrder(coin, ZERO, SkipReason.NOT_LISTED, f"{coin}: delisted on Hyperliquid")
        if coin not in self._mids:
            return SkippedOrder(coin, ZERO, SkipReason.STALE_PRICE, f"{coin}: no mid price in allMids")
        return None

    def _hl_adjust(
        self, plan: Plan, positions: Mapping[str, Decimal], prices: Mapping[str, Decimal], target: Weights
    ) -> Plan:
        """Merge a flip whose close leg is under $10 into one order; close dust positions in two steps."""
        orders = list(plan.orders)
        skipped = list(plan.skipped)
        first: list[Order] = []
        for sk in plan.skipped:
            cur = positions.get(sk.symbol, ZERO)
            if not cur or sk.signed_quantity != -cur or sk.reason is not SkipReason.MIN_NOTIONAL:
                continue
            s, price, rules = sk.symbol, prices[sk.symbol], self.get_rules(sk.symbol)
            close_side = Side.of(-cur)
            open_leg = next((o for o in orders if o.symbol == s and not o.reduce_only and o.side is close_side), None)
            open_skip = next(
                (
                    k
                    for k in skipped
                    if k is not sk
                    and k.symbol == s
                    and k.reason is SkipReason.MIN_NOTIONAL
                    and Side.of(k.signed_quantity) is close_side
                ),
                None,
            )
            skipped.remove(sk)
            if open_leg is not None:
                i = orders.index(open_leg)
                orders[i] = Order(s, close_side, open_leg.quantity + abs(cur), OrderType.MARKET, reference_price=price)
            elif open_skip is not None and (abs(cur) + abs(open_skip.signed_quantity)) * price >= MIN_NOTIONAL:
                skipped.remove(open_skip)
                qty = abs(cur) + abs(open_skip.signed_quantity)
                orders.append(Order(s, close_side, qty, OrderType.MARKET, reference_price=price))
            else:
                add = ((MIN_NOTIONAL * DUST_CLOSE_BUFFER / price) / rules.size_step).to_integral_value(ROUND_CEILING)
                add_qty = add * rules.size_step
                first.append(Order(s, Side.of(cur), add_qty, OrderType.MARKET, reference_price=price))
                first.append(
                    Order(s, close_side, abs(cur) + add_qty, OrderType.MARKET, reduce_only=True, reference_price=price)
                )
        return Plan(tuple(first + orders), tuple(skipped))

    # -- orders ---------------------------------------------------------------------------------------------
    def aggressive_price(self, symbol: str, side: Side, reference: Decimal | None = None) -> Decimal:
        """The IOC limit: the mid moved by the slippage cap against us, rounded back toward the mid."""
        order = Order(symbol, side, Decimal(1), OrderType.MARKET, reference_price=reference)
        return self.order_terms(order).price

    def order_terms(self, order: Order) -> OrderTerms:
        """Price, time in force and trigger of ``order`` on the wire (``orders.order_terms``), at its reference
        price (the mid it was planned at) or the current mid."""
        mid = order.reference_price if order.reference_price is not None else self._mids.get(order.symbol)
        if mid is None or mid <= 0:
            raise MissingPriceError(f"{order.symbol}: no mid price in allMids")
        return order_terms(order, mid, self.sz_decimals(order.symbol), self._terms)

    def _wire(self, order: Order) -> dict[str, Any]:
        terms = self.order_terms(order)
        return self.client.order_wire(
            order.symbol,
            order.side is Side.BUY,
            order.quantity,
            terms.price,
            tif=terms.tif,
            reduce_only=order.reduce_only or terms.trigger is not None,
            cloid=order.client_order_id,
            trigger=terms.trigger,
        )

    def submit_order(self, order: Order) -> OrderResult:
        """One order in its own ``order`` action (the sequential path, ``bulk_orders = false``)."""
        return self.submit_orders([order])[0]

    def submit_orders(self, orders: Sequence[Order]) -> list[OrderResult]:
        """Every order of ``orders`` in ONE signed ``order`` action, and one result per order from the answer's
        statuses, in order. An order the wire cannot carry is rejected without being sent. Fills carry the
        exchange's own records (``userFillsByTime``, read once for the whole action: times, price levels, exact
        fees); where they cannot be read, one fill at the average price, stamped with the time the answer
        arrived and the base-tier fee, stands in. Raises like ``HyperliquidClient.bulk_orders`` for the action as
        a whole (refused: nothing placed; no answer: each order's outcome unknown until looked up)."""
        results: list[OrderResult | None] = [None] * len(orders)
        wires, sent = [], []
        for i, order in enumerate(orders):
            try:
                wires.append(self._wire(order))
                sent.append(i)
            except OrderRejectedError as exc:
                results[i] = OrderResult(order, OrderStatus.REJECTED, error=str(exc))
        if wires:
            self._stale = True
            sent_ms = int(time.time() * 1000)
            what = f"order {orders[sent[0]].symbol}" if len(wires) == 1 else f"order x{len(wires)}"
            statuses = self.client.bulk_orders(wires, what)
            fills = self._fills_by_order(statuses, sent_ms)
            for i, entry in zip(sent, statuses, strict=True):
                results[i] = self._result(orders[i], entry, fills)
        return [r for r in results if r is not None]

    def _result(self, order: Order, entry: Any, fills: Mapping[str, tuple[Fill, ...]]) -> OrderResult:
        """The outcome of one status entry; one that cannot be read is looked up by cloid (never resent)."""
        try:
            outcome = status_outcome(entry, order)
        except VenueError as exc:
            return self._failed_send(order, exc)
        oid = str(outcome.oid) if outcome.oid is not None else None
        if outcome.status is OrderStatus.REJECTED:
            return OrderResult(order, OrderStatus.REJECTED, error=outcome.error)
        if outcome.status is OrderStatus.RESTING:
            if order.client_order_id:
                self._resting.add(order.client_order_id)
            return OrderResult(order, OrderStatus.RESTING, venue_order_id=oid)
        assert outcome.average_price is not None and oid is not None
        mine = tuple(replace(f, client_order_id=order.client_order_id) for f in fills.get(oid, ()))
        if sum((f.quantity for f in mine), ZERO) != outcome.quantity:
            fee = (outcome.quantity * outcome.average_price * self._fees.taker).quantize(Decimal("0.000001"))
            mine = (Fill(order.symbol, order.side, outcome.quantity, outcome.average_price, fee,
                         order.client_order_id, timestamp=datetime.now(UTC), venue_order_id=oid),)  # fmt: skip
        return OrderResult(order, outcome.status, mine, venue_order_id=oid)

    def _fills_by_order(self, statuses: Sequence[Any], sent_ms: int) -> dict[str, tuple[Fill, ...]]:
        """The exchange's fills per oid since the action was sent (one read), when any order filled; {} when
        they cannot be read."""
        if not any(isinstance(s, dict) and "filled" in s for s in statuses):
            return {}
        try:
            fills = self.client.fills_since(sent_ms - FILL_CLOCK_SLACK_MS)
        except VenueError:
            return {}
        by_oid: dict[str, list[Fill]] = {}
        for f in reversed(fills):  # the answer is newest first
            by_oid.setdefault(f.venue_order_id or "", []).append(f)
        return {oid: tuple(fs) for oid, fs in by_oid.items()}

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        """``orderStatus`` by cloid, with this order's fills (exact fees and times) from ``userFillsByTime``. An
        order still resting is reported without fills: they are recorded once, with its final outcome."""
        body = {"type": "orderStatus", "user": self.address, "oid": client_order_id}
        info = parse_order_status(self.client.post_info("orderStatus", body))
        if info is None:
            return None
        status = _STATUS.get(info.status)
        fills: tuple[Fill, ...] = ()
        if status is not OrderStatus.RESTING:
            fills = tuple(
                replace(f, client_order_id=client_order_id)
                for f in reversed(self.client.fills_since(info.timestamp - FILL_CLOCK_SLACK_MS))
                if f.venue_order_id == str(info.oid)
            )
        if status is None:
            status = _final_status(info.status, bool(fills))
        if status is OrderStatus.RESTING:
            self._resting.add(client_order_id)
        self._stale = True
        error = None if status in (OrderStatus.FILLED, OrderStatus.RESTING) else f"{info.coin}: order {info.status}"
        return OrderResult(_order_of(info, client_order_id), status, fills, error=error, venue_order_id=str(info.oid))

    # -- orders left open, and protective orders ----------------------------------------------------------------
    def before_rebalance(self, journal: OrderJournal) -> bool:
        """Orders open on the account (resting limits, stops) are cancelled in one action (``cancel_open_orders``),
        or with ``open_orders = "refuse"`` the rebalance fails naming them. True when anything was open or recorded
        (the account must be read again before planning)."""
        open_orders = self.client.open_orders()
        if open_orders and self.config.open_orders == "refuse":
            shown = ", ".join(
                f"{o.coin} {o.side.value} {o.size} @ {o.trigger_price or o.limit_price} (oid {o.oid})"
                for o in open_orders[:5]
            )
            raise VenueError(
                f"{len(open_orders)} order(s) open on {self.address} ({shown}{' ...' if len(open_orders) > 5 else ''})"
                ': not trading on top of them; cancel them (`defipm hl cancel`) or set open_orders = "cancel"'
            )
        return self.cancel_open_orders(journal, open_orders) > 0

    def cancel_open_orders(self, journal: OrderJournal, open_orders: Sequence[OpenOrder] | None = None) -> int:
        """Cancel every open order of the account in one ``cancel`` action, then record the final outcome of each
        of our resting orders (cancelled, or filled meanwhile, with its fills) in ``journal``. Returns how many
        orders were open plus how many outcomes were recorded."""
        if open_orders is None:
            open_orders = self.client.open_orders()
        if open_orders:
            self.client.cancel([(o.coin, o.oid) for o in open_orders])
            self._resting.update(o.cloid for o in open_orders if o.cloid)
        recorded = self._record_finished(journal)
        self._stale = True
        return len(open_orders) + recorded

    def _record_finished(self, journal: OrderJournal) -> int:
        """Record the final outcome of every resting order of ours that is no longer open; returns how many."""
        recorded = 0
        for cloid in sorted(self._resting):
            result = self.lookup_order(cloid)
            if result is None or not result.status.is_final:
                continue
            journal.record_result(result)
            self._resting.discard(cloid)
            recorded += 1
        return recorded

    def protective_orders(self) -> list[Order]:
        """Stop losses (``stop_loss``) for the book as it stands: one reduce-only trigger order per position of
        the configured sides, worth at least $10 at its trigger (smaller ones are noted, not placed)."""
        cfg = self.config.stop_loss
        if cfg is None:
            return []
        orders, notes = stop_orders(self.get_positions(), self.entry_prices(), self.get_prices(), cfg)
        self._notices.extend(notes)
        return orders


def _final_status(text: str, filled: bool) -> OrderStatus:
    """A finished order's status from ``orderStatus``'s text ("canceled", "marginCanceled", "...Rejected")."""
    if "rejected" in text.lower():
        return OrderStatus.REJECTED
    return OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.CANCELLED


def _order_of(info: OrderInfo, client_order_id: str) -> Order:
    """The order ``orderStatus`` describes (a stop as ``STOP`` at its trigger)."""
    if info.trigger_price is not None:
        return Order(info.coin, info.side, info.orig_size, OrderType.STOP, limit_price=info.trigger_price,
                     reduce_only=True, client_order_id=client_order_id)  # fmt: skip
    return Order(info.coin, info.side, info.orig_size, OrderType.MARKET, limit_price=info.limit_price,
                 reduce_only=info.reduce_only, client_order_id=client_order_id)  # fmt: skip
