"""TB-N: long the N top and short the N bottom coins of Numerai's crypto meta-model, equal weights, net zero.

For a timestamp ``t`` the oracle sees only rows already published: a row dated D is usable from
``D + publication_delay`` (default one day, i.e. D+1 00:00 UTC). It averages each symbol's score over the last
``lags`` usable dates, maps Numerai symbols to the venue's (``SymbolMap``), keeps the venue's universe, sorts by
score (ties by symbol, so the picks are deterministic) and gives ``+gross / 2N`` to the top N and ``-gross / 2N``
to the bottom N. With fewer than 2N symbols N shrinks symmetrically and the cycle report says so.

Averages are exact: each score is read as the decimal it prints as (``repr``: 0.7 is 7/10, not its binary
neighbour) and averaged as a rational number, so two symbols whose scores have the same mean (0.7, 0.61, 0.04 and
0.5, 0.22, 0.63 both average 9/20) tie exactly and rank by symbol, never by a float rounding.

It raises ``DataError`` (and so trades nothing) for a timestamp before the first usable date, data older than
``max_staleness``, or a universe sharing fewer than two symbols with the signal.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Self

from pydantic import Field, FilePath, field_validator

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, Gross, Symbol
from defipm.core.errors import ConfigError, DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.numerai import MetaModelHistory, NumeraiCryptoSource, utc_naive
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


class TBNConfig(ConfigModel):
    """Settings of the TB-N oracle (``[oracle.params]`` of ``kind = "tbn"``).

    n: longs and shorts each. lags: dates averaged. gross: target sum |w| (fraction of equity).
    file: a local CSV/Parquet meta-model file; when set nothing is downloaded.
    dataset: Numerai dataset name, None for the default checked against ``list_datasets()``.
    cache_dir: where downloads are cached. cache_max_age_hours: reuse a cached download this long.
    publication_delay_hours: hours after a row's date (00:00 UTC) before it may be used (24 = D+1 00:00).
    max_staleness_days: newest usable date may be at most this many days old (up to ten years); None disables.
    symbol_map: venue id of the maintained map (``hyperliquid``, ``generic``, ``paper``, ``none``); by default the
        map of the venue the portfolio trades on when there is one (``hyperliquid``: PEPE -> kPEPE ...), else
        ``generic``.
    symbol_overrides: Numerai symbol -> venue symbol, merged over that map; a null value drops the symbol.
    """

    n: int = Field(5, ge=1, le=10_000)
    lags: int = Field(1, ge=1, le=1_000)
    gross: Gross = 1.0
    file: FilePath | None = None
    dataset: str | None = Field(None, min_length=1)
    cache_dir: Path = Path(".defipm/cache/numerai")
    cache_max_age_hours: Hours = 6.0
    publication_delay_hours: Hours = 24.0
    max_staleness_days: float | None = Field(3.0, gt=0, le=3660, allow_inf_nan=False)
    symbol_map: str | None = None
    symbol_overrides: dict[Symbol, Symbol | None] = Field(default_factory=dict)

    @field_validator("symbol_map")
    @classmethod
    def _known_map(cls, name: str | None) -> str | None:
        if name is not None and name not in VENUE_MAPS:
            raise ValueError(f"no symbol map {name!r} (known: {', '.join(sorted(VENUE_MAPS))})")
        return name


class TBNOracle(Oracle):
    """Top/bottom-N long/short weights from the Numerai Crypto meta-model.

    n: longs and shorts each (before shrinking to what the universe allows).
    lags: number of latest usable dates whose scores are averaged per symbol.
    gross: target gross exposure, sum |w| (1.0 = half long, half short).
    history: a ``MetaModelHistory``, a zero-argument callable returning one (asked every cycle), a CSV/Parquet
        path, or a DataFrame (date, symbol, meta_model); None downloads Numerai's file with numerapi (cached in
        ``.defipm/cache/numerai``, re-checked every 6 hours).
    symbol_map: Numerai -> venue symbols; default ``SymbolMap.for_venue("generic")``.
    publication_delay: time from a row's date (00:00 UTC) until it may be used; default 1 day.
    max_staleness: the newest usable date may be at most this old at ``t``; None turns the check off.
    tolerance: allowed distance of gross from ``gross`` and of net from 0 in ``validate_weights``.
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
    ) -> None:
        super().__init__()
        if not isinstance(n, int) or n < 1:
            raise ConfigError(f"TB-N: n must be a positive integer, got {n!r}")
        if not isinstance(lags, int) or lags < 1:
            raise ConfigError(f"TB-N: lags must be a positive integer, got {lags!r}")
        if not math.isfinite(gross) or gross <= 0:
            raise ConfigError(f"TB-N: gross must be a positive number, got {gross!r}")
        if publication_delay < timedelta(0):
            raise ConfigError(f"TB-N: publication_delay must not be negative, got {publication_delay}")
        self.n = n
        self.lags = lags
        self.gross = float(gross)
        if history is None:  # the live default: numerapi download, cached with a freshness check
            history = NumeraiCryptoSource(Path(".defipm/cache/numerai")).load
        elif isinstance(history, str | Path):
            history = MetaModelHistory.from_file(history)
        elif not isinstance(history, MetaModelHistory) and not callable(history):
            history = MetaModelHistory.from_frame(history)  # a DataFrame with date, symbol, meta_model
        self._history: MetaModelHistory | HistoryProvider = history
        self.symbol_map = symbol_map or SymbolMap.for_venue("generic")
        self.publication_delay = publication_delay
        self.max_staleness = max_staleness
        self.constraints = WeightConstraints(
            long_only=False,
            max_gross=self.gross + tolerance,
            target_gross=self.gross,
            gross_tolerance=tolerance,
            target_net=0.0,
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
        download settings. Without ``symbol_map``, the map of the context's venue is used when there is one."""
        if history is None:
            if config.file is not None:
                history = MetaModelHistory.from_file(config.file)
            else:
                history = NumeraiCryptoSource(
                    config.cache_dir, config.dataset, max_age=timedelta(hours=config.cache_max_age_hours)
                ).load
        venue = context.venue if context is not None else None
        symbol_map = config.symbol_map or (venue if venue is not None and venue in VENUE_MAPS else "generic")
        return cls(
            config.n,
            config.lags,
            config.gross,
            history=history,
            symbol_map=SymbolMap.for_venue(symbol_map, config.symbol_overrides),
            publication_delay=timedelta(hours=config.publication_delay_hours),
            max_staleness=None if config.max_staleness_days is None else timedelta(days=config.max_staleness_days),
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

    def exact_scores(self, timestamp: datetime, history: MetaModelHistory | None = None) -> dict[str, Fraction]:
        """Numerai symbol -> exact mean score over the last ``lags`` usable dates at ``timestamp`` (module doc)."""
        h = history if history is not None else self.history()
        t = utc_naive(timestamp)
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
        if len(candidates) < 2:
            sample = ", ".join(sorted(universe)[:8]) or "empty"
            raise DataError(
                f"TB-N: the venue's universe shares {len(candidates)} symbol(s) with the meta-model "
                f"(need at least 2 for one long and one short); universe: {sample}"
                f"{' ...' if len(universe) > 8 else ''}"
            )
        return self.select(candidates)

    def select(self, candidates: Mapping[str, Score]) -> Weights:
        """Top/bottom-N equal weights over venue-symbol scores (ties by symbol); shrinks N when there are fewer than
        2N. Scores are compared exactly (``exact_score``)."""
        exact = {s: exact_score(v) for s, v in candidates.items() if isinstance(v, Fraction) or math.isfinite(v)}
        k = min(self.n, len(exact) // 2)
        if k < self.n:
            self.note(
                f"TB-N: only {len(exact)} symbol(s) in both the meta-model and the universe; "
                f"N shrunk from {self.n} to {k}"
            )
        ranked = sorted(exact.items(), key=lambda kv: (-kv[1], kv[0]))
        longs = [s for s, _ in ranked[:k]]
        rest = sorted(ranked[k:], key=lambda kv: (kv[1], kv[0]))
        shorts = [s for s, _ in rest[:k]]
        w = self.gross / (2 * k)
        return Weights({**{s: w for s in longs}, **{s: -w for s in shorts}})

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
