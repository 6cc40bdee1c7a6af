"""The local exchange's matching and margin engine: accounts, a static book around each mid, IOC/GTC/ALO orders,
cross-margin accounting, leverage, USDC class transfers, and the ``/info`` views of that state.

Accounts are kept in the "cash + marked positions" form Hyperliquid reports as ``totalRawUsd``: a buy moves
``size * price`` (plus fee) out of raw USD, so ``accountValue = rawUsd + sum(szi * mark)``. The book is rebuilt
from the mid for every order (``levels`` price steps of ``half_spread`` each side, ``level_notional`` dollars
each), so fills are deterministic. Statuses and error texts follow the real API.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from defipm.venues.hyperliquid.rules import (
    MAKER_FEE,
    MIN_NOTIONAL,
    TAKER_FEE,
    fmt,
    price_is_valid,
    round_price,
    size_is_valid,
    to_wire,
)
from defipm.venues.hyperliquid.sim.order_state import OrderState
from defipm.venues.hyperliquid.sim.roles import Roles
from defipm.venues.hyperliquid.sim.seed import Seed
from defipm.venues.hyperliquid.sim.views import InfoViews, MarketFigures

ZERO = Decimal(0)


class OrderError(Exception):
    """One order refused; the message goes into its status as ``{"error": message}``."""


@dataclass
class Position:
    szi: Decimal = ZERO
    entry_px: Decimal = ZERO


@dataclass
class RestingOrder:
    oid: int
    coin: str
    side: str  # "B" | "A"
    limit_px: Decimal
    orig_sz: Decimal
    sz: Decimal
    reduce_only: bool
    tif: str | None
    cloid: str | None
    timestamp: int
    status: OrderState = OrderState.OPEN
    status_ts: int = 0
    trigger_px: Decimal | None = None
    """The trigger of a stop-loss order (executed at market, no worse than ``limit_px``), else None."""

    def view(self) -> dict[str, Any]:
        """The order as ``frontendOpenOrders`` and ``orderStatus`` show it."""
        trigger = self.trigger_px
        condition = "N/A" if trigger is None else f"Price {'above' if self.side == 'B' else 'below'} {to_wire(trigger)}"
        return {
            "coin": self.coin,
            "side": self.side,
            "limitPx": to_wire(self.limit_px),
            "sz": fmt(self.sz, 8),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": condition,
            "isTrigger": trigger is not None,
            "triggerPx": "0.0" if trigger is None else to_wire(trigger),
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit" if trigger is None else "Stop Market",
            "origSz": fmt(self.orig_sz, 8),
            "tif": self.tif,
            "cloid": self.cloid,
        }


@dataclass(frozen=True, slots=True)
class Incoming:
    """An order wire, read and checked: what the engine matches."""

    asset: int
    coin: str
    is_buy: bool
    price: Decimal
    size: Decimal
    reduce_only: bool
    tif: str | None
    """"Ioc", "Gtc", "Alo"; None for a trigger order."""
    trigger: Decimal | None
    cloid: str | None


def _order_type(kind: Any, asset: int) -> tuple[str | None, Decimal | None]:
    """(time in force, trigger price) of a wire's ``t``: ``{"limit": {"tif"}}`` or a stop-loss ``{"trigger":
    {"isMarket": true, "triggerPx", "tpsl": "sl"}}`` (take-profits and limit-priced triggers are not simulated)."""
    limit = kind.get("limit") if isinstance(kind, dict) else None
    if isinstance(limit, dict) and limit.get("tif") in ("Ioc", "Gtc", "Alo"):
        return str(limit["tif"]), None
    trigger = kind.get("trigger") if isinstance(kind, dict) else None
    if isinstance(trigger, dict) and trigger.get("tpsl") == "sl" and trigger.get("isMarket") is True:
        px = trigger.get("triggerPx")
        if isinstance(px, str) and _canonical(px) and Decimal(px) > 0:
            return None, Decimal(px)
    raise OrderError(f"Unsupported order type {kind!r}. asset={asset}")


def _canonical(text: str) -> bool:
    try:
        return to_wire(Decimal(text)) == text
    except (ArithmeticError, ValueError):
        return False


@dataclass
class Account:
    address: str
    raw_usd: Decimal = ZERO
    spot_usdc: Decimal = ZERO
    positions: dict[str, Position] = field(default_factory=dict)
    leverage: dict[str, tuple[int, bool]] = field(default_factory=dict)
    orders: dict[int, RestingOrder] = field(default_factory=dict)
    by_cloid: dict[str, int] = field(default_factory=dict)
    fills: list[dict[str, Any]] = field(default_factory=list)
    totals: tuple[Decimal, Decimal] | None = None
    """(account value, margin used), kept up to date by fills; None when a price, the leverage or the balance
    changed otherwise (recomputed on the next read)."""


@dataclass(frozen=True)
class BookConfig:
    half_spread: Decimal = Decimal("0.0002")
    """Distance of each level from the previous one, as a fraction of the mid (2 bps)."""
    levels: int = 10
    level_notional: Decimal = Decimal(250_000)
    """Dollars offered at each level."""


class Engine:
    """All exchange state behind one lock. ``default_leverage`` is Hyperliquid's 20x cross (or the coin max).
    The ``/info`` answers about it are ``views`` (``views.InfoViews``)."""

    def __init__(self, seed: Seed, book: BookConfig | None = None, default_leverage: int = 20) -> None:
        self.lock = threading.RLock()
        self.universe = [dict(a) for a in seed.universe]
        self.index = {a["name"]: i for i, a in enumerate(self.universe)}
        self.mids: dict[str, Decimal] = dict(seed.mids)
        self.hidden_mids: set[str] = set()
        self.book = book or BookConfig()
        self.default_leverage = default_leverage
        self.accounts: dict[str, Account] = {}
        self.roles = Roles()
        """Approved API (agent) wallets, vaults and sub-accounts."""
        self._oids = itertools.count(1_000_000)
        self._tids = itertools.count(1)
        self._levels: dict[tuple[str, bool], tuple[Decimal, dict[int, tuple[Decimal, Decimal]]]] = {}
        self.views = InfoViews(self)
        """The ``/info`` answers about this state."""
        self.contexts: dict[str, MarketFigures] = {}
        """Open interest, 24h volume and funding per coin for ``metaAndAssetCtxs`` (defaults when absent)."""
        self.order_log: list[dict[str, Any]] = []
        """Every order wire received from an authenticated signer, accepted or not (tests count these)."""

    # -- accounts -----------------------------------------------------------------------------------------
    def add_account(self, address: str, usdc: Decimal | int | str = 0, spot_usdc: Decimal | int | str = 0) -> None:
        with self.lock:
            self.accounts[address.lower()] = Account(address.lower(), Decimal(usdc), Decimal(spot_usdc))

    def add_agent(self, agent: str, account: str, name: str = "") -> None:
        """Approve ``agent`` to sign for ``account`` (what an ``approveAgent`` action does)."""
        with self.lock:
            self.roles.approve(account, agent, name, is_user=agent.lower() in self.accounts)

    def add_vault(self, vault: str, leader: str, usdc: Decimal | int | str = 0, *, sub_account: bool = False) -> None:
        """A vault (or a sub-account) with ``usdc`` of its own, traded by ``leader`` (or its agents)."""
        with self.lock:
            self.add_account(vault, usdc)
            self.roles.add_controlled(vault, "subAccount" if sub_account else "vault", leader)

    def owner_of(self, signer: str) -> str | None:
        """The account ``signer`` signs L1 actions for: itself, or the account it is an unexpired agent of."""
        signer = signer.lower()
        if signer in self.accounts and self.roles.controller_of(signer) is None:
            return signer
        return self.roles.agent_owner(signer)

    def acting_account(self, owner: str, vault: str | None) -> str:
        """The book an L1 action signed for ``owner`` trades: the owner's, or the vault's if ``owner`` leads it."""
        if vault is None:
            return owner
        controlled = self.roles.controller_of(vault)
        if controlled is None or vault.lower() not in self.accounts:
            raise OrderError(f"Vault not registered: {vault.lower()}")
        if controlled.controller != owner:
            what = "leader" if controlled.kind == "vault" else "master"
            raise OrderError(f"User {owner} is not the {what} of {controlled.kind} {controlled.address}.")
        return controlled.address

    def user_role(self, address: str) -> dict[str, Any]:
        with self.lock:
            return self.roles.user_role(address, is_user=address.lower() in self.accounts)

    def account(self, address: str) -> Account | None:
        return self.accounts.get(address.lower())

    def account_or_empty(self, address: str) -> Account:
        """The account, or an empty one for an address the exchange does not know (it answers for any)."""
        return self.account(address) or Account(address.lower())

    # -- prices and book ------------------------------------------------------------------------------------
    def set_mid(self, coin: str, mid: Decimal | str) -> None:
        """Move ``coin``'s mid (and mark); stops it crosses trigger and resting orders it reaches fill."""
        with self.lock:
            self.mids[coin] = Decimal(mid)
            for acct in self.accounts.values():
                if coin in acct.positions:
                    acct.totals = None
            self._on_price(coin)

    def sz_decimals(self, coin: str) -> int:
        return int(self.universe[self.index[coin]]["szDecimals"])

    def listed(self, coin: str) -> bool:
        return coin in self.index and not self.universe[self.index[coin]].get("isDelisted")

    def levels(self, coin: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids, asks) as (price, size), best first."""
        return [self.level(coin, False, i) for i in range(self.book.levels)], [
            self.level(coin, True, i) for i in range(self.book.levels)
        ]

    def level(self, coin: str, ask: bool, i: int) -> tuple[Decimal, Decimal]:
        """The ``i``-th best (price, size) on the ask (or bid) side: ``i + 1`` steps of ``half_spread`` from the
        mid, ``level_notional`` dollars; computed once per mid."""
        mid = self.mids[coin]
        cached = self._levels.get((coin, ask))
        if cached is None or cached[0] != mid:
            cached = self._levels[(coin, ask)] = (mid, {})
        book = cached[1]
        if i not in book:
            d = self.sz_decimals(coin)
            off = self.book.half_spread * (i + 1)
            price = round_price(mid * (1 + off), d, up=True) if ask else round_price(mid * (1 - off), d, up=False)
            book[i] = (price, (self.book.level_notional / price).quantize(Decimal(1).scaleb(-d)))
        return book[i]

    def _crossed(self, coin: str, is_buy: bool, limit: Decimal, size: Decimal) -> list[tuple[Decimal, Decimal]]:
        """(price, quantity) an order of ``size`` at ``limit`` takes from the book, best level first."""
        fills: list[tuple[Decimal, Decimal]] = []
        left = size
        for i in range(self.book.levels):
            price, available = self.level(coin, is_buy, i)
            if (price > limit) if is_buy else (price < limit):
                break
            take = min(left, available)
            fills.append((price, take))
            left -= take
            if not left:
                break
        return fills

    def mark(self, coin: str) -> Decimal:
        return self.mids[coin]

    # -- margin ---------------------------------------------------------------------------------------------
    def leverage_of(self, acct: Account, coin: str) -> tuple[int, bool]:
        cap = int(self.universe[self.index[coin]].get("maxLeverage", self.default_leverage))
        return acct.leverage.get(coin, (min(self.default_leverage, cap), True))

    def account_value(self, acct: Account) -> Decimal:
        return self._totals(acct)[0]

    def margin_used(self, acct: Account) -> Decimal:
        return self._totals(acct)[1]

    def _coin_margin(self, acct: Account, coin: str, szi: Decimal) -> Decimal:
        return abs(szi) * self.mark(coin) / self.leverage_of(acct, coin)[0] if szi else ZERO

    def _totals(self, acct: Account) -> tuple[Decimal, Decimal]:
        if acct.totals is None:
            value = acct.raw_usd + sum((p.szi * self.mark(c) for c, p in acct.positions.items() if p.szi), ZERO)
            margin = sum((self._coin_margin(acct, c, p.szi) for c, p in acct.positions.items()), ZERO)
            acct.totals = (value, margin)
        return acct.totals

    def withdrawable(self, acct: Account) -> Decimal:
        return max(ZERO, self.account_value(acct) - self.margin_used(acct))

    # -- orders ---------------------------------------------------------------------------------------------
    def place_orders(self, owner: str, wires: list[dict[str, Any]]) -> list[Any]:
        """Every order of one ``order`` action, in order, each with its own status (an error in one does not
        stop the others), as the exchange processes a bulk action."""
        with self.lock:
            acct = self.accounts[owner]
            out: list[Any] = []
            for wire in wires:
                self.order_log.append({"user": owner, **wire})
                try:
                    out.append(self._place(acct, wire))
                except OrderError as exc:
                    out.append({"error": str(exc)})
            return out

    def _place(self, acct: Account, wire: dict[str, Any]) -> dict[str, Any]:
        incoming = self._checked(acct, wire)
        now = int(time.time() * 1000)
        if incoming.trigger is not None:
            order = self._new_order(acct, incoming, incoming.size, now)
            return {"resting": {"oid": order.oid, **({"cloid": order.cloid} if order.cloid else {})}}
        return self._execute(acct, incoming, now)

    def _checked(self, acct: Account, wire: dict[str, Any]) -> Incoming:
        """The order a wire describes, after the checks the exchange makes before matching it."""
        asset = int(wire["a"])
        if not 0 <= asset < len(self.universe):
            raise OrderError(f"Invalid asset {asset}.")
        coin = self.universe[asset]["name"]
        if not self.listed(coin):
            raise OrderError(f"Trading is halted: {coin} is delisted. asset={asset}")
        if coin not in self.mids:
            raise OrderError(f"No oracle price for {coin}. asset={asset}")
        d = self.sz_decimals(coin)
        is_buy, px, sz = bool(wire["b"]), Decimal(wire["p"]), Decimal(wire["s"])
        tif, trigger = _order_type(wire.get("t"), asset)
        cloid = wire.get("c")
        if cloid is not None and cloid in acct.by_cloid:
            raise OrderError(f"Duplicate cloid {cloid}. asset={asset}")
        if not size_is_valid(sz, d):
            raise OrderError(f"Order has invalid size. asset={asset}")
        if not price_is_valid(px, d) or (trigger is not None and not price_is_valid(trigger, d)):
            raise OrderError(f"Price must be divisible by tick size. asset={asset}")
        if sz * (trigger or self.mids[coin]) < MIN_NOTIONAL:
            raise OrderError(f"Order must have minimum value of $10. asset={asset}")
        return Incoming(asset, coin, is_buy, px, sz, bool(wire.get("r", False)), tif, trigger, cloid)

    def _execute(
        self, acct: Account, order: Incoming, now: int, triggered: RestingOrder | None = None
    ) -> dict[str, Any]:
        """Match ``order`` against the book: fills, then the rest rests (Gtc, Alo) or is cancelled (Ioc). A
        ``triggered`` stop executes under its own oid and cloid."""
        coin, asset, is_buy, sz = order.coin, order.asset, order.is_buy, order.size
        pos = acct.positions.get(coin, Position())
        if order.reduce_only:
            if not pos.szi or (pos.szi > 0) == is_buy:
                raise OrderError(f"Reduce only order would increase position. asset={asset}")
            sz = min(sz, abs(pos.szi))
        fills = self._crossed(coin, is_buy, order.price, sz)
        if order.tif == "Alo" and fills:
            bbo = f"{self.level(coin, False, 0)[0]}@{self.level(coin, True, 0)[0]}"
            raise OrderError(f"Post only order would have immediately matched, bbo was {bbo}. asset={asset}")
        if order.tif == "Ioc" and not fills:
            raise OrderError(f"Order could not immediately match against any resting orders. asset={asset}")
        filled = sum((q for _, q in fills), ZERO)
        self._check_margin(acct, coin, pos, filled if is_buy else -filled, fills, asset)
        rest = sz - filled if order.tif in ("Gtc", "Alo") else ZERO
        if triggered is None:
            placed = self._new_order(acct, order, rest, now, done=sz - filled - rest == 0)
        else:
            placed = triggered
            placed.status, placed.status_ts = (OrderState.FILLED if filled == sz else OrderState.CANCELED), now
        for p, q in fills:
            self._apply_fill(acct, coin, is_buy, p, q, placed.oid, placed.cloid, now)
        tag = {"cloid": placed.cloid} if placed.cloid else {}
        if rest:
            return {"resting": {"oid": placed.oid, **tag}}
        avg = sum((p * q for p, q in fills), ZERO) / filled
        return {"filled": {"totalSz": fmt(filled, 8), "avgPx": fmt(avg, 8), "oid": placed.oid, **tag}}

    def _new_order(
        self, acct: Account, order: Incoming, rest: Decimal, now: int, *, done: bool = False
    ) -> RestingOrder:
        """Record an accepted order: open with ``rest`` left (or a waiting trigger), else filled/cancelled."""
        placed = RestingOrder(next(self._oids), order.coin, "B" if order.is_buy else "A", order.price, order.size,
                              rest, order.reduce_only, order.tif, order.cloid, now, trigger_px=order.trigger)  # fmt: skip
        placed.status = OrderState.OPEN if rest else (OrderState.FILLED if done else OrderState.CANCELED)
        placed.status_ts = now
        acct.orders[placed.oid] = placed
        if placed.cloid is not None:
            acct.by_cloid[placed.cloid] = placed.oid
        return placed

    # -- resting orders and stops as prices move ----------------------------------------------------------------
    def _on_price(self, coin: str) -> None:
        """After ``coin``'s mid moved: trigger the stops it crossed, fill the resting limits the book reached."""
        now = int(time.time() * 1000)
        for acct in list(self.accounts.values()):
            for order in [o for o in acct.orders.values() if o.coin == coin and o.status is OrderState.OPEN]:
                if order.trigger_px is not None:
                    self._maybe_trigger(acct, order, now)
                else:
                    self._maybe_fill_resting(acct, order, now)

    def _maybe_trigger(self, acct: Account, order: RestingOrder, now: int) -> None:
        mark, buy = self.mark(order.coin), order.side == "B"
        assert order.trigger_px is not None
        if not (mark >= order.trigger_px if buy else mark <= order.trigger_px):
            return
        order.status, order.status_ts, order.sz = OrderState.TRIGGERED, now, ZERO
        market = Incoming(self.index[order.coin], order.coin, buy, order.limit_px, order.orig_sz, True, "Ioc", None,
                          order.cloid)  # fmt: skip
        try:
            self._execute(acct, market, now, triggered=order)
        except OrderError:  # nothing to reduce, or no liquidity within its worst price
            order.status = OrderState.CANCELED

    def _maybe_fill_resting(self, acct: Account, order: RestingOrder, now: int) -> None:
        """A resting limit the new book crosses fills whole at its own price, as a maker (``MAKER_FEE``)."""
        buy = order.side == "B"
        best = self.level(order.coin, buy, 0)[0]
        if not (best <= order.limit_px if buy else best >= order.limit_px):
            return
        pos = acct.positions.get(order.coin, Position())
        size = order.sz
        if order.reduce_only:
            if not pos.szi or (pos.szi > 0) == buy:
                order.status, order.status_ts, order.sz = OrderState.REDUCE_ONLY_CANCELED, now, ZERO
                return
            size = min(size, abs(pos.szi))
        try:
            self._check_margin(acct, order.coin, pos, size if buy else -size, [(order.limit_px, size)], 0)
        except OrderError:
            order.status, order.status_ts, order.sz = OrderState.MARGIN_CANCELED, now, ZERO
            return
        self._apply_fill(acct, order.coin, buy, order.limit_px, size, order.oid, order.cloid, now, maker=True)
        order.sz = order.sz - size
        if not order.sz or order.reduce_only:
            order.status, order.status_ts, order.sz = OrderState.FILLED, now, ZERO

    def _check_margin(
        self, acct: Account, coin: str, pos: Position, delta: Decimal, fills: list[tuple[Decimal, Decimal]], asset: int
    ) -> None:
        if not delta or abs(pos.szi + delta) <= abs(pos.szi):
            return  # reductions never need margin
        cost = sum((p * q for p, q in fills), ZERO)
        fee = cost * TAKER_FEE
        # the trade itself moves value by (mark - fill price) * delta minus the fee
        value_after = self.account_value(acct) + delta * self.mark(coin) - (cost if delta > 0 else -cost) - fee
        margin_after = (
            self.margin_used(acct)
            - self._coin_margin(acct, coin, pos.szi)
            + self._coin_margin(acct, coin, pos.szi + delta)
        )
        if margin_after > value_after:
            raise OrderError(f"Insufficient margin to place order. asset={asset}")

    def _apply_fill(
        self,
        acct: Account,
        coin: str,
        is_buy: bool,
        px: Decimal,
        qty: Decimal,
        oid: int,
        cloid: str | None,
        now: int,
        *,
        maker: bool = False,
    ) -> None:
        totals = acct.totals
        pos = acct.positions.setdefault(coin, Position())
        start = pos.szi
        signed = qty if is_buy else -qty
        fee = (px * qty * (MAKER_FEE if maker else TAKER_FEE)).quantize(Decimal("0.000001"))
        acct.raw_usd -= signed * px + fee
        closed = ZERO
        if start and (start > 0) != is_buy:  # reducing (maybe flipping)
            closing = min(qty, abs(start))
            closed = closing * (px - pos.entry_px) * (1 if start > 0 else -1)
            direction = "Close Long" if start > 0 else "Close Short"
            pos.szi = start + signed
            if pos.szi and (pos.szi > 0) != (start > 0):
                pos.entry_px = px
                direction = "Long > Short" if start > 0 else "Short > Long"
        else:
            new = start + signed
            pos.entry_px = (abs(start) * pos.entry_px + qty * px) / abs(new)
            pos.szi = new
            direction = "Open Long" if is_buy else "Open Short"
        if totals is not None:  # the account's value and margin move by this fill only
            margin = totals[1] - self._coin_margin(acct, coin, start) + self._coin_margin(acct, coin, pos.szi)
            acct.totals = (totals[0] + signed * self.mark(coin) - (signed * px + fee), margin)
        if not pos.szi:
            del acct.positions[coin]
        tid = next(self._tids)
        acct.fills.append(
            {
                "closedPnl": fmt(closed),
                "coin": coin,
                "crossed": not maker,
                "dir": direction,
                "fee": fmt(fee),
                "feeToken": "USDC",
                "hash": "0x" + hashlib.sha256(f"{oid}:{tid}".encode()).hexdigest(),
                "oid": oid,
                "px": to_wire(px),
                "side": "B" if is_buy else "A",
                "startPosition": fmt(start, 8),
                "sz": to_wire(qty),
                "time": now,
                "tid": tid,
                **({"cloid": cloid} if cloid else {}),
            }
        )

    def cancel(self, owner: str, cancels: list[dict[str, Any]], by_cloid: bool) -> list[Any]:
        with self.lock:
            acct = self.accounts[owner]
            out: list[Any] = []
            for c in cancels:
                oid = acct.by_cloid.get(c["cloid"]) if by_cloid else int(c["o"])
                order = acct.orders.get(oid) if oid is not None else None
                if order is None or order.status is not OrderState.OPEN:
                    out.append({"error": "Order was never placed, already canceled, or filled."})
                    continue
                order.status, order.status_ts, order.sz = OrderState.CANCELED, int(time.time() * 1000), ZERO
                out.append("success")
            return out

    def update_leverage(self, owner: str, asset: int, is_cross: bool, leverage: int) -> None:
        with self.lock:
            acct = self.accounts[owner]
            if not 0 <= asset < len(self.universe):
                raise OrderError(f"Invalid asset {asset}.")
            coin = self.universe[asset]["name"]
            cap = int(self.universe[asset].get("maxLeverage", 1))
            if not 1 <= leverage <= cap:
                raise OrderError(f"Invalid leverage value {leverage} for {coin}: must be between 1 and {cap}.")
            old = acct.leverage.get(coin)
            acct.leverage[coin] = (leverage, is_cross)
            acct.totals = None
            if self.margin_used(acct) > self.account_value(acct):
                if old is None:
                    del acct.leverage[coin]
                else:
                    acct.leverage[coin] = old
                acct.totals = None
                raise OrderError(f"Insufficient margin to lower leverage of {coin} to {leverage}x.")

    def usd_class_transfer(self, owner: str, amount_text: str, to_perp: bool) -> None:
        """Move USDC between ``owner``'s spot and perp balances; an amount ending in ``" subaccount:0x..."`` (as
        the SDK writes it) moves them on that sub-account, which ``owner`` must be the master of."""
        with self.lock:
            text, _, sub = amount_text.partition(" subaccount:")
            target = owner
            if sub:
                controlled = self.roles.controller_of(sub)
                if controlled is None or controlled.kind != "subAccount" or controlled.controller != owner:
                    raise OrderError(f"User {owner} is not the master of sub-account {sub.lower()}.")
                target = controlled.address
            acct = self.accounts[target]
            try:
                amount = Decimal(text)
            except ArithmeticError:
                raise OrderError(f"Invalid transfer amount {amount_text!r}.") from None
            if not amount.is_finite() or amount <= 0:
                raise OrderError(f"Invalid transfer amount {amount_text!r}.")
            if to_perp:
                if amount > acct.spot_usdc:
                    raise OrderError(f"Insufficient spot USDC balance: {fmt(acct.spot_usdc)} < {amount}.")
                acct.spot_usdc -= amount
                acct.raw_usd += amount
                acct.totals = None
            else:
                if amount > self.withdrawable(acct):
                    raise OrderError(
                        f"Insufficient withdrawable perp margin: {fmt(self.withdrawable(acct))} < {amount}."
                    )
                acct.raw_usd -= amount
                acct.spot_usdc += amount
                acct.totals = None
