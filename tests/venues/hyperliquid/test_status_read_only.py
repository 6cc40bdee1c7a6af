"""``defipm status`` on a mainnet config signs nothing, whoever the key is (owner, agent wallet, a vault's
leader's agent) and whatever the account holds: the local mainnet exchange counts the signed requests it gets."""

from __future__ import annotations

from pathlib import Path

import eth_account
import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.venues.hyperliquid.sim import LocalExchange


def _config(tmp_path: Path, url: str, identity: str) -> Path:
    path = tmp_path / "defipm.toml"
    path.write_text(
        f'run = "t"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n'
        '[oracle]\nkind = "static"\n[oracle.params]\nweights = {BTC = 0.1, ETH = -0.05}\n'
        '[venue]\nkind = "hyperliquid"\n[venue.params]\nnetwork = "mainnet"\nallow_mainnet = true\n'
        f'base_url = "{url}"\nleverage = {{BTC = 3}}\ndefault_leverage = 2\n{identity}\n'
    )
    return path


@pytest.mark.parametrize("signer", ["owner", "agent", "vault agent"])
def test_status_on_mainnet_sends_nothing_signed(tmp_path, monkeypatch, signer):
    owner = eth_account.Account.create()
    vault = eth_account.Account.create().address
    monkeypatch.setenv("COLUMNS", "200")
    with LocalExchange(network="mainnet", accounts={owner.address: 100_000}) as ex:
        ex.engine.add_vault(vault, owner.address, 50_000)
        key = owner.key.hex()
        if signer != "owner":
            agent = eth_account.Account.create()
            ex.engine.add_agent(agent.address, owner.address)
            key = agent.key.hex()
        identity = f'vault_address = "{vault}"' if signer == "vault agent" else f'account_address = "{owner.address}"'
        cfg = _config(tmp_path, ex.url, identity)
        monkeypatch.setenv("DEFIPM_HL_MAINNET_SECRET_KEY", key)
        traded = CliRunner().invoke(app, ["rebalance", "--config", str(cfg), "--mainnet"])
        assert traded.exit_code == 0, traded.output
        assert ex.engine.order_log and ex.stats.exchange_requests > 0  # the account holds positions now
        before = ex.stats.exchange_requests
        result = CliRunner().invoke(app, ["status", "--config", str(cfg)])
        assert result.exit_code == 0, result.output
        assert ex.stats.exchange_requests == before  # `status` read the account and signed nothing
        assert "BTC" in result.output and "ETH" in result.output
