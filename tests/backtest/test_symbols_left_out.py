"""A symbol the data folder holds but `--symbols` left out is named as such wherever something asks for it (an
oracle's weights or symbols, a learned model, the benchmark), never reported as missing from the data."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.data import synthetic_panel, write_synthetic_csv

pytest.importorskip("pandas")
runner = CliRunner()


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prices")
    write_synthetic_csv(folder, synthetic_panel(3, 40, seed=2, symbols=["BTC", "ETH", "SOL"]))
    return folder


def backtest(data: Path, out: Path, *args: str):  # type: ignore[no-untyped-def]
    base = ["backtest", "--data", str(data), "--bar-label", "close", "--symbols", "BTC,ETH", "--out", str(out)]
    return runner.invoke(app, [*base, *args])


def test_the_panel_knows_what_the_selection_left_out(data: Path) -> None:
    from defipm.data.cache import load_prices
    from defipm.data.view import MarketView

    panel = load_prices(data, ["ETH", "BTC"], bar_label="close", cache=False)
    assert panel.left_out == ("SOL",) and MarketView(panel, 5).left_out == ("SOL",)
    assert panel.select(["BTC"]).left_out == ("SOL", "ETH")
    assert load_prices(data, bar_label="close", cache=False).left_out == ()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--oracle", "static", "-p", 'weights={"BTC": 0.5, "SOL": 0.5}'],
            "weights: SOL: in the data but left out by --symbols (add it to --symbols, or remove it from weights)",
        ),
        (
            ["--oracle", "equal_weight", "-p", 'symbols=["BTC", "SOL"]'],
            "symbols: SOL: in the data but left out by --symbols (add it to --symbols, or remove it from symbols)",
        ),
    ],
)
def test_an_oracle_set_to_hold_a_left_out_symbol_is_refused_naming_the_option(
    data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = backtest(data, tmp_path / "out", "--benchmark", "none", *args)
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()) and "not in the venue's universe" not in result.output


def test_a_benchmark_left_out_of_the_traded_symbols_is_read_from_its_file(data: Path, tmp_path: Path) -> None:
    """It was "neither a symbol of the data (BTC, ETH) nor a .csv/.parquet file" (and the default BTC was dropped
    without a word when --symbols left it out)."""
    result = backtest(data, tmp_path / "out", "--benchmark", "SOL", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)["summary"]
    assert summary["benchmark_total_return"] is not None
