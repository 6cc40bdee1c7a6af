"""``defipm classify``: prints the ranked table, writes it (CSV or Parquet) with a chart, and turns every bad input
into one line naming it."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv

runner = CliRunner()
SHORT = ["-p", "window_days=10", "-p", "trend_short_days=3", "-p", "trend_long_days=6", "-p", "min_history_bars=15"]


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    panel = synthetic_panel(6, 60, seed=9, symbols=["BTC", "ETH", "SOL", "DOGE", "USDC", "NEWCOIN"])
    write_synthetic_csv(tmp_path / "prices", panel)
    return tmp_path / "prices"


def classify(*args: str, cache: Path):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["classify", *args], env={"COLUMNS": "200", "DEFIPM_CACHE_DIR": str(cache)})


def test_prints_writes_and_charts_the_classification(folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = classify("--data", str(folder), "--bar-label", "close", *SHORT, "--out", str(out), cache=tmp_path / "c")
    assert result.exit_code == 0, result.output
    assert "token(s) kept at" in result.output and "DOGE" in result.output and "category" in result.output
    table = pd.read_csv(next(out.glob("classification-*.csv")))
    assert sorted(table["symbol"]) == ["BTC", "DOGE", "ETH", "NEWCOIN", "SOL", "USDC"]
    assert set(table.loc[table["symbol"].isin(["DOGE", "USDC"]), "reason"]) == {"category"}
    assert table["kept"].sum() == (table["reason"].isna()).sum()
    html = next(out.glob("classification-*.html")).read_text()
    assert "plotly" in html and "return" in html


def test_parquet_output_and_a_date(folder: Path, tmp_path: Path):
    out = tmp_path / "out"
    result = classify(
        "--data", str(folder), "--bar-label", "close", *SHORT, "--at", "2020-02-10", "--format", "parquet",
        "--out", str(out), cache=tmp_path / "c",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out / "classification-20200210T0000.parquet")
    assert len(frame) == 6 and (frame["at"] == "2020-02-10T00:00:00+00:00").all()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-p", "windows_days=10"], "--param.windows_days: unknown key (did you mean window_days? accepted:"),
        (["-p", "window_days=0"], "--param.window_days: input should be greater than or equal to 1"),
        (["-p", "window_days"], "expected KEY=VALUE"),
        (["--at", "yesterday"], "--at 'yesterday' is not an ISO date"),
        (["--at", "2019-01-01"], "before the data's first bar close"),
        (["-p", "window_days=400"], "shorter than the screen's 400-day window; classify at"),
        (["--format", "xlsx"], "--format 'xlsx': use csv or parquet"),
    ],
)
def test_bad_input_is_one_line_naming_it(folder: Path, tmp_path: Path, args: list[str], message: str):
    result = classify(
        "--data", str(folder), "--bar-label", "close", *args, "--out", str(tmp_path / "o"), cache=tmp_path
    )
    assert result.exit_code == 1
    assert message in " ".join(result.output.split()), result.output
    assert "Traceback" not in result.output
    assert not list((tmp_path / "o").glob("classification-*"))


def test_a_missing_folder_and_a_bad_tag_file(tmp_path: Path, folder: Path):
    missing = classify("--data", str(tmp_path / "nowhere"), cache=tmp_path)
    assert missing.exit_code == 1 and "no such data folder" in missing.output
    tags = tmp_path / "tags.csv"
    tags.write_text("symbol,categories\nBTC,l1\nETH,memecoin\n")
    bad = classify("--data", str(folder), "--bar-label", "close", *SHORT, "-p", f"tag_file={tags}", cache=tmp_path)
    assert bad.exit_code == 1 and "tags.csv line 3 (ETH): unknown category 'memecoin'" in " ".join(bad.output.split())


def test_the_real_wide_panel(wide_folder: Path, price_cache: Path, tmp_path: Path):
    out = tmp_path / "out"
    args = ("--data", str(wide_folder), "--at", "2024-06-01", "-p", "top_n=30", "--out", str(out))
    result = classify(*args, cache=price_cache)  # the session's cache: the panel is parsed once
    assert result.exit_code == 0, result.output
    table = pd.read_csv(next(out.glob("*.csv")))
    assert len(table) == 329 and 0 < table["kept"].sum() <= 30
    pepe = table.set_index("symbol").loc["1000PEPE"]
    assert pepe["asset"] == "PEPE" and pepe["multiplier"] == 1000 and pepe["reason"] == "category"


def test_backtest_a_rotation_from_the_command_line(folder: Path, tmp_path: Path):
    out = tmp_path / "bt"
    result = runner.invoke(
        app,
        ["backtest", "--data", str(folder), "--bar-label", "close", "--benchmark", "none", "--oracle", "classifier",
         *SHORT, "-p", "period_days=7", "-p", "volume_threshold=0", "--mode", "spot", "--out", str(out)],
        env={"COLUMNS": "150", "DEFIPM_CACHE_DIR": str(tmp_path / "c")},
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert "Rotations (" in html
    bad = runner.invoke(
        app, ["backtest", "--data", str(folder), "--bar-label", "close", "--oracle", "classifier", "-p", "period=7"],
        env={"DEFIPM_CACHE_DIR": str(tmp_path / "c")},
    )  # fmt: skip
    assert bad.exit_code == 1 and "oracle.params.period: unknown key (did you mean period_days?" in " ".join(
        bad.output.split()
    )
