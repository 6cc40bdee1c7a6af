"""Parameter search (picked on train only, walk-forward, processes and Ray), reports and the CLI command."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.backtest.report import monthly_returns, summary_table, write_html, write_json
from defipm.backtest.search import grid, search
from defipm.core.errors import ConfigError
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv
from defipm.oracles.momentum import MomentumOracle

CFG = BacktestConfig(benchmark=None)


@pytest.fixture(scope="module")
def panel():  # type: ignore[no-untyped-def]
    return synthetic_panel(6, 300, seed=11)


def test_split_search_picks_on_train_and_reports_out_of_sample(panel) -> None:  # type: ignore[no-untyped-def]
    space = {"lookback": [5, 20], "n_long": [2], "n_short": [0, 2]}
    result = search(panel, MomentumOracle, space, schedules=["24h", "168h"], config=CFG, workers=2)
    (fold,) = result.folds
    assert len(fold.table) == 8
    best = max((r for r in fold.table if "error" not in r), key=lambda r: r["sharpe"])
    assert fold.chosen.params == best["params"] and fold.chosen.schedule == best["schedule"]
    assert fold.in_sample["sharpe"] == best["sharpe"]
    assert fold.train[1] < fold.test[0]
    # the out-of-sample run really is the chosen point on the test part
    again = run_backtest(
        panel,
        lambda v: MomentumOracle(v, **fold.chosen.params),
        BacktestConfig(benchmark=None, schedule=fold.chosen.schedule, start=fold.test[0], end=fold.test[1]),
    )
    assert again.summary().to_dict()["sharpe"] == pytest.approx(fold.out_of_sample["sharpe"])
    assert json.dumps(result.to_dict(), default=str)


def test_walk_forward_folds_are_chronological(panel) -> None:  # type: ignore[no-untyped-def]
    result = search(panel, MomentumOracle, {"lookback": [5, 10]}, schedules=["48h"], config=CFG, walk_forward=3,
                    workers=1)  # fmt: skip
    assert len(result.folds) == 3
    for a, b in zip(result.folds, result.folds[1:], strict=False):
        assert a.test[1] < b.test[0] and a.train[0] == b.train[0] and a.train[1] < b.train[1]


def test_grid_with_no_valid_point_is_named(panel) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match=r"no valid point.*lookback must be >= 1 bar, got 0 \(every point\)"):
        search(panel, MomentumOracle, {"lookback": [0]}, schedules=["24h"], config=CFG, workers=1)
    # one line per distinct reason, naming the points it stopped
    with pytest.raises(ConfigError) as failed:
        search(panel, MomentumOracle, {"lookback": [0, -1]}, schedules=["24h", "48h"], config=CFG, workers=1)
    message = str(failed.value)
    assert message.count("lookback must be >= 1 bar, got 0") == 1
    assert "got 0 (at lookback=0, schedule=24h | lookback=0, schedule=48h)" in message
    assert "got -1 (at lookback=-1, schedule=24h | lookback=-1, schedule=48h)" in message
    with pytest.raises(ConfigError, match="'lookback' needs a non-empty list"):
        grid({"lookback": []})
    with pytest.raises(ConfigError, match="metric 'luck'"):
        search(panel, MomentumOracle, {"lookback": [5]}, metric="luck")


def test_search_on_local_ray(panel) -> None:  # type: ignore[no-untyped-def]
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        result = search(panel.slice(0, 120), MomentumOracle, {"lookback": [5, 10]}, schedules=["24h"], config=CFG,
                        ray_address="local")  # fmt: skip
        local = search(panel.slice(0, 120), MomentumOracle, {"lookback": [5, 10]}, schedules=["24h"], config=CFG,
                       workers=1)  # fmt: skip
    finally:
        ray.shutdown()
    assert result.best == local.best
    assert result.folds[0].out_of_sample == local.folds[0].out_of_sample


def test_reports_are_written(panel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    r = run_backtest(panel, lambda v: MomentumOracle(v, lookback=10, n_long=2, n_short=2), CFG)
    html = write_html(r, tmp_path / "r" / "report.html").read_text()
    assert "SYNTHETIC DATA" in html and "Monthly returns" in html and "Drawdown" in html
    assert "<script src=" not in html.split("plotly")[0]  # plotly.js inlined: opens offline
    summary = json.loads(write_json(r, tmp_path / "r" / "summary.json").read_text())
    assert summary["data"]["synthetic"] is True and summary["metrics"]["bars"] == summary["bars"] == 300
    months = monthly_returns(r)
    total = 1.0
    for year in months.values():
        for value in year.values():
            total *= 1 + value
    assert total - 1 == pytest.approx(r.summary().total_return)
    table = summary_table(r)
    assert table.row_count > 10
    cells = dict(zip(table.columns[0]._cells, table.columns[1]._cells, strict=True))
    bars = summary["metrics"]["max_drawdown_duration"]
    assert cells["max drawdown duration"] == f"{bars} bars ({bars} days)"  # daily bars: one day each
    assert f"{bars} bars ({bars} days)" in html


def test_cli_command(tmp_path: Path) -> None:
    typer_testing = pytest.importorskip("typer.testing")
    import typer

    from defipm.backtest.cli import backtest

    write_synthetic_csv(tmp_path / "data", synthetic_panel(4, 60, seed=2))
    app = typer.Typer()
    app.command()(backtest)
    app.command("other")(lambda: None)
    runner = typer_testing.CliRunner()
    common = ["backtest", "--data", str(tmp_path / "data"), "--bar-label", "close", "--benchmark", "none"]
    res = runner.invoke(app, [*common, "--oracle", "momentum", "-p", "lookback=5", "-p", "n_long=1", "-p",
                              "n_short=1", "--out", str(tmp_path / "out")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert (tmp_path / "out" / "report.html").is_file() and (tmp_path / "out" / "summary.json").is_file()
    assert all((tmp_path / "out" / f"{name}.csv").is_file() for name in ("equity", "returns", "weights", "trades"))
    assert "<h3>Trades (" in (tmp_path / "out" / "report.html").read_text()  # the CLI passes the prices replayed
    res = runner.invoke(app, [*common, "--oracle", "momentum", "--grid", "lookback=3,5", "--schedules", "24h,48h",
                              "--workers", "1", "--out", str(tmp_path / "s")])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "s" / "search.json").read_text())["folds"][0]["test_grid"]
    assert '"type":"heatmap"' in (tmp_path / "s" / "search.html").read_text()
    res = runner.invoke(app, [*common, "--oracle", "nope"])
    assert res.exit_code == 1 and "unknown kind 'nope'" in res.output


def test_the_training_part_starts_where_the_engine_would() -> None:
    from defipm.backtest.search import _boundaries
    from defipm.data.panel import PricePanel

    days = np.datetime64("2024-01-01") + np.arange(40) * np.timedelta64(1, "D")
    panel = PricePanel.from_arrays(days, ["A"], np.linspace(100, 140, 40)[:, None])
    start = datetime(2024, 1, 5, 12, tzinfo=UTC)  # between two bars
    ((train_start, _, _, _),) = _boundaries(panel, BacktestConfig(start=start), 0.5, None)
    assert train_start == datetime(2024, 1, 6, tzinfo=UTC)  # the first bar at or after the start


def test_a_month_keeps_its_last_daily_bar(tmp_path: Path) -> None:
    import pandas as pd

    from defipm.backtest import CostModel
    from defipm.data.cache import load_prices
    from defipm.oracles.static import StaticOracle

    dates = pd.date_range("2024-01-28", "2024-02-03", freq="D")
    close = np.where(dates >= pd.Timestamp("2024-01-31"), 110.0, 100.0)  # +10% on the day of January 31st
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": close}).to_csv(tmp_path / "A.csv", index=False)
    panel = load_prices(tmp_path, cache=False)  # Yahoo's layout: each daily bar labelled by its day
    result = run_backtest(
        panel, StaticOracle({"A": 1.0}), BacktestConfig(benchmark=None, costs=CostModel(taker_fee=0.0))
    )
    assert monthly_returns(result) == {2024: {1: pytest.approx(0.10), 2: pytest.approx(0.0)}}


def test_a_riskless_gain_wins_a_search_on_a_ratio_it_leaves_undefined() -> None:
    from defipm.backtest.search import metric_score

    riskless = {"calmar": float("nan"), "sortino": float("nan"), "total_return": 0.05}
    risky = {"calmar": 2.0, "sortino": 1.5, "total_return": 0.20}
    losing = {"calmar": float("nan"), "total_return": -0.01}
    for metric in ("calmar", "sortino"):
        assert metric_score(riskless, metric) > metric_score(risky, metric) > metric_score(losing, metric)
