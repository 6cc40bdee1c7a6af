"""kill -9 in the middle of a rebalance, then a restart: the journal (SqlJournal via PortfolioManager) finds what
was sent by cloid and sends no duplicate, whether orders go one per request or a phase per signed action (bulk).
Also: the ``hl-sim`` command serves the SDK."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from defipm.venues.hyperliquid.sim import Fault

pytest.importorskip("defipm.manager")
pytestmark = pytest.mark.slow

TARGET = {"BTC": 0.3, "ETH": 0.2, "SOL": -0.15, "AVAX": 0.1, "LINK": 0.1, "DOGE": -0.05}

CLIENT = """
import json, sys
from defipm.manager import PortfolioManager
from defipm.oracles.static import StaticOracle
from defipm.store.database import Store
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.venue import HyperliquidVenue

url, db, target, bulk = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "bulk"
venue = HyperliquidVenue(HyperliquidConfig(base_url=url, timeout_secs=30, bulk_orders=bulk, no_trade_band=0.002))
venue.connect()  # credentials from DEFIPM_HL_TESTNET_SECRET_KEY / DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS
manager = PortfolioManager(StaticOracle(target), venue, store=Store("sqlite:///" + db), run="hl")
report = manager.manage_portfolio()
rec = manager.last_reconciliation
print(json.dumps({
    "ok": report.ok, "error": report.error, "notes": report.notes,
    "confirmed": len(rec.confirmed) if rec else 0, "unsent": len(rec.unsent) if rec else 0,
    "sent": [r.order.client_order_id for r in report.rebalance.results] if report.rebalance else [],
    "resent": [r.order.client_order_id for r in report.resent],
}))
"""


def _client(url, db, wallet, target=TARGET, mode="bulk"):
    env = {
        **os.environ,
        "DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex(),
        "DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS": wallet.address,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, url, str(db), json.dumps(target), mode],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def _run(url, db, wallet, target=TARGET, mode="bulk") -> dict:
    proc = _client(url, db, wallet, target, mode)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    return json.loads(out.strip().splitlines()[-1])


def _kill_when(exchange, proc, orders: int) -> None:
    """SIGKILL ``proc`` once the exchange has received ``orders`` orders in all (the last answer is held back)."""
    try:
        deadline = time.monotonic() + 60
        while len(exchange.engine.order_log) < orders:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, f"client never reached order {orders}"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL


def _assert_book(exchange, wallet, target) -> None:
    """Every order went out once, and every position is within 1% of equity of its target (none doubled)."""
    cloids = [o["c"] for o in exchange.engine.order_log]
    assert len(cloids) == len(set(cloids)), "an order was sent twice"
    state = exchange.engine.views.clearinghouse_state(wallet.address)
    held = {p["position"]["coin"]: float(p["position"]["szi"]) for p in state["assetPositions"]}
    assert set(held) == {c for c, w in target.items() if w}
    value = float(state["marginSummary"]["accountValue"])
    mids = {c: float(m) for c, m in exchange.engine.views.all_mids().items()}
    for coin, w in target.items():
        assert abs(held.get(coin, 0.0) * mids[coin] / value - w) < 0.01, coin


def test_kill_9_mid_rebalance_then_restart_sends_no_duplicate(exchange, wallet, tmp_path):
    db = tmp_path / "defipm.db"
    # one order per request: the 3rd is executed by the exchange, but its answer never arrives
    exchange.inject(Fault("exchange", "order", delay=20.0, skip=2))
    _kill_when(exchange, _client(exchange.url, db, wallet, mode="sequential"), 3)
    first_run = [o["c"] for o in exchange.engine.order_log]
    assert len(first_run) == 3

    result = _run(exchange.url, db, wallet, mode="sequential")
    assert result["confirmed"] == 1  # the order executed while the client died, found by its cloid
    assert result["unsent"] == len(TARGET) - 3  # never sent: sent once now, with their journalled cloids
    assert set(first_run) <= {o["c"] for o in exchange.engine.order_log}
    _assert_book(exchange, wallet, TARGET)


def test_kill_9_with_a_bulk_action_unanswered_then_restart_finds_every_order_by_cloid(exchange, wallet, tmp_path):
    db = tmp_path / "defipm.db"
    # from cash every order is an increase: one signed action carries all six; it executes, its answer never comes
    exchange.inject(Fault("exchange", "order", delay=20.0))
    _kill_when(exchange, _client(exchange.url, db, wallet), len(TARGET))
    assert exchange.stats.exchange_requests == 1  # one request carried every order

    result = _run(exchange.url, db, wallet)
    assert result["confirmed"] == len(TARGET)  # each order looked up by its cloid and recorded
    assert result["unsent"] == 0 and result["resent"] == []  # nothing resent
    assert len(exchange.engine.order_log) == len(TARGET)
    _assert_book(exchange, wallet, TARGET)


def test_kill_9_between_the_bulk_phases_then_restart_sends_the_increases_once(exchange, wallet, tmp_path):
    db = tmp_path / "defipm.db"
    _run(exchange.url, db, wallet)  # the book of TARGET, in one action
    second = {"BTC": 0.1, "ETH": -0.1, "AVAX": 0.25, "LINK": 0.15, "XRP": 0.05}
    before = len(exchange.engine.order_log)
    # the reductions' action executes but its answer never arrives: the increases are never sent
    exchange.inject(Fault("exchange", "order", delay=20.0))
    proc = _client(exchange.url, db, wallet, second)
    deadline = time.monotonic() + 60
    while exchange.stats.exchange_requests < 2:
        assert proc.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    reductions = len(exchange.engine.order_log) - before
    assert reductions == 4  # BTC down; ETH, SOL, DOGE closed: all reduce-only, in one action
    _kill_when(exchange, proc, before + reductions)

    result = _run(exchange.url, db, wallet, second)
    assert result["confirmed"] == reductions  # found by cloid, never resent
    assert result["unsent"] == len(result["resent"]) == 4  # the increases (ETH short, AVAX, LINK, XRP): sent once
    assert {o["c"] for o in exchange.engine.order_log[before + reductions :]} >= set(result["resent"])
    assert exchange.stats.exchange_requests == 3  # the increases went out in one more action
    _assert_book(exchange, wallet, second)


def test_hl_sim_command_serves_the_sdk(wallet):
    from hyperliquid.info import Info

    vault, agent = "0x" + "7a" * 20, "0x" + "9b" * 20
    proc = subprocess.Popen(
        [sys.executable, "-c", "from defipm.venues.hyperliquid.cli import app; app()", "sim", "--port", "0",
         "--account", f"{wallet.address}=5000", "--vault", f"{vault}={wallet.address}:700",
         "--agent", f"{agent}={wallet.address}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        url = line.split(" on ")[1].split(";")[0]
        assert url.startswith("http://127.0.0.1:")
        info = Info(url, skip_ws=True)
        assert info.user_state(wallet.address)["marginSummary"]["accountValue"] == "5000.0"
        assert info.user_state(vault)["marginSummary"]["accountValue"] == "700.0"
        assert info.user_role(vault) == {"role": "vault"}
        assert info.user_role(agent) == {"role": "agent", "data": {"user": wallet.address.lower()}}
        assert info.post("/info", {"type": "vaultDetails", "vaultAddress": vault})["leader"] == wallet.address.lower()
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=10)


def test_hl_sim_command_refuses_a_bad_vault_naming_it():
    from typer.testing import CliRunner

    from defipm.venues.hyperliquid.cli import app

    result = CliRunner().invoke(app, ["sim", "--vault", "0x12=0xab"])
    assert result.exit_code == 2 and "--vault" in result.output and "0x12" in result.output
