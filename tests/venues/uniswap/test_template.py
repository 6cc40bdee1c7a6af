"""The ``uniswap`` template works as written (issue 18 item 1): against ``defipm chain up``'s recorded deployment
(``defipm-chain.json``) and the key ``defipm chain key 1`` prints, with no editing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.chain.deployment_file import DEPLOYMENT_FILE, deployment_record
from defipm.chain.local import LocalUniswap
from defipm.chain.wallet import Wallet
from defipm.cli import app

runner = CliRunner()


def test_template_rebalances_on_the_recorded_deployment(
    world: LocalUniswap, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.chdir(tmp_path)
    record = deployment_record(world.url, world.deployment, [w.address for w in world.wallets])
    Path(DEPLOYMENT_FILE).write_text(json.dumps(record))  # what `defipm chain up` writes
    key = runner.invoke(app, ["chain", "key", "1"])
    assert key.exit_code == 0 and Wallet(key.output.strip()).address == world.wallets[1].address
    world.fund(world.wallets[1], weth=10 * 10**18)  # `defipm chain up` funds accounts 1.. (--fund)
    assert runner.invoke(app, ["init", "uni.toml", "--template", "uniswap"]).exit_code == 0
    env = {"DEFIPM_PRIVATE_KEY": key.output.strip(), "COLUMNS": "200"}
    dry = runner.invoke(app, ["rebalance", "-c", "uni.toml", "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "USDC" in dry.output and "1 order(s)" in dry.output
    before = world.balance_of("USDC", world.wallets[1].address)
    real = runner.invoke(app, ["rebalance", "-c", "uni.toml", "--yes"], env=env)
    assert real.exit_code == 0, real.output
    assert world.balance_of("USDC", world.wallets[1].address) > before


def test_missing_deployment_file_names_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    assert runner.invoke(app, ["init", "uni.toml", "--template", "uniswap"]).exit_code == 0
    result = runner.invoke(app, ["status", "-c", "uni.toml"], env={"DEFIPM_PRIVATE_KEY": "0x" + "11" * 32})
    assert result.exit_code != 0
    assert "defipm-chain.json not found" in result.output and "defipm chain up" in result.output
    assert "Traceback" not in result.output
