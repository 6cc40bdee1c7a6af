"""One cost model, one answer: the backtester's equity for a trained model over the test part equals the
environment's own test-part equity to 1e-6 (band 0, minimum notional 0), and the environment's rebalance charges
what the paper venue charges for the same trades."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.core.planner import PlannerConfig
from defipm.core.schedule import EveryKBars
from defipm.data.panel import PricePanel
from defipm.oracles.market_source import MarketSource
from defipm.oracles.ppo import PPOOracle
from defipm.rl.episodes import policy_decider, run_episode
from defipm.rl.evaluation import evaluation_env
from defipm.rl.execution import Book, ExecutionModel, rebalance
from defipm.rl.model import LoadedModel
from defipm.rl.settings import CostSettings
from defipm.venues.paper import PaperVenue

from .conftest import COSTS, T0_PRICES

COST_CASES = {
    "cap, impact and spread": COSTS,
    "fee and reserve only": {"taker_fee": 0.001, "cost_reserve_bps": 20.0},
    "no costs": {"taker_fee": 0.0},
}


@pytest.mark.parametrize("costs", COST_CASES.values(), ids=COST_CASES.keys())
def test_the_backtest_of_the_model_equals_the_environments_test_part(
    trained: Any, panel: PricePanel, costs: dict[str, float]
) -> None:
    _, model, market, split = trained
    card = model.card.model_copy(update={"costs": CostSettings(**costs)})
    loaded = LoadedModel(card, model.policy)
    episode = run_episode(evaluation_env(market, split.test, card), policy_decider(loaded))
    decisions = episode.bars[:-1]
    config = BacktestConfig(
        initial_cash=card.env.initial_cash,
        mode="spot",
        costs=card.costs.cost_model(),
        planner=card.costs.planner(),
        schedule=EveryKBars(card.env.rebalance_every),
        start=market.time(split.test.start),
        end=market.time(int(decisions[-1])),
        benchmark=None,
    )
    result = run_backtest(panel, lambda view: PPOOracle(loaded, MarketSource(view)), config)

    assert len(result.equity) == decisions[-1] - split.test.start + 1
    backtest = result.equity[decisions - split.test.start]
    relative = np.abs(backtest / episode.traded_equity - 1.0)
    assert relative.max() < 1e-6, (relative.max(), int(relative.argmax()))
    assert result.rebalanced.sum() == len(decisions)
    if costs is COSTS:  # the cap and impact really acted: partly filled orders, and buys the cash could not pay
        assert episode.fees.sum() > 0 and episode.slippage.sum() > 0
        assert result.failed_orders > 0


def test_one_rebalance_costs_what_the_paper_venue_charges_for_the_same_trades() -> None:
    """From cash into three assets and back out of one, under the participation cap (partial fills), impact and
    the fee: the environment's book and costs equal the paper venue's fills, to the venue's size step."""
    costs = CostSettings(**COSTS)
    model = ExecutionModel.of(costs.cost_model(), costs.planner())
    prices = np.array(list(T0_PRICES.values()))
    volumes = np.array([3e6, 2e5, 0.0, 8e5])  # SOL reports no volume: the floor is what the cap assumes
    venue = PaperVenue(
        initial_cash=Decimal(1_000_000),
        mode="spot",
        taker_fee=Decimal("0.003"),
        slippage=costs.cost_model().slippage_model(),
    )
    book = Book.empty(4, 1_000_000.0)
    for k, target in enumerate(([0.4, 0.3, 0.2, 0.0], [0.0, 0.5, 0.2, 0.2])):
        weights = np.array(target)
        trade = rebalance(book, prices, volumes, weights, model, range(4))
        venue.update_market(
            datetime(2024, 1, 1 + k, tzinfo=UTC), T0_PRICES, dict(zip(T0_PRICES, volumes.tolist(), strict=True))
        )
        report = venue.set_portfolio_weights(dict(zip(T0_PRICES, target, strict=True)), planner=PlannerConfig())
        held = venue.get_positions()
        for i, symbol in enumerate(T0_PRICES):
            assert book.units[i] == pytest.approx(float(held.get(symbol, 0)), rel=1e-7, abs=1e-8)
        assert book.cash == pytest.approx(float(venue.get_cash()), rel=1e-9)
        assert float(trade.fees.sum()) == pytest.approx(float(report.fees), rel=1e-7)
        assert float(trade.slippage.sum()) == pytest.approx(float(report.slippage_cost), rel=1e-6)
    assert any(r.status.value == "partially_filled" for r in report.results)
