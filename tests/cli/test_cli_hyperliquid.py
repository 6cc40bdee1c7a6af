"""`defipm rebalance` / `status` from a config file against the local Hyperliquid exchange (real SDK, signed
requests), the key coming from the environment; mainnet needs both opt-ins."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app

pytest.importorskip("hyperliquid")
eth_account = pytest.importorskip("eth_account")
from defipm.venues.hyperliquid.sim import LocalExchange  # noqa: E402

runner = CliRunner()


def config(tmp_path: Path, url: str, extra: str = "") -> Path:
    path = tmp_path / "defipm.toml"
    path.write_text(
        f"""
run = "hl"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.3, ETH = -0.2, SOL = 0.1 }}
[venue]
kind = "hyperliquid"
[venue.params]
base_url = "{url}"
default_leverage = 3
{extra}
"""
    )
    return path


def test_rebalance_and_status_from_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    wallet = eth_account.Account.create()
    secret = wallet.key.hex()
    monkeypatch.setenv("DEFIPM_HL_TESTNET_SECRET_KEY", secret)
    monkeypatch.setenv("DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS", wallet.address)
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={wallet.address: 50_000}) as ex:
        cfg = config(tmp_path, ex.url)
        result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        assert "traded" in result.output
        status = runner.invoke(app, ["status", "-c", str(cfg)])
        assert status.exit_code == 0, status.output
        assert "ETH" in status.output and "-20.00%" in status.output
    for text in (result.output, status.output):
        assert secret not in text and secret.removeprefix("0x") not in text


def test_mainnet_needs_both_opt_ins(tmp_path: Path):
    cfg = config(tmp_path, "http://127.0.0.1:9", 'network = "mainnet"\nallow_mainnet = true')
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "pass --mainnet" in result.output
    cfg = config(tmp_path, "http://127.0.0.1:9", 'network = "mainnet"')
    result = runner.invoke(app, ["rebalance", "-c", str(cfg), "--mainnet"])
    assert result.exit_code == 1 and "mainnet" in result.output  # the config's own opt-in is missing


def test_config_typo_in_venue_params(tmp_path: Path):
    cfg = config(tmp_path, "http://127.0.0.1:9", "slipage = 0.02")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "venue.params.slipage: unknown key" in result.output


def test_paper_trading_at_live_hyperliquid_mids(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(accounts={}) as ex:
        cfg = tmp_path / "paper.toml"
        cfg.write_text(
            f"""
run = "paper-hl"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.5, ETH = -0.3 }}
[venue]
kind = "paper"
[market]
source = "hyperliquid"
base_url = "{ex.url}"
"""
        )
        result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        assert "Hyperliquid mainnet mids" in result.output and "traded" in result.output
        from defipm.venues.hyperliquid.feed import HyperliquidMidsFeed

        _, mids, _ = HyperliquidMidsFeed(base_url=ex.url)()
    from defipm import PaperVenue, Store

    venue = PaperVenue(store=Store(f"sqlite:///{tmp_path / 'db.sqlite'}"), account="paper-hl")
    assert venue.get_prices()["BTC"] == Decimal(repr(mids["BTC"]))  # marked at the exchange's mid
    assert venue.get_positions()["ETH"] < 0
