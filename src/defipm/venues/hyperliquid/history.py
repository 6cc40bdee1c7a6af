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


def candles_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``candleSnapshot`` rows -> date (bar open, UTC)/open/high/low/close/volume/trades, sorted, unique."""
    import pandas as pd

    cols = ["date", "open", "high", "low", "close", "volume", "trades"]
    if not rows:
        return pd.DataFrame(columns=cols)
    try:
        frame = pd.DataFrame({
            "date": pd.to_datetime([int(r["t"]) for r in rows], unit="ms", utc=True),
            "open": [float(r["o"]) for r in rows],
            "high": [float(r["h"]) for r in rows],
            "low": [float(r["l"]) for r in rows],
            "close": [float(r["c"]) for r in rows],
            "volume": [float(r["v"]) for r in rows],
            "trades": [int(r.get("n", 0)) for r in rows],
        })  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"Hyperliquid candleSnapshot: bad row ({exc})") from None
    return frame.drop_duplicates("date").sort_values("date").reset_index(drop=True)[cols]


def funding_frame(rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """``fundingHistory`` rows -> date/funding_rate/premium (hourly rates as fractions), sorted, unique."""
    import pandas as pd

    cols = ["date", "funding_rate", "premium"]
    if not rows:
        return pd.DataFrame(columns=cols)
    try:
        frame = pd.DataFrame({
            "date": pd.to_datetime([int(r["time"]) for r in rows], unit="ms", utc=True),
            "funding_rate": [float(r["fundingRate"]) for r in rows],
            "premium": [float(r.get("premium", 0)) for r in rows],
        })  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"Hyperliquid fundingHistory: bad row ({exc})") from None
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
