"""TB-N on a CrowdCent-schema signal through the backtester, with everything the live Hyperliquid book uses that
a backtest can replay: sizing schemes, tranches, a rebalance policy, funding (a constant rate, and the recorded
mainnet funding history of the fixtures). Small and seeded; the full comparison table is
``benchmarks/compare_tbn_sizing.py``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")

from defipm.backtest import BacktestConfig, CostModel, run_backtest  # noqa: E402
from defipm.core.triggers import RebalancePolicy  # noqa: E402
from defipm.data.cache import load_prices  # noqa: E402
from defipm.data.signals import CROWDCENT_COLUMNS, signal_frame  # noqa: E402
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv  # noqa: E402
from defipm.oracles.static import StaticOracle  # noqa: E402
from defipm.oracles.tbn import TBNOracle, market_returns  # noqa: E402
from defipm.oracles.tranches import TranchedOracle  # noqa: E402
from defipm.testing.crowdcent import synthetic_crowdcent_meta_model  # noqa: E402
from defipm.venues.hyperliquid.history import funding_frame  # noqa: E402
from defipm.venues.hyperliquid.sim.seed import recorded_funding  # noqa: E402

_SHARED = (Path(__file__).resolve().parents[2].parent / "shared", Path("/work/shared"))
DEFAULT_FIXTURES_DIR = next(
    (p / "fixtures/hyperliquid" for p in _SHARED if (p / "fixtures/hyperliquid").is_dir()), _SHARED[0]
)

COINS = ["BTC", "ETH", "SOL", "AVAX", "LINK", "DOGE", "ARB", "OP"]
START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def market():
    panel = synthetic_panel(len(COINS), 150, seed=21, start=START, symbols=COINS)
    frame = synthetic_crowdcent_meta_model(COINS, START - timedelta(days=1), 150, seed=4, closes=panel.close,
                                           skill=0.3)  # fmt: skip
    return panel, signal_frame(frame, CROWDCENT_COLUMNS, "crowdcent (synthetic)")


def _config(**kwargs) -> BacktestConfig:
    base = {"initial_cash": 100_000.0, "schedule": "1bars", "start": START + timedelta(days=70), "benchmark": None,
            "costs": CostModel(taker_fee=0.00045, funding_rate=0.0001)}  # fmt: skip
    return BacktestConfig(**{**base, **kwargs})


def _tbn(history, scheme: str, tranches: int = 1):
    def factory(view):  # type: ignore[no-untyped-def]
        inner = TBNOracle(2, history=history, weighting=scheme, returns=market_returns(view), max_staleness=None)
        return TranchedOracle(inner, tranches) if tranches > 1 else inner

    return factory


@pytest.mark.parametrize("scheme", ["rank", "inverse_volatility", "hrp"])
def test_sizing_schemes_and_tranches_replay_with_funding(market, scheme):
    if scheme == "hrp":
        pytest.importorskip("skfolio")
    panel, history = market
    one = run_backtest(panel, _tbn(history, scheme), _config())
    three = run_backtest(panel, _tbn(history, scheme, 3), _config())
    for result in (one, three):
        assert result.failed_orders == 0 and np.isfinite(result.equity).all()
        traded = np.abs(result.weights[result.rebalanced]).sum(axis=1)
        assert np.all(traded < 1.01) and traded.mean() > 0.9
        assert result.funding.sum() != 0  # the constant rate was charged on the book
    assert three.summary().annual_turnover < 0.7 * one.summary().annual_turnover  # spread over three tranches
    assert not np.allclose(one.equity, three.equity)


def test_a_rebalance_policy_trades_only_when_due(market):
    panel, history = market
    weekly = run_backtest(panel, _tbn(history, "equal"), _config(rebalance=RebalancePolicy(every=timedelta(days=7))))
    daily = run_backtest(panel, _tbn(history, "equal"), _config())
    assert int(daily.rebalanced.sum()) == len(daily.timestamps)
    assert int(weekly.rebalanced.sum()) == pytest.approx(len(weekly.timestamps) / 7, abs=1)
    drift = run_backtest(panel, _tbn(history, "equal"), _config(rebalance=RebalancePolicy(drift=0.02)))
    assert 1 < int(drift.rebalanced.sum()) < len(drift.timestamps)
    assert weekly.summary().annual_turnover < daily.summary().annual_turnover


@pytest.mark.skipif(not DEFAULT_FIXTURES_DIR.is_dir(), reason=f"recorded responses not found at {DEFAULT_FIXTURES_DIR}")
def test_the_recorded_funding_history_is_charged_bar_by_bar(tmp_path):
    rows = recorded_funding(DEFAULT_FIXTURES_DIR)["BTC"]
    first = datetime.fromtimestamp(rows[0]["time"] / 1000, UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    panel = synthetic_panel(2, 60, seed=2, start=first, symbols=["BTC", "ETH"], start_price=[27_000.0, 1_800.0])
    write_synthetic_csv(tmp_path, panel)
    (tmp_path / "funding").mkdir()
    funding_frame(rows).to_csv(tmp_path / "funding" / "BTC.csv", index=False)
    data = load_prices(tmp_path, bar_label="close", cache=False)
    config = BacktestConfig(initial_cash=100_000.0, schedule="1bars", benchmark=None, costs=CostModel(taker_fee=0.0))
    result = run_backtest(data, StaticOracle({"BTC": 0.6, "ETH": -0.4}), config)
    assert result.funding_from_data
    btc = data.symbols.index("BTC")
    rates = data.funding[:, btc]
    # what the long BTC position paid each bar: that bar's recorded rates on its notional at the bar's close
    held = result.weights[:-1, btc] * result.equity[:-1] / data.close[:-1, btc]
    expected = np.nansum(rates[1:] * held * data.close[1:, btc])
    assert result.funding.sum() == pytest.approx(expected, rel=1e-6)
    assert expected != 0
    # every recorded rate inside the replay's bars was charged once: the bars' rates add up to the records'
    first_close, last_close = data.timestamps[0], data.timestamps[-1]
    inside = [float(r["fundingRate"]) for r in rows
              if first_close < np.datetime64(r["time"], "ms") <= last_close]  # fmt: skip
    assert np.nansum(rates) == pytest.approx(sum(inside), rel=1e-9) and len(inside) > 500
