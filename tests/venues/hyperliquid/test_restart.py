"""kill -9 in the middle of a rebalance, then a restart: the journal (SqlJournal via PortfolioManager) finds what
was sent by cloid and sends no duplicate. Also: the ``hl-sim`` command serves the SDK."""

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

url, db, target = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
venue = HyperliquidVenue(HyperliquidConfig(base_url=url, timeout_secs=30))
venue.connect()  # credentials from DEFIPM_HL_TESTNET_SECRET_KEY / DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS
manager = PortfolioManager(StaticOracle(target), venue, store=Store("sqlite:///" + db), run="hl")
report = manager.manage_portfolio()
rec = manager.last_reconciliation
print(json.dumps({
    "ok": report.ok, "error": report.error, "notes": report.notes,
    "confirmed": len(rec.confirmed) if rec else 0, "unsent": len(rec.unsent) if rec else 0,
    "sent": [r.order.client_order_id for r in report.rebalance.results] if report.rebalance else [],
}))
"""


def _client(url, db, wallet):
    env = {
        **os.environ,
        "DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex(),
        "DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS": wallet.address,
    }
    return subprocess.Popen(
        [sys.executable, "-c", CLIENT, url, str(db), json.dumps(TARGET)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_kill_9_mid_rebalance_then_restart_sends_no_duplicate(exchange, wallet, tmp_path):
    db = tmp_path / "defipm.db"
    # the 3rd order is executed by the exchange, but its answer never arrives: the client dies waiting
    exchange.inject(Fault("exchange", "order", delay=20.0, skip=2))
    proc = _client(exchange.url, db, wallet)
    try:
        deadline = time.monotonic() + 60
        while len(exchange.engine.order_log) < 3:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "client never reached the third order"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    first_run = [o["c"] for o in exchange.engine.order_log]
    assert len(first_run) == 3

    restart = _client(exchange.url, db, wallet)
    out, err = restart.communicate(timeout=120)
    assert restart.returncode == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["confirmed"] == 1  # the order executed while the client died, found by its cloid
    assert result["unsent"] == len(TARGET) - 3  # never sent: sent once now, with their journalled cloids
    cloids = [o["c"] for o in exchange.engine.order_log]
    assert len(cloids) == len(set(cloids)), "an order was sent twice"
    assert set(first_run) <= set(cloids)
    positions = exchange.engine.clearinghouse_state(wallet.address)
    held = {p["position"]["coin"]: float(p["position"]["szi"]) for p in positions["assetPositions"]}
    assert set(held) == set(TARGET)
    # no coin was doubled: every position is within 1% of equity of its target
    value = float(positions["marginSummary"]["accountValue"])
    mids = {c: float(m) for c, m in exchange.engine.all_mids().items()}
    for coin, w in TARGET.items():
        assert abs(held[coin] * mids[coin] / value - w) < 0.01, coin


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
