"""Pure parsers from Hyperliquid ``/info`` JSON to defipm values (numbers arrive as strings -> exact Decimals).

Each takes the decoded response body and raises ``DataError`` naming the field when the shape is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from defipm.core.errors import DataError
from defipm.core.instruments import InstrumentRules
from defipm.core.orders import Fill, Side
from defipm.venues.hyperliquid.rules import rules_from_meta

ZERO = Decimal(0)


def dec(value: Any, field: str) -> Decimal:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise DataError(f"Hyperliquid: field {field!r} is not a number: {value!r}") from None


@dataclass(frozen=True)
class UserState:
    """``clearinghouseState``: signed sizes (from ``szi``), account value, withdrawable, leverage per coin."""

    positions: dict[str, Decimal]
    position_values: dict[str, Decimal]
    """Unsigned, as the API reports them."""
    leverage: dict[str, int]
    account_value: Decimal
    raw_usd: Decimal
    margin_used: Decimal
    withdrawable: Decimal

    def mark(self, coin: str) -> Decimal:
        return self.position_values[coin] / abs(self.positions[coin])


def parse_meta(body: Any) -> tuple[dict[str, InstrumentRules], set[str]]:
    """(rules per coin, delisted coins) from ``meta``."""
    try:
        universe = body["universe"]
        rules = {a["name"]: rules_from_meta(a) for a in universe}
        return rules, {a["name"] for a in universe if a.get("isDelisted")}
    except (KeyError, TypeError) as exc:
        raise DataError(f"Hyperliquid meta: missing {exc}") from None


def parse_mids(body: Any) -> dict[str, Decimal]:
    """``allMids``: perp coins only (spot pairs are ``@n`` or ``X/Y``)."""
    if not isinstance(body, dict):
        raise DataError("Hyperliquid allMids: expected an object")
    return {c: dec(p, f"allMids.{c}") for c, p in body.items() if not c.startswith("@") and "/" not in c}


def parse_user_state(body: Any) -> UserState:
    try:
        positions, values, leverage = {}, {}, {}
        for item in body["assetPositions"]:
            p = item["position"]
            szi = dec(p["szi"], f"{p['coin']}.szi")
            if szi:
                positions[p["coin"]] = szi
                values[p["coin"]] = abs(dec(p["positionValue"], f"{p['coin']}.positionValue"))
                leverage[p["coin"]] = int(p["leverage"]["value"])
        summary = body["marginSummary"]
        return UserState(
            positions=positions,
            position_values=values,
            leverage=leverage,
            account_value=dec(summary["accountValue"], "accountValue"),
            raw_usd=dec(summary.get("totalRawUsd", "0"), "totalRawUsd"),
            margin_used=dec(summary.get("totalMarginUsed", "0"), "totalMarginUsed"),
            withdrawable=dec(body.get("withdrawable", "0"), "withdrawable"),
        )
    except (KeyError, TypeError) as exc:
        raise DataError(f"Hyperliquid clearinghouseState: missing {exc}") from None


def parse_fill(f: dict[str, Any], client_order_id: str | None = None) -> Fill:
    """One ``userFills`` entry. Side "B" buys, "A" sells; ``fee`` is in USDC."""
    return Fill(
        symbol=f["coin"],
        side=Side.BUY if f["side"] == "B" else Side.SELL,
        quantity=dec(f["sz"], "sz"),
        price=dec(f["px"], "px"),
        fee=dec(f.get("fee", "0"), "fee"),
        client_order_id=client_order_id or f.get("cloid"),
        timestamp=datetime.fromtimestamp(int(f["time"]) / 1000, UTC),
        venue_order_id=str(f["oid"]),
    )


def parse_fills(body: Any) -> list[Fill]:
    if not isinstance(body, list):
        raise DataError("Hyperliquid userFills: expected a list")
    return [parse_fill(f) for f in body]


def parse_open_orders(body: Any) -> list[dict[str, Any]]:
    """Open orders with Decimal ``limitPx``/``sz`` and a ``side`` of "buy"/"sell"."""
    return [
        {
            **o,
            "limitPx": dec(o["limitPx"], "limitPx"),
            "sz": dec(o["sz"], "sz"),
            "side": "buy" if o["side"] == "B" else "sell",
        }
        for o in body
    ]


def parse_l2(body: Any) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
    """(bids, asks) as (price, size), best first."""
    bids, asks = body["levels"]
    return [(dec(x["px"], "px"), dec(x["sz"], "sz")) for x in bids], [
        (dec(x["px"], "px"), dec(x["sz"], "sz")) for x in asks
    ]
