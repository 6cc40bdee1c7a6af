"""``HyperliquidVenue``: Hyperliquid perpetuals behind defipm's ``Venue`` interface.

State is read once per cycle (``refresh``: ``meta``, ``allMids``, ``clearinghouseState``) and again lazily after
any order. Positions are signed from ``szi`` (``positionValue`` is unsigned); cash follows the "cash + marked
positions" convention, ``accountValue - sum(szi * mid)``, so equity equals Hyperliquid's ``accountValue``.

Planning is the core planner with Hyperliquid's rules (see ``rules.py``) plus three venue-specific steps:
coins that are delisted, unlisted or missing from ``allMids`` are skipped with a reason; a flip whose closing leg
is under $10 becomes one order through zero; a position worth under $10 that must close is closed in two steps
(add enough to pass $10, then close it all reduce-only). Orders go out as aggressive IOC limits at the mid +/- the
slippage cap, each with the journal's cloid, so ``lookup_order`` can find them after a timeout or restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import ROUND_CEILING, Decimal
from typing import Any

from pydantic import SecretStr

from defipm.core.account import AccountSnapshot
from defipm.core.errors import MissingPriceError, OrderRejectedError, UnknownSymbolError, VenueError
from defipm.core.instruments import InstrumentRules
from defipm.core.names import unlisted
from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, OrderType, Plan, Side, SkippedOrder, SkipReason
from defipm.core.planner import PlannerConfig, plan_rebalance
from defipm.core.weights import Weights
from defipm.venues.base import CashTransfers, Venue
from defipm.venues.hyperliquid.authority import Authority
from defipm.venues.hyperliquid.client import HyperliquidClient
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials, load_credentials
from defipm.venues.hyperliquid.flows import FlowRecord, UsdcFlows
from defipm.venues.hyperliquid.parsing import (
    UserState,
    get,
    integer,
    parse_filled,
    parse_meta,
    parse_mids,
    parse_order_status,
    parse_user_state,
)
from defipm.venues.hyperliquid.rules import MIN_NOTIONAL, TAKER_FEE, round_price

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
        self._credentials = credentials
        self._client: HyperliquidClient | None = None
        self._meta: dict[str, dict[str, Any]] = {}
        self._rules: dict[str, InstrumentRules] = {}
        self._mids: dict[str, Decimal] = {}
        self._state: dict[str, Any] = {}
        self._user = UserState({}, {}, {}, ZERO, ZERO, ZERO, ZERO)
        self._stale = True
        self._leverage_set: dict[str, int] = {}
        self._flows: UsdcFlows | None = None
        self._market_read_at: datetime | None = None

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
        ``SignerNotAllowedError`` naming both addresses. Only reads are made: connecting signs nothing."""
        if secret_key:
            creds = Credentials(secret_key=SecretStr(secret_key), account_address=api_key, source="connect()")
        else:
            creds = self._credentials or load_credentials(self.config)
        client = HyperliquidClient(self.config, creds)
        client.check_authority()  # reads only: refuses a key that may not trade the account before anything else
        self._client = client
        self.refresh()
        # Configured leverage is applied before a coin's first order (``_ensure_leverage``), not here: connecting
        # must send nothing signed, so that read-only commands (``defipm status``) never act on the account.

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

    @property
    def authority(self) -> Authority | None:
        """Who the key is for the traded account (owner or agent), once connected."""
        return self._client.authority if self._client is not None else None

    def refresh(self) -> None:
        c = self.client
        meta = c.post_info("meta", {"type": "meta"})
        mids = c.post_info("allMids", {"type": "allMids"})
        state = c.post_info("clearinghouseState", {"type": "clearinghouseState", "user": self.address})
        self.load_state(meta, mids, state)
        if len(self._meta) != len(c.info.coin_to_asset):
            c.info.set_perp_meta(meta, 0)  # newly listed coins

    def load_state(self, meta: dict[str, Any], all_mids: dict[str, Any], user_state: dict[str, Any]) -> None:
        """Adopt decoded ``meta``, ``allMids`` and ``clearinghouseState`` answers (``refresh`` uses it; so can
        offline planning from recorded responses). Raises ``MalformedAnswerError`` (a ``VenueError``) naming the
        coin and field of anything unusable, and then keeps the state it had."""
        rules, _ = parse_meta(meta)
        mids = parse_mids(all_mids)
        user = parse_user_state(user_state)
        self._meta = {a["name"]: a for a in meta["universe"]}
        self._rules, self._mids, self._state, self._user = rules, mids, user_state, user
        self._stale = False
        self._market_read_at = datetime.now(UTC)

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

    # -- market and account state -------------------------------------------------------------------------
    def get_universe(self) -> list[str]:
        self._market()
        return [n for n, a in self._meta.items() if not a.get("isDelisted")]

    def is_delisted(self, coin: str) -> bool:
        self._market()
        return bool(self._meta.get(coin, {}).get("isDelisted"))

    def get_positions(self) -> dict[str, Decimal]:
        self._fresh()
        return dict(self._user.positions)

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
            self._flows = UsdcFlows(self)
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

    def _ensure_leverage(self, coins: Iterable[str]) -> dict[str, str]:
        """Apply the configured leverage (capped at each coin's ``maxLeverage``) to ``coins`` not yet set.
        Returns the coins the exchange refused it for, with the reason: those are not traded this cycle."""
        refused: dict[str, str] = {}
        for coin in coins:
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
        return PlannerConfig(no_trade_band=self.config.no_trade_band, reserve_fees=True, order_type=OrderType.MARKET)

    def plan(
        self,
        weights: Weights,
        config: PlannerConfig | None = None,
        snapshot: AccountSnapshot | None = None,
        client_order_id: Callable[[], str] | None = None,
    ) -> tuple[AccountSnapshot, Plan]:
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
        for coin, reason in self._ensure_leverage([c for c, w in tradable.items() if w]).items():
            del tradable[coin]  # its position (if any) is kept as it is, and reported
            skipped.append(SkippedOrder(coin, ZERO, SkipReason.LEVERAGE_REFUSED, reason))
            positions.pop(coin, None)
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
        mid = reference if reference is not None else self._mids.get(symbol)
        if mid is None or mid <= 0:
            raise MissingPriceError(f"{symbol}: no mid price in allMids")
        slip = Decimal(repr(self.config.slippage))
        raw = mid * (1 + slip) if side is Side.BUY else mid * (1 - slip)
        return round_price(raw, self.sz_decimals(symbol), up=side is Side.SELL)

    def submit_order(self, order: Order) -> OrderResult:
        """One IOC (or resting limit) order. A fill carries the exchange's own records of it (``userFillsByTime``:
        its time, price levels and exact fee); if they cannot be read, one fill at the average price, stamped
        with the time the answer arrived and the base-tier fee, stands in."""
        is_buy = order.side is Side.BUY
        if order.order_type is OrderType.MARKET or order.limit_price is None:
            price, tif = self.aggressive_price(order.symbol, order.side, order.reference_price), "Ioc"
        else:
            d = self.sz_decimals(order.symbol)
            price = round_price(order.limit_price, d, up=not is_buy)
            tif = "Ioc" if order.order_type is OrderType.LIMIT_IOC else "Gtc"
        self._stale = True
        sent_ms = int(time.time() * 1000)
        status = self.client.order(
            order.symbol,
            is_buy,
            order.quantity,
            price,
            tif=tif,
            reduce_only=order.reduce_only,
            cloid=order.client_order_id,
        )
        if isinstance(status, dict) and "filled" in status:
            qty, avg, oid = parse_filled(status, order.symbol)
            fills = self._exchange_fills(oid, qty, order.client_order_id, sent_ms) or (
                Fill(order.symbol, order.side, qty, avg, (qty * avg * TAKER_FEE).quantize(Decimal("0.000001")),
                     order.client_order_id, timestamp=datetime.now(UTC), venue_order_id=str(oid)),
            )  # fmt: skip
            done = OrderStatus.FILLED if qty >= order.quantity else OrderStatus.PARTIALLY_FILLED
            return OrderResult(order, done, fills, venue_order_id=str(oid))
        if isinstance(status, dict) and "resting" in status:
            oid = integer(get(status["resting"], "oid", "order status", f"{order.symbol} oid"), "order status",
                          f"{order.symbol} oid")  # fmt: skip
            return OrderResult(order, OrderStatus.RESTING, venue_order_id=str(oid))
        return OrderResult(order, OrderStatus.UNKNOWN, error=f"{order.symbol}: unexpected status {status!r}")

    def _exchange_fills(self, oid: int, quantity: Decimal, cloid: str | None, sent_ms: int) -> tuple[Fill, ...]:
        """The exchange's fills of order ``oid`` if they can be read and add up to ``quantity``, else ()."""
        try:
            fills = self.client.fills_since(sent_ms - FILL_CLOCK_SLACK_MS)
        except VenueError:
            return ()
        mine = tuple(replace(f, client_order_id=cloid) for f in reversed(fills) if f.venue_order_id == str(oid))
        return mine if sum((f.quantity for f in mine), ZERO) == quantity else ()

    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        """``orderStatus`` by cloid, with this order's fills (exact fees and times) from ``userFillsByTime``."""
        body = {"type": "orderStatus", "user": self.address, "oid": client_order_id}
        info = parse_order_status(self.client.post_info("orderStatus", body))
        if info is None:
            return None
        fills = tuple(
            replace(f, client_order_id=client_order_id)
            for f in reversed(self.client.fills_since(info.timestamp - FILL_CLOCK_SLACK_MS))
            if f.venue_order_id == str(info.oid)
        )
        order = Order(
            info.coin,
            info.side,
            info.orig_size,
            OrderType.MARKET,
            limit_price=info.limit_price,
            reduce_only=info.reduce_only,
            client_order_id=client_order_id,
        )
        status = _STATUS.get(info.status)
        if status is None:
            if "rejected" in info.status.lower():
                status = OrderStatus.REJECTED
            elif fills:
                status = OrderStatus.PARTIALLY_FILLED
            else:
                status = OrderStatus.CANCELLED
        self._stale = True
        error = None if status in (OrderStatus.FILLED, OrderStatus.RESTING) else f"{info.coin}: order {info.status}"
        return OrderResult(order, status, fills, error=error, venue_order_id=str(info.oid))
