"""Named profiles in one venue config, one selected per run, and key variables per network (never mixed up)."""

from __future__ import annotations

import json
from pathlib import Path

import eth_account
import pytest
from typer.testing import CliRunner

from defipm.core.errors import ConfigError
from defipm.venues.hyperliquid.config import make_config
from defipm.venues.hyperliquid.credentials import (
    LEGACY_VARIABLES,
    account_variable,
    load_credentials,
    secret_variable,
    variables,
)

A = "0x" + "a1" * 20
B = "0x" + "b2" * 20
V = "0x" + "c3" * 20
PROFILES = {"personal": {"account_address": A}, "fund": {"vault_address": V, "account_address": B}}


def test_the_selected_profile_is_the_identity():
    cfg = make_config(profile="fund", profiles=PROFILES)
    assert cfg.identity.vault_address == V and cfg.identity.account_address == B
    assert make_config(profile="personal", profiles=PROFILES).identity.vault_address is None
    top = make_config(account_address=A, vault_address=V)  # no profiles: the top-level fields
    assert (top.identity.account_address, top.identity.vault_address) == (A, V)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"profile": "nope", "profiles": PROFILES}, "'nope' is not among profiles (fund, personal)"),
        ({"profiles": PROFILES}, "select one with profile = one of fund, personal"),
        ({"profile": "fund", "profiles": PROFILES, "account_address": A}, "account_address set beside profile"),
        ({"profile": "x-y", "profiles": {"x-y": {}}}, "'x-y'"),
        ({"profiles": {"p": {"acount_address": A}}, "profile": "p"}, "profiles.p.acount_address"),
        ({"vault_address": "0x1234"}, "vault_address"),
        ({"profile": "p", "profiles": {"p": {"account_address": "abc"}}}, "profiles.p.account_address"),
        ({"secret_key_env": "DEFIPM_HL_MAINNET_KEY"}, "must start with 'DEFIPM_HL_TESTNET_'"),
        ({"secret_key_env": "DEFIPM_HL_TESTNET_BOT"}, "must be DEFIPM_HL_TESTNET_<NAME>_SECRET_KEY"),
        ({"secret_key_env": "DEFIPM_HL_TESTNET_SECRETKEY"}, "must be DEFIPM_HL_TESTNET_<NAME>_SECRET_KEY"),
        (
            {"network": "mainnet", "allow_mainnet": True, "profile": "p",
             "profiles": {"p": {}, "q": {"secret_key_env": "DEFIPM_HL_TESTNET_Q"}}},
            "q: secret_key_env 'DEFIPM_HL_TESTNET_Q' must start with 'DEFIPM_HL_MAINNET_'",
        ),
    ],
)  # fmt: skip
def test_bad_profiles_are_errors_naming_the_key(values, named):
    with pytest.raises(ConfigError) as err:
        make_config(**values)
    assert named in str(err.value)


def test_key_variables_carry_the_network_and_the_profile(wallet):
    key = wallet.key.hex()
    testnet = make_config(profile="personal", profiles=PROFILES)
    env = {secret_variable("testnet", "personal"): key}
    assert secret_variable("testnet", "personal") == "DEFIPM_HL_TESTNET_PERSONAL_SECRET_KEY"
    creds = load_credentials(testnet, env)
    assert creds.secret_key.get_secret_value() == key and creds.account_address == A
    # the same profile on mainnet never reads the testnet variable
    mainnet = make_config(network="mainnet", allow_mainnet=True, profile="personal", profiles=PROFILES)
    with pytest.raises(ConfigError, match="DEFIPM_HL_MAINNET_PERSONAL_SECRET_KEY"):
        load_credentials(mainnet, env)
    with pytest.raises(ConfigError, match="DEFIPM_HL_TESTNET_SECRET_KEY"):
        load_credentials(make_config(), {secret_variable("mainnet"): key})
    custom = make_config(secret_key_env="DEFIPM_HL_TESTNET_BOT_SECRET_KEY")
    assert (
        load_credentials(custom, {"DEFIPM_HL_TESTNET_BOT_SECRET_KEY": key}).source
        == "environment (DEFIPM_HL_TESTNET_BOT_SECRET_KEY)"
    )
    assert set(variables(["personal"])) >= {"DEFIPM_HL_MAINNET_SECRET_KEY", "DEFIPM_HL_MAINNET_PERSONAL_SECRET_KEY"}


@pytest.mark.parametrize("legacy", LEGACY_VARIABLES)
def test_network_less_variables_are_refused_with_the_new_name(wallet, legacy):
    env = {legacy: wallet.key.hex() if "SECRET" in legacy else "x", secret_variable("testnet"): wallet.key.hex()}
    with pytest.raises(ConfigError) as err:
        load_credentials(make_config(), env)
    assert legacy in str(err.value) and "DEFIPM_HL_TESTNET_SECRET_KEY" in str(err.value)
    assert wallet.key.hex().removeprefix("0x") not in str(err.value)


def test_two_sources_naming_different_accounts_are_an_error(wallet, tmp_path):
    env = {secret_variable("testnet", "personal"): wallet.key.hex(), account_variable("testnet"): B}
    with pytest.raises(ConfigError, match="different accounts"):
        load_credentials(make_config(profile="personal", profiles=PROFILES), env)
    same = {**env, account_variable("testnet"): A.upper().replace("0X", "0x")}
    assert load_credentials(make_config(profile="personal", profiles=PROFILES), same).account_address == A
    f = tmp_path / "hyperliquid_config.json"
    f.write_text(json.dumps({"secret_key": wallet.key.hex(), "account_address": B}))
    with pytest.raises(ConfigError, match="different accounts"):
        load_credentials(make_config(config_file=f, account_address=A), {})


def test_key_file_for_the_other_network_or_with_unknown_keys_is_refused(wallet, tmp_path):
    f = tmp_path / "hyperliquid_config.json"
    f.write_text(json.dumps({"secret_key": wallet.key.hex(), "network": "mainnet"}))
    with pytest.raises(ConfigError, match="holds a 'mainnet' key"):
        load_credentials(make_config(config_file=f), {})
    f.write_text(json.dumps({"secret_key": wallet.key.hex(), "acount_address": A}))
    with pytest.raises(ConfigError, match="unknown key"):
        load_credentials(make_config(config_file=f), {})


def _config(tmp_path: Path, url: str, leader: str, vault: str) -> Path:
    path = tmp_path / "defipm.toml"
    path.write_text(
        f"""
run = "hl"
database = "sqlite:///{tmp_path / "db.sqlite"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ BTC = 0.3, ETH = -0.2 }}
[venue]
kind = "hyperliquid"
[venue.params]
base_url = "{url}"
profile = "personal"
[venue.params.profiles.personal]
account_address = "{leader}"
[venue.params.profiles.fund]
vault_address = "{vault}"
"""
    )
    return path


def test_one_config_two_profiles_each_run_trades_the_selected_one(tmp_path, monkeypatch):
    from hyperliquid.exchange import Exchange

    from defipm.cli import app
    from defipm.venues.hyperliquid.sim import LocalExchange

    leader = eth_account.Account.create()
    vault = eth_account.Account.create().address
    with LocalExchange(accounts={leader.address: 20_000}) as ex:
        ex.engine.add_vault(vault, leader.address, 30_000)
        _, agent_key = Exchange(leader, ex.url).approve_agent("fund bot")
        cfg = _config(tmp_path, ex.url, leader.address, vault)
        monkeypatch.setenv("DEFIPM_HL_TESTNET_PERSONAL_SECRET_KEY", leader.key.hex())
        monkeypatch.setenv("DEFIPM_HL_TESTNET_FUND_SECRET_KEY", agent_key)
        result = CliRunner().invoke(app, ["rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        users = {o["user"] for o in ex.engine.order_log}
        assert users == {leader.address.lower()}
        monkeypatch.setenv("DEFIPM_VENUE__PARAMS__PROFILE", "fund")
        refused = CliRunner().invoke(app, ["rebalance", "-c", str(cfg)])  # one run, another profile's account
        assert refused.exit_code == 1 and vault.lower() in refused.output and "run = ..." in refused.output
        assert {o["user"] for o in ex.engine.order_log} == users
        monkeypatch.setenv("DEFIPM_RUN", "fund")  # one run per profile, as the README says
        result = CliRunner().invoke(app, ["rebalance", "-c", str(cfg)])
        assert result.exit_code == 0, result.output
        users = {o["user"] for o in ex.engine.order_log}
        assert users == {leader.address.lower(), vault.lower()}
        vault_state = ex.engine.views.clearinghouse_state(vault)
        assert {p["position"]["coin"] for p in vault_state["assetPositions"]} == {"BTC", "ETH"}
    for text in (result.output,):
        assert agent_key.removeprefix("0x") not in text and leader.key.hex().removeprefix("0x") not in text


@pytest.mark.parametrize("bad", ["abc", "0x12", "0x" + "00" * 32, "0x" + "zz" * 32])
def test_a_key_that_is_no_private_key_is_an_error_naming_its_variable(exchange, bad):
    from defipm.venues.hyperliquid.venue import HyperliquidVenue

    venue = HyperliquidVenue(make_config(base_url=exchange.url))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(secret_variable("testnet"), bad)
        with pytest.raises(ConfigError) as err:
            venue.connect()
    assert "DEFIPM_HL_TESTNET_SECRET_KEY" in str(err.value) and bad.removeprefix("0x") not in str(err.value)
