"""TB-N: long the top and short the bottom coins of a published signal, sized by ``defipm.allocation``.

Signals: Numerai's crypto meta-model (numerapi), CrowdCent's Hyperliquid-ranking meta-model (its client,
``pred_10d`` or ``pred_30d``), or any local CSV/Parquet file with a column mapping (``defipm.data.signals``).

For a timestamp ``t`` the oracle sees only rows already published: a row dated D is usable from
``D + publication_delay`` (default one day, i.e. D+1 00:00 UTC); with a ``signal_lag`` it trades the signal as it
stood that much earlier. It averages each symbol's score over the last ``lags`` usable dates, maps the signal's
symbols to the venue's (``SymbolMap``), keeps the venue's universe, sorts by score (ties by symbol, so the picks are
deterministic), takes the top ``n_long`` and the bottom ``n_short`` (``n`` each by default), sizes each side by the
``weighting`` scheme (equal, rank, inverse volatility, minimum variance, HRP over ``risk_lookback`` of returns) and
joins them at ``gross`` with net exposure ``net`` (``book_weights``). With fewer symbols than both counts, both
shrink in proportion and the cycle report says so; a covariance scheme that cannot be used falls back and says so.

Averages are exact: each score is read as the decimal it prints as (``repr``: 0.7 is 7/10, not its binary
neighbour) and averaged as a rational number, so two symbols whose scores have the same mean (0.7, 0.61, 0.04 and
0.5, 0.22, 0.63 both average 9/20) tie exactly and rank by symbol, never by a float rounding.

It raises ``DataError`` (and so trades nothing) for a timestamp before the first usable date, data older than
``max_staleness``, or a universe sharing fewer than two symbols with the signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal, Self

import numpy as np
from pydantic import Field, FilePath, field_validator, model_validator

from defipm.allocation import Scheme, allocate, book_weights
from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, Gross, Symbol
from defipm.core.errors import ConfigError, DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.numerai import MetaModelHistory, NumeraiCryptoSource, utc_naive
from defipm.data.signals import CROWDCENT_COLUMNS, NUMERAI_COLUMNS, ColumnMap, read_signal_file
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle
from defipm.oracles.symbols import VENUE_MAPS, SymbolMap

if TYPE_CHECKING:
    import pandas as pd

HistoryProvider = Callable[[], MetaModelHistory]
"""Something that returns the current history (e.g. ``NumeraiCryptoSource(...).load``), asked every cycle."""
Score = float | Fraction
"""A score: a float from the data, or the exact rational mean the oracle ranks by."""


def exact_score(value: Score) -> Fraction:
    """``value`` as an exact rational: a float is read as the decimal its ``repr`` prints (0.7 -> 7/10)."""
    return value if isinstance(value, Fraction) else Fraction(repr(float(value)))


def exact_means(pairs: Iterable[tuple[str, Score]]) -> dict[str, Fraction]:
    """Per key, the exact mean of its finite values (see ``exact_score``); keys with none are left out."""
    sums: dict[str, Fraction] = {}
    counts: dict[str, int] = {}
    for key, value in pairs:
        if not isinstance(value, Fraction) and not math.isfinite(value):
            continue
        sums[key] = sums.get(key, Fraction(0)) + exact_score(value)
        counts[key] = counts.get(key, 0) + 1
    return {key: total / counts[key] for key, total in sums.items()}


Hours = Annotated[float, Field(ge=0, le=24 * 366, allow_inf_nan=False)]
"""Hours from 0 to a year."""


class ColumnsConfig(ConfigModel):
    """Which columns of a prediction file hold the date, the asset id and the prediction."""

    date: str = Field("date", min_length=1)
    asset: str = Field("symbol", min_length=1)
    prediction: str = Field("meta_model", min_length=1)

    def mapping(self) -> ColumnMap:
        return ColumnMap(self.date, self.asset, self.prediction)


Days = Annotated[float, Field(ge=0, le=3660, allow_inf_nan=False)]
"""Days from 0 to ten years."""


class TBNConfig(ConfigModel):
    """Settings of the TB-N oracle (``[oracle.params]`` of ``kind = "tbn"``).

    n: longs and shorts each, unless ``n_long`` / ``n_short`` say otherwise. lags: dates averaged.
    gross: target sum |w| (fraction of equity). net: target sum w, within [-gross, gross] (0 = market neutral).
    file: a local CSV/Parquet prediction file; when set nothing is downloaded (``source`` "file").
    source: "numerai" (numerapi), "crowdcent" (crowdcent-challenge, key in ``CROWDCENT_API_KEY``) or "file".
    columns: the file's date, asset and prediction columns; default Numerai's (date, symbol, meta_model), for
        CrowdCent (release_date, id, pred_10d) (set ``prediction = "pred_30d"`` for the 30-day one).
    challenge: the CrowdCent challenge. dataset: Numerai dataset name, None for the default.
    cache_dir: where downloads are cached. cache_max_age_hours: reuse a cached download this long.
    publication_delay_hours: hours after a row's date (00:00 UTC) before it may be used (24 = D+1 00:00).
    signal_lag_days: trade the signal as it stood this many days earlier (0 = the newest usable).
    max_staleness_days: newest usable date may be at most this many days old (up to ten years); None disables.
    weighting: how each side is sized: equal, rank, inverse_volatility, min_variance or hrp.
    rank_power: the power of the rank in ``rank`` weighting (0 = equal). risk_lookback_days: days of returns
        the volatility and covariance schemes read (from a backtest's market view, or ``risk_prices`` live).
    risk_prices: a price folder (``defipm.data.load_prices``) for those schemes outside a backtest.
    symbol_map: venue id of the maintained map (``hyperliquid``, ``generic``, ``paper``, ``none``); by default the
        map of the venue the portfolio trades on when there is one (``hyperliquid``: PEPE -> kPEPE ...), else
        ``generic``.
    symbol_overrides: signal symbol -> venue symbol, merged over that map; a null value drops the symbol.
    """

    n: int = Field(5, ge=1, le=10_000)
    lags: int = Field(1, ge=1, le=1_000)
    gross: Gross = 1.0
    file: FilePath | None = None
    n_long: int | None = Field(None, ge=0, le=10_000)
    n_short: int | None = Field(None, ge=0, le=10_000)
    net: float = Field(0.0, ge=-1000, le=1000, allow_inf_nan=False)
    source: Literal["numerai", "crowdcent", "file"] | None = None
    columns: ColumnsConfig | None = None
    challenge: str = Field("hyperliquid-ranking", min_length=1)
    dataset: str | None = Field(None, min_length=1)
    cache_dir: Path = Path(".defipm/cache/numerai")
    cache_max_age_hours: Hours = 6.0
    publication_delay_hours: Hours = 24.0
    signal_lag_days: Days = 0.0
    max_staleness_days: float | None = Field(3.0, gt=0, le=3660, allow_inf_nan=False)
    weighting: Scheme = Scheme.EQUAL
    rank_power: float = Field(1.0, ge=0, le=100, allow_inf_nan=False)
    risk_lookback_days: int = Field(60, ge=2, le=3660)
    risk_prices: Path | None = None
    symbol_map: str | None = None
    symbol_overrides: dict[Symbol, Symbol | None] = Field(default_factory=dict)

    @field_validator("symbol_map")
    @classmethod
    def _known_map(cls, name: str | None) -> str | None:
        if name is not None and name not in VENUE_MAPS:
            raise ValueError(f"no symbol map {name!r} (known: {', '.join(sorted(VENUE_MAPS))})")
        return name

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.source == "file" and self.file is None:
            raise ValueError('source "file" needs file = the path of the prediction file')
        if self.file is not None and self.source not in (None, "file"):
            raise ValueError(f'file is set beside source {self.source!r}: use one (source = "file" for a file)')
        if abs(self.net) > self.gross:
            raise ValueError(f"net {self.net} is outside [-gross, gross] = [{-self.gross}, {self.gross}]")
        return self

    @property
    def signal_source(self) -> str:
        return self.source or ("file" if self.file is not None else "numerai")


ReturnsProvider = Callable[[Sequence[str], datetime, int], "np.ndarray"]
"""``returns(symbols, t, days)`` -> (T, len(symbols)) periodic returns over the last ``days`` up to ``t``."""


def market_returns(market: MarketView) -> ReturnsProvider:
    """A ``ReturnsProvider`` over a point-in-time ``MarketView`` (a backtest's, or a price folder's latest bars):
    simple close-to-close returns of the bars within ``days`` before ``t`` (the view's latest bar when ``t`` is
    after it); NaN where a symbol had no price."""
    known = set(market.symbols)

    def returns(symbols: Sequence[str], t: datetime, days: int) -> np.ndarray:
        bars = max(2, int(days * 86_400 / market.interval.total_seconds()))
        end = t if t <= market.now else None
        closes = market.history("close", bars + 1, end)
        cols = [market.column(s) if s in known else -1 for s in symbols]
        picked = np.full((len(closes), len(symbols)), np.nan)
        for k, j in enumerate(cols):
            if j >= 0:
                picked[:, k] = closes[:, j]
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.diff(picked, axis=0) / picked[:-1]

    return returns


def _check_counts(n: int, lags: int, gross: float, net: float, n_long: int | None, n_short: int | None) -> None:
    """``ConfigError`` naming the first count or exposure that cannot make a book."""
    if not isinstance(n, int) or n < 1:
        raise ConfigError(f"TB-N: n must be a positive integer, got {n!r}")
    if not isinstance(lags, int) or lags < 1:
        raise ConfigError(f"TB-N: lags must be a positive integer, got {lags!r}")
    if not math.isfinite(gross) or gross <= 0:
        raise ConfigError(f"TB-N: gross must be a positive number, got {gross!r}")
    if not math.isfinite(net) or abs(net) > gross:
        raise ConfigError(f"TB-N: net must lie within [-gross, gross] = [{-gross}, {gross}], got {net!r}")
    longs, shorts = (n if n_long is None else n_long), (n if n_short is None else n_short)
    if longs < 0 or shorts < 0 or longs + shorts == 0:
        raise ConfigError(f"TB-N: n_long and n_short must be >= 0 and not both 0, got {longs} and {shorts}")
    if (shorts == 0 and net != gross) or (longs == 0 and net != -gross):
        side = "long-only (n_short = 0)" if shorts == 0 else "short-only (n_long = 0)"
        raise ConfigError(f"TB-N: a {side} book has net = {'' if shorts == 0 else '-'}gross; set net = "
                          f"{gross if shorts == 0 else -gross}, got {net}")  # fmt: skip


def _history_of(
    history: MetaModelHistory | HistoryProvider | str | Path | pd.DataFrame | None,
) -> MetaModelHistory | HistoryProvider:
    if history is None:  # the live default: numerapi download, cached with a freshness check
        return NumeraiCryptoSource(Path(".defipm/cache/numerai")).load
    if isinstance(history, str | Path):
        return MetaModelHistory.from_file(history)
    if not isinstance(history, MetaModelHistory) and not callable(history):
        return MetaModelHistory.from_frame(history)  # a DataFrame with date, symbol, meta_model
    return history


def signal_history(config: TBNConfig) -> MetaModelHistory | HistoryProvider:
    """The history (or the provider asked every cycle) ``config`` names: a local file with its column mapping,
    CrowdCent's meta-model, or Numerai's."""
    source = config.signal_source
    if source == "file":
        assert config.file is not None
        columns = config.columns.mapping() if config.columns is not None else NUMERAI_COLUMNS
        bounded = (0.0, 1.0) if columns == NUMERAI_COLUMNS else None
        return read_signal_file(config.file, columns, score_range=bounded)
    max_age = timedelta(hours=config.cache_max_age_hours)
    if source == "crowdcent":
        from defipm.data.crowdcent import CrowdCentSource

        prediction = config.columns.prediction if config.columns is not None else CROWDCENT_COLUMNS.prediction
        return CrowdCentSource(config.cache_dir, config.challenge, prediction, max_age=max_age).load
    if config.columns is not None:
        raise ConfigError("TB-N: columns map a file's columns; Numerai's meta-model has its own (remove columns)")
    return NumeraiCryptoSource(config.cache_dir, config.dataset, max_age=max_age).load


def _returns_for(config: TBNConfig, context: BuildContext | None) -> ReturnsProvider:
    """Returns for the risk schemes: the context's market view (a backtest), else the ``risk_prices`` folder."""
    market = context.market if context is not None else None
    if isinstance(market, MarketView):
        return market_returns(market)
    if config.risk_prices is None:
        raise ConfigError(
            f"TB-N: weighting {config.weighting.value!r} needs price history: in a backtest it reads the market "
            "view; live, set risk_prices to a price folder (e.g. one the Hyperliquid history download wrote)"
        )
    from defipm.data import load_prices

    panel = load_prices(config.risk_prices)
    return market_returns(MarketView(panel, len(panel) - 1))


class TBNOracle(Oracle):
    """Top/bottom-N long/short weights from a published signal (Numerai, CrowdCent or a file).

    n: longs and shorts each (before shrinking to what the universe allows); ``n_long`` / ``n_short`` set the
        sides apart (0 for a one-sided book, whose ``net`` must then be +/-``gross``).
    lags: number of latest usable dates whose scores are averaged per symbol.
    gross: target gross exposure, sum |w| (1.0 = half long, half short). net: target net exposure.
    history: a ``MetaModelHistory``, a zero-argument callable returning one (asked every cycle), a CSV/Parquet
        path, or a DataFrame (date, symbol, meta_model); None downloads Numerai's file with numerapi (cached in
        ``.defipm/cache/numerai``, re-checked every 6 hours).
    symbol_map: signal -> venue symbols; default ``SymbolMap.for_venue("generic")``.
    publication_delay: time from a row's date (00:00 UTC) until it may be used; default 1 day.
    signal_lag: trade the signal as it stood this long ago (default none).
    max_staleness: the newest usable date may be at most this old at ``t``; None turns the check off.
    weighting / rank_power / risk_lookback_days / returns: each side's sizing (``defipm.allocation``); the
        volatility and covariance schemes read ``returns(symbols, t, days)`` (``market_returns``).
    tolerance: allowed distance of gross from ``gross`` and of net from ``net`` in ``validate_weights``.
    """

    name = "tbn"
    config_model = TBNConfig

    def __init__(
        self,
        n: int,
        lags: int = 1,
        gross: float = 1.0,
        *,
        history: MetaModelHistory | HistoryProvider | str | Path | pd.DataFrame | None = None,
        symbol_map: SymbolMap | None = None,
        publication_delay: timedelta = timedelta(days=1),
        max_staleness: timedelta | None = timedelta(days=3),
        tolerance: float = 1e-9,
        n_long: int | None = None,
        n_short: int | None = None,
        net: float = 0.0,
        signal_lag: timedelta = timedelta(0),
        weighting: Scheme | str = Scheme.EQUAL,
        rank_power: float = 1.0,
        risk_lookback_days: int = 60,
        returns: ReturnsProvider | None = None,
    ) -> None:
        super().__init__()
        _check_counts(n, lags, gross, net, n_long, n_short)
        if publication_delay < timedelta(0) or signal_lag < timedelta(0):
            raise ConfigError(f"TB-N: publication_delay and signal_lag must not be negative, got {publication_delay}"
                              f" and {signal_lag}")  # fmt: skip
        self.n = n
        self.n_long = n if n_long is None else n_long
        self.n_short = n if n_short is None else n_short
        self.lags = lags
        self.gross = float(gross)
        self.net = float(net)
        self._history: MetaModelHistory | HistoryProvider = _history_of(history)
        self.symbol_map = symbol_map or SymbolMap.for_venue("generic")
        self.publication_delay = publication_delay
        self.signal_lag = signal_lag
        self.max_staleness = max_staleness
        self.weighting = Scheme(weighting)
        self.rank_power = float(rank_power)
        self.risk_lookback_days = int(risk_lookback_days)
        if self.weighting.needs_returns and returns is None:
            raise ConfigError(
                f"TB-N: weighting {self.weighting.value!r} needs price history: in a backtest it reads the market "
                "view; live, set risk_prices to a price folder (e.g. one the Hyperliquid history download wrote)"
            )
        self.returns = returns
        self.constraints = WeightConstraints(
            long_only=self.n_short == 0,
            max_gross=self.gross + tolerance,
            target_gross=self.gross,
            gross_tolerance=tolerance,
            target_net=self.net,
            net_tolerance=tolerance,
        )

    @classmethod
    def from_config(
        cls,
        config: TBNConfig,
        context: BuildContext | None = None,
        *,
        history: MetaModelHistory | HistoryProvider | None = None,
    ) -> Self:
        """Build from a ``TBNConfig`` (the registry's path for ``kind = "tbn"``); ``history`` overrides the file /
        download settings. Without ``symbol_map``, the map of the context's venue is used when there is one; the
        risk schemes read the context's market view (a backtest's), else ``risk_prices``."""
        venue = context.venue if context is not None else None
        symbol_map = config.symbol_map or (venue if venue is not None and venue in VENUE_MAPS else "generic")
        return cls(
            config.n,
            config.lags,
            config.gross,
            history=history if history is not None else signal_history(config),
            symbol_map=SymbolMap.for_venue(symbol_map, config.symbol_overrides),
            publication_delay=timedelta(hours=config.publication_delay_hours),
            max_staleness=None if config.max_staleness_days is None else timedelta(days=config.max_staleness_days),
            n_long=config.n_long,
            n_short=config.n_short,
            net=config.net,
            signal_lag=timedelta(days=config.signal_lag_days),
            weighting=config.weighting,
            rank_power=config.rank_power,
            risk_lookback_days=config.risk_lookback_days,
            returns=_returns_for(config, context) if config.weighting.needs_returns else None,
        )

    # -- data -------------------------------------------------------------------------------------------------

    def history(self) -> MetaModelHistory:
        h = self._history if isinstance(self._history, MetaModelHistory) else self._history()
        for remark in h.notes:
            self.note(remark)
        return h

    def usable_dates(self, history: MetaModelHistory, timestamp: datetime) -> list[datetime]:
        """Dates whose rows are published by ``timestamp`` (date + publication_delay <= timestamp), ascending."""
        t = utc_naive(timestamp)
        return [d for d in history.dates if d + self.publication_delay <= t]

    def scores(self, timestamp: datetime, history: MetaModelHistory | None = None) -> dict[str, float]:
        """Numerai symbol -> score averaged over the last ``lags`` usable dates at ``timestamp`` (the exact mean of
        ``exact_scores``, rounded once to a float)."""
        return {s: float(v) for s, v in self.exact_scores(timestamp, history).items()}

    def publication(self, timestamp: datetime) -> datetime | None:
        """When the newest signal date usable at ``timestamp`` (less the signal lag) became usable (naive UTC);
        None before the first."""
        usable = self.usable_dates(self.history(), utc_naive(timestamp) - self.signal_lag)
        return usable[-1] + self.publication_delay if usable else None

    def exact_scores(self, timestamp: datetime, history: MetaModelHistory | None = None) -> dict[str, Fraction]:
        """Signal symbol -> exact mean score over the last ``lags`` dates usable at ``timestamp`` less the
        ``signal_lag`` (module doc)."""
        h = history if history is not None else self.history()
        t = utc_naive(timestamp) - self.signal_lag
        usable = self.usable_dates(h, t)
        if not usable:
            raise DataError(
                f"TB-N: no meta-model data published by {t:%Y-%m-%d %H:%M} UTC: the first date in "
                f"{h.source} is {h.first_date:%Y-%m-%d}, usable from {h.first_date + self.publication_delay} UTC"
            )
        latest = usable[-1]
        if self.max_staleness is not None:
            available_since = latest + self.publication_delay
            if t - available_since > self.max_staleness:
                raise DataError(
                    f"TB-N: stale meta-model data at {t:%Y-%m-%d %H:%M} UTC: the newest usable date is "
                    f"{latest:%Y-%m-%d} in {h.source} (allowed staleness {self.max_staleness})"
                )
        window = usable[-self.lags :]
        if len(window) < self.lags:
            self.note(f"TB-N: only {len(window)} of lags={self.lags} dates published yet; averaging those")
        rows = h.scores_on(window)
        # only symbols Numerai still scores on the newest usable date: an older score alone is an old signal
        current = set(rows.loc[rows["date"] == latest, "symbol"])
        dropped = sorted(set(rows["symbol"]) - current)
        if dropped:
            rows = rows[rows["symbol"].isin(current)]
            self.note(
                f"TB-N: {len(dropped)} symbol(s) absent from the newest meta-model date {latest:%Y-%m-%d} left out "
                f"(e.g. {', '.join(dropped[:5])})"
            )
        symbols = [str(s) for s in rows["symbol"]]
        scores = exact_means(zip(symbols, rows["meta_model"].tolist(), strict=True))
        missing = len(set(symbols)) - len(scores)
        if missing:
            self.note(f"TB-N: {missing} symbol(s) without a finite score left out")
        return dict(sorted(scores.items()))

    # -- weights ----------------------------------------------------------------------------------------------

    def venue_scores(self, scores: Mapping[str, Score], universe: Sequence[str]) -> dict[str, float]:
        """Map Numerai scores onto venue symbols in ``universe`` (one asset under two names: mean score)."""
        return {s: float(v) for s, v in self.exact_venue_scores(scores, universe).items()}

    def exact_venue_scores(self, scores: Mapping[str, Score], universe: Sequence[str]) -> dict[str, Fraction]:
        """``venue_scores`` as exact rationals (what ``select`` ranks); a NaN score is no rank: never picked."""
        allowed = set(universe)
        translated = self.symbol_map.translate(sorted(scores)).items()
        return exact_means((venue, scores[numerai]) for numerai, venue in translated if venue in allowed)

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        h = self.history()
        scores = self.exact_scores(timestamp, h)
        candidates = self.exact_venue_scores(scores, universe)
        need = (self.n_long > 0) + (self.n_short > 0)
        if len(candidates) < need:
            sample = ", ".join(sorted(universe)[:8]) or "empty"
            sides = "one long and one short" if need == 2 else "one position"
            raise DataError(
                f"TB-N: the venue's universe shares {len(candidates)} symbol(s) with the meta-model "
                f"(need at least {need} for {sides}); universe: {sample}"
                f"{' ...' if len(universe) > 8 else ''}"
            )
        return self.select(candidates, timestamp)

    def counts(self, available: int) -> tuple[int, int]:
        """(longs, shorts) for ``available`` ranked symbols: the configured counts, shrunk in proportion when
        they do not fit (each side keeps at least one while it has a count and there is room)."""
        n_long, n_short = self.n_long, self.n_short
        if n_long + n_short <= available:
            return n_long, n_short
        longs, shorts = n_long * available // (n_long + n_short), n_short * available // (n_long + n_short)
        if n_long and n_short and available >= 2:
            longs, shorts = max(longs, 1), max(shorts, 1)
        return longs, shorts

    def select(self, candidates: Mapping[str, Score], timestamp: datetime | None = None) -> Weights:
        """The book over venue-symbol scores (ties by symbol): the top ``n_long`` long and the bottom ``n_short``
        short, each side sized by ``weighting`` (its returns up to ``timestamp``), joined at ``gross`` and ``net``.
        Scores are compared exactly (``exact_score``); the counts shrink when too few symbols qualify."""
        exact = {s: exact_score(v) for s, v in candidates.items() if isinstance(v, Fraction) or math.isfinite(v)}
        n_long, n_short = self.counts(len(exact))
        if (n_long, n_short) != (self.n_long, self.n_short):
            shrunk = (
                f"N shrunk from {self.n} to {n_long}"
                if self.n_long == self.n_short and n_long == n_short
                else f"longs/shorts shrunk from {self.n_long}/{self.n_short} to {n_long}/{n_short}"
            )
            self.note(f"TB-N: only {len(exact)} symbol(s) in both the meta-model and the universe; {shrunk}")
        ranked = sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))
        longs = ranked[:n_long]
        rest = sorted(ranked[n_long:], key=lambda kv: (kv[1], kv[0]))
        shorts = rest[:n_short]
        when = timestamp if timestamp is not None else datetime.now(UTC)
        long_side = self._side(longs, when, "long")
        short_side = self._side([(s, -v) for s, v in shorts], when, "short")
        if self.weighting is Scheme.EQUAL and self.net == 0:  # exactly gross / 2n each, as equal weight always was
            return Weights({**{s: self.gross / (2 * n_long) for s in long_side},
                            **{s: -self.gross / (2 * n_short) for s in short_side}})  # fmt: skip
        return book_weights(long_side, short_side, gross=self.gross, net=self.net)

    def _side(self, picks: Sequence[tuple[str, Fraction]], when: datetime, name: str) -> dict[str, float]:
        """Relative weights of one side (summing to 1) by the weighting scheme; a fallback is noted."""
        if not picks:
            return {}
        symbols = [s for s, _ in picks]
        returns = None
        if self.weighting.needs_returns:
            assert self.returns is not None
            returns = self.returns(symbols, when, self.risk_lookback_days)
        strength = np.array([float(v) for _, v in picks])
        result = allocate(self.weighting, len(symbols), strength=strength, returns=returns, rank_power=self.rank_power)
        if result.note:
            self.note(f"TB-N: the {name} side: {result.note}")
        return {s: float(w) for s, w in zip(symbols, result.weights, strict=True) if w > 0}

    # -- validation -------------------------------------------------------------------------------------------

    def problems(self, weights: Weights, universe: Sequence[str] | None = None) -> list[str]:
        """Base constraints (gross = target with abs(), net ~ 0) plus: no asset both long and short."""
        problems = super().problems(weights, universe)
        sides: dict[str, dict[str, list[str]]] = {}
        for symbol, w in weights.items():
            if w == 0 or not math.isfinite(w):
                continue
            asset = self.symbol_map.underlying(symbol)
            sides.setdefault(asset, {"long": [], "short": []})["long" if w > 0 else "short"].append(symbol)
        for asset, side in sorted(sides.items()):
            if side["long"] and side["short"]:
                problems.append(
                    f"{asset}: both long ({', '.join(side['long'])}) and short ({', '.join(side['short'])})"
                )
        return problems
