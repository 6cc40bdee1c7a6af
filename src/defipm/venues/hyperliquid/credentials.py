"""Where the Hyperliquid venue's signing key comes from, one set of variables per network.

``load_credentials`` reads, for the config's network and selected profile (see ``config.py``), in this order:

1. the environment: the key from ``DEFIPM_HL_<NETWORK>_SECRET_KEY`` (``DEFIPM_HL_TESTNET_SECRET_KEY`` or
   ``DEFIPM_HL_MAINNET_SECRET_KEY``; for a profile named ``vault``, ``DEFIPM_HL_<NETWORK>_VAULT_SECRET_KEY``; a
   profile's ``secret_key_env`` may name another variable, which must start with ``DEFIPM_HL_<NETWORK>_``);
2. an encrypted keystore (``keystore_file``; password from ``DEFIPM_HL_<NETWORK>_KEYSTORE_PASSWORD``);
3. the design's ``hyperliquid_config.json`` (``config_file``: ``{"account_address": ..., "secret_key": ...}``,
   optionally ``"network"``, which must then match; git-ignored, ``hyperliquid_config.example.json`` is the
   template).

The account comes from the profile's ``account_address``, else ``DEFIPM_HL_<NETWORK>_ACCOUNT_ADDRESS`` (or the
file's), else it is the key's own address; two sources naming different accounts are an error. A testnet key is
never read for mainnet, nor the other way round: the variable names carry the network, and the network-less
names of earlier versions (``DEFIPM_HL_SECRET_KEY`` ...) are refused with the name to use instead.

The secret is a ``SecretStr``: it never shows in a repr, a log line or an exception message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, SecretStr

from defipm.core.errors import ConfigError
from defipm.venues.hyperliquid.config import HyperliquidConfig, Network, env_prefix, is_address

ENV_PREFIX = "DEFIPM_HL_"
"""Every variable this venue reads starts with it (the settings' unknown-variable check can allow it)."""
LEGACY_VARIABLES = ("DEFIPM_HL_SECRET_KEY", "DEFIPM_HL_ACCOUNT_ADDRESS", "DEFIPM_HL_KEYSTORE_PASSWORD")
"""Network-less names of earlier versions: refused, so a key is never used on a network it was not meant for."""


def secret_variable(network: Network, profile: str | None = None) -> str:
    """The default variable of the key: ``DEFIPM_HL_TESTNET_SECRET_KEY``, ``DEFIPM_HL_MAINNET_VAULT_SECRET_KEY``."""
    return f"{env_prefix(network)}{profile.upper() + '_' if profile else ''}SECRET_KEY"


def account_variable(network: Network) -> str:
    return f"{env_prefix(network)}ACCOUNT_ADDRESS"


def password_variable(network: Network) -> str:
    return f"{env_prefix(network)}KEYSTORE_PASSWORD"


def variables(profiles: Iterable[str] = ()) -> list[str]:
    """Every variable name ``load_credentials`` may read, for both networks and the given profiles."""
    names = []
    for network in ("testnet", "mainnet"):
        names += [secret_variable(network), account_variable(network), password_variable(network)]
        names += [secret_variable(network, p) for p in profiles]
    return names


class Credentials(BaseModel):
    """A private key and the account it trades for. ``repr``/``str`` show the address only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_key: SecretStr
    account_address: str | None = None
    """The owner account (not a vault); None = the key's own address."""
    source: str = "unknown"

    def __repr__(self) -> str:
        return f"Credentials(account_address={self.account_address!r}, source={self.source!r}, secret_key=***)"

    __str__ = __repr__


def _from_file(path: Path, network: Network) -> tuple[SecretStr, str | None]:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read Hyperliquid config file {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not data.get("secret_key") or not isinstance(data["secret_key"], str):
        raise ConfigError(f"{path}: expected an object with 'secret_key' (and 'account_address')")
    unknown = sorted(set(data) - {"secret_key", "account_address", "network"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown key(s) {', '.join(unknown)} (accepted: secret_key, account_address, network)"
        )
    if data.get("network") not in (None, network):
        raise ConfigError(f"{path} holds a {data['network']!r} key; this venue is configured for {network!r}")
    account = data.get("account_address") or None
    if account is not None and (not isinstance(account, str) or not is_address(account)):
        raise ConfigError(f"{path}: account_address is not a 0x-prefixed 20-byte hex address")
    return SecretStr(data["secret_key"]), account


def _from_keystore(path: Path, network: Network, env: Mapping[str, str]) -> SecretStr:
    from eth_account import Account

    variable = password_variable(network)
    password = env.get(variable)
    if password is None:
        raise ConfigError(f"keystore {path} needs its password in {variable}")
    try:
        key = Account.decrypt(json.loads(path.read_text()), password)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot decrypt keystore {path}: {type(exc).__name__}") from None
    return SecretStr("0x" + bytes(key).hex())


def _one_account(sources: dict[str, str | None]) -> str | None:
    """The account named by the sources that name one; an error if two name different accounts."""
    named = {where: a for where, a in sources.items() if a}
    if len({a.lower() for a in named.values()}) > 1:
        listed = ", ".join(f"{where} = {a}" for where, a in named.items())
        raise ConfigError(f"Hyperliquid account: different accounts configured ({listed}); keep one")
    return next(iter(named.values()), None)


class MissingKeyError(ConfigError):
    """No key is configured at all (as opposed to a bad one): a reading command may still read the account."""


def read_account(config: HyperliquidConfig, env: Mapping[str, str] | None = None) -> str | None:
    """The account to read without a key: the vault, else ``account_address``, else the network's account
    variable; None if none is set. ``ConfigError`` for a malformed variable or two different accounts."""
    env = os.environ if env is None else env
    network, identity = config.network, config.identity
    env_account = env.get(account_variable(network)) or None
    if env_account is not None and not is_address(env_account):
        raise ConfigError(f"{account_variable(network)} is not a 0x-prefixed 20-byte hex address")
    owner = _one_account({"account_address": identity.account_address, account_variable(network): env_account})
    return identity.vault_address or owner


def load_credentials(config: HyperliquidConfig, env: Mapping[str, str] | None = None) -> Credentials:
    """The key and owner account for ``config``'s network and profile; ``ConfigError`` naming what to set."""
    env = os.environ if env is None else env
    legacy = [name for name in LEGACY_VARIABLES if env.get(name)]
    if legacy:
        raise ConfigError(
            f"{', '.join(legacy)} no longer read: the variable names say the network, e.g. "
            f"{secret_variable('testnet')} or {secret_variable('mainnet')} (and {account_variable('testnet')})"
        )
    network, identity, profile = config.network, config.identity, config.profile
    variable = identity.secret_key_env or secret_variable(network, profile)
    where = f"profile {profile!r}" if profile else "venue params"
    file_account: str | None = None
    if env.get(variable):
        secret, source = SecretStr(env[variable]), f"environment ({variable})"
    elif identity.keystore_file is not None:
        secret, source = _from_keystore(identity.keystore_file, network, env), str(identity.keystore_file)
    elif identity.config_file is not None:
        secret, file_account = _from_file(identity.config_file, network)
        source = str(identity.config_file)
    else:
        raise MissingKeyError(
            f"no Hyperliquid {network} key for {where}: set {variable}, or keystore_file or config_file (reading "
            f"commands need only the account: {account_variable(network)} or account_address)"
        )
    env_account = env.get(account_variable(network)) or None
    if env_account is not None and not is_address(env_account):
        raise ConfigError(f"{account_variable(network)} is not a 0x-prefixed 20-byte hex address")
    account = _one_account(
        {
            f"{where} account_address": identity.account_address,
            account_variable(network): env_account,
            source: file_account,
        }
    )
    return Credentials(secret_key=secret, account_address=account, source=source)
