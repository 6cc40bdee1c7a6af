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

import numpy as np

from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle


class MomentumOracle(Oracle):
    """Cross-sectional momentum over a ``MarketView``.

    lookback: bars of trailing return to rank on (30 daily bars = 30 days).
    n_long / n_short: how many symbols to hold long / short (``n_short=0`` = long-only, for spot venues).
    gross: total exposure as a multiple of equity (1.0 = no leverage).
    exclude: symbols never held (e.g. stablecoins).
    """

    name = "momentum"

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
