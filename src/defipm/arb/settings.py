"""Settings of ``defipm arb run`` from a TOML file (``--config``): the run's name, the mainnet opt-in, gas, limits.

    run = "arb-main"              # name of this run in the store (journal, risk state)
    allow_mainnet = true          # the config's half of the mainnet opt-in; the other half is --mainnet
    max_fee_per_gas_gwei = 300    # no transaction while base fee + tip is above it (none: no ceiling)
    unwind_slippage_bps = 50
    history = 100
    [risk]
    min_profit_native = 1000000000000000
    daily_loss_limit_native = 500000000000000000

Unknown keys and wrong types are errors naming the key (``ConfigError``); the file never holds a key or a secret
(the wallet's key comes from the environment).
"""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from defipm.arb.risk import ArbRiskConfig
from defipm.chain.wallet import MAINNET_CHAIN_IDS, TEST_CHAIN_IDS
from defipm.core.errors import ConfigError

__all__ = ["ArbRunSettings", "check_mainnet_opt_in", "load_arb_settings"]


class ArbRunSettings(BaseModel):
    """Everything ``arb run`` takes from its config file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    run: str = Field(default="arb", min_length=1, max_length=64)
    """Name of this arbitrage run in the store: its journal and its risk state (breaker, daily loss)."""
    allow_mainnet: bool = False
    """Must be true (and ``--mainnet`` given) to sign on any chain but a known local or test chain: real money."""
    max_fee_per_gas_gwei: Decimal | None = Field(default=Decimal(300), gt=0)
    """Ceiling on the fee per gas, gwei: above it nothing is sent and every opportunity is deferred, saying why.
    None: no ceiling."""
    unwind_slippage_bps: int = Field(default=50, ge=0, le=5_000)
    """Allowance below the quote on each hop that turns a half-done capital cycle back into its start token."""
    history: int = Field(default=100, ge=1, le=100_000)
    """Step reports kept in memory (the newest)."""
    risk: ArbRiskConfig = ArbRiskConfig()

    @property
    def max_fee_per_gas_wei(self) -> int | None:
        return None if self.max_fee_per_gas_gwei is None else int(self.max_fee_per_gas_gwei.scaleb(9))


def load_arb_settings(path: Path | None) -> ArbRunSettings:
    """The settings in ``path`` (defaults when None). Raises ConfigError naming the file and the key."""
    if path is None:
        return ArbRunSettings()
    try:
        raw = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read arb config {path}: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"arb config {path} is not valid TOML: {exc}") from None
    try:
        return ArbRunSettings.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"]) or "(top level)"
            what = "unknown key" if err["type"] == "extra_forbidden" else err["msg"].lower()
            problems.append(f"{key}: {what}")
        raise ConfigError(f"arb config {path}: " + "; ".join(problems)) from None


def check_mainnet_opt_in(chain_id: int, settings: ArbRunSettings, mainnet_flag: bool) -> bool:
    """Whether signing on ``chain_id`` is allowed: a test chain always, any other chain only with both opt-ins
    (``allow_mainnet = true`` in the config and ``--mainnet``). Raises ConfigError naming the missing one."""
    if chain_id in TEST_CHAIN_IDS:
        return False
    name = MAINNET_CHAIN_IDS.get(chain_id, "not a known test chain")
    missing = []
    if not settings.allow_mainnet:
        missing.append("allow_mainnet = true in the arb config (--config)")
    if not mainnet_flag:
        missing.append("--mainnet on the command line")
    if missing:
        raise ConfigError(
            f"chain id {chain_id} ({name}) trades real money: arbitrage on it needs both opt-ins; missing: "
            + " and ".join(missing)
        )
    return True
