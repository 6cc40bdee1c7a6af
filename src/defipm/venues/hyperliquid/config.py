"""Configuration of the Hyperliquid venue and where its credentials come from.

``HyperliquidConfig`` is frozen and rejects unknown keys. Credentials never live in it: ``load_credentials`` reads
them, in this order, from the environment (``DEFIPM_HL_SECRET_KEY``, ``DEFIPM_HL_ACCOUNT_ADDRESS``), an encrypted
keystore file (password from ``DEFIPM_HL_KEYSTORE_PASSWORD``), or the design's ``hyperliquid_config.json``
(``{"account_address": ..., "secret_key": ...}``, git-ignored; ``hyperliquid_config.example.json`` is the
template). The secret is a ``SecretStr``: it never shows in a repr, a log line or an exception message.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from defipm.config_schema import ConfigModel, Symbol
from defipm.core.errors import ConfigError

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
ENV_SECRET = "DEFIPM_HL_SECRET_KEY"
ENV_ACCOUNT = "DEFIPM_HL_ACCOUNT_ADDRESS"
ENV_KEYSTORE_PASSWORD = "DEFIPM_HL_KEYSTORE_PASSWORD"


class HyperliquidConfig(ConfigModel):
    """Everything the Hyperliquid venue needs except the secret key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    network: Literal["testnet", "mainnet"] = "testnet"
    """Which Hyperliquid the venue signs for. Testnet by default."""
    allow_mainnet: bool = False
    """Must be set explicitly (config or CLI flag) for ``network = "mainnet"``: real money."""
    base_url: str | None = None
    """API root override, e.g. the local exchange's ``http://127.0.0.1:3001``; None = the network's public URL."""
    account_address: str | None = None
    """The account traded (0x...). Needed when the key is an API wallet; defaults to the key's own address."""
    leverage: dict[Symbol, int] = Field(default_factory=dict)
    """Leverage per coin (x), set with ``updateLeverage`` on connect; coins not listed keep the exchange's."""
    default_leverage: int | None = None
    """Leverage (x) for every traded coin not in ``leverage``; None leaves the exchange's setting."""
    cross_margin: bool = True
    """Cross (True) or isolated (False) margin when setting leverage."""
    slippage: float = Field(default=0.01, gt=0, lt=0.5)
    """Slippage cap of the aggressive IOC orders, as a fraction of the mid (0.01 = 1%)."""
    no_trade_band: float = Field(default=0.0, ge=0)
    """Skip weight changes smaller than this share of equity."""
    timeout_secs: float = Field(default=10.0, gt=0)
    """HTTP timeout per request, seconds."""
    read_retries: int = Field(default=3, ge=0)
    """Retries of an ``/info`` read after HTTP 429/5xx or a timeout (never of an ``/exchange`` action)."""
    retry_backoff_secs: float = Field(default=0.25, ge=0)
    """First retry delay in seconds; doubles each retry."""
    config_file: Path | None = None
    """The design's ``hyperliquid_config.json`` with ``account_address`` and ``secret_key``."""
    keystore_file: Path | None = None
    """An encrypted Ethereum keystore (JSON); password from ``DEFIPM_HL_KEYSTORE_PASSWORD``."""

    @model_validator(mode="after")
    def _mainnet_needs_opt_in(self) -> HyperliquidConfig:
        if self.network == "mainnet" and not self.allow_mainnet:
            raise ValueError("network 'mainnet' trades real money: set allow_mainnet = true (CLI: --mainnet) to opt in")
        for coin, lev in self.leverage.items():
            if lev < 1:
                raise ValueError(f"leverage for {coin} must be at least 1, got {lev}")
        return self

    @property
    def is_mainnet(self) -> bool:
        return self.network == "mainnet"

    @property
    def url(self) -> str:
        return (self.base_url or (MAINNET_URL if self.is_mainnet else TESTNET_URL)).rstrip("/")


class Credentials(BaseModel):
    """A private key and the account it trades. ``repr``/``str`` show the address only."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    secret_key: SecretStr
    account_address: str | None = None
    source: str = "unknown"

    def __repr__(self) -> str:
        return f"Credentials(account_address={self.account_address!r}, source={self.source!r}, secret_key=***)"

    __str__ = __repr__


def _from_file(path: Path) -> Credentials:
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot read Hyperliquid config file {path}: {type(exc).__name__}") from None
    if not isinstance(data, dict) or not data.get("secret_key"):
        raise ConfigError(f"{path}: expected an object with 'secret_key' (and 'account_address')")
    return Credentials(
        secret_key=SecretStr(str(data["secret_key"])),
        account_address=data.get("account_address") or None,
        source=str(path),
    )


def _from_keystore(path: Path, env: Mapping[str, str]) -> Credentials:
    from eth_account import Account

    password = env.get(ENV_KEYSTORE_PASSWORD)
    if password is None:
        raise ConfigError(f"keystore {path} needs its password in {ENV_KEYSTORE_PASSWORD}")
    try:
        key = Account.decrypt(json.loads(path.read_text()), password)
    except (OSError, ValueError, json.JSONDecodeError) as exc:
        raise ConfigError(f"cannot decrypt keystore {path}: {type(exc).__name__}") from None
    return Credentials(
        secret_key=SecretStr("0x" + bytes(key).hex()), account_address=env.get(ENV_ACCOUNT), source=str(path)
    )


def load_credentials(config: HyperliquidConfig, env: Mapping[str, str] | None = None) -> Credentials:
    """Credentials from the environment, else the keystore, else the config file; ``ConfigError`` if none."""
    env = os.environ if env is None else env
    if env.get(ENV_SECRET):
        return Credentials(
            secret_key=SecretStr(env[ENV_SECRET]),
            account_address=env.get(ENV_ACCOUNT) or config.account_address,
            source="environment",
        )
    if config.keystore_file is not None:
        creds = _from_keystore(config.keystore_file, env)
    elif config.config_file is not None:
        creds = _from_file(config.config_file)
    else:
        raise ConfigError(
            f"no Hyperliquid credentials: set {ENV_SECRET} (and {ENV_ACCOUNT}), keystore_file or config_file"
        )
    if creds.account_address is None and config.account_address:
        creds = creds.model_copy(update={"account_address": config.account_address})
    return creds


def make_config(**values: object) -> HyperliquidConfig:
    """Build a config, turning pydantic's ValidationError into ``ConfigError``."""
    try:
        return HyperliquidConfig(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        # name the keys and the problems, never the values (pydantic's message echoes them: a key put here by
        # mistake would end up in a log)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid Hyperliquid config: {problems}") from None
