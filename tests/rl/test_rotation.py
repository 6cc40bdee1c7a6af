"""The rotation loop: at the end of each period it classifies at t, trains on bars closed by t only, registers the
model (folder and store rows) and switches the running portfolio through the same manager, selling what the new
set drops. A walk-forward backtest of the whole loop runs offline."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sqlalchemy import select

from defipm.backtest import BacktestConfig, run_backtest
from defipm.data import synthetic_panel
from defipm.data.panel import to_datetime
from defipm.oracles.market_source import MarketSource
from defipm.oracles.ppo_rotation import PPORotationOracle, RotationConfig
from defipm.rl.registry import ModelRegistry
from defipm.store import Store
from defipm.store.models import RLModelRecord, RotationRecord

from .conftest import TINY_PPO

pytest.importorskip("duckdb")


def _config(registry: Path) -> RotationConfig:
    return RotationConfig.model_validate(
        {
            "period_days": 40, "train_days": 50, "window_days": 20, "trend_short_days": 5, "trend_long_days": 10,
            "min_history_bars": 60, "volume_threshold": 0.0, "top_n": 3, "registry": str(registry), "name": "wf",
            "env": {"window": 5, "initial_cash": 10_000.0}, "costs": {"taker_fee": 0.003},
            "ppo": {**TINY_PPO, "timesteps": 128, "n_steps": 64, "batch_size": 32, "n_epochs": 1},
        }
    )  # fmt: skip


def test_a_walk_forward_backtest_rotates_retrains_and_switches_through_the_manager(tmp_path: Path) -> None:
    panel = synthetic_panel(8, 260, seed=5, annual_volatility=1.2, market_correlation=0.2, ragged=True)
    store = Store(f"sqlite:///{tmp_path / 'wf.db'}")
    config = _config(tmp_path / "models")
    start = to_datetime(panel.timestamps[140])
    backtest = BacktestConfig(mode="spot", schedule="24h", start=start, benchmark=None)
    result = run_backtest(
        panel, lambda view: PPORotationOracle(MarketSource(view), config, store=store, run="wf"), backtest
    )

    rotations = result.rotations
    assert len(rotations) == 3  # at the start, then every 40 days of the 120 replayed
    assert any(r.dropped for r in rotations) and any(r.added for r in rotations[1:])
    cards = ModelRegistry(tmp_path / "models").cards()
    trained = [r for r in rotations if r.held]
    assert [c.ref for c in cards] == [f"wf@{k}" for k in range(1, len(trained) + 1)]
    for rotation, card in zip(trained, cards, strict=True):
        assert card.data.end == rotation.timestamp  # trained on bars closed by the rotation, none later
        assert set(card.symbols) == set(rotation.held) and card.test is None
        assert card.data.bars == 50 + 5 + 1
    for k, rotation in enumerate(rotations[1:], 1):
        bar = int(np.searchsorted(result.timestamps, np.datetime64(rotation.timestamp.replace(tzinfo=None), "ns")))
        dropped = [result.symbols.index(s) for s in rotation.dropped]
        assert (result.weights[bar, dropped] == 0).all(), f"rotation {k} kept dropped tokens"
        kept = [result.symbols.index(s) for s in rotation.held]
        assert (np.abs(result.weights[bar]).sum() - np.abs(result.weights[bar, kept]).sum()) < 1e-12
    with store.engine.connect() as conn:
        rows = conn.execute(select(RLModelRecord.id, RLModelRecord.symbols)).all()
        stored = conn.execute(select(RotationRecord.held).where(RotationRecord.run == "wf")).scalars().all()
    assert sorted(r.id for r in rows) == sorted(c.ref for c in cards)
    assert len(stored) == len(rotations)
    assert all(json.loads(held) for held in stored)
