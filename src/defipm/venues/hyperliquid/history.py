"""Hyperliquid history for backtests: candles (``candleSnapshot``) and funding rates (``fundingHistory``), both
paginated past the API caps (5,000 candles, 500 funding records per answer), as pandas DataFrames.

``store_history`` writes one ``<COIN>.csv`` per coin with ``date,open,high,low,close,volume`` (times UTC, bar
open) into a folder that ``defipm.data.load_prices`` reads (and caches), plus ``funding/<COIN>.csv`` with
``date,funding_rate,premium``, so a backtest runs on Hyperliquid prices and funding.
Needs pandas (the ``backtest`` extra).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from defipm.core.errors import DataError
from defipm.venues.hyperliquid.parsing import MAX_TIME_MS, integer, number, price, read

if TYPE_CHECKING:
    import pandas as pd

CANDLE_CAP = 5000
FUNDING_CAP = 500
INTERVAL_MS = {
    "1m": 60_000, "3m": 180_000, "5m": 300_000, "15m": 900_000, "30m": 1_800_000, "1h": 3_600_000,
    "2h": 7_200_000, "4h": 14_400_000, "8h": 28_800_000, "12h": 43_200_000, "1d": 86_400_000,
    "3d": 259_200_000, "1w": 604_800_000,
}  # fmt: skip
Post = Callable[[str, dict[str, Any]], Any]
"""``post(what, body)`` -> decoded ``/info`` answer (``HyperliquidClient.post_info``)."""


def to_ms(t: datetime | int) -> int:
    if isinstance(t, int):
        return t
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return int(t.timestamp() * 1000)


def _coin(row: Any, key: str) -> str:
    return str(row.get(key, "?")) if isinstance(row, dict) else "?"


def _candle_row(r: Any) -> tuple[int, float, float, float, float, float, int]:
    """One candle, each field checked (``MalformedAnswerError`` naming the coin and field otherwise)."""
    where, coin = "candleSnapshot", _coin(r, "s")
    t = read(r, "t", where, f"{coin} candle t", integer, high=MAX_TIME_MS)
    o, h, low, c = (float(read(r, k, where, f"{coin} candle {k}", price)) for k in "ohlc")
    volume = float(read(r, "v", where, f"{coin} candle v", number))
    return t, o, h, low, c, volume, integer(r.get("n", 0), where, f"{coin} candle n")


def _funding_row(r: Any) -> tuple[int, float, float]:
    where, coin = "fundingHistory", _coin(r, "coin")
    t = read(r, "time", where, f"{coin} funding time", integer, high=MAX_TIME_MS)
    rate = float(read(r, "fundingRate", where, f"{coin} fundingRate", number))
    return t, rate, float(number(r.get("premium", 0), where, f"{coin} premium"))


def candles_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``candleSnapshot`` rows -> date (bar open, UTC)/open/high/low/close/volume/trades, sorted, unique."""
    import pandas as pd

    cols = ["date", "open", "high", "low", "close", "volume", "trades"]
    if not rows:
        return pd.DataFrame(columns=cols)
    parsed = [_candle_row(r) for r in rows]
    frame = pd.DataFrame(parsed, columns=cols)
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame.drop_duplicates("date").sort_values("date").reset_index(drop=True)[cols]


def funding_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``fundingHistory`` rows -> date/funding_rate/premium (hourly rates as fractions), sorted, unique."""
    import pandas as pd

    cols = ["date", "funding_rate", "premium"]
    if not rows:
        return pd.DataFrame(columns=cols)
    parsed = [_funding_row(r) for r in rows]
    frame = pd.DataFrame(parsed, columns=cols)
    frame["date"] = pd.to_datetime(frame["date"], unit="ms", utc=True)
    return frame.drop_duplicates("date").sort_values("date").reset_index(drop=True)[cols]


def fetch_candles(post: Post, coin: str, interval: str, start: datetime | int, end: datetime | int) -> pd.DataFrame:
    """All candles of ``coin`` in [start, end], paging forward from the last bar returned."""
    if interval not in INTERVAL_MS:
        raise DataError(f"Hyperliquid candles: unknown interval {interval!r}; one of {', '.join(INTERVAL_MS)}")
    step, cursor, stop = INTERVAL_MS[interval], to_ms(start), to_ms(end)
    rows: list[dict[str, Any]] = []
    while cursor <= stop:
        req = {"coin": coin, "interval": interval, "startTime": cursor, "endTime": stop}
        page = post(f"candleSnapshot {coin}", {"type": "candleSnapshot", "req": req}) or []
        page = [r for r in page if int(r["t"]) >= cursor]
        if not page:
            break
        rows.extend(page)
        cursor = max(int(r["t"]) for r in page) + step
    return candles_frame(rows)


def fetch_funding(post: Post, coin: str, start: datetime | int, end: datetime | int | None = None) -> pd.DataFrame:
    """All funding records of ``coin`` from ``start`` (to ``end``), paging forward past the 500-record cap."""
    cursor = to_ms(start)
    stop = to_ms(end) if end is not None else None
    rows: list[dict[str, Any]] = []
    while stop is None or cursor <= stop:
        body: dict[str, Any] = {"type": "fundingHistory", "coin": coin, "startTime": cursor}
        if stop is not None:
            body["endTime"] = stop
        page = [r for r in (post(f"fundingHistory {coin}", body) or []) if int(r["time"]) >= cursor]
        if not page:
            break
        rows.extend(page)
        cursor = max(int(r["time"]) for r in page) + 1
        if len(page) < FUNDING_CAP:
            break
    return funding_frame(rows)


def store_history(
    post: Post,
    coins: Sequence[str],
    folder: str | Path,
    *,
    interval: str = "1d",
    start: datetime | int,
    end: datetime | int,
    funding: bool = True,
) -> dict[str, int]:
    """Download candles (and funding) for ``coins`` into ``folder``; returns the number of bars per coin."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for coin in coins:
        frame = fetch_candles(post, coin, interval, start, end)
        frame.drop(columns=["trades"]).to_csv(out / f"{coin}.csv", index=False)
        counts[coin] = len(frame)
        if funding:
            (out / "funding").mkdir(exist_ok=True)
            fetch_funding(post, coin, start, end).to_csv(out / "funding" / f"{coin}.csv", index=False)
    return counts
