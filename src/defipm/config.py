"""defipm's one configuration model: a TOML file, overridable from the environment.

Every section rejects unknown keys, so a typo is an error that names the key; a wrong type names the key and the
expected type. Environment variables override the file: ``DEFIPM_RUN=alpha``, ``DEFIPM_RISK__MAX_DRAWDOWN=0.2``
(double underscore between section and key). Secrets never live here: venues read keys from the environment or a
key file named in their params.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, SettingsError

from defipm.core.errors import ConfigError
from defipm.core.orders import OrderType
from defipm.core.planner import PlannerConfig
from defipm.core.risk import RiskLimits

DEFAULT_CONFIG = Path("defipm.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ComponentSettings(_Section):
    """Which oracle or venue to build, and its keyword parameters."""

    kind: str
    """Registered name: built-in (static, equal_weight, momentum, tbn; paper, hyperliquid, uniswap) or an entry point."""
    params: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments of the component's constructor (checked by the component)."""


class RiskSettings(_Section):
    max_gross_leverage: float | None = Field(default=None, gt=0)
    """Cap on sum |w|; weights are scaled down to it."""
    max_weight: float | None = Field(default=None, gt=0)
    """Cap on any single |w|; larger weights are clipped."""
    max_turnover: float | None = Field(default=None, gt=0)
    """Cap on sum |w_target - w_now| per cycle."""
    max_drawdown: float | None = Field(default=None, gt=0, lt=1)
    """Halt trading once equity is this fraction below its peak (0.25 = 25%)."""
    on_breach: Literal["freeze", "reduce", "flatten"] = "reduce"
    """While the drawdown breaker has halted trading: send nothing (freeze), reduce-only orders back within
    max_weight and the gross limit (reduce), or close every position (flatten). The kill switch always freezes."""

    def limits(self) -> RiskLimits:
        return RiskLimits(**self.model_dump())


class PlannerSettings(_Section):
    no_trade_band: float = Field(default=0.0, ge=0, lt=1)
    """Skip a change smaller than this share of equity."""
    cost_reserve_bps: float = Field(default=0.0, ge=0, lt=10_000)
    """Expected slippage in bps of traded notional, kept back so costs do not push gross above target."""
    order_type: Literal["market", "limit_ioc"] = "market"
    limit_slippage: float | None = Field(default=None, gt=0, lt=1)
    """Worst fill price as a fraction from the mid for limit_ioc orders."""

    def config(self) -> PlannerConfig:
        return PlannerConfig(
            no_trade_band=self.no_trade_band,
            cost_reserve_bps=self.cost_reserve_bps,
            order_type=OrderType(self.order_type),
            limit_slippage=self.limit_slippage,
        )


class MarketSettings(_Section):
    """Where the paper venue's prices come from when paper trading (backtests use their own data)."""

    source: Literal["synthetic", "csv", "hyperliquid"] = "synthetic"
    """synthetic (seeded random walk), csv (latest bar of a folder of files) or hyperliquid (live mids)."""
    path: Path | None = None
    """Folder of per-symbol OHLCV CSV/Parquet files for source = "csv" (the latest bar is used)."""
    network: Literal["testnet", "mainnet"] = "mainnet"
    """Hyperliquid network whose public mid prices feed the paper venue (source = "hyperliquid"; reads only)."""
    base_url: str | None = None
    """Hyperliquid API root override (e.g. the local exchange of `defipm hl-sim sim`)."""
    n_assets: int = Field(default=8, ge=1, le=5000)
    """Number of synthetic assets (source = "synthetic")."""
    seed: int = 0
    volatility: float = Field(default=0.8, gt=0)
    """Annualised volatility of the synthetic walk."""
    interval_hours: float = Field(default=1.0, gt=0)
    """Synthetic bar length in hours."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEFIPM_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    run: str = Field(default="default", min_length=1, max_length=64)
    """Name of this portfolio in the database."""
    database: str = "sqlite:///defipm.db"
    """SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://user@host/db."""
    oracle: ComponentSettings = ComponentSettings(kind="equal_weight")
    venue: ComponentSettings = ComponentSettings(kind="paper")
    risk: RiskSettings = RiskSettings()
    planner: PlannerSettings = PlannerSettings()
    market: MarketSettings = MarketSettings()

    def __repr_args__(self) -> Any:
        from defipm.store.database import redact_url

        for name, value in super().__repr_args__():
            yield name, redact_url(value) if name == "database" and isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return env_settings, init_settings  # the environment overrides the file


def _describe(err: dict[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
    kind = err["type"]
    if kind == "extra_forbidden":
        return f"{loc}: unknown key"
    if kind == "missing":
        return f"{loc}: required key is missing"
    got = err.get("input")
    shown = repr(got) if not isinstance(got, dict) else "a table"
    return f"{loc}: {err['msg'].lower()} (got {shown})"


_SECTIONS = ("run", "database", "oracle", "venue", "risk", "planner", "market")


def _setting_variables() -> dict[str, str]:
    """Environment variable -> the setting (top-level key or section) its name starts with."""
    found = {}
    for name in os.environ:
        for section in _SECTIONS:
            if name.upper().startswith(f"DEFIPM_{section.upper()}"):
                found[name] = section
    return found


def _mistyped_environment() -> list[str]:
    """``DEFIPM_`` variables that look like settings overrides but are spelled wrong: a section joined to its key
    by one underscore (``DEFIPM_RISK_MAX_DRAWDOWN``), which the settings would silently ignore."""
    out = []
    for name, section in _setting_variables().items():
        prefix = f"DEFIPM_{section.upper()}_"
        if name.upper().startswith(prefix) and not name.upper().startswith(prefix + "_"):
            out.append(f"{name} (for a key of [{section}] write DEFIPM_{section.upper()}__<KEY>)")
    return sorted(out)


def settings_from_dict(data: dict[str, Any], source: str = "config") -> Settings:
    mistyped = _mistyped_environment()
    if mistyped:
        raise ConfigError(f"environment: unknown setting variable(s): {'; '.join(mistyped)}")
    try:
        return Settings(**data)
    except ValidationError as exc:
        problems = "; ".join(_describe(e) for e in exc.errors())  # type: ignore[arg-type]
        raise ConfigError(f"{source}: {problems}") from None
    except SettingsError as exc:  # e.g. a DEFIPM_VENUE__PARAMS that is not valid JSON
        raise ConfigError(f"environment: {exc}") from None


def load_settings(path: str | Path | None = None, *, required: bool = True) -> Settings:
    """Read ``path`` (``defipm.toml`` by default) and apply environment overrides."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    if not p.is_file():
        if required:
            raise ConfigError(f"config file not found: {p} (create one with `defipm init`)")
        return settings_from_dict({}, "environment")
    try:
        data = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    overrides = sorted(_setting_variables())
    source = f"{p} (with environment overrides {', '.join(overrides)})" if overrides else str(p)
    return settings_from_dict(data, source)


EXAMPLE_CONFIG = """\
# defipm configuration. Every key is optional; unknown keys are errors.
# Environment variables override this file: DEFIPM_RUN=..., DEFIPM_RISK__MAX_DRAWDOWN=0.2, ...

run = "default"                    # name of this portfolio in the database
database = "sqlite:///defipm.db"   # or postgresql+psycopg://user@localhost/defipm

[oracle]                           # who decides the weights
kind = "static"                    # static | equal_weight | momentum | tbn | <entry point name>
[oracle.params]
weights = { SYN000 = 0.4, SYN001 = 0.3, SYN002 = -0.2 }   # or: path = "weights.toml" (TOML, JSON or CSV)

[venue]                            # where orders go
kind = "paper"                     # paper | hyperliquid | uniswap | <entry point name>
[venue.params]
initial_cash = 10000               # quote currency (USDC) the paper account starts with
mode = "perp"                      # perp (long/short) or spot (long only)
taker_fee = 0.00045                # fraction of notional
max_leverage = 3

[market]                           # prices for the paper venue when paper trading
source = "synthetic"               # synthetic (seeded random walk, labelled as such) | csv | hyperliquid (live mids)
n_assets = 8
seed = 0

[risk]
max_gross_leverage = 1.5           # sum |w| cap: weights scaled down
max_weight = 0.5                   # single |w| cap: clipped
max_turnover = 2.0                 # sum |dw| per cycle
max_drawdown = 0.3                 # halt trading 30% below the equity peak

[planner]
no_trade_band = 0.002              # skip changes under 0.2% of equity
cost_reserve_bps = 5               # keep back expected slippage
order_type = "market"              # market | limit_ioc
"""
