"""The baselines a policy is compared with, each a ``Decider`` run through the same environment (same costs):

- ``equal_weight``: 1/n of equity in every asset, rebalanced at every step.
- ``buy_and_hold``: everything into one asset (the benchmark) at the first step, then held.
- ``covariance``: hierarchical risk parity or minimum variance (skfolio, through ``defipm.allocation``: the one
  home of covariance-based sizing) on the returns of the last ``lookback`` bars up to each decision, fully
  invested.

``benchmark_market`` makes the one-asset market of a benchmark that is not among the model's assets (a symbol of
the data, or an index read from a file), so its buy-and-hold also pays the entry costs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from defipm.allocation import Scheme, allocate
from defipm.core.errors import ConfigError
from defipm.rl.env import Observation, PortfolioEnv
from defipm.rl.episodes import Decider
from defipm.rl.market import MarketArrays

DEFAULT_LOOKBACK = 90
"""Bars of returns the covariance baselines estimate on."""
INVESTED_CASH = 0.01
"""Cash weight at or below which buy-and-hold counts as bought (the planner keeps a reserve back for costs)."""


def equal_weight(env: PortfolioEnv, _obs: Observation) -> NDArray[np.float64]:
    n = len(env.market.symbols)
    return np.full(n, 1.0 / n)


def buy_and_hold(asset: int) -> Decider:
    """All in ``asset`` (its column) until the book holds it (a participation cap may take several steps to fill
    the order), then no trade: the book is left to drift."""

    def decide(env: PortfolioEnv, _obs: Observation) -> NDArray[np.float64] | None:
        _, cash = env.current_weights()
        if cash <= INVESTED_CASH:
            return None
        weights = np.zeros(len(env.market.symbols))
        weights[asset] = 1.0
        return weights

    return decide


def covariance(scheme: Scheme | str = Scheme.HRP, lookback: int = DEFAULT_LOOKBACK) -> Decider:
    """HRP or minimum variance (``scheme``) on the simple returns of the ``lookback`` bars up to each decision;
    ``allocate`` falls back to inverse volatility on a singular estimate, as it says."""
    if scheme not in (Scheme.HRP, Scheme.MIN_VARIANCE):
        raise ConfigError(f"the covariance baseline is hrp or min_variance, got {scheme!r}")
    kind = Scheme(scheme)
    if lookback < 2:
        raise ConfigError(f"baseline lookback must be at least 2 bars, got {lookback}")

    def decide(env: PortfolioEnv, _obs: Observation) -> NDArray[np.float64]:
        t = env.t
        close = env.market.close[max(0, t - lookback) : t + 1]
        returns = close[1:] / close[:-1] - 1.0
        return allocate(kind, len(env.market.symbols), returns=returns).weights

    return decide


def benchmark_market(name: str, close: NDArray[np.float64], like: MarketArrays) -> MarketArrays:
    """A one-asset market of the benchmark's ``close`` (aligned on ``like``'s bars), volume unknown."""
    column = np.asarray(close, dtype=np.float64).reshape(-1, 1)
    return MarketArrays(like.timestamps, (name,), column, np.full_like(column, np.nan), like.interval, like.source)
