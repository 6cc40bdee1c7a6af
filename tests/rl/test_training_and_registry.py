"""Training is seeded (the same seed, the same policy), splits the data chronologically and never trains on the
test part; the registry keeps each model with its card (folder and store rows) and refuses a mismatch, naming the
symbols."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from defipm.core.errors import ConfigError
from defipm.data.panel import PricePanel
from defipm.rl.market import MarketArrays
from defipm.rl.model import ModelMismatchError
from defipm.rl.pipeline import train_model
from defipm.rl.registry import ModelRegistry
from defipm.rl.split import chronological_split
from defipm.store import Store
from defipm.store.models import RLModelRecord

from .conftest import SYMBOLS, tiny_plan


def _parameters(policy: Any) -> np.ndarray:
    return np.concatenate([p.detach().numpy().ravel() for p in policy.policy.parameters()])


def test_the_same_seed_trains_the_same_policy_and_another_seed_another(panel: PricePanel) -> None:
    market = MarketArrays.from_panel(panel)
    split = chronological_split(market, 8, 2)
    first = train_model(market, split, tiny_plan())
    again = train_model(market, split, tiny_plan())
    other = train_model(
        market, split, tiny_plan().model_copy(update={"ppo": tiny_plan().ppo.model_copy(update={"seed": 8})})
    )
    assert np.array_equal(_parameters(first.policy), _parameters(again.policy))
    assert not np.array_equal(_parameters(first.policy), _parameters(other.policy))
    assert first.card.test_figures == again.card.test_figures


def test_training_reads_no_bar_of_the_test_part(panel: PricePanel) -> None:
    """The policy trained on data whose test part is replaced by garbage is the same policy."""
    market = MarketArrays.from_panel(panel)
    split = chronological_split(market, 8, 2)
    assert split.test is not None and split.train.stop < split.test.start
    close = market.close.copy()
    close[split.test.start :] *= np.linspace(0.2, 5.0, len(close) - split.test.start)[:, None]
    garbled = MarketArrays(market.timestamps, market.symbols, close, market.volume, market.interval)
    honest, trained_on_garbled = train_model(market, split, tiny_plan()), train_model(garbled, split, tiny_plan())
    assert np.array_equal(_parameters(honest.policy), _parameters(trained_on_garbled.policy))
    assert honest.card.train_figures == trained_on_garbled.card.train_figures
    assert honest.card.test_figures != trained_on_garbled.card.test_figures


def test_the_card_records_what_made_the_model(trained: Any, panel: PricePanel) -> None:
    root, model, market, split = trained
    card = ModelRegistry(root).card("tiny")
    assert card == model.card and card.ref == "tiny@1"
    assert card.symbols == SYMBOLS and card.interval == timedelta(days=1)
    assert (card.env.window, card.env.rebalance_every) == (8, 2)
    assert card.ppo.seed == 7 and card.ppo.timesteps == 256
    assert card.data.hash == market.data_hash(split.train.start - 8, split.test.stop + 1)
    assert card.data.start == panel.start and card.data.end == panel.end
    assert card.train.end < card.test.start  # type: ignore[union-attr]
    assert {"python", "numpy", "torch", "gymnasium", "stable-baselines3"} <= card.versions.keys()
    assert card.train_figures["sortino"] is not None and card.test_figures["total_return"] is not None


def test_versions_count_up_and_the_store_lists_each_model(trained: Any, tmp_path: Path) -> None:
    _, model, _, _ = trained
    store = Store(f"sqlite:///{tmp_path / 'rl.db'}")
    registry = ModelRegistry(tmp_path / "models", store)
    first = registry.register(model.card, model.policy)
    second = registry.register(model.card, model.policy)
    assert (first.ref, second.ref) == ("tiny@1", "tiny@2")
    assert [c.ref for c in registry.cards()] == ["tiny@1", "tiny@2"]
    assert registry.card("tiny").version == 2 and registry.card("tiny@1").version == 1
    with store.engine.connect() as conn:
        row = conn.execute(select(RLModelRecord).where(RLModelRecord.id == "tiny@2")).one()
    assert json.loads(row.symbols) == list(SYMBOLS) and (row.window, row.rebalance_every) == (8, 2)
    assert row.data_hash == model.card.data.hash and Path(row.path) == (tmp_path / "models" / "tiny" / "2").resolve()
    assert json.loads(row.figures)["test"] == json.loads(json.dumps(model.card.test_figures))
    loaded = registry.load("tiny@1", symbols=SYMBOLS, interval=timedelta(days=1))
    obs = np.zeros(loaded.card.env.window * 4 * 2 + 5, np.float32)
    assert np.array_equal(loaded.weights(obs), model.weights(obs))


def test_loading_refuses_a_universe_without_the_models_symbols_naming_them(trained: Any) -> None:
    root = trained[0]
    with pytest.raises(ModelMismatchError, match=r"tiny@1 trades BTC, ETH, SOL, XRP; not in the venue: SOL, XRP"):
        ModelRegistry(root).load("tiny", symbols=["BTC", "ETH", "DOGE"], where="the venue")
    with pytest.raises(ModelMismatchError, match=r"trained on 1d bars; hourly data has 1h bars"):
        ModelRegistry(root).load("tiny", interval=timedelta(hours=1), where="hourly data")


@pytest.mark.parametrize(
    ("ref", "message"),
    [("nothing", "no such model in .* \\(models there: tiny\\)"), ("tiny@9", "tiny has versions 1"),
     ("bad name!", "give name, name@version or a model folder")],
)  # fmt: skip
def test_an_unknown_model_is_named_with_what_the_registry_holds(trained: Any, ref: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        ModelRegistry(trained[0]).card(ref)
