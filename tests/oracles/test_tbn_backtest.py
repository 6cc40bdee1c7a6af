"""TB-N through the backtester: generated meta-model files with the real schema on synthetic and real prices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("pyarrow")

from defipm.backtest import BacktestConfig, CostModel, run_backtest  # noqa: E402
from defipm.core.errors import DataError  # noqa: E402
from defipm.data.numerai import MetaModelHistory  # noqa: E402
from defipm.data.panel import PricePanel  # noqa: E402
from defipm.data.synthetic import synthetic_panel  # noqa: E402
from defipm.oracles.tbn import TBNConfig, TBNOracle  # noqa: E402
from defipm.testing.numerai import synthetic_meta_model  # noqa: E402

PRICES = Path("/work/shared/data/prices/daily")
COINS = ["ADA", "AVAX", "BNB", "BTC", "DOGE", "DOT", "ETH", "LINK", "LTC", "MATIC", "SOL", "XRP"]
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def panel() -> PricePanel:
    return synthetic_panel(8, 90, seed=11, start=START, symbols=["A", "B", "C", "D", "E", "F", "G", "H"])


def same_day_prophecy(panel: PricePanel) -> pd.DataFrame:
    """Meta-model rows dated D that score the return of the bar covering day D (known only at D+1 00:00).

    Used on day D itself that would be perfect foresight; used from D+1 00:00 (as published) it is stale news.
    """
    close = panel.close
    rows = []
    for i in range(1, len(panel)):
        day = (panel.datetime_at(i) - timedelta(days=1)).date().isoformat()
        ret = close[i] / close[i - 1] - 1
        ranks = ret.argsort().argsort()
        for j, s in enumerate(panel.symbols):
            rows.append((day, s, (ranks[j] + 1) / (len(panel.symbols) + 1)))
    return pd.DataFrame(rows, columns=["date", "symbol", "meta_model"])


def config(**kwargs) -> BacktestConfig:
    base = {
        "initial_cash": 100_000.0,
        "costs": CostModel(taker_fee=0.0),
        "schedule": 1,
        "start": START + timedelta(days=1),
        "benchmark": None,
    }
    return BacktestConfig(**{**base, **kwargs})


def test_full_backtest_from_a_generated_file(tmp_path, panel):
    path = tmp_path / "historical_meta_models.parquet"
    same_day_prophecy(panel).to_parquet(path, index=False)
    oracle = TBNOracle.from_config(TBNConfig(n=2, file=path, symbol_map="paper"))
    result = run_backtest(panel, oracle, config())
    assert result.failed_orders == 0 and result.halted_cycles == 0
    assert result.rebalanced.all()
    w = result.weights[result.rebalanced]
    assert np.allclose(np.abs(w).sum(axis=1), 1.0, atol=1e-3)
    assert np.allclose(w.sum(axis=1), 0.0, atol=1e-3)
    assert ((np.abs(w) > 1e-6).sum(axis=1) == 4).all()
    assert np.isfinite(result.equity).all() and result.oracle == "tbn"


def test_no_look_ahead_through_the_backtest(panel):
    """The same prophetic rows make a fortune when used on their own date and nothing when used as published."""
    history = MetaModelHistory.from_frame(same_day_prophecy(panel))
    honest = run_backtest(panel, TBNOracle(2, history=history), config())
    cheat = run_backtest(panel, TBNOracle(2, history=history, publication_delay=timedelta(0)), config())
    honest_return = honest.equity[-1] / 100_000 - 1
    cheat_return = cheat.equity[-1] / 100_000 - 1
    assert cheat_return > 3.0  # perfect foresight every day
    assert abs(honest_return) < 0.5


def test_backtest_before_the_first_publication_stops_with_a_clear_error(panel):
    history = MetaModelHistory.from_frame(same_day_prophecy(panel))
    with pytest.raises(DataError, match="no meta-model data published by 2024-01-01"):
        run_backtest(panel, TBNOracle(2, history=history), config(start=START))


@pytest.mark.slow
@pytest.mark.skipif(not PRICES.is_dir(), reason=f"real daily prices not found at {PRICES}")
def test_backtest_on_real_daily_prices(tmp_path):
    from defipm.data.cache import load_prices

    prices = load_prices(PRICES, COINS, cache=tmp_path / "price-cache")
    first = datetime(2023, 1, 1)
    path = tmp_path / "historical_meta_models.csv"
    synthetic_meta_model(COINS, first, 120, seed=5).to_csv(path, index=False)
    oracle = TBNOracle.from_config(TBNConfig(n=3, lags=3, file=path, symbol_map="paper"))
    result = run_backtest(
        prices,
        oracle,
        BacktestConfig(
            initial_cash=100_000.0,
            schedule="daily@00:00",
            start=datetime(2023, 1, 2, tzinfo=UTC),
            end=datetime(2023, 4, 30, tzinfo=UTC),
            benchmark="BTC",
        ),
    )
    assert result.failed_orders == 0
    assert int(result.rebalanced.sum()) >= max(100, len(result.timestamps) - 1)
    w = result.weights[result.rebalanced]
    assert np.allclose(np.abs(w).sum(axis=1), 1.0, atol=0.01)
    assert np.allclose(w.sum(axis=1), 0.0, atol=0.01)
    assert ((np.abs(w) > 1e-6).sum(axis=1) == 6).all()
    assert any("only 1 of lags=3" in n for n in result.notes)
    summary = result.summary()
    assert summary is not None
