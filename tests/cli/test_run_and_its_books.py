"""A paper portfolio's books are found and kept whatever folder a command runs from and whatever the config says
next: a relative database is read from the config's folder; `status` never creates a store or an account; a run
trades one account and an account belongs to one run; a killed holder is shown as stopped, its cycle as
interrupted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, update
from typer.testing import CliRunner

from defipm.cli import app
from defipm.store import Store
from defipm.store.lock import RunLock
from defipm.store.models import PaperAccount, RunLockRecord

runner = CliRunner()


def _config(folder: Path, *, run: str = "books", account: str | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "defipm.toml"
    path.write_text(f"""
run = "{run}"
database = "sqlite:///books.db"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.4, SYN001 = -0.3 }}
[venue]
kind = "paper"
[venue.params]
{f'account = "{account}"' if account else ""}
""")
    return path


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def _accounts(db: Path) -> list[str]:
    store = Store(f"sqlite:///{db}")
    try:
        with store.engine.connect() as conn:
            return sorted(conn.execute(select(PaperAccount.name)).scalars())
    finally:
        store.close()


def test_a_relative_database_is_read_from_the_config_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    cfg = _config(tmp_path / "portfolio")
    elsewhere = tmp_path / "cron"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # a cron job or a service runs from another folder
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0
    assert (tmp_path / "portfolio" / "books.db").exists() and not (elsewhere / "books.db").exists()
    monkeypatch.chdir(tmp_path / "portfolio")
    here = json.loads(invoke("status", "-c", "defipm.toml", "--json").stdout)
    monkeypatch.chdir(elsewhere)
    there = json.loads(invoke("status", "-c", str(cfg), "--json").stdout)
    assert here["equity"] == there["equity"] and here["positions"] == there["positions"] and here["positions"]
    monkeypatch.setenv("DEFIPM_DATABASE", "sqlite:///env.db")  # the environment's relative path: the caller's
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0
    assert (elsewhere / "env.db").exists()


def test_status_never_creates_a_store_or_an_account(tmp_path: Path):
    cfg = _config(tmp_path)
    result = invoke("status", "-c", str(cfg))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"no database at {tmp_path / 'books.db'}" in result.output and "defipm rebalance" in result.output
    assert not (tmp_path / "books.db").exists()


def test_a_run_trades_one_account_and_an_account_belongs_to_one_run(tmp_path: Path):
    cfg = _config(tmp_path)
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0
    assert _accounts(tmp_path / "books.db") == ["books"]  # the account is named after the run by default

    moved = _config(tmp_path, account="second")  # same run, another account: its peak would judge the new book
    result = invoke("rebalance", "-c", str(moved), "--yes")
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "run 'books' trades paper account 'books'" in result.output and "paper account 'second'" in result.output
    assert "run = ..." in result.output
    assert _accounts(tmp_path / "books.db") == ["books"]  # nothing opened

    other = _config(tmp_path / "other", run="other", account="books")
    other.write_text(other.read_text().replace("sqlite:///books.db", f"sqlite:///{tmp_path / 'books.db'}"))
    result = invoke("rebalance", "-c", str(other), "--yes")  # another run on the same books
    assert result.exit_code == 1
    assert "paper account 'books' is traded by run 'books', not 'other'" in result.output
    assert invoke("rebalance", "-c", str(_config(tmp_path)), "--yes").exit_code == 0  # set back: trades again


def test_status_shows_a_killed_holder_as_stopped_and_its_cycle_as_interrupted(tmp_path: Path):
    cfg = _config(tmp_path)
    assert invoke("rebalance", "-c", str(cfg), "--yes").exit_code == 0
    store = Store(f"sqlite:///{tmp_path / 'books.db'}")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    RunLock(store, "books", heartbeat=False).acquire()  # then killed: the row stays, its lease still running
    with store.engine.begin() as conn:
        conn.execute(update(RunLockRecord).values(pid=int(dead.stdout), process_start="1"))
        conn.exec_driver_sql("UPDATE cycles SET status = 'running'")  # killed mid-cycle
    store.close()
    shown = invoke("status", "-c", str(cfg))
    assert shown.exit_code == 0, shown.output
    assert f"not running: the last holder, pid {dead.stdout.strip()}" in shown.output
    assert "interrupted" in shown.output and "running:" not in shown.output.replace("not running:", "")
    record = json.loads(invoke("status", "-c", str(cfg), "--json").stdout)
    assert record["running"] is None and record["recent_cycles"][0]["status"] == "interrupted"


def test_kill_switch_show_never_creates_a_store_but_on_does(tmp_path: Path):
    cfg = _config(tmp_path)
    shown = invoke("kill-switch", "show", "-c", str(cfg))
    assert shown.exit_code == 0 and "kill switch: off" in shown.output and "no database" in shown.output
    assert not (tmp_path / "books.db").exists()
    assert (
        invoke("kill-switch", "on", "-c", str(cfg), "--reason", "maintenance").exit_code == 0
    )  # the brake works first
    assert "maintenance" in invoke("kill-switch", "show", "-c", str(cfg)).output
