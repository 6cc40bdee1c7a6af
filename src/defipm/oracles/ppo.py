"""``PPOOracle``: serve a registered PPO model (``defipm.rl``) as an oracle (``kind = "ppo"``).

At time t the oracle builds the policy's observation exactly as the training environment does
(``defipm.rl.observation``), from the bars closed by t only (the point-in-time view: a backtest's ``MarketView``,
or a folder of OHLCV files live), plus the account's current weights, which the manager shows it before each cycle
(``reads_account``); it answers the policy's deterministic long-only weights. Run on a backtest's paper venue with
the model's costs, it reproduces the environment's equity (``tests/rl/test_backtest_parity.py``).

Refusals, each naming what is wrong: a model whose symbols are not all in the venue's universe or the data, a model
trained on another bar interval, a window with a missing close, too little history before t, and a missing ``rl``
extra (one line naming ``scripts/bootstrap rl``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Literal, Self

import numpy as np
from numpy.typing import NDArray
from pydantic import Field

from defipm.component import BuildContext
from defipm.config_schema import ConfigModel
from defipm.core.account import AccountSnapshot
from defipm.core.errors import DataError
from defipm.core.validation import WeightConstraints
from defipm.core.weights import Weights
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle
from defipm.oracles.market_source import MarketSource
from defipm.rl.model import LoadedModel
from defipm.rl.observation import observation, window_features
from defipm.rl.registry import DEFAULT_REGISTRY

LONG_ONLY = WeightConstraints(long_only=True, max_gross=1.0 + 1e-9, allow_empty=True)
"""A policy's weights: long only, summing to at most 1 (the rest is cash); 1e-9 for the softmax's rounding."""


class PPOConfig(ConfigModel):
    """``[oracle.params]`` of ``kind = "ppo"``.

    model: the registered model: ``name`` (its newest version), ``name@version``, or a model folder.
    registry: the registry's folder (default ``models``).
    data: folder of OHLCV files read at each cycle when no backtest view is given (live and paper trading).
    bar_label: what the folder's file times mean, "open" (daily dates) or "close".
    """

    model: str = Field(min_length=1)
    registry: Path = DEFAULT_REGISTRY
    data: Path | None = None
    bar_label: Literal["open", "close"] = "open"


class PPOOracle(Oracle):
    """The policy of ``model`` over the prices of ``source``."""

    name = "ppo"
    config_model = PPOConfig
    reads_account = True
    constraints = LONG_ONLY

    def __init__(self, model: LoadedModel, source: MarketSource) -> None:
        super().__init__()
        self.source = source
        self.model = model
        self._check_data(model)
        self._account: AccountSnapshot | None = None
        self._last: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        """(closes, weights) of the previous answer, for when no account was shown (see ``_held``)."""

    @classmethod
    def from_config(cls, config: PPOConfig, context: BuildContext) -> Self:
        """Registry hook: load the model (refusing one that does not fit the data) over the context's view, or the
        configured data folder."""
        from defipm.rl.extra import require_rl
        from defipm.rl.registry import ModelRegistry

        require_rl("oracle ppo")
        model = ModelRegistry(config.registry).load(config.model)
        market: MarketView | None = context.market
        return cls(model, MarketSource(market, config.data, config.bar_label, model.card.symbols))

    def _check_data(self, model: LoadedModel) -> None:
        market = self.source.market
        if market is not None:
            where = f"the data ({market.source or 'the backtest'})"
            model.card.check_symbols(market.symbols, where, market.left_out)
            model.card.check_interval(market.interval, where)

    def switch(self, model: LoadedModel) -> None:
        """Serve ``model`` from now on (the rotation loop's new model); the account is read again next cycle."""
        self._check_data(model)
        self.model = model
        self._last = None

    def observe_account(self, snapshot: AccountSnapshot) -> None:
        self._account = snapshot

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        card = self.model.card
        card.check_symbols(universe, "the venue's universe")
        view, note = self.source.view_at(timestamp)
        if note:
            self.note(f"ppo: {note}")
        features, prices = self.features(view, timestamp)
        weights, cash = self._held(prices)
        target = self.model.weights(observation(features, weights, cash))
        self._account, self._last = None, (prices, target)
        return Weights(dict(zip(card.symbols, target.tolist(), strict=True)))

    def features(self, view: MarketView, timestamp: datetime) -> tuple[NDArray[np.float32], NDArray[np.float64]]:
        """(window features at ``timestamp``, the closes there) of the model's symbols, from bars up to it only."""
        card = self.model.card
        window = card.env.window
        have = view.end_index(timestamp) + 1
        if have < window + 1:
            raise DataError(
                f"model {card.ref} needs {window + 1} bars up to {timestamp:%Y-%m-%d %H:%M} for its window; the data "
                f"has {have}"
            )
        cols = [view.column(s) for s in card.symbols]
        close = view.history("close", window + 1, end=timestamp)[:, cols]
        volume = view.history("volume", window + 1, end=timestamp)[:, cols]
        times = view.timestamps(window + 1, end=timestamp)
        features = window_features(
            close, volume, volume_features=card.env.volume_features, symbols=card.symbols, times=times
        )
        return features, np.array(close[-1])

    def _held(self, prices: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
        """(weight of each model symbol, cash weight): the account's, as the manager showed it this cycle; else the
        previous answer drifted with prices since (all cash before the first)."""
        symbols = self.model.card.symbols
        snapshot = self._account
        if snapshot is not None:
            if not snapshot.equity > 0:
                return np.zeros(len(symbols)), 0.0
            held = snapshot.weights()
            return np.array([held.get(s, 0.0) for s in symbols]), float(snapshot.cash / snapshot.equity)
        if self._last is None or len(self._last[1]) != len(symbols):
            return np.zeros(len(symbols)), 1.0
        then, target = self._last
        values = target * prices / then
        total = float(values.sum()) + (1.0 - float(target.sum()))
        return values / total, (1.0 - float(target.sum())) / total
