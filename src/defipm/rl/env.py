"""``PortfolioEnv``: a Gymnasium environment of a long-only spot portfolio over a ``MarketArrays`` span.

- Observation (``defipm.rl.observation``): the window of log returns (and relative volumes) up to the decision
  bar, then the current weight of each asset and of cash (float32, bounded).
- Action (``defipm.rl.action``): one value per asset plus cash in [-1, 1], mapped to long-only weights.
- Step: trade to the weights at the decision bar's closes (``defipm.rl.execution``: the planner's targets, the
  paper venue's cost function over all assets), then move ``rebalance_every`` bars on; the book drifts with prices.
- Info: the bar reached, the equity there, the step's ``Trade`` (fees, slippage and filled notional per asset)
  and the equity right after the trade (at the decision bar's closes, what a backtest records for that bar).
- Reward: the log growth of equity over the step, net of the taker fee, slippage and the liquidity cap.
- An episode ends (truncated) when the span has no room for another step, or after ``episode_steps``; it
  terminates only if equity reaches zero.

The observations of the whole span are built once, when the environment is made (a bar without a usable close
inside any window is refused there, naming it), and so are the fill costs' volume terms of every bar
(``execution.Rebalancer``): a step is some 35 numpy calls on small arrays. The environment is deterministic: fills
carry no random noise, and a random start (``random_start``) draws from the generator seeded by
``reset(seed=...)``.
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
from numpy.typing import NDArray

from defipm.core.errors import DataError
from defipm.rl.action import ActionTerms
from defipm.rl.execution import Book, ExecutionModel, Rebalancer, no_trade
from defipm.rl.market import MarketArrays
from defipm.rl.observation import fill_observation, observation_bounds, observation_size, weight_slots, window_features
from defipm.rl.settings import EnvSettings

Observation = NDArray[np.float32]


class PortfolioEnv(gym.Env[Observation, NDArray[np.float32]]):
    """Decisions at bars ``start .. stop - rebalance_every`` of ``market`` (``stop`` inclusive: the last bar a step
    may reach). The window before ``start`` is history the observations read; nothing after ``stop`` is read."""

    metadata: dict[str, Any] = {"render_modes": []}

    def __init__(
        self, market: MarketArrays, start: int, stop: int, settings: EnvSettings, execution: ExecutionModel
    ) -> None:
        super().__init__()
        self.market, self.settings, self.execution = market, settings, execution
        self.start, self.stop, self.every = start, stop, settings.rebalance_every
        n = len(market.symbols)
        _check_span(market, start, stop, settings)
        self._size = observation_size(settings.window, n, settings.volume_features)
        self._rows = self._observation_rows()
        order = sorted(range(n), key=lambda i: market.symbols[i])
        span = slice(start, stop + 1)
        self._rebalance = Rebalancer(execution, market.close[span], market.volume[span], order)
        self._actions = ActionTerms(n, settings.action_scale)
        self._closes = list(market.close[span])  # the rows as views made once
        self._weight_slots = weight_slots(n)
        self._work, self._scale = np.empty(n), np.empty(n)
        low, high = observation_bounds(settings.window, n, settings.volume_features)
        self.observation_space = gym.spaces.Box(
            low, high, (observation_size(settings.window, n, settings.volume_features),), np.float32
        )
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n + 1,), np.float32)
        self.book = Book.empty(n, settings.initial_cash)
        self.t = start
        self.steps = 0
        self._values = np.zeros(n)
        self._equity = settings.initial_cash
        self._no_trade = no_trade(n)

    def _observation_rows(self) -> NDArray[np.float32]:
        """The observation of every bar of the span with the weights at 0 (a step copies its bar's row and writes
        the weights in)."""
        w, m, start = self.settings.window, self.market, self.start
        rows = np.empty((self.stop - start + 1, self._size), np.float32)
        no_weights = np.zeros(len(m.symbols))
        for t in range(start, self.stop + 1):
            features = window_features(
                m.close[t - w : t + 1], m.volume[t - w : t + 1], volume_features=self.settings.volume_features,
                symbols=m.symbols, times=m.timestamps[t - w : t + 1],
            )  # fmt: skip
            fill_observation(rows[t - start], features, no_weights, 0.0)
        return rows

    # -- the Gymnasium API ------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Observation, dict[str, Any]]:
        """Start all in cash. ``options={"start": bar}`` starts at that bar; else at a random bar of the span with
        ``random_start``, or at its first."""
        super().reset(seed=seed)
        self.book = Book.empty(len(self.market.symbols), self.settings.initial_cash)
        self.steps = 0
        last_start = self.stop - self.every
        if options and "start" in options:
            begin = int(options["start"])
            if not self.start <= begin <= last_start:
                raise DataError(f"start bar {begin} outside the environment's decisions {self.start}..{last_start}")
            self.t = begin
        elif self.settings.random_start:
            self.t = int(self.np_random.integers(self.start, last_start + 1))
        else:
            self.t = self.start
        self._mark()
        return self._observation(), {"bar": self.t, "equity": self._equity}

    def step(self, action: NDArray[np.float32]) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """One step to the weights of ``action`` (``defipm.rl.action``: ``action_weights``, its division folded
        into the rebalance's equity)."""
        total = self._actions.update(action)
        return self._step(self._actions.assets, total)

    # -- stepping with weights (baselines use it directly) ----------------------------------------------------
    def step_weights(self, target: NDArray[np.float64] | None) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """One step to ``target`` asset weights (None: no trade, the book drifts)."""
        return self._step(target, 1.0)

    def _step(
        self, target: NDArray[np.float64] | None, total: float
    ) -> tuple[Observation, float, bool, bool, dict[str, Any]]:
        """One step to the weights ``target / total``."""
        t, book = self.t, self.book
        before = self._equity
        trade, traded_equity = self._no_trade, before
        if target is not None:
            trade = self._rebalance(book, t - self.start, target, self._values, before, total)
            traded_equity = book.cash + sum(np.multiply(book.units, self._closes[t - self.start], self._work).tolist())
        self.t = t = t + self.every
        self.steps += 1
        self._mark()
        after = self._equity
        ruined = not after > 0
        reward = math.log(after / before) if not ruined and before > 0 else RUIN_REWARD
        limit = self.settings.episode_steps
        truncated = not ruined and (t + self.every > self.stop or (limit is not None and self.steps >= limit))
        info = {"bar": t, "equity": after, "trade": trade, "traded_equity": traded_equity}
        return self._observation(), reward, ruined, truncated, info

    def current_weights(self) -> tuple[NDArray[np.float64], float]:
        """(asset weights, cash weight) of the book at the current bar's closes."""
        equity = self._equity
        if not equity > 0:
            return np.zeros(len(self._values)), 0.0
        return self._values / equity, self.book.cash / equity

    @property
    def equity(self) -> float:
        """The book's equity at the current bar's closes (quote currency)."""
        return self._equity

    def _mark(self) -> None:
        """The book's position values (into their array: outputs by position, as ``Rebalancer``) and equity at the
        current bar."""
        values = np.multiply(self.book.units, self._closes[self.t - self.start], self._values)
        self._equity = self.book.cash + sum(values.tolist())  # a list's sum: a tenth of numpy's call cost

    def _observation(self) -> Observation:
        """A copy of the bar's row with the book's weights written in (``defipm.rl.observation``'s layout)."""
        obs = self._rows[self.t - self.start].copy()
        equity = self._equity
        if equity > 0:
            self._scale.fill(equity)
            obs[self._weight_slots] = np.divide(self._values, self._scale, self._work)
            obs[-1] = self.book.cash / equity
        return obs


RUIN_REWARD = -10.0
"""The reward of a step that leaves no equity (log growth would be minus infinity)."""


def _check_span(market: MarketArrays, start: int, stop: int, settings: EnvSettings) -> None:
    if start - settings.window < 0:
        raise DataError(
            f"the first decision at bar {start} needs {settings.window} bars of history before it; the data starts "
            f"{start} bars earlier"
        )
    if stop >= len(market) or stop - start < settings.rebalance_every:
        raise DataError(
            f"bars {start}..{stop} leave no room for one step of {settings.rebalance_every} bars "
            f"(the data has {len(market)} bars)"
        )
