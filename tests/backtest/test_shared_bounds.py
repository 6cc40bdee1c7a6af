"""One bound per setting: whatever the paper venue (and the config's [planner]) accepts, a backtest replaying the
config (`defipm backtest -c`) and the learned allocator's costs accept too, and the first value past the bound
is refused by all of them. The bounds live once, in ``defipm.config_schema``."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from defipm.backtest import BacktestConfig, CostModel
from defipm.backtest.config import FieldError
from defipm.cli import app
from defipm.config import PlannerSettings
from defipm.config_schema import BPS_LIMIT, MAX_AMOUNT, MAX_FEE, MAX_IMPACT, MAX_LEVERAGE
from defipm.core.planner import PlannerConfig
from defipm.venues.paper.params import PaperParams

Check = Callable[[float], Any]


def _paper(key: str) -> Check:
    if key.startswith("slippage."):
        return lambda v: PaperParams.model_validate({"slippage": {key.removeprefix("slippage."): v}})
    return lambda v: PaperParams.model_validate({key: v})


def _rl(key: str) -> Check:
    settings = pytest.importorskip("defipm.rl.settings")
    return lambda v: settings.CostSettings.model_validate({key: v})


SETTINGS: dict[str, tuple[float, float, list[Check]]] = {
    # name: (the largest value accepted, the first refused, every place that reads the setting)
    "taker_fee": (
        float(MAX_FEE),
        math.nextafter(float(MAX_FEE), math.inf),
        [_paper("taker_fee"), lambda v: CostModel(taker_fee=v), lambda v: _rl("taker_fee")(v)],
    ),
    "max_leverage": (
        float(MAX_LEVERAGE),
        float(MAX_LEVERAGE) + 1,
        [_paper("max_leverage"), lambda v: BacktestConfig(max_leverage=v)],
    ),
    "initial_cash": (
        float(MAX_AMOUNT),
        float(MAX_AMOUNT) * 1.01,
        [
            _paper("initial_cash"),
            lambda v: BacktestConfig(initial_cash=v),
            lambda v: pytest.importorskip("defipm.rl.settings").EnvSettings(initial_cash=v),
        ],
    ),
    "slippage bps": (
        math.nextafter(BPS_LIMIT, 0),
        float(BPS_LIMIT),
        [_paper("slippage.fixed_bps"), lambda v: CostModel(slippage_bps=v), lambda v: _rl("slippage_bps")(v)],
    ),
    "impact": (
        float(MAX_IMPACT),
        float(MAX_IMPACT) + 0.5,
        [_paper("slippage.impact"), lambda v: CostModel(impact=v), lambda v: _rl("impact")(v)],
    ),
    "volume_floor": (
        float(MAX_AMOUNT),
        float(MAX_AMOUNT) * 1.01,
        [_paper("slippage.volume_floor"), lambda v: CostModel(volume_floor=v), lambda v: _rl("volume_floor")(v)],
    ),
    "cost_reserve_bps": (
        math.nextafter(BPS_LIMIT, 0),
        float(BPS_LIMIT),
        [
            lambda v: PlannerSettings(cost_reserve_bps=v),
            lambda v: BacktestConfig(planner=PlannerConfig(cost_reserve_bps=v)),
            lambda v: _rl("cost_reserve_bps")(v),
        ],
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", list(SETTINGS))
def test_every_reader_of_a_setting_has_the_same_bound(name: str) -> None:
    largest, refused, checks = SETTINGS[name]
    for check in checks:
        check(largest)  # accepted everywhere
        with pytest.raises((ValidationError, FieldError)):
            check(refused)


def test_a_trading_config_paper_trading_accepts_is_replayed(tmp_path: Path) -> None:
    """The reported case: taker_fee = 0.08 traded on paper but `backtest -c` refused it ("in [0, 0.05]")."""
    pytest.importorskip("pandas")
    from defipm.data import synthetic_panel, write_synthetic_csv

    write_synthetic_csv(tmp_path / "prices", synthetic_panel(2, 20, seed=1, symbols=["BTC", "ETH"]))
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        '[oracle]\nkind = "equal_weight"\n[venue]\nkind = "paper"\n[venue.params]\ntaker_fee = 0.08\n'
        "max_leverage = 500\ninitial_cash = 1e13\n[venue.params.slippage]\nfixed_bps = 2000\nimpact = 50\n"
        "[planner]\ncost_reserve_bps = 2000\n"
    )
    PaperParams.model_validate({"taker_fee": 0.08, "max_leverage": 500, "initial_cash": 1e13})  # paper takes them
    args = ["backtest", "-c", str(cfg), "--data", str(tmp_path / "prices"), "--bar-label", "close"]
    result = CliRunner().invoke(app, [*args, "--benchmark", "none", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["costs"]["taker_fee"] == 0.08 and summary["costs"]["slippage_bps"] == 2000
