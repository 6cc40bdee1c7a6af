"""Funding rates from the data folder (``funding/<COIN>.csv``, as the Hyperliquid history download writes them)
are charged by perpetual backtests, through the Python API and the CLI (issue 8 item 1(b))."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.cli import app
from defipm.core.errors import DataError
from defipm.data.cache import load_prices
from defipm.oracles.static import StaticOracle
from defipm.venues.hyperliquid.history import store_history

pytest.importorskip("pandas")

START = datetime(2024, 3, 1, tzinfo=UTC)
HOUR_MS = 3_600_000
HOURS = 9 * 24


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


class FakeInfo:
    """Answers ``/info`` history requests like Hyperliquid (the network boundary): hourly BTC candles around
    10,000 and a funding rate of ``rate`` every hour, both paged at the API caps."""

    def __init__(self, rate: str = "0.0001") -> None:
        self.rate = rate

    def _close(self, k: int) -> float:
        return 10_000.0 * (1 + 0.01 * math.sin(k / 7))

    def __call__(self, what: str, body: dict[str, Any]) -> list[dict[str, Any]]:
        first, last = _ms(START), _ms(START) + (HOURS - 1) * HOUR_MS
        if body["type"] == "candleSnapshot":
            req = body["req"]
            lo, hi = max(first, req["startTime"]), min(last, req["endTime"])
            out = []
            for t in range(-(-lo // HOUR_MS) * HOUR_MS, hi + 1, HOUR_MS):
                k = (t - first) // HOUR_MS
                o, c = self._close(k - 1), self._close(k)
                out.append({"t": t, "T": t + HOUR_MS - 1, "o": f"{o:.1f}", "c": f"{c:.1f}", "h": f"{max(o, c):.1f}",
                            "l": f"{min(o, c):.1f}", "v": "12.5", "n": 10})  # fmt: skip
            return out[:5000]
        # fundingHistory: one record at every hour's end, i.e. the close of each hourly bar
        lo, hi = max(first + HOUR_MS, body["startTime"]), min(last + HOUR_MS, body.get("endTime", 2**62))
        rows = [
            {"coin": body["coin"], "fundingRate": self.rate, "premium": "0.00002", "time": t}
            for t in range(-(-lo // HOUR_MS) * HOUR_MS, hi + 1, HOUR_MS)
        ]
        return rows[:500]


@pytest.fixture
def download(tmp_path: Path) -> Path:
    folder = tmp_path / "hl"
    end = START + timedelta(hours=HOURS)
    counts = store_history(FakeInfo(), ["BTC"], folder, interval="1h", start=START, end=end)
    assert counts == {"BTC": HOURS}
    assert (folder / "funding" / "BTC.csv").is_file()
    return folder


def _without_funding(folder: Path, tmp_path: Path) -> Path:
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "BTC.csv").write_bytes((folder / "BTC.csv").read_bytes())
    return bare


def test_the_downloaded_funding_is_charged(download: Path, tmp_path: Path) -> None:
    """A static 1.0 BTC long at +0.0001 an hour for 9 days pays about 0.0216 of ~10,000 (it paid 0.0 before)."""
    panel = load_prices(download, cache=False)
    assert panel.funding is not None and panel.interval == timedelta(hours=1)
    assert np.allclose(panel.funding[:, 0], 0.0001)  # one hourly record inside each hourly bar's span
    cfg = BacktestConfig(benchmark=None)
    result = run_backtest(panel, StaticOracle({"BTC": 1.0}), cfg)
    paid = result.summary().funding_paid
    held = result.weights[:-1, 0] * result.equity[:-1] * panel.close[1:, 0] / panel.close[:-1, 0]
    assert paid == pytest.approx(0.0001 * held.sum(), rel=1e-9)  # every bar's notional after the first trade
    assert 200 < paid < 220

    # the same run with the constant --funding of 24 hourly records a day charges the same
    bare = load_prices(_without_funding(download, tmp_path), cache=False)
    assert bare.funding is None
    flat = run_backtest(
        bare, StaticOracle({"BTC": 1.0}), BacktestConfig(benchmark=None, costs=CostModel(funding_rate=0.0024))
    )
    assert flat.summary().funding_paid == pytest.approx(paid, rel=1e-9)
    assert run_backtest(bare, StaticOracle({"BTC": 1.0}), cfg).summary().funding_paid == 0.0

    spot = run_backtest(panel, StaticOracle({"BTC": 1.0}), BacktestConfig(benchmark=None, mode="spot"))
    assert spot.summary().funding_paid == 0.0 and any("not charged" in n for n in spot.notes)


def test_the_cli_charges_the_folder_funding(download: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["backtest", "--data", str(download), "--oracle", "static", "-p", 'weights={"BTC": 1.0}', "--benchmark",
            "none", "--schedule", "24h", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"COLUMNS": "150"})
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert 200 < summary["metrics"]["funding_paid"] < 220
    assert summary["costs"]["funding_from_data"] is True
    flat_args = [*args[:2], str(_without_funding(download, tmp_path)), *args[3:-1], str(tmp_path / "flat")]
    flat = CliRunner().invoke(app, [*flat_args, "--funding", "0.0024"], env={"COLUMNS": "150"})
    assert flat.exit_code == 0, flat.output
    charged = json.loads((tmp_path / "flat" / "summary.json").read_text())["metrics"]["funding_paid"]
    assert charged == pytest.approx(summary["metrics"]["funding_paid"], rel=1e-9)


def test_funding_records_land_in_the_bar_they_are_paid_in(download: Path) -> None:
    """On daily bars (open-labelled) the 24 hourly records of a day add up in that day's bar; a partial first
    or last day is noted rather than silently charged less."""
    import pandas as pd

    daily = download.parent / "daily"
    (daily / "funding").mkdir(parents=True)
    days = pd.date_range(START, periods=9, freq="D")
    pd.DataFrame({"date": days, "open": 1.0, "high": 1.0, "low": 1.0, "close": 1.0}).to_csv(
        daily / "BTC.csv", index=False
    )
    frame = pd.read_csv(download / "funding" / "BTC.csv")
    frame.iloc[5:].to_csv(daily / "funding" / "BTC.csv", index=False)  # the first 5 hours are missing
    panel = load_prices(daily, cache=False)
    assert panel.funding is not None
    assert panel.funding[0, 0] == pytest.approx(19 * 0.0001) and np.allclose(panel.funding[1:, 0], 24 * 0.0001)
    assert any("do not cover BTC's bars before" in n for n in panel.notes)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("date,funding_rate\n2024-03-01T01:00Z,0.01%\n", "funding_rate '0.01%' is not a number"),
        ("date,funding_rate\n2024-03-01T01:00Z,nan\n", "has the rate nan at row 2"),
        ("date,funding_rate\n2024-03-01T01:00Z,1.5\n", "percent given"),
        ("date,funding_rate,coin\n2024-03-01T01:00Z,0.0001,BTC\n", "unexpected column(s) 'coin'"),
        ("date,premium\n2024-03-01T01:00Z,0.0001\n", "no funding rate column"),
        ("date,funding_rate\n2024-03-01T02:00Z,0.0001\n2024-03-01T01:00Z,0.0001\n", "is not increasing"),
    ],
)
def test_bad_funding_files_are_named(download: Path, content: str, message: str) -> None:
    target = download / "funding" / "BTC.csv"
    target.write_text(content)
    with pytest.raises(DataError) as err:
        load_prices(download, cache=False)
    assert message in str(err.value) and str(target) in str(err.value)
