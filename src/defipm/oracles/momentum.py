"""``MomentumOracle``: cross-sectional momentum, long the recent winners and short the recent losers.

At each timestamp it ranks the listed symbols by their trailing return over ``lookback`` bars (read from a
point-in-time ``MarketView``, so it cannot see past the clock), goes long the top ``n_long`` and short the bottom
``n_short`` with equal weights of ``gross / (n_long + n_short)`` each. Symbols with less than ``lookback + 1``
bars of history are not ranked. When too few symbols qualify, both sides shrink equally (noted in the report);
with none, it goes flat.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime
from typing import Self

import numpy as np
from pydantic import Field, field_validator, model_validator

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel, Gross, Symbol
from defipm.core.errors import ConfigError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle
from defipm.oracles.equal_weight import unique_symbols

MAX_LOOKBACK = 100_000
"""Longest lookback in bars (over 11 years of hourly bars)."""


class MomentumConfig(ConfigModel):
    """``[oracle.params]`` of ``kind = "momentum"`` (see ``MomentumOracle``)."""

    lookback: int = Field(default=30, ge=1, le=MAX_LOOKBACK)
    n_long: int = Field(default=3, ge=0, le=10_000)
    n_short: int = Field(default=3, ge=0, le=10_000)
    gross: Gross = 1.0
    exclude: list[Symbol] = Field(default_factory=list)

    @field_validator("exclude")
    @classmethod
    def _unique(cls, symbols: list[str] | None) -> list[str] | None:
        return unique_symbols(symbols)

    @model_validator(mode="after")
    def _one_side(self) -> Self:
        if self.n_long + self.n_short == 0:
            raise ValueError("n_long and n_short are both 0: hold at least one side")
        return self


class MomentumOracle(Oracle):
    """Cross-sectional momentum over a ``MarketView``.

    lookback: bars of trailing return to rank on (30 daily bars = 30 days).
    n_long / n_short: how many symbols to hold long / short (``n_short=0`` = long-only, for spot venues).
    gross: total exposure as a multiple of equity (1.0 = no leverage).
    exclude: symbols never held (e.g. stablecoins).
    """

    name = "momentum"
    config_model = MomentumConfig

    def __init__(
        self,
        market: MarketView,
        lookback: int = 30,
        n_long: int = 3,
        n_short: int = 3,
        gross: float = 1.0,
        exclude: Sequence[str] = (),
    ) -> None:
        super().__init__()
        if lookback < 1:
            raise ValueError(f"momentum lookback must be >= 1 bar, got {lookback}")
        if n_long < 0 or n_short < 0 or n_long + n_short == 0:
            raise ValueError(f"momentum needs n_long >= 0, n_short >= 0 and one of them > 0, got {n_long}, {n_short}")
        if not (math.isfinite(gross) and gross > 0):
            raise ValueError(f"momentum gross must be a positive number, got {gross}")
        self.market = market
        self.lookback = int(lookback)
        self.n_long = int(n_long)
        self.n_short = int(n_short)
        self.gross = float(gross)
        self.exclude = frozenset(exclude)
        self.constraints = WeightConstraints(long_only=self.n_short == 0, max_gross=self.gross, allow_empty=True)

    @classmethod
    def from_config(cls, config: MomentumConfig, context: BuildContext | None = None) -> Self:
        """Build over the context's market view (a backtest's); there is none on a live venue."""
        market = context.market if context is not None else None
        if market is None:
            raise ConfigError(
                "oracle momentum reads price history from a backtest's market view: use it with `defipm backtest`"
                " (it cannot run on a live venue yet)"
            )
        return cls(market, config.lookback, config.n_long, config.n_short, config.gross, config.exclude)

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        returns = self.market.trailing_returns(self.lookback, end=timestamp)
        listed_bars = self.market.bars_listed(end=timestamp)
        known = set(self.market.symbols)
        candidates = [s for s in universe if s in known and s not in self.exclude]
        cols = np.fromiter((self.market.column(s) for s in candidates), dtype=np.int64, count=len(candidates))
        ok = np.isfinite(returns[cols]) & (listed_bars[cols] > self.lookback) if len(cols) else np.zeros(0, bool)
        ranked_syms = [candidates[k] for k in np.nonzero(ok)[0]]
        ranked_rets = returns[cols[ok]] if len(cols) else np.zeros(0)
        n_long, n_short = self.n_long, self.n_short
        if n_long + n_short > len(ranked_syms):
            scale = len(ranked_syms) / (n_long + n_short)
            n_long, n_short = int(n_long * scale), int(n_short * scale)
            self.note(
                f"momentum: {len(ranked_syms)} symbol(s) with {self.lookback + 1} bars of history; "
                f"holding {n_long} long / {n_short} short instead of {self.n_long} / {self.n_short}"
            )
        if n_long + n_short == 0:
            return Weights({})
        # stable sort on (-return, symbol) so ties resolve the same way on every run
        order = sorted(range(len(ranked_syms)), key=lambda k: (-ranked_rets[k], ranked_syms[k]))
        w = self.gross / (n_long + n_short)
        weights = {ranked_syms[k]: w for k in order[:n_long]}
        if n_short:
            weights.update({ranked_syms[k]: -w for k in order[-n_short:]})
        return Weights(weights)
