"""Two `defipm run` on one config and database: the second is refused, naming the first; the fills and the paper book
stay consistent; after the holder is killed with SIGKILL, the next process takes over at once. Real processes, on
SQLite and on PostgreSQL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from defipm import Store
from defipm.cli import app
from defipm.store.lock import lock_holder
from defipm.store.models import Flow, OrderRecord, PaperAccount, PaperFill, PaperPosition

INITIAL_CASH = Decimal(10_000)


def _config(tmp_path: Path, url: str) -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f"""
run = "solo"
database = "{url}"
[oracle]
kind = "equal_weight"
[venue]
kind = "paper"
[venue.params]
initial_cash = {INITIAL_CASH}
[market]
n_assets = 4
seed = 5
interval_hours = 24
"""
    )
    return cfg


def _defipm(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "defipm.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"},
    )


def _wait_for_cycles(store: Store, n: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 120
    while len(store.recent_cycles("solo", n)) < n:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no cycle recorded"
        time.sleep(0.1)


def _assert_books_match_fill_log(store: Store) -> None:
    """The stored paper book is what its own fill log (and the flows) add up to, and each order filled once."""
    with store.engine.connect() as conn:
        cash = conn.execute(select(PaperAccount.cash).where(PaperAccount.name == "solo")).scalar_one()
        positions = dict(conn.execute(select(PaperPosition.symbol, PaperPosition.quantity)).all())
        fills = conn.execute(select(PaperFill)).all()
        flows = conn.execute(select(Flow.amount)).scalars().all()
        journal = conn.execute(select(OrderRecord.client_order_id, OrderRecord.status)).all()
    expected_cash, expected_positions = INITIAL_CASH + sum(flows, Decimal(0)), Counter[str]()
    for f in fills:
        signed = f.quantity if f.side == "buy" else -f.quantity
        expected_cash -= signed * f.price + f.fee
        expected_positions[f.symbol] += signed
    assert cash == expected_cash
    assert positions == {s: q for s, q in expected_positions.items() if q}
    per_order = Counter(f.client_order_id for f in fills)
    assert fills and max(per_order.values()) == 1
    filled = {cloid for cloid, status in journal if status == "filled"}
    assert filled == set(per_order)  # the journal and the venue's fill log agree, order by order


@pytest.mark.slow
def test_a_second_run_is_refused_and_a_killed_holder_is_taken_over(store: Store, tmp_path: Path):
    cfg = _config(tmp_path, store.url)
    first = _defipm("run", "-c", str(cfg), "--every", "0.5s")
    try:
        _wait_for_cycles(store, 1, first)
        second = _defipm("run", "-c", str(cfg), "--every", "0.5s", "--max-cycles", "3")
        out, err = second.communicate(timeout=120)
        assert second.returncode == 1, out + err
        assert f"already being run by pid {first.pid} on host" in err and "Traceback" not in err
        assert "cycle 1" not in out
        status = CliRunner().invoke(app, ["status", "-c", str(cfg)], env={"COLUMNS": "200"})
        assert status.exit_code == 0, status.output  # read-only: not refused, and it names the holder
        assert f"running: pid {first.pid} on host" in status.output
        _wait_for_cycles(store, 3, first)  # the first one kept trading, alone
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=60)
    holder = lock_holder(store, "solo")
    assert holder is not None and holder.pid == first.pid  # left behind by the killed process
    cycles_before = len(store.recent_cycles("solo", 1000))
    _assert_books_match_fill_log(store)

    third = _defipm("run", "-c", str(cfg), "--every", "0.5s", "--max-cycles", "2")
    out, err = third.communicate(timeout=120)
    assert third.returncode == 0, out + err  # taken over at once: the holder's pid is gone
    assert "stopped after 2 cycle(s)" in err  # status lines go to stderr
    assert len(store.recent_cycles("solo", 1000)) == cycles_before + 2
    assert lock_holder(store, "solo") is None  # released on a clean exit
    _assert_books_match_fill_log(store)
