"""Config rules and credential sources; the secret key never shows in a repr, a log, an error or a report."""

from __future__ import annotations

import json
import logging

import eth_account
import pytest

from defipm.core.errors import ConfigError
from defipm.venues.hyperliquid.config import HyperliquidConfig, make_config
from defipm.venues.hyperliquid.credentials import (
    account_variable,
    load_credentials,
    password_variable,
    secret_variable,
)
from defipm.venues.hyperliquid.venue import HyperliquidVenue


def test_testnet_by_default_and_mainnet_needs_opt_in():
    assert HyperliquidConfig().network == "testnet"
    assert "testnet" in HyperliquidConfig().url
    with pytest.raises(ConfigError, match="allow_mainnet"):
        make_config(network="mainnet")
    assert make_config(network="mainnet", allow_mainnet=True).url == "https://api.hyperliquid.xyz"


def test_unknown_keys_rejected_and_frozen():
    with pytest.raises(ConfigError):
        make_config(netwrok="testnet")
    cfg = HyperliquidConfig()
    with pytest.raises(ValueError):
        cfg.slippage = 0.5  # type: ignore[misc]


def test_credentials_from_env_file_and_keystore(tmp_path, wallet):
    key = wallet.key.hex()
    ENV_SECRET, ENV_ACCOUNT = secret_variable("testnet"), account_variable("testnet")
    env = {ENV_SECRET: key, ENV_ACCOUNT: wallet.address}
    assert load_credentials(HyperliquidConfig(), env).account_address == wallet.address
    f = tmp_path / "hyperliquid_config.json"
    f.write_text(json.dumps({"account_address": wallet.address, "secret_key": key}))
    creds = load_credentials(HyperliquidConfig(config_file=f), {})
    assert creds.secret_key.get_secret_value() == key
    ks = tmp_path / "key.keystore.json"
    ks.write_text(json.dumps(eth_account.Account.encrypt(wallet.key, "pw", kdf="pbkdf2", iterations=2)))
    creds = load_credentials(HyperliquidConfig(keystore_file=ks), {password_variable("testnet"): "pw"})
    assert eth_account.Account.from_key(creds.secret_key.get_secret_value()).address == wallet.address
    with pytest.raises(ConfigError, match=ENV_SECRET):
        load_credentials(HyperliquidConfig(), {})


def test_key_never_appears(tmp_path, exchange, wallet, caplog, capsys):
    key = wallet.key.hex()
    bare = key.removeprefix("0x")
    f = tmp_path / "hyperliquid_config.json"
    f.write_text(json.dumps({"account_address": wallet.address, "secret_key": key}))
    caplog.set_level(logging.DEBUG)
    cfg = HyperliquidConfig(config_file=f, base_url=exchange.url, read_retries=0)
    creds = load_credentials(cfg, {})
    venue = HyperliquidVenue(cfg, credentials=creds)
    venue.connect()
    report = venue.set_portfolio_weights({"BTC": 0.3, "LUNA": 0.1})
    failed = venue.set_portfolio_weights({"BTC": 50.0})  # refused: insufficient margin
    bad = tmp_path / "bad.json"
    bad.write_text("{not json " + key)
    with pytest.raises(ConfigError) as err:
        load_credentials(HyperliquidConfig(config_file=bad), {})
    texts = [
        repr(creds),
        str(creds),
        repr(venue),
        repr(venue.client),
        repr(cfg),
        repr(report),
        repr(failed),
        str(err.value),
        caplog.text,
        *capsys.readouterr(),
    ]
    for text in texts:
        assert bare not in text and bare.lower() not in text.lower()


def test_a_config_error_never_echoes_a_value():
    secret = "0x" + "0123456789abcdef" * 4
    with pytest.raises(ConfigError) as err:
        make_config(secret_key=secret)  # a key put among the config values by mistake
    message = str(err.value)
    assert "secret_key" in message and "0123456789" not in message and "cdef" not in message


@pytest.mark.parametrize("cut", [1, 2])
def test_a_key_missing_a_digit_is_refused_not_padded_into_another_account(exchange, wallet, cut):
    from pydantic import SecretStr

    from defipm.venues.hyperliquid.client import HyperliquidClient
    from defipm.venues.hyperliquid.credentials import Credentials

    local = make_config(base_url=exchange.url)
    key = "0x" + wallet.key.hex().removeprefix("0x")
    for good in (key, key.removeprefix("0x")):
        creds = Credentials(secret_key=SecretStr(good), account_address=None, source="test")
        assert HyperliquidClient(local, creds).signer == wallet.address
    short = Credentials(secret_key=SecretStr(key[:-cut]), account_address=None, source="environment (X)")
    with pytest.raises(ConfigError, match=r"environment \(X\) is not a private key") as caught:
        HyperliquidClient(local, short)
    assert key[2:20] not in str(caught.value)
