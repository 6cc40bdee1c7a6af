"""Command-line options are bounded and refused by name; a refused command changes nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from defipm.cli import app, parse_interval
from defipm.core.schedule import parse_schedule

runner = CliRunner()


def _config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(f'run = "t"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n{extra}')
    return cfg


@pytest.mark.parametrize("text", ["0s", "0.001s", "367d", "999999999d", "1e9s", "-1h", "1 hour"])
def test_run_interval_is_bounded(text: str):
    with pytest.raises(typer.BadParameter, match=r"must be from 0.01s to 366d|give a number and a unit"):
        parse_interval(text)


@pytest.mark.parametrize("text", ["daily@18:15", "weekly@mon@00:00", "5bars"])
def test_run_interval_refuses_the_other_schedule_spellings_by_name(text: str):
    with pytest.raises(typer.BadParameter, match=r"backtest schedule; defipm run takes a duration"):
        parse_interval(text)


def test_run_interval_right_values():
    """The backtest schedules' grammar: exact decimals, every unit."""
    assert parse_interval("1s").total_seconds() == 1
    assert parse_interval("1.5h").total_seconds() == 5400
    assert parse_interval("90min") == parse_interval("90m") == parse_schedule("90m").period  # type: ignore[attr-defined]
    assert parse_interval("1w").days == 7
    assert parse_interval("0.01s").microseconds == 10_000
    assert parse_interval("366d").days == 366


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "--max-cycles", "0"], "--max-cycles"),
        (["status", "--cycles", "0"], "--cycles"),
        (["demo", "--seed", "-1"], "--seed"),
        (["deposit", "1e23"], "at most 1000000000000000 ("),
        (["deposit", "NaN"], "amount must be positive"),
        (["trade", "buy", "SYN000", "1e23"], "at most 1000000000000000 ("),
    ],
)
def test_bad_options_are_named_and_change_nothing(tmp_path: Path, args: list[str], message: str):
    cfg = _config(tmp_path)
    result = runner.invoke(app, [*args, "-c", str(cfg)] if args[0] not in ("demo",) else args)
    assert result.exit_code != 0 and message in result.output, result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "db.sqlite").exists()  # refused before the store was opened


def test_a_market_section_for_another_venue_is_refused(tmp_path: Path):
    from defipm.assembly import build_portfolio
    from defipm.config import load_settings
    from defipm.core.errors import ConfigError

    pytest.importorskip("hyperliquid")
    cfg = _config(tmp_path, '[venue]\nkind = "hyperliquid"\n[market]\nseed = 3\n')
    with pytest.raises(ConfigError, match=r"market: only the paper venue reads \[market\], not 'hyperliquid'"):
        build_portfolio(load_settings(cfg), connect=False)


def test_the_kill_switch_needs_a_reason(tmp_path: Path):
    cfg = _config(tmp_path)
    result = runner.invoke(app, ["kill-switch", "on", "--reason", " ", "-c", str(cfg)])
    assert result.exit_code != 0 and "--reason: give a reason" in result.output
    engaged = runner.invoke(app, ["kill-switch", "on", "--reason", "maintenance", "-c", str(cfg)])
    assert engaged.exit_code == 0 and "kill switch: maintenance" in engaged.output
