"""The local exchange's price and funding history: synthetic, deterministic in (coin, time), in the shapes of
``candleSnapshot`` and ``fundingHistory`` and under the same caps per answer as the real API (the interval table
and the caps are the history download's, ``defipm.venues.hyperliquid.history``).

Closes follow a 30-day sine of +/-5% around the coin's current mid with a little hashed noise, so a download
that pages through it is reproducible; funding is an hourly rate around 0.00125% (Hyperliquid's baseline).
"""

from __future__ import annotations

import hashlib
import math
import time
from decimal import Decimal
from typing import Any

from defipm.venues.hyperliquid.history import CANDLE_CAP, FUNDING_CAP, INTERVAL_MS
from defipm.venues.hyperliquid.rules import fmt, round_price, to_wire
from defipm.venues.hyperliquid.sim.engine import Engine

HOUR_MS = 3_600_000
BASE_FUNDING = Decimal("0.0000125")
"""Hourly funding rate the synthetic history varies around."""


def _unit(text: str) -> float:
    """A hash of ``text`` as a number in [0, 1)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=4).digest(), "big") / 2**32


class SyntheticHistory:
    """Candles and funding records for the coins of one ``Engine`` (its universe and current mids)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close_at(self, coin: str, t_ms: int) -> float:
        base = float(self.engine.mids.get(coin, Decimal(1)))
        return base * (1 + 0.05 * math.sin(t_ms / 8.64e7 / 30 * 2 * math.pi) + 0.004 * (_unit(f"{coin}:{t_ms}") - 0.5))

    def _candle(self, coin: str, interval: str, t: int, step: int, sz_decimals: int) -> dict[str, Any]:
        o, c = self.close_at(coin, t - step), self.close_at(coin, t)

        def px(x: float) -> str:
            return to_wire(round_price(Decimal(repr(x)), sz_decimals, up=False))

        return {
            "t": t, "T": t + step - 1, "s": coin, "i": interval,
            "o": px(o), "c": px(c), "h": px(max(o, c) * 1.001), "l": px(min(o, c) * 0.999),
            "v": fmt(Decimal(1000 + (t // step) % 997), 2), "n": 100 + (t // step) % 50,
        }  # fmt: skip

    def candles(self, coin: str, interval: str, start: int, end: int) -> list[dict[str, Any]]:
        """Bars of ``interval`` opening in [start, min(end, now)], at most ``CANDLE_CAP``; [] for an unknown coin
        or interval (as the real API answers)."""
        step = INTERVAL_MS.get(interval)
        if step is None or coin not in self.engine.index:
            return []
        end = min(end, int(time.time() * 1000))
        first = -(-start // step) * step
        d = self.engine.sz_decimals(coin)
        out = []
        for t in range(first, end + 1, step):
            out.append(self._candle(coin, interval, t, step, d))
            if len(out) >= CANDLE_CAP:
                break
        return out

    def funding(self, coin: str, start: int, end: int | None) -> list[dict[str, Any]]:
        """Hourly funding records in [start, min(end, now)], at most ``FUNDING_CAP``."""
        if coin not in self.engine.index:
            return []
        end = min(end if end is not None else 2**62, int(time.time() * 1000))
        out = []
        for t in range(-(-start // HOUR_MS) * HOUR_MS, end + 1, HOUR_MS):
            rate = BASE_FUNDING + Decimal(repr(round((_unit(f"f{coin}:{t}") - 0.5) * 0.00002, 8)))
            out.append({"coin": coin, "fundingRate": fmt(rate, 8), "premium": fmt(rate - BASE_FUNDING, 8), "time": t})
            if len(out) >= FUNDING_CAP:
                break
        return out
