"""``defipm status`` while the venue is down (issue 18 item 8): the stored state and a line saying so, exit 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app

pytest.importorskip("hyperliquid")
eth_account = pytest.importorskip("eth_account")
from defipm.venues.hyperliquid.sim import LocalExchange  # noqa: E402


def test_status_shows_the_stored_state_when_the_venue_is_down(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wallet = eth_account.Account.create()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", wallet.key.hex())
    runner = CliRunner()
    cfg = tmp_path / "hl.toml"
    assert runner.invoke(app, ["init", str(cfg), "--template", "hyperliquid"]).exit_code == 0
    text = cfg.read_text().replace("sqlite:///defipm-hl.db", f"sqlite:///{tmp_path / 'hl.db'}")
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        cfg.write_text(text.replace("http://127.0.0.1:3001", ex.url))
        done = runner.invoke(app, ["rebalance", "-c", str(cfg)], env={"COLUMNS": "200"})
        assert done.exit_code == 0, done.output
        url = ex.url
    cfg.write_text(text.replace("http://127.0.0.1:3001", url))  # the exchange is gone
    result = runner.invoke(app, ["status", "-c", str(cfg)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "venue unreachable (hyperliquid at http://127" in result.output and url.split("//")[1] in result.output
    assert "last recorded equity" in result.output and "Recent cycles" in result.output
    assert "traded" in result.output and "+33.33%" in result.output  # gross 1 over BTC/ETH/SOL, stored
    offline = runner.invoke(app, ["status", "-c", str(cfg), "--json"])
    assert offline.exit_code == 0, offline.output
    stored = json.loads(offline.stdout)  # only the JSON on stdout; the venue line goes to stderr
    assert stored["venue_error"].startswith("hyperliquid at http://127") and stored["run"]
    assert stored["recent_cycles"][0]["status"] == "traded" and stored["kill_switch"] is None
    assert float(stored["equity"]) > 0 and stored["targets"] and "venue unreachable" in offline.stderr
