"""The local exchange's ``/info`` answers about its engine's state, in Hyperliquid's shapes: ``meta`` and
``metaAndAssetCtxs``, ``allMids``, ``clearinghouseState``, ``spotClearinghouseState``, ``openOrders`` and
``frontendOpenOrders``, ``userFills``, ``orderStatus``, ``userFees`` and ``l2Book``.

``InfoViews`` reads one ``Engine``'s accounts, mids and book under its lock. Market
figures the engine does not simulate (open interest, 24h volume) come from ``contexts``, which tests and demos
set per coin; by default every coin has $50M of open interest and $100M of daily volume.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from defipm.venues.hyperliquid.rules import MAKER_FEE, TAKER_FEE, fmt, to_wire
from defipm.venues.hyperliquid.sim.order_state import OrderState

if TYPE_CHECKING:
    from defipm.venues.hyperliquid.sim.engine import Engine

ZERO = Decimal(0)


@dataclass
class MarketFigures:
    """What ``metaAndAssetCtxs`` reports of a coin besides its prices, in USD."""

    open_interest_usd: Decimal = Decimal(50_000_000)
    day_volume_usd: Decimal = Decimal(100_000_000)
    funding: Decimal = Decimal("0.0000125")


class InfoViews:
    """The ``/info`` answers about one ``Engine`` (read under its lock)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def info_meta(self) -> dict[str, Any]:
        return {"universe": [dict(a) for a in self.engine.universe]}

    def all_mids(self) -> dict[str, str]:
        with self.engine.lock:
            return {
                c: to_wire(m)
                for c, m in self.engine.mids.items()
                if self.engine.listed(c) and c not in self.engine.hidden_mids
            }

    def clearinghouse_state(self, user: str) -> dict[str, Any]:
        with self.engine.lock:
            acct = self.engine.account_or_empty(user)
            positions = []
            for c, p in sorted(acct.positions.items(), key=lambda kv: self.engine.index[kv[0]]):
                lev, cross = self.engine.leverage_of(acct, c)
                value = abs(p.szi) * self.engine.mark(c)
                positions.append(
                    {
                        "position": {
                            "coin": c,
                            "entryPx": fmt(p.entry_px, 8),
                            "leverage": {"type": "cross" if cross else "isolated", "value": lev},
                            "liquidationPx": None,
                            "marginUsed": fmt(value / lev),
                            "maxLeverage": self.engine.universe[self.engine.index[c]].get("maxLeverage"),
                            "positionValue": fmt(value),
                            "returnOnEquity": "0.0",
                            "szi": fmt(p.szi, 8),
                            "unrealizedPnl": fmt(p.szi * (self.engine.mark(c) - p.entry_px)),
                            "cumFunding": {"allTime": "0.0", "sinceChange": "0.0", "sinceOpen": "0.0"},
                        },
                        "type": "oneWay",
                    }
                )
            summary = {
                "accountValue": fmt(self.engine.account_value(acct)),
                "totalMarginUsed": fmt(self.engine.margin_used(acct)),
                "totalNtlPos": fmt(sum((abs(p.szi) * self.engine.mark(c) for c, p in acct.positions.items()), ZERO)),
                "totalRawUsd": fmt(acct.raw_usd),
            }
            return {
                "assetPositions": positions,
                "crossMarginSummary": dict(summary),
                "marginSummary": summary,
                "crossMaintenanceMarginUsed": fmt(self.engine.margin_used(acct) / 2),
                "withdrawable": fmt(self.engine.withdrawable(acct)),
                "time": int(time.time() * 1000),
            }

    def spot_state(self, user: str) -> dict[str, Any]:
        acct = self.engine.account_or_empty(user)
        return {
            "balances": [
                {"coin": "USDC", "token": 0, "hold": "0.0", "total": fmt(acct.spot_usdc, 8), "entryNtl": "0.0"}
            ]
        }

    def open_orders(self, user: str) -> list[dict[str, Any]]:
        with self.engine.lock:
            acct = self.engine.account_or_empty(user)
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

    def frontend_open_orders(self, user: str) -> list[dict[str, Any]]:
        """Open orders with their trigger fields (``frontendOpenOrders``), newest first."""
        with self.engine.lock:
            acct = self.engine.account_or_empty(user)
            return [o.view() for o in sorted(acct.orders.values(), key=lambda o: -o.oid) if o.status is OrderState.OPEN]

    def user_fills(self, user: str) -> list[dict[str, Any]]:
        with self.engine.lock:
            acct = self.engine.account(user)
            return list(reversed(acct.fills))[:2000] if acct else []

    def order_status(self, user: str, oid: int | str) -> dict[str, Any]:
        with self.engine.lock:
            acct = self.engine.account(user)
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

    def meta_and_asset_ctxs(self) -> list[Any]:
        """``[meta, contexts]``: one context per coin of ``meta``, in its order."""
        with self.engine.lock:
            return [self.info_meta(), [self._context(a["name"]) for a in self.engine.universe]]

    def _context(self, coin: str) -> dict[str, Any]:
        figures = self.engine.contexts.get(coin, MarketFigures())
        mid = self.engine.mids.get(coin)
        mark = mid if mid is not None else Decimal(1)
        return {
            "funding": fmt(figures.funding, 8),
            "openInterest": fmt(figures.open_interest_usd / mark, 8),
            "prevDayPx": to_wire(mark),
            "dayNtlVlm": fmt(figures.day_volume_usd, 2),
            "premium": "0.0",
            "oraclePx": to_wire(mark),
            "markPx": to_wire(mark),
            "midPx": to_wire(mid) if mid is not None else None,
            "impactPxs": None,
            "dayBaseVlm": fmt(figures.day_volume_usd / mark, 8),
        }

    def user_fees(self, user: str) -> dict[str, Any]:
        """``userFees`` at the base tier: 4.5 bps taker, 1.5 bps maker, no discounts."""
        rates = {"cross": fmt(TAKER_FEE, 8), "add": fmt(MAKER_FEE, 8), "spotCross": "0.0007", "spotAdd": "0.0004"}
        return {
            "dailyUserVlm": [],
            "feeSchedule": {**rates, "tiers": {"vip": [], "mm": []}, "referralDiscount": "0.04",
                            "stakingDiscountTiers": []},
            "userCrossRate": rates["cross"],
            "userAddRate": rates["add"],
            "userSpotCrossRate": rates["spotCross"],
            "userSpotAddRate": rates["spotAdd"],
            "activeReferralDiscount": "0.0",
            "trial": None,
            "feeTrialEscrow": "0.0",
            "nextTrialAvailableTimestamp": None,
            "stakingLink": None,
            "activeStakingDiscount": {"bpsOfMaxSupply": "0.0", "discount": "0.0"},
        }  # fmt: skip

    def l2_book(self, coin: str) -> dict[str, Any]:
        with self.engine.lock:
            if coin not in self.engine.mids:
                return {"coin": coin, "levels": [[], []], "time": int(time.time() * 1000)}
            bids, asks = self.engine.levels(coin)
        side = lambda lv: [{"px": to_wire(p), "sz": fmt(s, 8), "n": 1} for p, s in lv]  # noqa: E731
        return {"coin": coin, "time": int(time.time() * 1000), "levels": [side(bids), side(asks)]}
