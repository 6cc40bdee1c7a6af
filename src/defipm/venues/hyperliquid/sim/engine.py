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
import math
import threading
import time
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum
from typing import Any

from defipm.venues.hyperliquid.rules import (
    MIN_NOTIONAL,
    TAKER_FEE,
    fmt,
    price_is_valid,
    round_price,
    size_is_valid,
    to_wire,
)
from defipm.venues.hyperliquid.sim.roles import Roles
from defipm.venues.hyperliquid.sim.seed import Seed

ZERO = Decimal(0)
CANDLE_CAP = 5000
FUNDING_CAP = 500
INTERVALS_MS = {
    "1m": 60_000,
    "3m": 180_000,
    "5m": 300_000,
    "15m": 900_000,
    "30m": 1_800_000,
    "1h": 3_600_000,
    "2h": 7_200_000,
    "4h": 14_400_000,
    "8h": 28_800_000,
    "12h": 43_200_000,
    "1d": 86_400_000,
    "3d": 259_200_000,
    "1w": 604_800_000,
}


class OrderState(StrEnum):
    """An order's status on the local exchange, spelled as Hyperliquid's ``orderStatus`` answers it."""

    OPEN = "open"
    FILLED = "filled"
    CANCELED = "canceled"


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
    tif: str
    cloid: str | None
    timestamp: int
    status: OrderState = OrderState.OPEN
    status_ts: int = 0

    def view(self) -> dict[str, Any]:
        return {
            "coin": self.coin,
            "side": self.side,
            "limitPx": to_wire(self.limit_px),
            "sz": fmt(self.sz, 8),
            "oid": self.oid,
            "timestamp": self.timestamp,
            "triggerCondition": "N/A",
            "isTrigger": False,
            "triggerPx": "0.0",
            "children": [],
            "isPositionTpsl": False,
            "reduceOnly": self.reduce_only,
            "orderType": "Limit",
            "origSz": fmt(self.orig_sz, 8),
            "tif": self.tif,
            "cloid": self.cloid,
        }


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


@dataclass(frozen=True)
class BookConfig:
    half_spread: Decimal = Decimal("0.0002")
    """Distance of each level from the previous one, as a fraction of the mid (2 bps)."""
    levels: int = 10
    level_notional: Decimal = Decimal(250_000)
    """Dollars offered at each level."""


class Engine:
    """All exchange state behind one lock. ``default_leverage`` is Hyperliquid's 20x cross (or the coin max)."""

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

    # -- prices and book ------------------------------------------------------------------------------------
    def set_mid(self, coin: str, mid: Decimal | str) -> None:
        with self.lock:
            self.mids[coin] = Decimal(mid)

    def sz_decimals(self, coin: str) -> int:
        return int(self.universe[self.index[coin]]["szDecimals"])

    def listed(self, coin: str) -> bool:
        return coin in self.index and not self.universe[self.index[coin]].get("isDelisted")

    def levels(self, coin: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """(bids, asks) as (price, size), best first."""
        mid, d = self.mids[coin], self.sz_decimals(coin)
        step = Decimal(1).scaleb(-d)
        bids, asks = [], []
        for i in range(1, self.book.levels + 1):
            off = self.book.half_spread * i
            bid = round_price(mid * (1 - off), d, up=False)
            ask = round_price(mid * (1 + off), d, up=True)
            bids.append((bid, (self.book.level_notional / bid).quantize(step)))
            asks.append((ask, (self.book.level_notional / ask).quantize(step)))
        return bids, asks

    def mark(self, coin: str) -> Decimal:
        return self.mids[coin]

    # -- margin ---------------------------------------------------------------------------------------------
    def leverage_of(self, acct: Account, coin: str) -> tuple[int, bool]:
        cap = int(self.universe[self.index[coin]].get("maxLeverage", self.default_leverage))
        return acct.leverage.get(coin, (min(self.default_leverage, cap), True))

    def account_value(self, acct: Account) -> Decimal:
        return acct.raw_usd + sum((p.szi * self.mark(c) for c, p in acct.positions.items() if p.szi), ZERO)

    def margin_used(self, acct: Account, positions: dict[str, Position] | None = None) -> Decimal:
        total = ZERO
        for c, p in (positions if positions is not None else acct.positions).items():
            if p.szi:
                total += abs(p.szi) * self.mark(c) / self.leverage_of(acct, c)[0]
        return total

    def withdrawable(self, acct: Account) -> Decimal:
        return max(ZERO, self.account_value(acct) - self.margin_used(acct))

    # -- orders ---------------------------------------------------------------------------------------------
    def place_orders(self, owner: str, wires: list[dict[str, Any]]) -> list[Any]:
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
        reduce_only = bool(wire.get("r", False))
        tif = wire.get("t", {}).get("limit", {}).get("tif")
        if tif not in ("Ioc", "Gtc", "Alo"):
            raise OrderError(f"Unsupported order type {wire.get('t')!r}. asset={asset}")
        cloid = wire.get("c")
        if cloid is not None and cloid in acct.by_cloid:
            raise OrderError(f"Duplicate cloid {cloid}. asset={asset}")
        if not size_is_valid(sz, d):
            raise OrderError(f"Order has invalid size. asset={asset}")
        if not price_is_valid(px, d):
            raise OrderError(f"Price must be divisible by tick size. asset={asset}")
        if sz * self.mids[coin] < MIN_NOTIONAL:
            raise OrderError(f"Order must have minimum value of $10. asset={asset}")
        pos = acct.positions.get(coin, Position())
        if reduce_only:
            if not pos.szi or (pos.szi > 0) == is_buy:
                raise OrderError(f"Reduce only order would increase position. asset={asset}")
            sz = min(sz, abs(pos.szi))

        bids, asks = self.levels(coin)
        book = asks if is_buy else bids
        crosses = [(p, s) for p, s in book if (p <= px if is_buy else p >= px)]
        if tif == "Alo" and crosses:
            raise OrderError(
                f"Post only order would have immediately matched, bbo was {bids[0][0]}@{asks[0][0]}. asset={asset}"
            )
        if tif == "Ioc" and not crosses:
            raise OrderError(f"Order could not immediately match against any resting orders. asset={asset}")
        fills: list[tuple[Decimal, Decimal]] = []
        left = sz
        for p, s in crosses:
            take = min(left, s)
            fills.append((p, take))
            left -= take
            if not left:
                break
        filled = sz - left
        self._check_margin(acct, coin, pos, filled if is_buy else -filled, fills, asset)

        now = int(time.time() * 1000)
        oid = next(self._oids)
        rest = left if tif in ("Gtc", "Alo") else ZERO
        order = RestingOrder(oid, coin, "B" if is_buy else "A", px, sz, rest, reduce_only, tif, cloid, now)
        order.status = OrderState.OPEN if rest else (OrderState.FILLED if not left else OrderState.CANCELED)
        order.status_ts = now
        acct.orders[oid] = order
        if cloid is not None:
            acct.by_cloid[cloid] = oid
        for p, q in fills:
            self._apply_fill(acct, coin, is_buy, p, q, oid, cloid, now)
        if rest:
            return {"resting": {"oid": oid, **({"cloid": cloid} if cloid else {})}}
        avg = sum((p * q for p, q in fills), ZERO) / filled
        return {
            "filled": {
                "totalSz": fmt(filled, 8),
                "avgPx": fmt(avg, 8),
                "oid": oid,
                **({"cloid": cloid} if cloid else {}),
            }
        }

    def _check_margin(
        self, acct: Account, coin: str, pos: Position, delta: Decimal, fills: list[tuple[Decimal, Decimal]], asset: int
    ) -> None:
        if not delta or abs(pos.szi + delta) <= abs(pos.szi):
            return  # reductions never need margin
        after = dict(acct.positions)
        after[coin] = Position(pos.szi + delta, pos.entry_px)
        cost = sum((p * q for p, q in fills), ZERO)
        fee = cost * TAKER_FEE
        # the trade itself moves value by (mark - fill price) * delta minus the fee
        value_after = self.account_value(acct) + delta * self.mark(coin) - (cost if delta > 0 else -cost) - fee
        if self.margin_used(acct, after) > value_after:
            raise OrderError(f"Insufficient margin to place order. asset={asset}")

    def _apply_fill(
        self, acct: Account, coin: str, is_buy: bool, px: Decimal, qty: Decimal, oid: int, cloid: str | None, now: int
    ) -> None:
        pos = acct.positions.setdefault(coin, Position())
        start = pos.szi
        signed = qty if is_buy else -qty
        fee = (px * qty * TAKER_FEE).quantize(Decimal("0.000001"))
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
        if not pos.szi:
            del acct.positions[coin]
        tid = next(self._tids)
        acct.fills.append(
            {
                "closedPnl": fmt(closed),
                "coin": coin,
                "crossed": True,
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
            if self.margin_used(acct) > self.account_value(acct):
                if old is None:
                    del acct.leverage[coin]
                else:
                    acct.leverage[coin] = old
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
            else:
                if amount > self.withdrawable(acct):
                    raise OrderError(
                        f"Insufficient withdrawable perp margin: {fmt(self.withdrawable(acct))} < {amount}."
                    )
                acct.raw_usd -= amount
                acct.spot_usdc += amount

    # -- /info views ----------------------------------------------------------------------------------------
    def info_meta(self) -> dict[str, Any]:
        return {"universe": [dict(a) for a in self.universe]}

    def all_mids(self) -> dict[str, str]:
        with self.lock:
            return {c: to_wire(m) for c, m in self.mids.items() if self.listed(c) and c not in self.hidden_mids}

    def clearinghouse_state(self, user: str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(user) or Account(user.lower())
            positions = []
            for c, p in sorted(acct.positions.items(), key=lambda kv: self.index[kv[0]]):
                lev, cross = self.leverage_of(acct, c)
                value = abs(p.szi) * self.mark(c)
                positions.append(
                    {
                        "position": {
                            "coin": c,
                            "entryPx": fmt(p.entry_px, 8),
                            "leverage": {"type": "cross" if cross else "isolated", "value": lev},
                            "liquidationPx": None,
                            "marginUsed": fmt(value / lev),
                            "maxLeverage": self.universe[self.index[c]].get("maxLeverage"),
                            "positionValue": fmt(value),
                            "returnOnEquity": "0.0",
                            "szi": fmt(p.szi, 8),
                            "unrealizedPnl": fmt(p.szi * (self.mark(c) - p.entry_px)),
                            "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
                        },
                        "type": "oneWay",
                    }
                )
            summary = {
                "accountValue": fmt(self.account_value(acct)),
                "totalMarginUsed": fmt(self.margin_used(acct)),
                "totalNtlPos": fmt(sum((abs(p.szi) * self.mark(c) for c, p in acct.positions.items()), ZERO)),
                "totalRawUsd": fmt(acct.raw_usd),
            }
            return {
                "assetPositions": positions,
                "crossMarginSummary": dict(summary),
                "marginSummary": summary,
                "crossMaintenanceMarginUsed": fmt(self.margin_used(acct) / 2),
                "withdrawable": fmt(self.withdrawable(acct)),
                "time": int(time.time() * 1000),
            }

    def spot_state(self, user: str) -> dict[str, Any]:
        acct = self.account(user) or Account(user.lower())
        return {
            "balances": [
                {"coin": "USDC", "token": 0, "hold": "0.0", "total": fmt(acct.spot_usdc, 8), "entryNtl": "0.0"}
            ]
        }

    def open_orders(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            acct = self.account(user) or Account(user.lower())
            return [
                {
                    "coin": o.coin,
                    "limitPx": to_wire(o.limit_px),
                    "oid": o.oid,
                    "side": o.side,
                    "sz": fmt(o.sz, 8),
                    "timestamp": o.timestamp,
                    "origSz": fmt(o.orig_sz, 8),
                    **({"cloid": o.cloid} if o.cloid else {}),
                }
                for o in acct.orders.values()
                if o.status is OrderState.OPEN
            ]

    def user_fills(self, user: str) -> list[dict[str, Any]]:
        with self.lock:
            acct = self.account(user)
            return list(reversed(acct.fills))[:2000] if acct else []

    def order_status(self, user: str, oid: int | str) -> dict[str, Any]:
        with self.lock:
            acct = self.account(user)
            found = None
            if acct is not None:
                key = acct.by_cloid.get(oid) if isinstance(oid, str) else oid
                found = acct.orders.get(key) if key is not None else None
            if found is None:
                return {"status": "unknownOid"}
            return {
                "status": "order",
                "order": {"order": found.view(), "status": found.status, "statusTimestamp": found.status_ts},
            }

    def l2_book(self, coin: str) -> dict[str, Any]:
        with self.lock:
            if coin not in self.mids:
                return {"coin": coin, "levels": [[], []], "time": int(time.time() * 1000)}
            bids, asks = self.levels(coin)
        side = lambda lv: [{"px": to_wire(p), "sz": fmt(s, 8), "n": 1} for p, s in lv]  # noqa: E731
        return {"coin": coin, "time": int(time.time() * 1000), "levels": [side(bids), side(asks)]}

    # -- history (synthetic, deterministic in (coin, time)) ---------------------------------------------------
    def _close_at(self, coin: str, t_ms: int) -> float:
        h = int.from_bytes(hashlib.blake2b(f"{coin}:{t_ms}".encode(), digest_size=4).digest(), "big") / 2**32
        base = float(self.mids.get(coin, Decimal(1)))
        return base * (1 + 0.05 * math.sin(t_ms / 8.64e7 / 30 * 2 * math.pi) + 0.004 * (h - 0.5))

    def candles(self, coin: str, interval: str, start: int, end: int) -> list[dict[str, Any]]:
        step = INTERVALS_MS.get(interval)
        if step is None or coin not in self.index:
            return []
        end = min(end, int(time.time() * 1000))
        first = -(-start // step) * step
        out = []
        d = self.sz_decimals(coin)
        for t in range(first, end + 1, step):
            o, c = self._close_at(coin, t - step), self._close_at(coin, t)
            hi, lo = max(o, c) * 1.001, min(o, c) * 0.999
            px = lambda x: to_wire(round_price(Decimal(repr(x)), d, up=False))  # noqa: E731
            out.append(
                {
                    "t": t,
                    "T": t + step - 1,
                    "s": coin,
                    "i": interval,
                    "o": px(o),
                    "c": px(c),
                    "h": px(hi),
                    "l": px(lo),
                    "v": fmt(Decimal(1000 + (t // step) % 997), 2),
                    "n": 100 + (t // step) % 50,
                }
            )
            if len(out) >= CANDLE_CAP:
                break
        return out

    def funding_history(self, coin: str, start: int, end: int | None) -> list[dict[str, Any]]:
        if coin not in self.index:
            return []
        hour = 3_600_000
        end = min(end if end is not None else 2**62, int(time.time() * 1000))
        out = []
        for t in range(-(-start // hour) * hour, end + 1, hour):
            h = int.from_bytes(hashlib.blake2b(f"f{coin}:{t}".encode(), digest_size=4).digest(), "big") / 2**32
            rate = Decimal("0.0000125") + Decimal(repr(round((h - 0.5) * 0.00002, 8)))
            out.append(
                {"coin": coin, "fundingRate": fmt(rate, 8), "premium": fmt(rate - Decimal("0.0000125"), 8), "time": t}
            )
            if len(out) >= FUNDING_CAP:
                break
        return out
