"""``defipm arb run`` against the local chain and ``defipm arb demo`` end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.arb.cli import app
from defipm.arb.local_world import ARB_WALLET, ArbLocalWorld
from defipm.arb.recorder import ArbRecorder
from defipm.chain.anvil import ANVIL_MNEMONIC
from defipm.store import Store

pytestmark = pytest.mark.chain


def _key(index: int) -> str:
    from eth_account import Account

    Account.enable_unaudited_hdwallet_features()
    return Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{index}").key.hex()


def test_run_detects_executes_and_records(arb: ArbLocalWorld, tmp_path: Path) -> None:
    ring = arb.scenario("two-hop")
    pools = tmp_path / "pools.json"
    pools.write_text(json.dumps([{"address": p.address, "kind": p.kind} for p in ring.pools]))
    db = f"sqlite:///{tmp_path / 'arb.db'}"
    weth_before = arb.balance("WETH")
    args = ["run", "--rpc", arb.world.url, "--pools", str(pools), "--native", arb.address("WETH"), "--max-len", "2",
            "--executor", arb.executor, "--db", db, "--max-iterations", "2", "--poll-interval", "0"]  # fmt: skip
    result = CliRunner().invoke(app, args, env={"DEFIPM_PRIVATE_KEY": _key(ARB_WALLET)})
    assert result.exit_code == 0, result.output
    assert "executed: ok" in result.output and "stopped after 2 rounds, 1 executions" in result.output
    assert _key(ARB_WALLET)[4:20] not in result.output  # the key is never printed
    gained = arb.balance("WETH") - weth_before
    store = Store(db)
    (row,) = ArbRecorder(store).executions()
    assert row.success and int(row.actual_profit) == gained > 0
    store.close()


def test_run_reports_bad_setup_without_a_traceback(tmp_path: Path) -> None:
    pools = tmp_path / "pools.json"
    pools.write_text("[{]")
    result = CliRunner().invoke(app, ["run", "--rpc", "http://127.0.0.1:9", "--pools", str(pools)])
    assert result.exit_code == 1 and "cannot read pool list" in result.output


def test_demo_executes_a_flash_loan_and_shows_the_profit() -> None:
    from defipm.chain.local import local_chain_missing

    if local_chain_missing():
        pytest.skip(local_chain_missing() or "")
    result = CliRunner().invoke(app, ["demo", "--scenario", "two-hop"])
    assert result.exit_code == 0, result.output
    assert "realised profit" in result.output and "0 wei" in result.output
    assert "1 opportunity, 1 execution" in result.output


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--min-profit-wei", "-1"),  # a loss is no profit
        ("--max-iterations", "-1"),
        ("--poll-interval", "-1"),
        ("--poll-interval", "nan"),
        ("--poll-interval", "inf"),
        ("--rpc-timeout", "0"),
        ("--rpc-timeout", "nan"),
        ("--rpc-timeout", "inf"),
        ("--max-len", "1"),
        ("--max-len", "99"),
    ],
)
def test_run_refuses_an_out_of_range_limit_naming_it_before_anything_starts(
    tmp_path: Path, option: str, value: str
) -> None:
    pools = tmp_path / "pools.json"
    pools.write_text("[]")
    db = tmp_path / "arb.db"
    args = ["run", "--rpc", "http://127.0.0.1:9", "--pools", str(pools), "--db", f"sqlite:///{db}", option, value]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert option in result.output and "Traceback" not in result.output
    assert not db.exists()  # refused before the store was opened


@pytest.mark.parametrize("option", ["--native", "--start", "--executor", "--v2-router", "--v3-router"])
def test_run_refuses_a_token_or_contract_that_is_not_an_address_naming_the_option(tmp_path: Path, option: str) -> None:
    pools = tmp_path / "pools.json"
    pools.write_text("[]")
    db = tmp_path / "arb.db"
    args = ["run", "--rpc", "http://127.0.0.1:9", "--pools", str(pools), "--db", f"sqlite:///{db}", option, "0xnothex"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1, result.output
    assert f"{option} '0xnothex': not an address" in result.output
    assert not db.exists()


@pytest.mark.parametrize(("option", "value"), [("--gas-price-gwei", "inf"), ("--native-usd", "inf")])
def test_scan_refuses_an_unbounded_price(option: str, value: str) -> None:
    result = CliRunner().invoke(app, ["scan", "--snapshot", "unused.json", option, value])
    assert result.exit_code == 2 and option in result.output
