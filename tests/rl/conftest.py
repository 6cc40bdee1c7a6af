"""A tiny seeded world for the learned allocator's tests: four synthetic assets on daily bars, and one model
trained once per session (a few hundred PPO steps) on them."""

from __future__ import annotations

from pathlib import Path

import pytest

from defipm.data import synthetic_panel
from defipm.data.panel import PricePanel

pytest.importorskip("gymnasium")
pytest.importorskip("stable_baselines3")

SYMBOLS = ("BTC", "ETH", "SOL", "XRP")
TINY_PPO = {"timesteps": 256, "n_steps": 128, "batch_size": 64, "n_epochs": 2, "net_arch": (16,), "seed": 7}
COSTS = {
    "taker_fee": 0.003,
    "slippage_bps": 5.0,
    "impact": 0.05,
    "volume_floor": 1e5,
    "max_participation": 0.1,
    "participation_floor": 1e5,
    "cost_reserve_bps": 0.0,
}
"""Fees, a half-spread, square-root impact and a participation cap that binds on these volumes; no reserve for the
slippage, so some buys cannot be paid for and are refused (as the spot venue refuses them)."""


def tiny_plan(name: str = "tiny", **env: object):  # type: ignore[no-untyped-def]
    from defipm.rl.pipeline import TrainingPlan

    return TrainingPlan.model_validate(
        {"name": name, "env": {"window": 8, "rebalance_every": 2, **env}, "costs": COSTS, "ppo": TINY_PPO}
    )


@pytest.fixture(scope="session")
def panel() -> PricePanel:
    """240 daily bars; about 2 million dollars traded per asset per day, so a 1 million book meets the cap."""
    return synthetic_panel(4, 240, seed=11, symbols=list(SYMBOLS), daily_volume=2e6, annual_drift=0.2)


@pytest.fixture(scope="session")
def trained(panel: PricePanel, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """(registry folder, registered model, market, split) of one tiny model trained on ``panel``."""
    from defipm.rl.market import MarketArrays
    from defipm.rl.model import LoadedModel
    from defipm.rl.pipeline import train_model
    from defipm.rl.registry import ModelRegistry
    from defipm.rl.split import chronological_split

    market = MarketArrays.from_panel(panel)
    plan = tiny_plan(initial_cash=1_000_000.0)
    split = chronological_split(market, plan.env.window, plan.env.rebalance_every)
    model = train_model(market, split, plan)
    root: Path = tmp_path_factory.mktemp("models")
    card = ModelRegistry(root).register(model.card, model.policy)
    return root, LoadedModel(card, model.policy), market, split


T0_PRICES = {"BTC": 40_000.0, "ETH": 2_500.0, "SOL": 90.0, "XRP": 0.6}
"""Marks for one-bar trades (the parity of a single rebalance with the paper venue)."""
