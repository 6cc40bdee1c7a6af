"""The rebalancing-frequency search chooses on the training part through the parameter search's job runner, says
why each unusable grid point is unusable, and refuses a grid with no valid point; Optuna tunes on the training part
only."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from defipm.backtest.search import metric_score
from defipm.core.errors import ConfigError
from defipm.data.panel import PricePanel
from defipm.rl.market import MarketArrays
from defipm.rl.search import frequency_search
from defipm.rl.split import chronological_split
from defipm.rl.tuning import tune

from .conftest import tiny_plan


def test_the_interval_is_chosen_on_the_training_part_with_the_test_figures_beside_it(panel: PricePanel) -> None:
    market = MarketArrays.from_panel(panel)
    result = frequency_search(
        market, tiny_plan(), ["48h", "2d", "96h", "1h", "300d"], metric="normalised_return", workers=2
    )
    by_spec = {p.spec: p for p in result.points}
    assert by_spec["1h"].error == "not a whole number of the data's 1d bars"  # the duration grammar
    assert "too little data" in (by_spec["300d"].error or "")
    assert by_spec["48h"].bars == by_spec["2d"].bars == 2 and by_spec["96h"].bars == 4
    assert by_spec["48h"].train == by_spec["2d"].train  # the same point, trained the same way in another process
    valid = [p for p in result.points if p.error is None]
    assert result.chosen.train["cagr"] == max(p.train["cagr"] for p in valid)
    assert all(p.test["total_return"] is not None for p in valid)


def test_a_grid_with_no_valid_point_is_refused_listing_each_reason(panel: PricePanel) -> None:
    market = MarketArrays.from_panel(panel)
    with pytest.raises(ConfigError, match=r"no valid point: 1h: not a whole number .*; 300d: DataError: too little"):
        frequency_search(market, tiny_plan(), ["1h", "300d"], workers=1)
    with pytest.raises(ConfigError, match="the frequency grid is empty"):
        frequency_search(market, tiny_plan(), [], workers=1)
    with pytest.raises(ConfigError, match="grid point 'soon' is not a duration"):
        frequency_search(market, tiny_plan(), ["soon"], workers=1)
    with pytest.raises(ConfigError, match="metric 'luck' is not one of sortino, normalised_return"):
        frequency_search(market, tiny_plan(), ["48h"], metric="luck")


def test_optuna_tunes_on_the_training_part_and_never_reads_the_test_part(panel: PricePanel) -> None:
    market = MarketArrays.from_panel(panel)
    split = chronological_split(market, 8, 2)
    assert split.test is not None
    close = market.close.copy()
    close[split.test.start :] *= 3.0
    garbled = MarketArrays(market.timestamps, market.symbols, close, market.volume, market.interval)
    found = tune(market, split.train, tiny_plan(), trials=2)
    again = tune(garbled, split.train, tiny_plan(), trials=2)
    assert found.best == again.best and found.best_score == again.best_score
    assert len(found.trials) == 2 and {"learning_rate", "n_steps", "gamma"} <= found.best.keys()
    assert found.best_score == max(metric_score(t["validation"], "sortino") for t in found.trials)
    assert np.isfinite(found.best_score)


def test_tuning_refuses_a_training_part_too_short_to_hold_out_a_validation_part(panel: PricePanel) -> None:
    market = MarketArrays.from_panel(panel)
    split = chronological_split(market, 8, 2)
    with pytest.raises(ConfigError, match="too short to hold out a validation part"):
        tune(market, type(split.train)(split.train.start, split.train.start + 6), tiny_plan(), trials=1)
    with pytest.raises(ConfigError, match="trials must be at least 1"):
        tune(market, split.train, tiny_plan(), trials=0)


def _unused(_: Any) -> None: ...
