"""Every backtest setting is checked where it is built, and every CLI option is named in its error; summary.json is
strict JSON whatever the run did (issue 9 item 4)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.backtest.config import FieldError
from defipm.backtest.report import finite_json, write_json
from defipm.cli import app
from defipm.core.planner import PlannerConfig
from defipm.data import synthetic_panel, write_synthetic_csv
from defipm.data.panel import PricePanel
from defipm.oracles.static import StaticOracle

pytest.importorskip("pandas")
runner = CliRunner()
HOSTILE = ["nan", "inf", "-inf", "-1", "0", "1e23", "1e-320", "1e308"]


def _strict(text: str) -> Any:
    def refuse(name: str) -> None:
        raise AssertionError(f"summary.json holds {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prices")
    write_synthetic_csv(folder, synthetic_panel(3, 30, seed=5, symbols=["BTC", "ETH", "SOL"]))
    return folder


def invoke(data: Path, out: Path, *args: str) -> Any:
    base = ["backtest", "--data", str(data), "--bar-label", "close", "--oracle", "static", "-p",
            'weights={"BTC": 0.5, "ETH": -0.5}', "--out", str(out)]  # fmt: skip
    return runner.invoke(app, [*base, *args], env={"COLUMNS": "200"})


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--funding", "-1"], "--funding: costs.funding_rate must be a number in (-1, 1), got -1.0"),
        (["--band", "-1"], "--band: planner.no_trade_band must be a number in [0, 1), got -1.0"),
        (["--volume-floor", "inf"], "--volume-floor: costs.volume_floor must be a number in (0, 1e+15], got inf"),
        (["--cash", "1e23"], "--cash: initial_cash must be a number in (0, 1e+15], got 1e+23"),
        (["--max-leverage", "inf"], "--max-leverage: max_leverage must be a number"),
        (["--max-participation", "0"], "--max-participation: costs.max_participation must be a number in (0, 1]"),
        (["--max-slippage-bps", "10000"], "--max-slippage-bps: costs.max_slippage_bps must be a number in (0, 1"),
        (["--participation-floor", "-5"], "--participation-floor: costs.participation_floor must be a number in"),
        (["--metric", "sharpe"], "--metric: grid-search option(s) without --grid"),
        (["--grid", "x=1", "--metric", "luck"], "--metric 'luck' is not one of"),
        (["--grid", "x=1", "--train-fraction", "nan"], "--train-fraction must be a number in (0, 1)"),
        (["--grid", "x=1,", "--workers", "1"], "--grid x='1,': an empty value"),
        (["-p", "x=NaN"], "--param x: NaN is not a finite number"),
        (["-p", "x=1", "-p", "x=2"], "--param 'x' is given twice"),
        (["--symbols", "BTC,,ETH"], "--symbols 'BTC,,ETH': an empty symbol name"),
        (["--schedule", "daily@25:00"], "--schedule: schedule 'daily@25:00'"),
        (["--interval", "-1h"], "--interval '-1h' is not a duration"),
        (["--bar-label", "middle"], "--bar-label 'middle'"),
        (["--benchmark", " "], "--benchmark: benchmark must be a symbol"),
        (["--start", "yesterday"], "--start 'yesterday' is not an ISO date"),
    ],
)
def test_bad_options_are_named_and_nothing_is_written(data: Path, tmp_path: Path, args: list[str], message: str):
    result = invoke(data, tmp_path / "out", *args)
    assert result.exit_code == 1, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "out").exists()


def test_an_unwritable_out_is_named(data: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    result = invoke(data, tmp_path / "file" / "out")
    assert result.exit_code == 1 and "--out: cannot write" in result.output


NUMERIC_OPTIONS = ["--cash", "--fee", "--slippage-bps", "--impact", "--volume-floor", "--funding", "--min-notional",
                   "--max-leverage", "--band"]  # fmt: skip


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(option=st.sampled_from(NUMERIC_OPTIONS), value=st.sampled_from(HOSTILE))
def test_any_numeric_option_runs_or_is_refused_by_name(data: Path, tmp_path: Path, option: str, value: str) -> None:
    out = tmp_path / f"{option}{value}"
    result = invoke(data, out, option, value)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if result.exit_code == 0:
        _strict((out / "summary.json").read_text())
    else:
        assert result.exit_code == 1 and f"error: {option}:" in result.output


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: CostModel(taker_fee=float("nan")), "costs.taker_fee"),
        (lambda: CostModel(slippage_bps=-1), "costs.slippage_bps"),
        (lambda: CostModel(impact=float("inf")), "costs.impact"),
        (lambda: CostModel(volume_floor=0), "costs.volume_floor"),
        (lambda: CostModel(funding_rate=1.0), "costs.funding_rate"),
        (lambda: CostModel(min_notional="5"), "costs.min_notional"),  # type: ignore[arg-type]
        (lambda: CostModel(size_step=True), "costs.size_step"),  # type: ignore[arg-type]
        (lambda: CostModel(funding_series=np.array([[0.0, float("inf")]])), "costs.funding_series"),
        (lambda: BacktestConfig(initial_cash=0), "initial_cash"),
        (lambda: BacktestConfig(mode="margin"), "mode"),  # type: ignore[arg-type]
        (lambda: BacktestConfig(max_leverage=1e9), "max_leverage"),
        (lambda: BacktestConfig(schedule="often"), "schedule"),
        (lambda: BacktestConfig(start="2024-01-01"), "start"),  # type: ignore[arg-type]
        (lambda: BacktestConfig(start=datetime(2024, 2, 1), end=datetime(2024, 1, 1)), "end"),
        (lambda: BacktestConfig(benchmark=""), "benchmark"),
        (lambda: BacktestConfig(benchmark_bar_label="middle"), "benchmark_bar_label"),  # type: ignore[arg-type]
        (lambda: BacktestConfig(planner=PlannerConfig(no_trade_band=float("nan"))), "planner.no_trade_band"),
        (lambda: BacktestConfig(planner=PlannerConfig(cost_reserve_bps=-1)), "planner.cost_reserve_bps"),
        (lambda: BacktestConfig(planner=PlannerConfig(limit_slippage=2.0)), "planner.limit_slippage"),
        (lambda: BacktestConfig(risk={"max_drawdown": 0.1}), "risk"),  # type: ignore[arg-type]
    ],
)
def test_every_config_field_is_checked_by_name(build: Any, field: str) -> None:
    with pytest.raises(FieldError) as err:
        build()
    assert err.value.field == field and str(err.value).startswith(field)


def test_a_wiped_out_run_writes_strict_json_and_says_so(tmp_path: Path) -> None:
    """A short that would lose three times its equity is liquidated at zero: the figures may be undefined,
    summary.json stays valid JSON and the notes say the account is wiped out."""
    days = np.datetime64("2024-01-01", "ns") + np.arange(10) * np.timedelta64(1, "D")
    close = np.linspace(100.0, 400.0, 10)[:, None]
    panel = PricePanel.from_arrays(days, ["A"], close)
    cfg = BacktestConfig(benchmark=None, schedule="weekly@mon@00:00", costs=CostModel(taker_fee=0.0))
    result = run_backtest(panel, StaticOracle({"A": -1.0}), cfg)
    assert result.equity.min() == 0 and any(e.kind == "liquidation" for e in result.events)
    assert any("wiped out" in n for n in result.notes)
    summary = _strict(write_json(result, tmp_path / "summary.json").read_text())
    assert summary["notes"] and summary["bars"] == 10


def test_finite_json_makes_any_figure_strict() -> None:
    value = {"a": float("nan"), "b": [np.float64("inf"), np.int64(3), -float("inf")], "c": (1.5, "x", None, True)}
    assert finite_json(value) == {"a": None, "b": [None, 3, None], "c": [1.5, "x", None, True]}
    json.dumps(finite_json(value), allow_nan=False)


def test_a_liquidations_fees_and_notional_count_in_the_run() -> None:
    """The closing fills of a liquidation pay the taker fee like any fill; the run's fee and turnover series left
    them out (fees 0 on the liquidation bar), so a liquidated run reported too little paid."""
    days = np.datetime64("2024-01-01", "ns") + np.arange(5) * np.timedelta64(1, "D")
    close = np.array([100.0, 133.0, 166.0, 200.0, 210.0])[:, None]
    panel = PricePanel.from_arrays(days, ["A"], close)
    cfg = BacktestConfig(benchmark=None, schedule="weekly@mon@00:00", costs=CostModel(taker_fee=0.001))
    result = run_backtest(panel, StaticOracle({"A": -1.0}), cfg)
    (k,) = [e.bar for e in result.events if e.kind == "liquidation"]
    assert k == 3  # equity 20,000 - 100 x 200 is below the maintenance margin 20,000 / 6
    shorted = result.traded_notional[0] / 100.0
    assert result.traded_notional[k] == pytest.approx(shorted * 200.0)
    assert result.fees[k] == pytest.approx(shorted * 200.0 * 0.001)
    assert result.fees.sum() == pytest.approx(0.001 * result.traded_notional.sum())
