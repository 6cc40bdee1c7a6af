"""The command line as a user runs it: init, demo, rebalance, status, kill-switch, bad configs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app, parse_interval

runner = CliRunner()


def write_config(tmp_path: Path, extra: str = "") -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f"""
run = "test"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.4, SYN001 = 0.3, SYN002 = -0.2 }}
[venue]
kind = "paper"
[venue.params]
initial_cash = 10000
[market]
n_assets = 4
seed = 3
{extra}
"""
    )
    return cfg


def test_demo_runs_offline():
    result = runner.invoke(app, ["demo", "--cycles", "3", "--assets", "4"])
    assert result.exit_code == 0, result.output
    assert "SYNTHETIC" in result.output
    assert "traded" in result.output


def test_init_writes_a_config_that_loads(tmp_path: Path):
    path = tmp_path / "defipm.toml"
    assert runner.invoke(app, ["init", str(path)]).exit_code == 0
    assert "[risk]" in path.read_text()
    assert runner.invoke(app, ["init", str(path)]).exit_code == 1  # no silent overwrite
    from defipm.config import load_settings

    assert load_settings(path).oracle.kind == "static"


def test_a_kill_switch_reason_too_long_to_show_is_refused_and_stores_nothing(tmp_path: Path):
    cfg = write_config(tmp_path)
    long = runner.invoke(app, ["kill-switch", "on", "--reason", "x" * 501, "-c", str(cfg)])
    assert long.exit_code == 2 and "501 characters, at most 500: shorten it" in " ".join(long.output.split())
    shown = runner.invoke(app, ["kill-switch", "show", "-c", str(cfg)])
    assert shown.exit_code == 0 and "kill switch: off" in shown.output
    assert runner.invoke(app, ["kill-switch", "on", "--reason", "y" * 500, "-c", str(cfg)]).exit_code == 0


def test_rebalance_status_and_kill_switch(tmp_path: Path):
    cfg = write_config(tmp_path)
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 0, result.output
    assert "traded" in result.output
    status = runner.invoke(app, ["status", "-c", str(cfg)])
    assert status.exit_code == 0, status.output
    assert "SYN002" in status.output and "-20.00%" in status.output
    assert runner.invoke(app, ["kill-switch", "on", "--reason", "maintenance", "-c", str(cfg)]).exit_code == 0
    halted = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert halted.exit_code == 3 and "maintenance" in halted.stderr  # 3: halted, not a failure (1) or usage (2)
    assert f"resume with: defipm kill-switch off -c {cfg}" in " ".join(
        runner.invoke(app, ["status", "-c", str(cfg)]).stderr.split()
    )
    assert runner.invoke(app, ["kill-switch", "off", "-c", str(cfg)]).exit_code == 0
    traded = runner.invoke(app, ["trade", "sell", "SYN003", "2", "-c", str(cfg)])
    assert traded.exit_code == 0 and "SYN003 sell 2: filled" in traded.output
    refused = runner.invoke(app, ["trade", "buy", "NOPE", "1", "-c", str(cfg)])
    assert refused.exit_code == 1 and "NOPE: not listed on paper" in refused.output
    dep = runner.invoke(app, ["deposit", "500", "-c", str(cfg)])
    assert dep.exit_code == 0 and "deposited 500" in dep.output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("[risk]\nmax_wieght = 0.5", "risk.max_wieght: unknown key"),
        ("[risk]\nmax_weight = 'lots'", "risk.max_weight: expected a number, got 'lots'"),
        ("[planner]\nno_trade_band = -1", "planner.no_trade_band"),
    ],
)
def test_bad_config_gets_one_clear_line(tmp_path: Path, extra: str, message: str):
    cfg = write_config(tmp_path, extra)
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_missing_config_and_unknown_components(tmp_path: Path):
    result = runner.invoke(app, ["rebalance", "-c", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1 and "config file not found" in result.output
    cfg = write_config(tmp_path).read_text().replace('kind = "static"', 'kind = "stattic"')
    (tmp_path / "typo.toml").write_text(cfg)
    result = runner.invoke(app, ["rebalance", "-c", str(tmp_path / "typo.toml")])
    assert result.exit_code == 1 and "unknown kind 'stattic'" in result.output


def test_env_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    from defipm.config import load_settings

    cfg = write_config(tmp_path)
    monkeypatch.setenv("DEFIPM_RISK__MAX_DRAWDOWN", "0.15")
    monkeypatch.setenv("DEFIPM_RUN", "other")
    s = load_settings(cfg)
    assert s.risk.max_drawdown == 0.15 and s.run == "other"


def test_parse_interval():
    assert parse_interval("1h").total_seconds() == 3600
    assert parse_interval("30m").total_seconds() == 1800
    with pytest.raises(Exception, match="is not a duration: give a number and a unit"):
        parse_interval("hourly")


@pytest.mark.slow
def test_run_stops_cleanly_on_sigterm(tmp_path: Path):
    cfg = write_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "defipm.cli", "run", "-c", str(cfg), "--every", "1h"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
    )
    deadline = time.monotonic() + 120
    out = ""
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        out += line
        if " traded equity=" in line:  # off a terminal: one line per cycle
            break
    proc.send_signal(signal.SIGTERM)
    _rest, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "SIGTERM: stopping" in err and "stopped after 1 cycle(s)" in err  # status goes to stderr


def test_notes_and_risk_limits_are_printed_in_full_on_a_narrow_terminal(tmp_path: Path):
    cfg = write_config(tmp_path, "[risk]\nmax_weight = 0.3")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "[risk] max_weight: SYN000: |weight| 0.4 clipped to 0.3 (clipped)" in result.output


def test_a_part_without_its_extra_is_one_line_naming_the_extra():
    import typer

    from defipm.cli import _bind_missing

    sub = typer.Typer()
    sub.command("other")(lambda: None)
    sub.command(
        "hl-sim", context_settings={"allow_extra_args": True, "ignore_unknown_options": True}, add_help_option=False
    )(_bind_missing("hyperliquid", "hyperliquid"))
    result = runner.invoke(sub, ["hl-sim", "sim", "--port", "3001"])
    assert result.exit_code == 1
    assert "`defipm hl-sim` needs hyperliquid: run scripts/bootstrap hyperliquid" in " ".join(result.output.split())


def test_the_command_turns_errors_of_any_part_into_one_line():
    """`defipm` itself (not the test runner): a defipm error from a sub-command is one line and exit code 1."""
    bad = subprocess.run(
        [sys.executable, "-m", "defipm.cli", "backtest", "--data", "/nonexistent/folder"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr + bad.stdout
    assert "/nonexistent/folder" in bad.stderr + bad.stdout


def test_paper_trading_on_a_folder_with_a_stale_file_names_it_and_trades_the_rest(tmp_path: Path):
    """File A ends five days before B: A is not traded at its old close; the run says which symbol and why, on
    stderr with --json (stdout holds only the cycle's JSON)."""
    pytest.importorskip("pandas")
    bars = tmp_path / "bars"
    bars.mkdir()
    for symbol, days in (("A", 5), ("B", 10)):
        rows = [f"2024-01-{d:02d},{d},{d},{d},{d},1000000" for d in range(1, days + 1)]
        (bars / f"{symbol}.csv").write_text("Date,Open,High,Low,Close,Volume\n" + "\n".join(rows) + "\n")
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f'database = "sqlite:///{tmp_path / "db.sqlite"}"\n[oracle]\nkind = "equal_weight"\n[venue]\nkind = "paper"\n'
        f'[market]\nsource = "csv"\npath = "{bars}"\n'
    )
    result = runner.invoke(app, ["rebalance", "-c", str(cfg), "--yes", "--json"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert list(record["positions"]["positions"]) == ["B"]
    assert "not traded: A (last bar closed 2024-01-06 00:00): older than the newest bar" in result.stderr


def test_paper_trading_on_the_latest_bars_of_a_folder_says_how_old_they_are(tmp_path: Path):
    pytest.importorskip("pandas")
    from defipm.data.synthetic import synthetic_panel, write_synthetic_csv

    panel = synthetic_panel(4, 30, seed=2)
    write_synthetic_csv(tmp_path / "bars", panel)
    cfg = write_config(tmp_path)
    cfg.write_text(
        cfg.read_text().replace(
            "[market]\nn_assets = 4\nseed = 3", f'[market]\nsource = "csv"\npath = "{tmp_path / "bars"}"'
        )
    )
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    from defipm.data.cache import load_prices

    closed = load_prices(tmp_path / "bars", cache=False).end  # the folder's last bar close, as the feed reads it
    assert f"closed {closed:%Y-%m-%d %H:%M} UTC (not live prices)" in result.output
    stale = cfg.read_text().replace("initial_cash = 10000", "initial_cash = 10000\nmax_price_age = 3600")
    cfg.write_text(stale.replace('run = "test"', 'run = "stale"'))
    refused = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    # a venue error fails the cycle (exit code 1, the cycle recorded as failed), naming the limit
    assert refused.exit_code == 1 and "old, above max_price_age" in " ".join(refused.output.split())
