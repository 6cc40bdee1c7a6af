"""The replay engine on the live loop: look-ahead fails, costs apply, end to end on the real daily data."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.core.errors import DataError, InvalidWeightsError, LookAheadError
from defipm.core.weights import Weights
from defipm.data.cache import load_prices
from defipm.data.synthetic import synthetic_panel
from defipm.data.view import MarketView
from defipm.oracles.base import Oracle
from defipm.oracles.equal_weight import EqualWeightOracle
from defipm.oracles.momentum import MomentumOracle
from defipm.oracles.static import StaticOracle

STABLES = ("USDT", "USDC")


@pytest.fixture(scope="module")
def daily(shared_prices: Path):  # type: ignore[no-untyped-def]
    return load_prices(shared_prices / "daily", cache=False)


class PeekingOracle(Oracle):
    """Buys whatever rises tomorrow: reads the next bar's close."""

    name = "peeking"

    def __init__(self, market: MarketView, swallow: bool = False) -> None:
        super().__init__()
        self.market, self.swallow = market, swallow

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        tomorrow = timestamp + self.market.interval
        try:
            best = max(universe, key=lambda s: self.market.price_at(s, tomorrow) / self.market.price_at(s))
        except LookAheadError:
            if not self.swallow:
                raise
            best = universe[0]
        return Weights({best: 1.0})


@pytest.mark.parametrize("swallow", [False, True])
def test_cheating_oracle_fails_with_lookahead(swallow: bool) -> None:
    panel = synthetic_panel(3, 30, seed=2)
    with pytest.raises(LookAheadError, match="look-ahead"):
        run_backtest(panel, lambda view: PeekingOracle(view, swallow), BacktestConfig(benchmark=None))


class ClockMovingOracle(Oracle):
    """Steps the replay onto the next bar, reads its closes, and buys the best riser (issue 8 item 5)."""

    name = "clock-mover"

    def __init__(self, market: MarketView, how: str) -> None:
        super().__init__()
        self.market, self.how = market, how

    def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
        before = self.market.prices()
        try:
            if self.how == "circumvent":
                self.market._clock.advance(self.market.index + 1)  # reaching past the view on purpose
            else:
                self.market.advance(self.market.index + 1)
        except LookAheadError:
            if self.how != "swallow":
                raise
        after = self.market.prices()
        return Weights({max(universe, key=lambda s: after[s] / before[s]): 1.0})


@pytest.mark.parametrize("how", ["raise", "swallow", "circumvent"])
def test_an_oracle_cannot_move_the_replay_clock(how: str) -> None:
    panel = synthetic_panel(3, 30, seed=2)
    with pytest.raises(LookAheadError, match=r"oracle 'clock-mover'.*(cannot move|moved) the replay clock"):
        run_backtest(panel, lambda view: ClockMovingOracle(view, how), BacktestConfig(benchmark=None))


def test_a_clock_moving_oracle_fails_on_real_data(daily) -> None:  # type: ignore[no-untyped-def]
    """On two months of real closes the cheat made +82% before the fix; now the run stops at its first cycle."""
    cfg = BacktestConfig(start=datetime(2021, 1, 1, tzinfo=UTC), end=datetime(2021, 3, 1, tzinfo=UTC), benchmark=None)
    honest = run_backtest(daily, EqualWeightOracle(exclude=STABLES), cfg)
    assert len(honest.timestamps) == 60
    with pytest.raises(LookAheadError, match=r"at bar .*2021-01-01"):
        run_backtest(daily, lambda view: ClockMovingOracle(view, "swallow"), cfg)


def test_end_to_end_on_real_daily_data(daily) -> None:  # type: ignore[no-untyped-def]
    cfg = BacktestConfig(start=datetime(2021, 1, 1, tzinfo=UTC), costs=CostModel(taker_fee=0.0005, slippage_bps=2))
    eq = run_backtest(daily, EqualWeightOracle(exclude=STABLES), cfg)
    s = eq.summary()
    assert eq.benchmark == "BTC" and s.bars == len(eq.timestamps)
    assert s.gross_exposure == pytest.approx(1.0, abs=0.01) and s.fees_paid > 0 and eq.slippage.sum() > 0
    assert 0.5 < s.beta < 1.5 and s.max_drawdown < -0.3
    assert eq.failed_orders == 0 and eq.rebalanced.all()

    static = run_backtest(daily, StaticOracle({"BTC": 0.6, "ETH": 0.4}), cfg)
    assert static.weights[:, list(daily.symbols).index("BTC")].mean() == pytest.approx(0.6, abs=0.05)

    mom = run_backtest(daily, lambda v: MomentumOracle(v, lookback=30, n_long=3, n_short=3, exclude=STABLES), cfg)
    ms = mom.summary()
    assert ms.net_exposure == pytest.approx(0.0, abs=0.05) and ms.gross_exposure == pytest.approx(1.0, abs=0.1)
    assert (mom.weights < 0).any(axis=1).mean() > 0.9, "the long/short path trades shorts"
    assert mom.to_dict()["metrics"]["sharpe"] is not None


def test_ragged_start_joins_symbols_as_they_list(daily) -> None:  # type: ignore[no-untyped-def]
    cfg = BacktestConfig(end=datetime(2018, 1, 31, tzinfo=UTC), benchmark="BTC")
    r = run_backtest(daily, EqualWeightOracle(exclude=STABLES), cfg)
    assert r.start.year == 2014  # starts with BTC and LTC only
    held = (np.abs(r.weights) > 0).sum(axis=1)
    assert held[0] == 2 and held[-1] == 8  # + ADA BNB DOGE ETH LINK XRP from 2017-11


def test_spot_mode_forbids_shorts() -> None:
    panel = synthetic_panel(6, 60, seed=4)
    cfg = BacktestConfig(mode="spot", benchmark=None)
    with pytest.raises(InvalidWeightsError, match="negative weight"):
        run_backtest(panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=2), cfg)
    long_only = run_backtest(panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=0), cfg)
    assert (long_only.weights >= 0).all() and (long_only.cash >= 0).all()


def test_funding_is_charged_on_perp_positions() -> None:
    panel = synthetic_panel(2, 40, seed=6)
    oracle = StaticOracle({"SYN000": 1.0})
    base = run_backtest(panel, oracle, BacktestConfig(benchmark=None))
    series = np.full(panel.close.shape, np.nan)
    series[:, 0] = 0.0002
    cfg = BacktestConfig(benchmark=None, costs=CostModel(funding_rate=0.001, funding_series=series))
    paid = run_backtest(panel, oracle, cfg)
    assert paid.funding[1:].min() > 0  # long pays every bar after the first trade
    per_bar = paid.funding[1:] / (paid.weights[:-1, 0] * paid.equity[:-1] * panel.close[1:, 0] / panel.close[:-1, 0])
    assert np.allclose(per_bar, 0.0012, rtol=1e-6)
    assert paid.equity[-1] < base.equity[-1]
    spot = run_backtest(panel, oracle, BacktestConfig(benchmark=None, mode="spot", costs=cfg.costs))
    assert not spot.funding.any()


def test_impact_and_min_notional(shared_prices: Path) -> None:
    hourly = load_prices(shared_prices / "hourly", ["BTC", "ETH", "SOL"], cache=False)
    flat = run_backtest(hourly, EqualWeightOracle(), BacktestConfig(schedule="daily@12:00"))
    cost = CostModel(impact=0.5, volume_floor=1e6)
    hit = run_backtest(hourly, EqualWeightOracle(), BacktestConfig(schedule="daily@12:00", costs=cost))
    assert hit.slippage.sum() > 0 and hit.equity[-1] < flat.equity[-1]
    assert int(flat.rebalanced.sum()) == 1 + 89  # the first bar, then 12:00 on each of 89 days
    small = run_backtest(
        hourly, EqualWeightOracle(), BacktestConfig(schedule="24h", costs=CostModel(min_notional=50.0))
    )
    assert any("below minimum notional" in n for n in small.notes)


def test_positions_drift_between_rebalances() -> None:
    panel = synthetic_panel(3, 30, seed=8)
    r = run_backtest(panel, EqualWeightOracle(), BacktestConfig(schedule="weekly@mon@00:00", benchmark=None))
    assert 4 <= r.rebalanced.sum() <= 6
    off = ~r.rebalanced
    assert np.abs(r.weights[off] - 1 / 3).max() > 0.01
    assert np.abs(r.weights[r.rebalanced] - 1 / 3).max() < 0.001
    assert not r.traded_notional[off].any()


def test_benchmark_outside_the_data_range_is_named(daily, shared_prices: Path) -> None:  # type: ignore[no-untyped-def]
    cfg = BacktestConfig(start=datetime(2019, 1, 1, tzinfo=UTC), end=datetime(2019, 3, 1, tzinfo=UTC), benchmark="SOL")
    with pytest.raises(DataError, match="benchmark 'SOL' covers 2020-04-11"):
        run_backtest(daily, EqualWeightOracle(exclude=STABLES), cfg)
    with pytest.raises(DataError, match="neither a symbol"):
        run_backtest(daily, EqualWeightOracle(), BacktestConfig(benchmark="NOPE"))
    btc_file = run_backtest(
        daily,
        EqualWeightOracle(exclude=STABLES),
        BacktestConfig(start=datetime(2024, 1, 1, tzinfo=UTC), benchmark=str(shared_prices / "daily" / "BTC.csv")),
    )
    assert btc_file.benchmark == "BTC" and btc_file.summary().beta > 0.5


def test_the_replayed_universe_never_depends_on_later_bars() -> None:
    from defipm.data.panel import PricePanel

    days = np.datetime64("2024-01-01") + np.arange(12) * np.timedelta64(1, "D")
    a = np.arange(12.0) + 100
    comes_back, gone = a.copy(), a.copy()
    comes_back[5:8] = np.nan
    gone[5:] = np.nan
    seen: list[list[tuple[datetime, tuple[str, ...]]]] = []

    class Spy(StaticOracle):
        def fetch_portfolio_weights(self, timestamp: datetime, universe: Sequence[str]) -> Weights:
            seen[-1].append((timestamp, tuple(universe)))
            return Weights({"A": 0.5})

    for b in (comes_back, gone):
        seen.append([])
        panel = PricePanel.from_arrays(days, ["A", "B"], np.c_[a, b])
        run_backtest(panel, Spy({"A": 0.5}), BacktestConfig(benchmark=None, costs=CostModel(taker_fee=0.0)))
    same_past = datetime(2024, 1, 8, tzinfo=UTC)  # bar 7: the panels agree up to it
    assert [u for t, u in seen[0] if t <= same_past] == [u for t, u in seen[1] if t <= same_past]


@pytest.mark.parametrize("label", ["open", "close"])
def test_a_benchmark_file_is_labelled_like_the_data(shared_prices: Path, tmp_path: Path, label: str) -> None:
    import pandas as pd

    from defipm.backtest.benchmark import benchmark_prices
    from defipm.data.ohlcv import find_files, panel_from_files

    frame = pd.read_csv(shared_prices / "daily" / "ETH.csv").iloc[:40]
    frame.to_csv(tmp_path / "BENCH.csv", index=False)
    (tmp_path / "data").mkdir()
    frame.iloc[10:].to_csv(tmp_path / "data" / "ETH.csv", index=False)
    panel = panel_from_files(find_files(tmp_path / "data"), bar_label=label)  # type: ignore[arg-type]
    _, closes = benchmark_prices(str(tmp_path / "BENCH.csv"), panel, 0, len(panel), bar_label=label)
    assert closes is not None
    np.testing.assert_array_equal(closes, panel.close[:, 0])  # the same series lines up bar for bar
    with pytest.raises(Exception, match="benchmark_bar_label"):
        BacktestConfig(benchmark_bar_label="middle")  # type: ignore[arg-type]


def test_a_benchmark_file_of_another_interval_is_refused(shared_prices: Path) -> None:
    hourly = load_prices(shared_prices / "hourly", ["BTC", "ETH"], cache=False)
    daily_btc = shared_prices / "daily" / "BTC.csv"
    with pytest.raises(DataError, match=rf"benchmark file {daily_btc} has 1d bars, the data 1h bars"):
        run_backtest(hourly, EqualWeightOracle(), BacktestConfig(benchmark=str(daily_btc)))
