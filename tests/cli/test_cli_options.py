"""Command-line options are bounded and refused by name; a refused command changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from defipm.cli import app, parse_interval
from defipm.cli_commands.run_schedule import parse_run_schedule
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


@pytest.mark.parametrize("text", ["0s", "0.000001s", "0.0000001s", "0.009s", "366.5d", "367d", "3650d", "1000w"])
def test_every_out_of_bounds_names_the_run_s_own_bounds(text: str):
    """One message for every out-of-range duration: the run's 10 ms to 366 d, never the backtest's wider ones."""
    with pytest.raises(typer.BadParameter) as err:
        parse_run_schedule(text)
    assert f"--every {text!r} is out of range: the duration must be from 0.01s to 366d" in str(err.value)


@pytest.mark.parametrize("text", ["5bars", "1bar", "sometimes", "hourly", "5 bars please"])
def test_every_refusals_suggest_only_what_run_accepts(text: str):
    with pytest.raises(typer.BadParameter) as err:
        parse_run_schedule(text)
    message = str(err.value).replace(repr(text), "")
    assert message.startswith("--every ") and "bars'" not in message and "5bars" not in message
    suggested = ["30m", "1h", "1d", "daily@18:15", "3d@18:15", "weekly@mon@09:00"]
    assert all(s in message for s in suggested) and "10ms" in message
    for spelling in suggested:  # every suggestion is accepted
        parse_run_schedule(spelling)


@pytest.mark.parametrize("text", ["5bars", "1bar"])
def test_run_refuses_bar_counts_by_name(text: str):
    with pytest.raises(typer.BadParameter, match=r"counts bars, which a live run does not have"):
        parse_run_schedule(text)


@pytest.mark.parametrize(
    ("text", "after", "due"),
    [
        ("daily@18:15", "2026-03-04T18:15:00", "2026-03-05T18:15:00"),  # strictly after
        ("daily@18:15", "2026-03-04T07:00:00", "2026-03-04T18:15:00"),
        ("3d@18:15", "2026-03-04T07:00:00", "2026-03-05T18:15:00"),  # day 20517 = 3 * 6839 since 1970-01-01
        ("weekly@mon@09:00", "2026-03-04T07:00:00", "2026-03-09T09:00:00"),  # a Wednesday -> next Monday
        ("weekly@wednesday@09:00", "2026-03-04T07:00:00", "2026-03-04T09:00:00"),
        ("1h", "2026-03-04T07:59:59", "2026-03-04T08:00:00"),  # on the hour, not an hour after start-up
        ("30m", "2026-03-04T08:00:00", "2026-03-04T08:30:00"),
        ("1d", "2026-03-04T08:00:00", "2026-03-05T00:00:00"),
    ],
)
def test_run_schedules_are_on_the_clock(text: str, after: str, due: str):
    start = datetime.fromisoformat(after).replace(tzinfo=UTC)
    assert parse_run_schedule(text).next_time(start) == datetime.fromisoformat(due).replace(tzinfo=UTC)


@pytest.mark.parametrize("text", ["daily@25:00", "0d@10:00", "weekly@someday@10:00", "3d"])
def test_run_schedule_typos_are_named(text: str):
    if text == "3d":  # a plain duration: every 3 days from the epoch, midnight UTC
        assert parse_run_schedule(text).describe() == "every 72h"
        return
    with pytest.raises(typer.BadParameter, match=r"--every|N days"):
        parse_run_schedule(text)


def test_run_shows_the_next_cycle_time(tmp_path: Path):
    result = runner.invoke(app, ["run", "-c", str(_config(tmp_path)), "--every", "0.05s", "--max-cycles", "2"],
                           env={"COLUMNS": "200"})  # fmt: skip
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if " orders=" in line]  # off a terminal: a line a cycle
    assert len(lines) == 2 and lines[0].split("next=")[1].startswith("20")  # the first names the next cycle's time
    assert lines[1].endswith("next=-")  # the last announces none


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
