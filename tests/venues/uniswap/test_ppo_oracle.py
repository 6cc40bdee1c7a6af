"""The learned allocator on chain: a tiny PPO model trained on the local chain's own test tokens trades through the
PortfolioManager on the Uniswap venue on anvil, observing the wallet's book; a model whose symbols the chain does not
list is refused, naming them, and nothing is sent."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from defipm.chain.local import LocalUniswap
from defipm.core.errors import ConfigError
from defipm.data import synthetic_panel
from defipm.data.panel import PricePanel
from defipm.data.view import MarketView
from defipm.manager import PortfolioManager
from defipm.venues.uniswap import UniswapConfig, UniswapVenue

pytestmark = pytest.mark.chain
pytest.importorskip("stable_baselines3")

from defipm.oracles.market_source import MarketSource  # noqa: E402
from defipm.oracles.ppo import PPOOracle  # noqa: E402
from defipm.rl.market import MarketArrays  # noqa: E402
from defipm.rl.model import LoadedModel  # noqa: E402
from defipm.rl.pipeline import TrainingPlan, train_model  # noqa: E402
from defipm.rl.registry import ModelRegistry  # noqa: E402
from defipm.rl.split import chronological_split  # noqa: E402

PLAN = {
    "env": {"window": 6, "rebalance_every": 1, "initial_cash": 20.0},
    "costs": {"taker_fee": 0.003, "slippage_bps": 10.0},
    "ppo": {"timesteps": 128, "n_steps": 64, "batch_size": 32, "n_epochs": 1, "net_arch": [16], "seed": 3},
}


def _history(symbols: list[str], marks: dict[str, Decimal]) -> PricePanel:
    """120 daily bars of the tokens, each ending at the chain's own price (in WETH), volumes in WETH."""
    base = synthetic_panel(len(symbols), 120, seed=21, symbols=symbols, daily_volume=500.0)
    last = base.close[-1]
    scale = np.array([float(marks.get(s, Decimal(1))) for s in symbols]) / last
    return PricePanel.from_arrays(base.timestamps, symbols, base.close * scale, volume=base.volume)


def _train(panel: PricePanel, name: str, root: Path) -> LoadedModel:
    market = MarketArrays.from_panel(panel)
    plan = TrainingPlan.model_validate({"name": name, **PLAN})
    model = train_model(market, chronological_split(market, 6, 1), plan)
    card = ModelRegistry(root).register(model.card, model.policy)
    return ModelRegistry(root).load(card.ref, symbols=panel.symbols, interval=panel.interval)


def test_a_model_trained_on_the_chains_tokens_trades_through_the_manager_and_a_foreign_one_is_refused(
    world: LocalUniswap, tmp_path: Path
) -> None:
    trader = world.wallets[8]
    world.fund(trader, weth=20 * 10**18)
    venue = UniswapVenue(UniswapConfig.from_deployment(world.deployment, world.url, slippage_bps=100), wallet=trader,
                         w3=world.w3)  # fmt: skip
    venue.connect()
    universe = venue.get_universe()
    panel = _history(universe, venue.get_prices())
    model = _train(panel, "chain", tmp_path)
    oracle = PPOOracle(model, MarketSource(MarketView(panel, len(panel) - 1)))
    manager = PortfolioManager(oracle, venue)

    first = manager.manage_portfolio(panel.end)
    assert first.error is None and first.rebalance is not None and first.rebalance.ok
    target = first.target
    assert target is not None and set(target) == set(universe) and sum(target.values()) <= 1 + 1e-9
    held = venue.snapshot().weights()
    for symbol, weight in target.items():
        assert abs(held.get(symbol, 0.0) - weight) < 0.02, (symbol, held, target)

    second = manager.manage_portfolio(panel.end)  # the policy now sees the book it bought, and keeps it close
    assert second.error is None
    assert second.target is not None and second.target != target
    assert float(second.rebalance.turnover if second.rebalance else 0.0) < 0.5

    # a model of tokens the chain does not list: refused, naming them, before any order
    before = venue.get_positions()
    other = _history(["LINK", "UNI", "DOGE"], venue.get_prices())
    offchain = PPOOracle(_train(other, "offchain", tmp_path), MarketSource(MarketView(other, len(other) - 1)))
    with pytest.raises(ConfigError, match=r"offchain@1 trades LINK, UNI, DOGE; not in the venue's universe: DOGE"):
        PortfolioManager(offchain, venue).manage_portfolio(other.end)
    assert venue.get_positions() == before
