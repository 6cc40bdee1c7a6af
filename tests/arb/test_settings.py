"""``arb run``'s settings file and its mainnet opt-ins: both the config and ``--mainnet``, like the portfolio venues."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.arb.cli import app
from defipm.arb.settings import ArbRunSettings, check_mainnet_opt_in, load_arb_settings
from defipm.core.errors import ConfigError


def test_settings_file_is_validated_naming_the_key(tmp_path: Path) -> None:
    good = tmp_path / "arb.toml"
    good.write_text('run = "main"\nmax_fee_per_gas_gwei = 50\n[risk]\nbreaker_failures = 2\n')
    settings = load_arb_settings(good)
    assert settings.run == "main" and settings.max_fee_per_gas_wei == 50 * 10**9
    assert settings.risk.breaker_failures == 2
    assert load_arb_settings(None) == ArbRunSettings()
    bad = tmp_path / "bad.toml"
    bad.write_text("alow_mainnet = true\n[risk]\nbreaker_failures = 0\n")
    with pytest.raises(ConfigError) as exc:
        load_arb_settings(bad)
    assert "alow_mainnet: unknown key" in str(exc.value) and "risk.breaker_failures" in str(exc.value)
    broken = tmp_path / "broken.toml"
    broken.write_text("run = \n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_arb_settings(broken)
    with pytest.raises(ConfigError, match="cannot read arb config"):
        load_arb_settings(tmp_path / "missing.toml")


@pytest.mark.parametrize(
    ("chain_id", "in_config", "flag", "allowed", "missing"),
    [
        (31337, False, False, False, None),  # local and test chains need no opt-in
        (11155111, False, True, False, None),
        (1, False, False, None, "allow_mainnet = true in the arb config (--config) and --mainnet"),
        (1, True, False, None, "missing: --mainnet on the command line"),
        (8453, False, True, None, "missing: allow_mainnet = true in the arb config"),
        (999_999, True, True, True, None),  # an unknown chain counts as real money
    ],
)
def test_mainnet_needs_both_opt_ins(
    chain_id: int, in_config: bool, flag: bool, allowed: bool | None, missing: str | None
) -> None:
    settings = ArbRunSettings(allow_mainnet=in_config)
    if missing is None:
        assert check_mainnet_opt_in(chain_id, settings, flag) is allowed
    else:
        with pytest.raises(ConfigError, match=re.escape(missing)):
            check_mainnet_opt_in(chain_id, settings, flag)


@pytest.mark.chain
def test_arb_run_on_a_mainnet_chain_signs_nothing_without_both_opt_ins(tmp_path: Path) -> None:
    from defipm.chain.anvil import AnvilNode
    from defipm.chain.local import local_chain_missing
    from defipm.chain.wallet import Wallet

    if local_chain_missing():
        pytest.skip(local_chain_missing() or "")
    pools = tmp_path / "pools.json"
    pools.write_text("[]")
    config = tmp_path / "arb.toml"
    config.write_text("allow_mainnet = true\n")
    key = "0x" + "11" * 32
    with AnvilNode.start(chain_id=1) as node:  # a node that says it is Ethereum
        w3 = node.web3()
        wallet = Wallet(key)
        before = w3.eth.get_transaction_count(wallet.address)
        base = ["run", "--rpc", node.url, "--pools", str(pools), "--executor", "0x" + "22" * 20, "--max-iterations",
                "1", "--poll-interval", "0", "--db", f"sqlite:///{tmp_path / 'arb.db'}"]  # fmt: skip
        runner = CliRunner()
        for extra, missing in (([], "allow_mainnet = true"), (["--mainnet"], "allow_mainnet = true"),
                               (["--config", str(config)], "--mainnet on the command line")):  # fmt: skip
            result = runner.invoke(app, base + extra, env={"DEFIPM_PRIVATE_KEY": key})
            assert result.exit_code == 1 and "trades real money" in result.output and missing in result.output
            assert key[4:20] not in result.output
        ok = runner.invoke(app, [*base, "--config", str(config), "--mainnet"], env={"DEFIPM_PRIVATE_KEY": key})
        assert ok.exit_code == 0, ok.output  # both opt-ins: it runs (an empty pool list finds nothing)
        assert w3.eth.get_transaction_count(wallet.address) == before
