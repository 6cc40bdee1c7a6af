"""`defipm backtest` builds any registered oracle the way a config would (params validated by the oracle),
and hands price-reading oracles the point-in-time view."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.data import synthetic_panel, write_synthetic_csv

pytest.importorskip("pandas")
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    panel = synthetic_panel(8, 120, seed=4, symbols=["BTC", "ETH", "SOL", "ADA", "XRP", "DOGE", "LINK", "LTC"])
    write_synthetic_csv(tmp_path / "prices", panel)
    return tmp_path / "prices"


def run(args: list[str]):
    return runner.invoke(
        app, ["backtest", "--bar-label", "close", "--benchmark", "none", *args], env={"COLUMNS": "150"}
    )


def test_tbn_from_a_local_meta_model_file(tmp_path: Path, data: Path):
    from defipm.testing.numerai import synthetic_meta_model

    meta = tmp_path / "meta.csv"
    synthetic_meta_model(["BTC", "ETH", "SOL", "ADA", "XRP", "DOGE", "LINK", "LTC"], date(2019, 12, 1), 200).to_csv(
        meta, index=False
    )
    out = tmp_path / "out"
    result = run(["--data", str(data), "--oracle", "tbn", "-p", "n=2", "-p", f'file="{meta}"', "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["oracle"] == "tbn"
    assert summary["metrics"]["gross_exposure"] == pytest.approx(1.0, abs=0.02)
    assert abs(summary["metrics"]["net_exposure"]) < 0.02


def test_momentum_gets_the_market_view_and_bad_params_are_named(tmp_path: Path, data: Path):
    ok = run(["--data", str(data), "--oracle", "momentum", "-p", "lookback=10", "-p", "n_long=2", "-p", "n_short=2",
              "--out", str(tmp_path / "m")])  # fmt: skip
    assert ok.exit_code == 0, ok.output
    bad = run(["--data", str(data), "--oracle", "tbn", "-p", "n=2", "-p", "fiel=1", "--out", str(tmp_path / "b")])
    assert bad.exit_code == 1 and "fiel" in bad.output


def test_backtest_replays_a_trading_config(tmp_path: Path, data: Path):
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        """
[oracle]
kind = "static"
[oracle.params]
weights = { BTC = 0.9, ETH = -0.1 }
[risk]
max_weight = 0.5
[planner]
no_trade_band = 0.01
"""
    )
    out = tmp_path / "cfg"
    result = run(["--data", str(data), "-c", str(cfg), "--out", str(out)])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["oracle"] == "static"
    # the config's risk limit clipped BTC from 0.9 to 0.5 every cycle
    assert summary["metrics"]["gross_exposure"] == pytest.approx(0.6, abs=0.05)


def test_a_parameter_of_the_wrong_kind_is_named() -> None:
    from defipm.core.errors import ConfigError
    from defipm.data.synthetic import synthetic_panel
    from defipm.data.view import MarketView
    from defipm.registry import BuildContext, build_oracle

    context = BuildContext(market=MarketView(synthetic_panel(3, 40), 10))
    for params, message in (
        ({"lookback": "abc"}, "oracle.params.lookback: expected a whole number, got 'abc'"),
        ({"lookback": True}, "oracle.params.lookback: expected a whole number, got True"),
        ({"gross": "1x"}, "oracle.params.gross: expected a number, got '1x'"),
    ):
        with pytest.raises(ConfigError) as failed:
            build_oracle("momentum", params, context)
        assert str(failed.value) == message
    assert build_oracle("momentum", {"lookback": 10, "gross": 1}, context).name == "momentum"
