"""``PortfolioEnv`` follows the Gymnasium API (both checkers pass), is deterministic for a seed, prices trades with
the paper venue's cost function, and refuses data it cannot observe, naming the symbol and the bar."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.errors import DataError
from defipm.data import synthetic_panel
from defipm.data.panel import PricePanel
from defipm.rl.action import action_weights
from defipm.rl.env import PortfolioEnv
from defipm.rl.execution import ExecutionModel
from defipm.rl.market import MarketArrays
from defipm.rl.settings import CostSettings, EnvSettings
from defipm.rl.split import chronological_split

from .conftest import COSTS


def _env(panel: PricePanel, **settings: object) -> PortfolioEnv:
    market = MarketArrays.from_panel(panel)
    costs = CostSettings(**COSTS)
    env_settings = EnvSettings(**{"window": 8, "rebalance_every": 2, "initial_cash": 1e6, **settings})
    return PortfolioEnv(
        market, 8, len(market) - 1, env_settings, ExecutionModel.of(costs.cost_model(), costs.planner())
    )


def test_the_environment_passes_gymnasiums_and_stable_baselines3s_checks(panel: PricePanel) -> None:
    from stable_baselines3.common.env_checker import check_env as sb3_check_env

    env = _env(panel, random_start=True, episode_steps=20)
    check_env(env, skip_render_check=True)
    sb3_check_env(_env(panel), warn=True)


def _trajectory(env: PortfolioEnv, seed: int, actions: np.ndarray) -> list[tuple[float, ...]]:
    obs, _ = env.reset(seed=seed)
    out = [tuple(obs)]
    for a in actions:
        obs, reward, terminated, truncated, info = env.step(a)
        out.append((*obs, reward, info["equity"]))
        if terminated or truncated:
            obs, _ = env.reset()
            out.append(tuple(obs))
    return out


def test_the_same_seed_gives_the_same_episode_and_another_seed_another_start(panel: PricePanel) -> None:
    actions = np.random.default_rng(0).uniform(-1, 1, (60, 5)).astype(np.float32)
    one = _trajectory(_env(panel, random_start=True, episode_steps=25), 3, actions)
    two = _trajectory(_env(panel, random_start=True, episode_steps=25), 3, actions)
    other = _trajectory(_env(panel, random_start=True, episode_steps=25), 4, actions)
    assert one == two
    assert one != other


def test_the_reward_is_the_log_growth_of_equity_net_of_costs(panel: PricePanel) -> None:
    env = _env(panel)
    env.reset()
    equity = env.equity
    total = 0.0
    for _ in range(30):
        _, reward, _, _, info = env.step(np.array([1, 1, -1, -1, -1], np.float32))
        total += reward
        assert info["trade"].fees.sum() >= 0
    assert total == pytest.approx(np.log(env.equity / equity), rel=1e-12)
    assert env.equity < env.settings.initial_cash * np.exp(total) * (1 + 1e-12)


def test_a_step_with_an_action_is_a_step_to_its_weights(panel: PricePanel) -> None:
    """``step`` folds the softmax's division into the rebalance: the same book as ``step_weights`` of the action's
    weights (``action_weights``, what the oracle trades), to rounding, clipped and NaN entries included."""
    by_action, by_weights = _env(panel), _env(panel)
    by_action.reset()
    by_weights.reset()
    actions = np.random.default_rng(5).uniform(-1.5, 1.5, (40, 5)).astype(np.float32)
    actions[7, 2] = np.nan
    for a in actions:
        obs_a, reward_a, _, truncated, info_a = by_action.step(a)
        obs_w, reward_w, _, _, info_w = by_weights.step_weights(action_weights(a, by_weights.settings.action_scale))
        assert info_a["equity"] == pytest.approx(info_w["equity"], rel=1e-12)
        assert info_a["traded_equity"] == pytest.approx(info_w["traded_equity"], rel=1e-12)
        assert reward_a == pytest.approx(reward_w, rel=1e-9, abs=1e-15)
        assert np.allclose(by_action.book.units, by_weights.book.units, rtol=1e-12, atol=0)
        assert np.allclose(obs_a, obs_w, rtol=1e-6, atol=0)
        if truncated:
            break
    assert by_action.book.units.sum() > 0 and by_action.steps > 30


@settings(max_examples=40, deadline=None)
@given(
    weights=st.lists(st.floats(0, 1), min_size=4, max_size=4).filter(lambda w: sum(w) <= 1),
    steps=st.integers(1, 6),
)
def test_the_book_never_holds_negative_units_or_cash_and_weights_stay_in_bounds(panel, weights, steps):
    env = _env(panel)
    env.reset()
    for _ in range(steps):
        obs, _, _, truncated, _ = env.step_weights(np.array(weights))
        assert env.book.cash >= 0 and (env.book.units >= 0).all()
        assert env.observation_space.contains(obs)
        held, cash = env.current_weights()
        assert held.sum() + cash == pytest.approx(1.0, rel=1e-12)
        if truncated:
            break


def test_a_missing_close_inside_a_window_is_refused_naming_the_symbol_and_the_bar() -> None:
    close = synthetic_panel(3, 60, seed=2, symbols=["BTC", "ETH", "SOL"]).close.copy()
    close[40, 2] = np.nan
    times = synthetic_panel(3, 60, seed=2).timestamps
    panel = PricePanel.from_arrays(times, ["BTC", "ETH", "SOL"], close)
    market = MarketArrays.from_panel(panel)
    carried = PortfolioEnv(market, 8, 59, EnvSettings(window=8), ExecutionModel.of(CostSettings().cost_model()))
    assert carried.stop == 59  # a gap in the middle is a carried close: still priced
    raw = MarketArrays(market.timestamps, market.symbols, close, market.volume, market.interval)
    with pytest.raises(DataError, match=r"SOL: no usable close at 2020-02-1\d.* inside the observation window"):
        PortfolioEnv(raw, 8, 59, EnvSettings(window=8), ExecutionModel.of(CostSettings().cost_model()))


def test_too_little_data_for_the_window_and_the_split_is_refused_with_what_it_needs() -> None:
    market = MarketArrays.from_panel(synthetic_panel(2, 20, seed=1, symbols=["BTC", "ETH"]))
    with pytest.raises(DataError, match=r"too little data for the split: .*BTC, ETH.*each part needs 11 bars"):
        chronological_split(market, window=8, every=5)
    with pytest.raises(DataError, match=r"too little data: BTC, ETH all have prices on 20 bars.*need 31"):
        chronological_split(market, window=20, every=5)


def test_assets_listed_later_start_the_usable_range_at_their_first_bar() -> None:
    panel = synthetic_panel(3, 200, seed=4, ragged=True, symbols=["A", "B", "C"])
    market = MarketArrays.from_panel(panel)
    split = chronological_split(market, window=10, every=1)
    assert split.train.start == int(panel.first_index.max()) + 10
