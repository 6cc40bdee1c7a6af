"""Pure parsers from Hyperliquid's JSON answers to defipm values (numbers arrive as strings -> exact Decimals).

Every field is checked as it is read: a number must be a plain decimal numeral (no NaN, sNaN, Infinity, no
``1_000``, no booleans), finite, below ``MAX_MAGNITUDE`` in size and either zero or at least ``MIN_MAGNITUDE``;
a price must also be positive and at least ``MIN_PRICE`` (the wire's 8 decimals cannot carry less). Anything
else, and any missing key or wrong type, raises ``MalformedAnswerError`` naming the answer, the coin and the
field: a corrupt answer never reaches the planner as ``decimal.InvalidOperation`` or a ``KeyError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from defipm.core.errors import MalformedAnswerError
from defipm.core.instruments import InstrumentRules
from defipm.core.orders import Fill, Side
from defipm.venues.hyperliquid.rules import MAX_PERP_DECIMALS, rules_from_meta

ZERO = Decimal(0)
MAX_MAGNITUDE = Decimal("1e18")
"""No size, price or dollar figure on Hyperliquid comes near; a larger one is corrupt."""
MIN_MAGNITUDE = Decimal("1e-12")
"""The finest resolution of the fields read here; a non-zero figure below it is corrupt."""
MIN_PRICE = Decimal("1e-8")
"""Prices go on the wire with at most 8 decimals."""
MAX_TIME_MS = 10**14
"""Milliseconds since 1970 (year ~5138): a larger time is corrupt."""
_NUMERAL = re.compile(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")


def _bad(where: str, field: str, value: Any, problem: str) -> MalformedAnswerError:
    shown = repr(value)
    shown = shown if len(shown) <= 40 else shown[:37] + "..."
    return MalformedAnswerError(f"Hyperliquid {where}: {field} {problem} (got {shown})")


def number(value: Any, where: str, field: str) -> Decimal:
    """A finite Decimal within the magnitude bounds, from a numeral string, an int or a float (via ``repr``)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _bad(where, field, value, "is not a number")
    text = value if isinstance(value, str) else repr(value)
    if not _NUMERAL.fullmatch(text):
        raise _bad(where, field, value, "is not a finite decimal number")
    d = Decimal(text)
    if abs(d) >= MAX_MAGNITUDE or (d and abs(d) < MIN_MAGNITUDE):
        raise _bad(where, field, value, f"is out of range (0 or {MIN_MAGNITUDE} to {MAX_MAGNITUDE} in size)")
    return d


def price(value: Any, where: str, field: str) -> Decimal:
    """A ``number`` that is a usable price: at least ``MIN_PRICE``."""
    d = number(value, where, field)
    if d < MIN_PRICE:
        raise _bad(where, field, value, f"is not a usable price (must be at least {MIN_PRICE})")
    return d


def integer(value: Any, where: str, field: str, *, low: int = 0, high: int = 2**63) -> int:
    """An int (or a string of digits) in ``[low, high]``; never a bool or a float."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,19}", value):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _bad(where, field, value, f"is not an integer from {low} to {high}")
    return value


def text(value: Any, where: str, field: str) -> str:
    if not isinstance(value, str) or not value:
        raise _bad(where, field, value, "is not a non-empty string")
    return value


def get(obj: Any, key: str, where: str, field: str | None = None) -> Any:
    """``obj[key]``, or ``MalformedAnswerError`` naming ``field`` (default ``key``) when absent or not an object."""
    if not isinstance(obj, dict) or key not in obj:
        raise MalformedAnswerError(f"Hyperliquid {where}: {field or key} is missing")
    return obj[key]


def read(obj: Any, key: str, where: str, field: str, convert: Any = None, **bounds: Any) -> Any:
    """``convert(obj[key], where, field, **bounds)`` (or the raw value without ``convert``), naming ``field``."""
    value = get(obj, key, where, field)
    return value if convert is None else convert(value, where, field, **bounds)


def items(value: Any, where: str, field: str) -> list[Any]:
    if not isinstance(value, list):
        raise _bad(where, field, value, "is not a list")
    return value


@dataclass(frozen=True)
class UserState:
    """``clearinghouseState``: signed sizes (from ``szi``), account value, withdrawable, leverage per coin."""

    positions: dict[str, Decimal]
    position_values: dict[str, Decimal]
    """Unsigned, as the API reports them; positive for every held coin."""
    leverage: dict[str, int]
    entry_prices: dict[str, Decimal]
    """Average entry price of each held coin (``entryPx``)."""
    account_value: Decimal
    raw_usd: Decimal
    margin_used: Decimal
    withdrawable: Decimal

    def mark(self, coin: str) -> Decimal:
        return self.position_values[coin] / abs(self.positions[coin])


def parse_meta(body: Any) -> tuple[dict[str, InstrumentRules], set[str]]:
    """(rules per coin, delisted coins) from ``meta``."""
    rules: dict[str, InstrumentRules] = {}
    delisted: set[str] = set()
    for i, asset in enumerate(items(get(body, "universe", "meta"), "meta", "universe")):
        coin = read(asset, "name", "meta", f"universe[{i}].name", text)
        read(asset, "szDecimals", "meta", f"{coin}.szDecimals", integer, high=MAX_PERP_DECIMALS)
        if "maxLeverage" in asset:
            integer(asset["maxLeverage"], "meta", f"{coin}.maxLeverage", low=1, high=1000)
        rules[coin] = rules_from_meta(asset)
        if asset.get("isDelisted"):
            delisted.add(coin)
    return rules, delisted


def parse_mids(body: Any) -> dict[str, Decimal]:
    """``allMids``: perp coins only (spot pairs are ``@n`` or ``X/Y`` and are not read)."""
    if not isinstance(body, dict):
        raise _bad("allMids", "the answer", body, "is not an object")
    return {c: price(p, "allMids", f"{c} mid") for c, p in body.items() if not c.startswith("@") and "/" not in c}


def _position(item: Any, i: int) -> tuple[str, Decimal, Decimal, int, Decimal]:
    """(coin, signed size, unsigned value, leverage, entry price) of one ``assetPositions`` entry."""
    where = "clearinghouseState"
    p = get(item, "position", where, f"assetPositions[{i}].position")
    coin = read(p, "coin", where, f"assetPositions[{i}].coin", text)
    szi = read(p, "szi", where, f"{coin}.szi", number)
    if not szi:
        return coin, szi, ZERO, 0, ZERO
    value = read(p, "positionValue", where, f"{coin}.positionValue", number)
    if not value:
        raise _bad(where, f"{coin}.positionValue", p["positionValue"], f"is zero for a position of {szi}")
    lev = read(get(p, "leverage", where, f"{coin}.leverage"), "value", where, f"{coin}.leverage.value", integer,
               low=1, high=1000)  # fmt: skip
    entry = read(p, "entryPx", where, f"{coin}.entryPx", price)
    return coin, szi, abs(value), lev, entry


def parse_user_state(body: Any) -> UserState:
    where = "clearinghouseState"
    positions, values, leverage, entries = {}, {}, {}, {}
    for i, item in enumerate(items(get(body, "assetPositions", where), where, "assetPositions")):
        coin, szi, value, lev, entry = _position(item, i)
        if szi:
            positions[coin], values[coin], leverage[coin], entries[coin] = szi, value, lev, entry
    summary = get(body, "marginSummary", where)
    return UserState(
        positions=positions,
        position_values=values,
        leverage=leverage,
        entry_prices=entries,
        account_value=read(summary, "accountValue", where, "marginSummary.accountValue", number),
        raw_usd=number(summary.get("totalRawUsd", "0"), where, "marginSummary.totalRawUsd"),
        margin_used=number(summary.get("totalMarginUsed", "0"), where, "marginSummary.totalMarginUsed"),
        withdrawable=number(body.get("withdrawable", "0"), where, "withdrawable"),
    )


def parse_spot_usdc(body: Any) -> Decimal:
    """USDC ``total`` from ``spotClearinghouseState`` (0 when the account holds none)."""
    where = "spotClearinghouseState"
    for i, balance in enumerate(items(get(body, "balances", where), where, "balances")):
        if get(balance, "coin", where, f"balances[{i}].coin") == "USDC":
            return read(balance, "total", where, "USDC.total", number)  # type: ignore[no-any-return]
    return ZERO


def parse_side(value: Any, where: str, field: str) -> Side:
    if value == "B":
        return Side.BUY
    if value == "A":
        return Side.SELL
    raise _bad(where, field, value, 'is not "B" (buy) or "A" (sell)')


def _positive(value: Any, where: str, field: str) -> Decimal:
    d = number(value, where, field)
    if d <= 0:
        raise _bad(where, field, value, "is not positive")
    return d


def parse_fill(f: Any, client_order_id: str | None = None, where: str = "userFills") -> Fill:
    """One ``userFills`` entry, with the exchange's fill time. Side "B" buys, "A" sells; ``fee`` is in USDC."""
    coin = read(f, "coin", where, "fill coin", text)
    time_ms = read(f, "time", where, f"{coin} fill time", integer, low=1, high=MAX_TIME_MS)
    cloid = f.get("cloid")
    if cloid is not None and not isinstance(cloid, str):
        raise _bad(where, f"{coin} fill cloid", cloid, "is not a string")
    return Fill(
        symbol=coin,
        side=read(f, "side", where, f"{coin} fill side", parse_side),
        quantity=read(f, "sz", where, f"{coin} fill sz", _positive),
        price=read(f, "px", where, f"{coin} fill px", price),
        fee=number(f.get("fee", "0"), where, f"{coin} fill fee"),
        client_order_id=client_order_id or cloid,
        timestamp=datetime.fromtimestamp(time_ms / 1000, UTC),
        venue_order_id=str(read(f, "oid", where, f"{coin} fill oid", integer)),
    )


def parse_fills(body: Any, where: str = "userFills") -> list[Fill]:
    return [parse_fill(f, where=where) for f in items(body, where, "the answer")]


@dataclass(frozen=True)
class OrderInfo:
    """One order from ``orderStatus``: what it was and its status text ("filled", "open", "canceled", ...)."""

    coin: str
    side: Side
    orig_size: Decimal
    limit_price: Decimal
    reduce_only: bool
    oid: int
    timestamp: int
    """When the exchange received it, ms."""
    status: str
    trigger_price: Decimal | None = None
    """The trigger of a stop or take-profit order (``isTrigger``), else None."""


def parse_order_status(body: Any) -> OrderInfo | None:
    """``orderStatus``: None for an order the exchange never saw (``{"status": "unknownOid"}``)."""
    where = "orderStatus"
    if not isinstance(body, dict) or body.get("status") != "order":
        return None
    outer = get(body, "order", where)
    info = get(outer, "order", where, "order.order")
    coin = read(info, "coin", where, "order coin", text)
    trigger = read(info, "triggerPx", where, f"{coin} triggerPx", price) if info.get("isTrigger") is True else None
    return OrderInfo(
        coin=coin,
        side=read(info, "side", where, f"{coin} order side", parse_side),
        orig_size=read(info, "origSz", where, f"{coin} origSz", _positive),
        limit_price=read(info, "limitPx", where, f"{coin} limitPx", price),
        reduce_only=bool(info.get("reduceOnly")),
        oid=read(info, "oid", where, f"{coin} oid", integer),
        timestamp=read(info, "timestamp", where, f"{coin} order timestamp", integer, low=1, high=MAX_TIME_MS),
        status=read(outer, "status", where, f"{coin} order status", text),
        trigger_price=trigger,
    )


def parse_filled(entry: Any, coin: str) -> tuple[Decimal, Decimal, int]:
    """(total size, average price, oid) of a ``{"filled": {...}}`` order status."""
    where = "order status"
    filled = get(entry, "filled", where, f"{coin} filled")
    return (
        read(filled, "totalSz", where, f"{coin} totalSz", _positive),
        read(filled, "avgPx", where, f"{coin} avgPx", price),
        read(filled, "oid", where, f"{coin} oid", integer),
    )


@dataclass(frozen=True, slots=True)
class OpenOrder:
    """One open order (``frontendOpenOrders``): a resting limit or an untriggered stop."""

    coin: str
    side: Side
    size: Decimal
    """What is left to fill."""
    limit_price: Decimal
    oid: int
    cloid: str | None
    reduce_only: bool
    trigger_price: Decimal | None
    """The trigger of a stop or take-profit order, else None."""
    order_type: str
    """As the exchange names it: "Limit", "Stop Market", ..."""
    timestamp: int


def _open_order(o: Any, i: int, where: str) -> OpenOrder:
    coin = read(o, "coin", where, f"[{i}].coin", text)
    cloid = o.get("cloid")
    if cloid is not None and not isinstance(cloid, str):
        raise _bad(where, f"{coin} cloid", cloid, "is not a string")
    trigger = read(o, "triggerPx", where, f"{coin} triggerPx", price) if o.get("isTrigger") is True else None
    kind = o.get("orderType", "Limit")
    return OpenOrder(
        coin=coin,
        side=read(o, "side", where, f"{coin} side", parse_side),
        size=read(o, "sz", where, f"{coin} sz", _positive),
        limit_price=read(o, "limitPx", where, f"{coin} limitPx", price),
        oid=read(o, "oid", where, f"{coin} oid", integer),
        cloid=cloid,
        reduce_only=o.get("reduceOnly") is True,
        trigger_price=trigger,
        order_type=kind if isinstance(kind, str) else "Limit",
        timestamp=read(o, "timestamp", where, f"{coin} timestamp", integer, low=0, high=MAX_TIME_MS),
    )


def parse_frontend_open_orders(body: Any) -> list[OpenOrder]:
    """``frontendOpenOrders`` (also reads ``openOrders``, whose entries lack the trigger fields)."""
    where = "frontendOpenOrders"
    return [_open_order(o, i, where) for i, o in enumerate(items(body, where, "the answer"))]


@dataclass(frozen=True, slots=True)
class FeeRates:
    """An account's fee rates as fractions of notional (``userFees``): ``taker`` (crossing) and ``maker``
    (adding liquidity; negative for a rebate)."""

    taker: Decimal
    maker: Decimal


def parse_user_fees(body: Any) -> FeeRates:
    where = "userFees"
    taker = read(body, "userCrossRate", where, "userCrossRate", number)
    maker = read(body, "userAddRate", where, "userAddRate", number)
    if not ZERO <= taker < Decimal("0.1") or not Decimal("-0.1") < maker < Decimal("0.1"):
        raise _bad(where, "userCrossRate/userAddRate", (str(taker), str(maker)), "are not fee fractions below 10%")
    return FeeRates(taker, maker)


@dataclass(frozen=True, slots=True)
class AssetContext:
    """A perp's market figures from ``metaAndAssetCtxs``: open interest (base units), the mark price, the 24h
    notional volume (USD) and the current hourly funding rate."""

    open_interest: Decimal
    mark: Decimal
    day_volume: Decimal
    funding: Decimal

    @property
    def open_interest_usd(self) -> Decimal:
        return self.open_interest * self.mark


def parse_asset_contexts(body: Any) -> tuple[dict[str, Any], dict[str, AssetContext]]:
    """``metaAndAssetCtxs`` -> (the ``meta`` part, context per coin). The contexts come in the order of
    ``meta["universe"]``; a count that differs is malformed."""
    where = "metaAndAssetCtxs"
    pair = items(body, where, "the answer")
    if len(pair) != 2:
        raise _bad(where, "the answer", body, "is not [meta, contexts]")
    meta, ctxs = pair
    parse_meta(meta)
    universe = meta["universe"]
    rows = items(ctxs, where, "contexts")
    if len(rows) != len(universe):
        raise _bad(where, "contexts", len(rows), f"do not match the {len(universe)} coins of meta")
    out = {}
    for asset, ctx in zip(universe, rows, strict=True):
        coin = asset["name"]
        out[coin] = AssetContext(
            open_interest=read(ctx, "openInterest", where, f"{coin} openInterest", number),
            mark=read(ctx, "markPx", where, f"{coin} markPx", price),
            day_volume=read(ctx, "dayNtlVlm", where, f"{coin} dayNtlVlm", number),
            funding=read(ctx, "funding", where, f"{coin} funding", number),
        )
    return meta, out


def parse_l2(body: Any) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """(bids, asks) as (price, size), best first."""
    where = "l2Book"
    coin = body.get("coin", "?") if isinstance(body, dict) else "?"
    levels = items(get(body, "levels", where), where, f"{coin} levels")
    if len(levels) != 2:
        raise _bad(where, f"{coin} levels", levels, "is not [bids, asks]")

    def side(rows: Any, name: str) -> list[tuple[Decimal, Decimal]]:
        return [
            (read(x, "px", where, f"{coin} {name} px", price), read(x, "sz", where, f"{coin} {name} sz", _positive))
            for x in items(rows, where, f"{coin} {name}")
        ]

    return side(levels[0], "bid"), side(levels[1], "ask")
