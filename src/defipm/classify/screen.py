"""``Classifier``: the point-in-time token screen, written in SQL (``screen.sql``) and run by DuckDB.

The classifier reads a ``MarketView`` (the backtester's point-in-time window on the price panel, itself loaded
through the market-data cache, ``defipm.data.cache``) and copies its real bars into an in-memory DuckDB table
as the view's clock moves, so the table never holds a bar after the clock: asking for a time after it raises
``LookAheadError`` before any SQL runs. Each ``classify(t)`` is one query over that table, reading only bars
closed by t; its answer at t does not depend on any later bar (a test checks it on the full and the cut data).

Rules, in order (the first one a token fails is its reason): history (``min_history_days`` of usable bars, or
``min_history_bars``; a bar before the longest window, a bar within the last ``STALE_AFTER_BARS``), category (tags, meme unless
``include_meme``, ``exclude_categories``), return (above the candidates' mean plus ``return_margin``), trend
(short MA above long MA), volume (above ``volume_threshold`` x the candidates' mean), then the optional Sortino
filter and ``top_n``. The candidates are the tokens that pass history and category; the means are theirs.

Needs duckdb, pandas and pyarrow (the ``backtest`` extra).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import numpy as np

from defipm.classify.config import ScreenConfig
from defipm.classify.result import COLUMNS, Classification
from defipm.classify.tags import TagTable, load_tag_file, shipped_tags, tags_from_mapping
from defipm.core.errors import DataError
from defipm.core.metrics import RISK_FLOOR
from defipm.data.contracts import ContractTable, contract_of
from defipm.data.panel import STALE_AFTER_BARS, to_datetime, to_datetime64
from defipm.data.view import MarketView

if TYPE_CHECKING:
    import duckdb


class InsufficientHistoryError(DataError):
    """The data up to t is shorter than the screen needs (``needs``, e.g. "its 60-day window"); ``ready_at`` is
    the first time the data would do."""

    def __init__(self, message: str, ready_at: datetime, needs: str) -> None:
        super().__init__(message)
        self.ready_at = ready_at
        self.needs = needs


@cache
def screen_sql() -> str:
    """The screen's SQL text (``screen.sql`` beside this module)."""
    return resources.files("defipm.classify").joinpath("screen.sql").read_text(encoding="utf-8")


def user_tags(config: ScreenConfig) -> list[TagTable]:
    """The config's own tag tables, in the order they apply: ``tag_file``, then ``tags``."""
    tables = []
    if config.tag_file is not None:
        tables.append(load_tag_file(config.tag_file))
    if config.tags:
        tables.append(tags_from_mapping(config.tags, "tags"))
    return tables


def resolve_tags(config: ScreenConfig, base: TagTable | None = None) -> TagTable:
    """The shipped table (or ``base``) with the config's tables on top."""
    table = base if base is not None else shipped_tags()
    for extra in user_tags(config):
        table = table.merged(extra)
    return table


class Classifier:
    """Screens every symbol of ``market`` at a time t, reading only bars closed by t.

    config: the thresholds (``ScreenConfig``). tags: the category table (default: shipped + the config's).
    contracts: the data folder's contract manifest, which names the asset behind a bundle contract
    (``1000PEPE`` -> PEPE) for the tag lookup; known bundles are resolved without one.
    ``warnings`` lists tag entries that name no token of the data (set at construction).
    """

    def __init__(
        self,
        market: MarketView,
        config: ScreenConfig | None = None,
        *,
        tags: TagTable | None = None,
        contracts: ContractTable | None = None,
    ) -> None:
        import duckdb

        self.market = market
        self.config = config or ScreenConfig()
        extra = user_tags(self.config)
        self.tags = tags if tags is not None else resolve_tags(self.config)
        self.contracts = contracts
        self._con: duckdb.DuckDBPyConnection = duckdb.connect()
        self._con.execute(
            "CREATE TABLE bars (i INTEGER, ts TIMESTAMP, j INTEGER, n INTEGER, close DOUBLE, prev DOUBLE, volume DOUBLE)"
        )
        self._loaded = -1  # bar index loaded up to (inclusive)
        self._counts = np.zeros(len(market.symbols), dtype=np.int64)
        names = self._register_tokens()
        self.warnings: list[str] = [w for table in extra for w in table.unknown(names)]
        """Tag entries of the config that name no token of the data."""

    def close(self) -> None:
        self._con.close()

    # -- tokens and bars ----------------------------------------------------------------------------------------
    def _register_tokens(self) -> set[str]:
        """Write the tokens table (symbol, asset, tags, category verdict); returns every symbol and asset."""
        import pyarrow as pa

        excluded = self.config.excluded_categories
        rows: dict[str, list[Any]] = {k: [] for k in ("j", "symbol", "asset", "multiplier", "categories", "ok")}
        names: set[str] = set()
        for j, symbol in enumerate(self.market.symbols):
            contract = contract_of(symbol, self.contracts)
            found = self.tags.categories(symbol, contract.asset) or frozenset()
            names.update((symbol, contract.asset))
            for key, value in zip(
                rows,
                (j, symbol, contract.asset, contract.multiplier, ";".join(sorted(found)), not (found & excluded)),
                strict=True,
            ):
                rows[key].append(value)
        table = pa.table(rows)
        self._con.register("token_rows", table)
        self._con.execute(
            "CREATE OR REPLACE TABLE tokens AS SELECT j::INTEGER AS j, symbol, asset, multiplier::BIGINT AS "
            "multiplier, categories, ok AS category_ok FROM token_rows"
        )
        self._con.unregister("token_rows")
        return names

    def _load_until(self, end: int, at: datetime) -> None:
        """Copy the real bars after the last loaded one up to bar ``end`` (the view's bound) into DuckDB."""
        import pyarrow as pa

        if end <= self._loaded:
            return
        count = end - self._loaded
        view = self.market
        mask = np.asarray(view.real_bars(count, at))
        with_prior = np.asarray(
            view.history("close", count + 1, at)
        )  # carried closes: the bar before is the last real one
        if len(with_prior) == count:  # the first bar of the data has no bar before it
            with_prior = np.vstack([np.full((1, with_prior.shape[1]), np.nan), with_prior])
        close, prior = with_prior[1:], with_prior[:-1]
        volume = np.asarray(view.history("volume", count, at))
        times = np.asarray(view.timestamps(count, at))
        running = np.cumsum(mask, axis=0) + self._counts
        rows, cols = np.nonzero(mask)
        table = pa.table(
            {
                "i": pa.array((rows + self._loaded + 1).astype(np.int32)),
                "ts": pa.array(times[rows], type=pa.timestamp("ns")),
                "j": pa.array(cols.astype(np.int32)),
                "n": pa.array(running[rows, cols].astype(np.int32)),
                "close": pa.array(close[rows, cols], type=pa.float64()),
                "prev": pa.array(prior[rows, cols], type=pa.float64()),
                "volume": pa.array(np.nan_to_num(volume[rows, cols]), type=pa.float64()),
            }
        )
        self._con.register("new_bars", table)
        self._con.execute("INSERT INTO bars SELECT * FROM new_bars")
        self._con.unregister("new_bars")
        self._counts += mask.sum(axis=0)
        self._loaded = end

    # -- the screen ---------------------------------------------------------------------------------------------
    def classify(self, at: datetime | None = None) -> Classification:
        """Every token at ``at`` (default: the view's clock) with its metrics, kept or excluded and why.

        Raises ``LookAheadError`` for a time after the view's clock, ``InsufficientHistoryError`` when the data up
        to ``at`` is shorter than the longest window or than the history requirement (``min_history_days``).
        """
        view = self.market
        requested = at if at is not None else view.now
        end = view.end_index(requested)  # raises LookAheadError past the clock
        if end < 0:
            first = to_datetime(view.timestamps()[0])
            raise InsufficientHistoryError(
                f"classifier: no bar at or before {requested:%Y-%m-%d %H:%M} (the data starts {first:%Y-%m-%d})",
                first,
                "bars",
            )
        times = view.timestamps(end + 1, requested)
        now = to_datetime(times[-1])
        self._check_history(now, to_datetime(times[0]), end + 1)
        self._load_until(end, requested)
        arrays = self._con.execute(screen_sql(), self._params(now)).fetchnumpy()
        return self._answer(arrays, now, requested)

    def _check_history(self, now: datetime, first: datetime, bars: int) -> None:
        c = self.config
        longest = timedelta(days=c.longest_window_days)
        interval = self.market.interval
        needed = max(longest, interval * (c.min_bars(interval) - 1))
        if now - first >= needed:
            return
        span = now - first
        what = f"{c.longest_window_days}-day window" if needed == longest else c.history_rule(interval)
        raise InsufficientHistoryError(
            f"classifier: the data up to {now:%Y-%m-%d %H:%M} spans {span.days} day(s) ({bars} bar(s)) from "
            f"{first:%Y-%m-%d}, shorter than the screen's {what}; classify at {first + needed:%Y-%m-%d} or later, "
            "or shorten the window",
            first + needed,
            what,
        )

    def _params(self, now: datetime) -> dict[str, Any]:
        c, interval = self.config, self.market.interval
        day = timedelta(days=1)
        scan = c.longest_window_days * day + (STALE_AFTER_BARS + 2) * interval
        stamp = _naive
        return {
            "now": stamp(now),
            "scan_start": stamp(now - scan),
            "return_start": stamp(now - c.window_days * day),
            "longest_start": stamp(now - c.longest_window_days * day),
            "short_start": stamp(now - c.trend_short_days * day),
            "long_start": stamp(now - c.trend_long_days * day),
            "sortino_start": stamp(now - c.sortino_window_days * day),
            "listed_since": stamp(now - STALE_AFTER_BARS * interval),
            "window_days": float(c.window_days),
            "periods_per_year": float(self.market.periods_per_year),
            "min_bars": c.min_bars(interval),
            "return_margin": float(c.return_margin),
            "trend": c.trend,
            "volume_threshold": float(c.volume_threshold),
            "sortino_threshold": c.sortino_threshold,
            "risk_floor": RISK_FLOOR,
            "top_n": c.top_n,
        }

    def _answer(self, arrays: dict[str, Any], now: datetime, requested: datetime) -> Classification:
        """The query's columns as the ``Classification`` table (NULL: NaN for numbers, None for the reason)."""
        import pandas as pd

        first = {k: _first(arrays[k]) for k in ("mean_return", "mean_volume", "mean_sortino", "candidates")}
        reason = arrays["reason"]
        reasons = np.array(np.ma.getdata(reason), dtype=object)
        reasons[np.ma.getmaskarray(reason)] = None
        rank = arrays["rank"]
        rank_mask = np.ma.getmaskarray(rank)
        columns: dict[str, Any] = {}
        for name in COLUMNS:
            if name == "kept":
                columns[name] = np.array([r is None for r in reasons], dtype=bool)
            elif name == "reason":
                columns[name] = pd.Series(reasons, dtype=object)  # None when kept (not a string dtype's NaN)
            elif name == "rank":
                columns[name] = pd.arrays.IntegerArray(np.ma.getdata(rank).astype(np.int64), rank_mask)
            elif name in ("symbol", "asset", "categories"):
                columns[name] = np.asarray(np.ma.getdata(arrays[name]), dtype=object)
            elif name in ("bars", "multiplier"):
                columns[name] = np.ma.filled(arrays[name], 0).astype(np.int64)
            else:
                columns[name] = np.ma.filled(np.ma.asarray(arrays[name], dtype=np.float64), np.nan)
        means = {"return": first["mean_return"], "volume": first["mean_volume"], "sortino": first["mean_sortino"]}
        candidates = 0 if math.isnan(first["candidates"]) else int(first["candidates"])
        return Classification(
            at=now,
            requested=requested,
            table=pd.DataFrame(columns),
            config=self.config,
            means=means,
            candidates=candidates,
            min_bars=self.config.min_bars(self.market.interval),
        )


def _first(values: Any) -> float:
    """The first value of a result column as a float (NaN when empty or NULL)."""
    if len(values) == 0 or np.ma.getmaskarray(values)[0]:
        return math.nan
    return float(np.ma.getdata(values)[0])


def _naive(value: datetime) -> datetime:
    """UTC wall time without a zone, as the bars table stores it."""
    return to_datetime64(value).astype("datetime64[us]").item()  # type: ignore[no-any-return]
