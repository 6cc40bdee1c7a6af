"""The report's exports round-trip (CSV and Parquet read back equal the run's arrays), the P&L attribution adds up
to the equity's change, and the quantstats tearsheet is written without touching the network."""

from __future__ import annotations

import importlib.util
import socket
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from defipm.backtest import BacktestConfig, CostModel, figures, run_backtest
from defipm.backtest.analysis import attribution, closes_for, trades
from defipm.backtest.engine import BacktestResult
from defipm.backtest.exports import check_tearsheet, has_parquet, write_tearsheet
from defipm.backtest.report import write_report
from defipm.core.errors import ConfigError
from defipm.data.panel import PricePanel
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.momentum import MomentumOracle
from defipm.oracles.static import StaticOracle

COSTS = CostModel(slippage_bps=5.0, funding_rate=0.0003)


@pytest.fixture(scope="module")
def panel() -> PricePanel:
    return synthetic_panel(5, 90, seed=11)


@pytest.fixture(scope="module")
def result(panel: PricePanel) -> BacktestResult:
    return run_backtest(panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=1),
                        BacktestConfig(benchmark="SYN000", costs=COSTS))  # fmt: skip


def test_exports_round_trip(result: BacktestResult, panel: PricePanel, tmp_path: Path) -> None:
    written = write_report(result, tmp_path, panel)
    names = {p.name for p in written}
    assert {"report.html", "summary.json", "equity.csv", "returns.csv", "weights.csv", "trades.csv"} <= names
    readers = [("csv", lambda p: pd.read_csv(p, index_col="time", parse_dates=["time"]))]
    if has_parquet():
        assert {"equity.parquet", "returns.parquet", "weights.parquet", "trades.parquet"} <= names
        readers.append(("parquet", pd.read_parquet))
    times = pd.DatetimeIndex(result.timestamps).tz_localize("UTC")
    bench = result.benchmark_equity
    assert bench is not None
    for ext, read in readers:
        equity, returns, weights = (read(tmp_path / f"{n}.{ext}") for n in ("equity", "returns", "weights"))
        assert (equity.index == times).all() and (weights.index == times).all()
        np.testing.assert_allclose(equity["equity"], result.equity, rtol=1e-12)
        np.testing.assert_allclose(equity["benchmark_equity"], bench, rtol=1e-12)
        np.testing.assert_allclose(equity["fees"], result.fees, rtol=1e-12)
        np.testing.assert_allclose(weights.to_numpy(), result.weights, rtol=1e-12, atol=1e-15)
        assert list(weights.columns) == list(result.symbols)
        curve = np.concatenate(([10_000.0], result.equity))
        np.testing.assert_allclose(returns["return"], curve[1:] / curve[:-1] - 1, rtol=1e-9)
        np.testing.assert_allclose(returns["benchmark_return"][1:], bench[1:] / bench[:-1] - 1, rtol=1e-9)
    listed = trades(result)
    for frame in [pd.read_csv(tmp_path / "trades.csv")] + ([pd.read_parquet(tmp_path / "trades.parquet")] if has_parquet() else []):  # fmt: skip
        assert len(frame) == len(listed) > 0
        assert list(frame["symbol"]) == [t.symbol for t in listed] and set(frame["side"]) == {"buy", "sell"}
        np.testing.assert_allclose(frame["quantity"], [t.quantity for t in listed], rtol=1e-12)


TRADE_COLUMNS = ["time", "symbol", "side", "quantity", "fill_price", "close", "fill_notional", "fee", "slippage_cost",
                 "liquidation"]  # fmt: skip


def test_trades_csv_holds_each_fill_and_adds_up_to_the_equity_csv_per_bar(
    result: BacktestResult, panel: PricePanel, tmp_path: Path
) -> None:
    """trades.csv had the bar close as ``price`` and quantity x close as ``notional`` while equity.csv's
    traded_notional is fill notional, and no fee or slippage per trade: now each fill's price, the close it was
    sized at, its notional, fee and slippage, summing per bar to equity.csv's traded_notional, fees, slippage."""
    write_report(result, tmp_path, panel)
    equity = pd.read_csv(tmp_path / "equity.csv", index_col="time", parse_dates=["time"])
    frame = pd.read_csv(tmp_path / "trades.csv", parse_dates=["time"])
    assert list(frame.columns) == TRADE_COLUMNS and not frame["liquidation"].any()
    closes = closes_for(result, panel)
    bars = np.searchsorted(result.timestamps, frame["time"].dt.tz_localize(None).to_numpy())
    cols = [result.symbols.index(s) for s in frame["symbol"]]
    np.testing.assert_allclose(frame["close"], closes[bars, cols], rtol=1e-12)  # the close each fill was sized at
    buy = np.where(frame["quantity"] > 0, 1.0, -1.0)
    assert (buy * (frame["fill_price"] - frame["close"]) > 0).all()  # 5 bps of slippage: every fill pays it
    np.testing.assert_allclose(frame["fill_notional"], frame["quantity"].abs() * frame["fill_price"], rtol=1e-12)
    np.testing.assert_allclose(
        frame["slippage_cost"], buy * (frame["fill_price"] - frame["close"]) * frame["quantity"].abs(), rtol=1e-9
    )
    np.testing.assert_allclose(frame["fee"], frame["fill_notional"] * float(COSTS.taker_fee), rtol=1e-9)
    per_bar = frame.groupby("time")[["fill_notional", "fee", "slippage_cost"]].sum().reindex(equity.index)
    per_bar = per_bar.fillna(0.0)
    np.testing.assert_allclose(per_bar["fill_notional"], equity["traded_notional"], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(per_bar["fee"], equity["fees"], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(per_bar["slippage_cost"], equity["slippage"], rtol=1e-9, atol=1e-12)
    assert equity["traded_notional"].sum() > 0 and equity["slippage"].sum() > 0


def test_attribution_explains_the_equity_change(result: BacktestResult, panel: PricePanel) -> None:
    parts = attribution(result, closes_for(result, panel))
    assert parts.fees > 0 and parts.slippage > 0 and parts.funding != 0  # every cost is charged in this run
    assert parts.total == pytest.approx(result.equity[-1] - 10_000.0)
    assert abs(parts.residual) < 1e-6  # no liquidation: assets and costs explain every cent
    assert sum(parts.by_asset.values()) - parts.fees - parts.slippage - parts.funding == pytest.approx(parts.total)


def test_closes_must_come_from_the_panel_replayed(result: BacktestResult, panel: PricePanel) -> None:
    with pytest.raises(ValueError, match="does not hold every bar"):
        closes_for(result, panel.slice(0, 50))
    with pytest.raises(ValueError, match="lacks symbol 'SYN002'"):
        closes_for(result, panel.select(["SYN000", "SYN001"]))


def test_a_missing_quantstats_is_named_before_anything_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "quantstats" else real(name, *a))
    with pytest.raises(ConfigError, match=r"--tearsheet needs quantstats: .*scripts/bootstrap backtest"):
        check_tearsheet()


@pytest.mark.slow
def test_tearsheet_offline(result: BacktestResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("quantstats")

    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"the tearsheet tried the network: {args}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    html = write_tearsheet(result, tmp_path / "tearsheet.html").read_text()
    assert "momentum" in html and "SYN000" in html  # the strategy against the run's own benchmark


def test_a_run_read_only_for_its_metrics_records_no_fills(result: BacktestResult, panel: PricePanel) -> None:
    """A grid search's runs skip the per-fill records (about 2 us a fill) and keep every figure."""
    quiet = run_backtest(panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=1),
                         BacktestConfig(benchmark="SYN000", costs=COSTS), record_fills=False)  # fmt: skip
    assert len(quiet.fills) == 0 < len(result.fills)
    np.testing.assert_array_equal(quiet.equity, result.equity)
    assert quiet.summary() == result.summary()


def test_the_drawdown_exported_and_drawn_counts_the_initial_cash_as_a_peak(tmp_path: Path) -> None:
    """equity.csv's drawdown (and the report's drawdown chart) ran from the first bar's equity, not the initial
    cash: a run whose first trade's fee put it under water showed 0 there, and its deepest drawdown in the file
    was shallower than the summary's max_drawdown (which starts from the initial cash)."""
    closes = 100.0 * 0.99 ** np.arange(20)  # one asset falling 1% a bar, held from the first bar
    times = np.datetime64("2024-01-01", "ns") + np.arange(20) * np.timedelta64(1, "D")
    falling = PricePanel.from_arrays(times, ["A"], closes[:, None], volume=np.full((20, 1), 1e9))
    run = run_backtest(falling, lambda v: StaticOracle({"A": 1.0}),
                       BacktestConfig(mode="spot", benchmark=None, costs=CostModel(taker_fee=0.01)))  # fmt: skip
    assert run.equity[0] < 10_000.0  # the first bar's fee: under water from the start
    write_report(run, tmp_path)
    exported = pd.read_csv(tmp_path / "equity.csv", index_col="time")["drawdown"].to_numpy()
    expected = run.equity / np.maximum.accumulate(np.concatenate(([10_000.0], run.equity)))[1:] - 1
    np.testing.assert_allclose(exported, expected, rtol=1e-12)
    assert exported.min() == pytest.approx(run.summary().max_drawdown, rel=1e-12)
    drawn = next(t for t in figures.main_figure(run, "t").data if t.name == "drawdown")
    np.testing.assert_allclose(np.asarray(drawn.y, dtype=float), expected, rtol=1e-12)
