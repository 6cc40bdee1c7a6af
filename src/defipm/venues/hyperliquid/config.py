"""Configuration of the Hyperliquid venue: network, trading settings and the account traded.

``HyperliquidConfig`` is frozen and rejects unknown keys. The account traded is an *identity*: the owner account
(``account_address``), optionally a vault or sub-account it controls (``vault_address``), and where the signing
key comes from (``secret_key_env``, ``keystore_file``, ``config_file``; see ``credentials.py``). The identity is
given either at the top level or as named profiles, one of which is selected per run::

    [venue.params]
    network = "testnet"
    profile = "vault"                        # or DEFIPM_VENUE__PARAMS__PROFILE=vault for one run
    [venue.params.profiles.personal]
    account_address = "0x..."                # key in DEFIPM_HL_TESTNET_PERSONAL_SECRET_KEY (owner or agent key)
    [venue.params.profiles.vault]
    vault_address = "0x..."                  # traded by its leader's key or an agent of the leader
    account_address = "0x..."                # the leader (optional: read from the exchange)

Keys never live here.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from defipm.config_schema import ConfigModel, Symbol
from defipm.config_schema import is_address as is_address  # re-exported: the credentials and the CLI check with it
from defipm.core.errors import ConfigError

MAINNET_URL = "https://api.hyperliquid.xyz"
TESTNET_URL = "https://api.hyperliquid-testnet.xyz"
Network = Literal["testnet", "mainnet"]
_PROFILE_NAME = re.compile(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*")
_KEY_VARIABLE = re.compile(r"([A-Z0-9]+_)*SECRET_KEY")
"""A ``secret_key_env`` after its network's prefix (the grammar ``defipm.environment`` allows)."""


def _check_address(value: str | None) -> str | None:
    if value is not None and not is_address(value):
        raise ValueError("expected a 0x-prefixed 20-byte hex address (0x + 40 hex digits)")
    return value


def env_prefix(network: Network) -> str:
    """``DEFIPM_HL_TESTNET_`` or ``DEFIPM_HL_MAINNET_``: every key variable of that network starts with it."""
    return f"DEFIPM_HL_{network.upper()}_"


class AccountProfile(BaseModel):
    """Who is traded and with which key. Addresses are 0x-prefixed 20-byte hex."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account_address: str | None = None
    """The owner account. With an agent (API wallet) key it is required, unless a vault is traded; None = the
    key's own address (or, with a vault, its leader)."""
    vault_address: str | None = None
    """A vault (or sub-account) traded instead of the owner's own book: every signed action carries it as
    ``vaultAddress``, every read asks about it. The key must be its leader's (master's) or an agent of them."""
    secret_key_env: str | None = None
    """The environment variable holding the key; default ``DEFIPM_HL_<NETWORK>[_<PROFILE>]_SECRET_KEY``. Must
    be ``DEFIPM_HL_<NETWORK>_<NAME>_SECRET_KEY`` so a key is never read for the other network."""
    config_file: Path | None = None
    """The design's ``hyperliquid_config.json`` with ``secret_key`` (and ``account_address``)."""
    keystore_file: Path | None = None
    """An encrypted Ethereum keystore (JSON); password from ``DEFIPM_HL_<NETWORK>_KEYSTORE_PASSWORD``."""

    @field_validator("account_address", "vault_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return _check_address(value)


_IDENTITY_FIELDS = tuple(AccountProfile.model_fields)


class StopLossConfig(ConfigModel):
    """Exchange stop losses placed after every rebalance (``[venue.params.stop_loss]``), replaced at the next."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    fraction: float = Field(gt=0, lt=1)
    """How far against the position the stop triggers, as a fraction of its entry price (0.15 = 15%): a long's
    stop at entry x (1 - fraction), a short's at entry x (1 + fraction); from the mark instead when the entry
    is already beyond it, so a stop never triggers on placement."""
    sides: Literal["both", "long", "short"] = "both"
    """Which positions get a stop."""
    slippage: float = Field(default=0.05, gt=0, lt=0.5)
    """Worst fill price of the triggered market order, as a fraction beyond the trigger."""


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
    """The owner account (see ``AccountProfile``); top-level identity fields are used when no profile is set."""
    vault_address: str | None = None
    """A vault or sub-account to trade instead of the owner's book (see ``AccountProfile``)."""
    secret_key_env: str | None = None
    """The variable holding the key (see ``AccountProfile``)."""
    leverage: dict[Symbol, int] = Field(default_factory=dict)
    """Leverage per coin (x), set with ``updateLeverage`` before the coin's first order that adds exposure (never
    on connect, which signs nothing); coins not listed keep the exchange's."""
    default_leverage: int | None = None
    """Leverage (x) for every traded coin not in ``leverage``; None leaves the exchange's setting."""
    cross_margin: bool = True
    """Cross (True) or isolated (False) margin when setting leverage."""
    slippage: float = Field(default=0.01, gt=0, lt=0.5)
    """Slippage cap of the aggressive IOC orders, as a fraction of the mid (0.01 = 1%)."""
    order_type: Literal["market", "limit"] = "market"
    """"market": aggressive IOC orders at the mid +/- ``slippage`` (filled now or cancelled). "limit": resting
    limit orders at the mid -/+ ``limit_offset`` (buys below, sells above), left open until they fill or the next
    rebalance cancels and replaces them."""
    time_in_force: Literal["Alo", "Gtc"] = "Alo"
    """Of ``order_type = "limit"`` orders: "Alo" (post-only: refused if it would cross) or "Gtc"."""
    limit_offset: float = Field(default=0.0, ge=0, lt=0.5)
    """Distance of a resting order's price from the mid, as a fraction of the mid (0.001 = 10 bps)."""
    open_orders: Literal["cancel", "refuse"] = "cancel"
    """Orders found open on the account when a rebalance starts (an earlier run's resting orders and stops, or
    anyone else's): "cancel" cancels them all and plans from what filled (cancel and replace, never stacked on);
    "refuse" fails the rebalance naming them, sending nothing."""
    stop_loss: StopLossConfig | None = None
    """Exchange stop losses (trigger orders) for the book after each rebalance; None places none."""
    min_open_interest: float | None = Field(default=None, ge=0, le=1e15, allow_inf_nan=False)
    """Leave coins out of the universe whose open interest (``metaAndAssetCtxs``, in USD at the mark) is below
    this; held ones are then closed by the next rebalance."""
    min_day_volume: float | None = Field(default=None, ge=0, le=1e15, allow_inf_nan=False)
    """Leave coins out of the universe whose 24h notional volume (``dayNtlVlm``, USD) is below this."""
    bulk_orders: bool = True
    """Send each phase of a rebalance (reductions, then increases) as one signed action; False sends one order
    per request."""
    no_trade_band: float = Field(default=0.0, ge=0)
    """Skip weight changes smaller than this share of equity."""
    timeout_secs: float = Field(default=10.0, gt=0)
    """HTTP timeout per request, seconds."""
    read_retries: int = Field(default=3, ge=0)
    """Retries of an ``/info`` read after HTTP 429/5xx or a timeout (never of an ``/exchange`` action)."""
    retry_backoff_secs: float = Field(default=0.25, ge=0)
    """First retry delay in seconds; doubles each retry."""
    config_file: Path | None = None
    """The design's ``hyperliquid_config.json`` (see ``AccountProfile``)."""
    keystore_file: Path | None = None
    """An encrypted keystore (see ``AccountProfile``)."""
    profiles: dict[str, AccountProfile] = Field(default_factory=dict)
    """Named identities (``[venue.params.profiles.<name>]``); names are letters, digits and single underscores."""
    profile: str | None = None
    """The profile traded by this run; required when ``profiles`` is given (and then no top-level identity)."""

    @model_validator(mode="after")
    def _mainnet_needs_opt_in(self) -> HyperliquidConfig:
        if self.network == "mainnet" and not self.allow_mainnet:
            raise ValueError("network 'mainnet' trades real money: set allow_mainnet = true (CLI: --mainnet) to opt in")
        for coin, lev in self.leverage.items():
            if lev < 1:
                raise ValueError(f"leverage for {coin} must be at least 1, got {lev}")
        return self

    @field_validator("account_address", "vault_address")
    @classmethod
    def _address(cls, value: str | None) -> str | None:
        return _check_address(value)

    @model_validator(mode="after")
    def _one_identity(self) -> HyperliquidConfig:
        top = [f for f in _IDENTITY_FIELDS if getattr(self, f) is not None]
        bad_names = [n for n in self.profiles if not _PROFILE_NAME.fullmatch(n)]
        if bad_names:
            raise ValueError(f"profile name(s) {', '.join(map(repr, bad_names))}: use letters, digits and '_' only")
        if self.profile is not None and self.profile not in self.profiles:
            known = ", ".join(sorted(self.profiles)) or "none defined"
            raise ValueError(f"profile {self.profile!r} is not among profiles ({known})")
        if self.profiles and self.profile is None:
            raise ValueError(
                f"profiles are defined: select one with profile = one of {', '.join(sorted(self.profiles))}"
            )
        if self.profile is not None and top:
            raise ValueError(f"{', '.join(top)} set beside profile {self.profile!r}: put them in the profile")
        prefix = env_prefix(self.network)
        for where, identity in [("venue params", self.identity), *self.profiles.items()]:
            variable = identity.secret_key_env
            if variable is not None and not variable.startswith(prefix):
                raise ValueError(
                    f"{where}: secret_key_env {variable!r} must start with {prefix!r} (network {self.network!r})"
                )
            if variable is not None and not _KEY_VARIABLE.fullmatch(variable.removeprefix(prefix)):
                raise ValueError(
                    f"{where}: secret_key_env {variable!r} must be {prefix}<NAME>_SECRET_KEY (upper-case letters, "
                    "digits and single underscores; defipm refuses other DEFIPM_ variables as misspellings)"
                )
        return self

    @property
    def identity(self) -> AccountProfile:
        """The selected profile, or the top-level identity fields when there are no profiles."""
        if self.profile is not None:
            return self.profiles[self.profile]
        return AccountProfile(**{f: getattr(self, f) for f in _IDENTITY_FIELDS})

    @property
    def is_mainnet(self) -> bool:
        return self.network == "mainnet"

    @property
    def url(self) -> str:
        return (self.base_url or (MAINNET_URL if self.is_mainnet else TESTNET_URL)).rstrip("/")


def make_config(**values: object) -> HyperliquidConfig:
    """Build a config, turning pydantic's ValidationError into ``ConfigError``."""
    try:
        return HyperliquidConfig(**values)  # type: ignore[arg-type]
    except ValidationError as exc:
        # name the keys and the problems, never the values (pydantic's message echoes them: a key put here by
        # mistake would end up in a log)
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"invalid Hyperliquid config: {problems}") from None
