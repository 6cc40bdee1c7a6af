"""Output for logs and machines (issue 18, item 6): one line per cycle off a terminal, ``--json``, logging with
``-v``/``-q``/``--log-file``, exit codes, ``--version``."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path

from typer.testing import CliRunner

from defipm.cli import app
from defipm.cli_output import installed_version

runner = CliRunner()
STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00"


def write_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f'run = "t"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n[oracle]\nkind = "static"\n[oracle.params]\n'
        'weights = { SYN000 = 0.4, SYN001 = 0.3, SYN002 = -0.2 }\n[venue]\nkind = "paper"\n[market]\nn_assets = 3\n'
    )
    return cfg


def test_run_off_a_terminal_prints_one_full_line_per_cycle_with_the_next_time(tmp_path: Path) -> None:
    result = runner.invoke(app, ["run", "-c", str(write_config(tmp_path)), "--every", "1s", "--max-cycles", "2"])
    assert result.exit_code == 0, result.output
    first, second = result.stdout.splitlines()
    pattern = rf"({STAMP}) traded equity=(\S+) orders=(\d+) fees=(\S+) slippage=\S+ turnover=\S+ gross=\S+ next=(\S+)"
    one, two = re.fullmatch(pattern, first), re.fullmatch(pattern, second)
    assert one and two, result.stdout
    assert datetime.fromisoformat(one[5]) > datetime.fromisoformat(one[1]) and two[5] == "-"  # no cycle after it
    assert int(one[3]) == 3 and "," not in one[2] and len(one[2].split(".")[1]) > 2  # full digits, no separators
    assert "stopped after 2 cycle(s)" in result.stderr


def test_json_for_rebalance_status_and_run(tmp_path: Path) -> None:
    cfg = str(write_config(tmp_path))
    cycle = json.loads(runner.invoke(app, ["rebalance", "-c", cfg, "--json"]).stdout)
    assert cycle["status"] == "traded" and len(cycle["orders"]) == 3 and cycle["target"]["SYN002"] == -0.2
    assert cycle["positions"]["positions"]["SYN002"]["quantity"].startswith("-")  # exact decimal text
    status = json.loads(runner.invoke(app, ["status", "-c", cfg, "--json"]).stdout)
    assert status["run"] == "t" and status["kill_switch"] is None and status["recent_cycles"][0]["status"] == "traded"
    assert status["targets"] == {"SYN000": 0.4, "SYN001": 0.3, "SYN002": -0.2}
    lines = runner.invoke(app, ["run", "-c", cfg, "--every", "1s", "--max-cycles", "1", "--json"]).stdout
    (only,) = [json.loads(line) for line in lines.splitlines()]
    assert only["next"] is None and only["status"] == "traded"


def test_logging_verbosity_and_log_file(tmp_path: Path) -> None:
    cfg, log = str(write_config(tmp_path)), tmp_path / "defipm.log"
    loud = runner.invoke(app, ["-v", "run", "-c", cfg, "--every", "1s", "--max-cycles", "1"])
    assert re.search(r"INFO defipm.cli: cycle 1 traded: ok", loud.stderr), loud.stderr
    quiet = runner.invoke(app, ["-q", "--log-file", str(log), "run", "-c", cfg, "--every", "1s", "--max-cycles", "1"])
    assert "INFO" not in quiet.stderr and "INFO defipm.cli: cycle 1 traded: ok" in log.read_text()
    refused = runner.invoke(app, ["--log-file", str(tmp_path / "no" / "x.log"), "status", "-c", cfg])
    assert refused.exit_code == 1 and "--log-file" in refused.stderr


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.stdout == f"defipm {installed_version()}\n"


def test_a_verbose_log_file_holds_the_cycle_and_its_orders(tmp_path: Path) -> None:
    """``-vv --log-file F rebalance``: the manager's cycle lines and the venue's order lines reach F (it was empty)."""
    cfg, log = str(write_config(tmp_path)), tmp_path / "rebalance.log"
    result = runner.invoke(app, ["-vv", "--log-file", str(log), "rebalance", "-c", cfg])
    assert result.exit_code == 0, result.output
    text = log.read_text()
    assert re.search(r"INFO defipm\.manager: cycle \w+ start: run \S+ at ", text), text
    assert re.search(r"INFO defipm\.manager: cycle \w+ recorded: status traded, equity [\d.]+, [1-9]\d* orders", text)
    assert re.search(r"DEBUG defipm\.venues\.base: paper: order \S+ sent: SYN\d+ (buy|sell) [\d.]+", text), text
    assert re.search(r"DEBUG defipm\.venues\.base: paper: order \S+ filled: SYN\d+ (buy|sell) [\d.]+ filled", text)
    assert re.search(r"INFO defipm\.venues\.base: paper: rebalance sent [1-9]\d* orders \(\d+ filled\)", text), text
