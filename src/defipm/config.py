"""defipm's one configuration model: a TOML file, overridable from the environment.

Every section rejects unknown keys, so a typo is an error that names the key; a wrong type names the key and the
expected type. Environment variables override the file: ``DEFIPM_RUN=alpha``, ``DEFIPM_RISK__MAX_DRAWDOWN=0.2``
(double underscore between section and key); any other ``DEFIPM_`` variable that is not one of defipm's own is an
error (``defipm.environment``). Booleans are refused where numbers are expected, and values are bounded
(``defipm.config_schema`` says why). Secrets never live here: venues read keys from the environment or a
key file named in their params.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, PrivateAttr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from defipm.config_file import DEFAULT_CONFIG
from defipm.config_schema import (
    MAX_LEVERAGE,
    Bps,
    ConfigModel,
    Seed,
    mark_booleans,
    missing_file,
    problems,
    strict_json,
)
from defipm.config_templates import EXAMPLE_CONFIG  # noqa: F401  (re-exported)
from defipm.core.errors import ConfigError
from defipm.core.orders import OrderType
from defipm.core.planner import PlannerConfig
from defipm.core.risk import RiskLimits
from defipm.core.triggers import RebalancePolicy
from defipm.environment import check_environment, setting_variables

if TYPE_CHECKING:
    from defipm.oracles.base import Oracle


class ComponentSettings(ConfigModel):
    """Which oracle or venue to build, and its keyword parameters."""

    kind: str = Field(min_length=1)
    """Registered name: built-in (static, equal_weight, momentum, tbn; paper, hyperliquid, uniswap) or an entry point."""
    params: dict[str, Any] = Field(default_factory=dict)
    """The component's params, checked by its config model (``defipm.registry``). A string param that starts
    with ``{`` or ``[`` is read as JSON: that is how an environment variable gives a table or a list."""

    @field_validator("params", mode="before")
    @classmethod
    def _json_from_the_environment(cls, params: Any) -> Any:
        if not isinstance(params, dict):
            return params
        decoded = dict(params)
        for key, value in params.items():
            if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
                try:
                    decoded[key] = strict_json(value)
                except ValueError as exc:
                    raise ValueError(f"{key}: not valid JSON ({exc})") from None
        return decoded

    def __repr_args__(self) -> Any:
        from defipm.core.redaction import redact_url

        for name, value in super().__repr_args__():
            if name == "params" and isinstance(value, dict):  # an RPC URL carries its API key in its path
                value = {k: redact_url(v) if isinstance(v, str) and "://" in v else v for k, v in value.items()}
            yield name, value


class RiskSettings(ConfigModel):
    max_gross_leverage: float | None = Field(default=None, gt=0, le=MAX_LEVERAGE, allow_inf_nan=False)
    """Cap on sum |w|; weights are scaled down to it."""
    max_weight: float | None = Field(default=None, gt=0, le=MAX_LEVERAGE, allow_inf_nan=False)
    """Cap on any single |w|; larger weights are clipped."""
    max_turnover: float | None = Field(default=None, gt=0, le=2 * MAX_LEVERAGE, allow_inf_nan=False)
    """Cap on sum |w_target - w_now| per cycle."""
    max_drawdown: float | None = Field(default=None, gt=0, lt=1)
    """Halt trading once equity is this fraction below its peak (0.25 = 25%)."""
    on_breach: Literal["freeze", "reduce", "flatten"] = "reduce"
    """While the drawdown breaker has halted trading: send nothing (freeze), reduce-only orders back within
    max_weight and the gross limit (reduce), or close every position (flatten). The kill switch always freezes."""

    def limits(self) -> RiskLimits:
        return RiskLimits(**self.model_dump())


class PlannerSettings(ConfigModel):
    no_trade_band: float = Field(default=0.0, ge=0, lt=1)
    """Skip a change smaller than this share of equity."""
    cost_reserve_bps: Bps = 0.0
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


class RebalanceSettings(ConfigModel):
    """When the portfolio rebalances and in how many tranches (``[rebalance]``). Without any of ``every_hours``,
    ``on_publication`` and ``drift`` every cycle rebalances (``defipm run --every`` is the schedule); with them the
    cycles check and trade only when one is due (``defipm.core.triggers``)."""

    every_hours: float | None = Field(default=None, gt=0, le=24 * 3660, allow_inf_nan=False)
    """Rebalance when this many hours have passed since the last rebalance."""
    on_publication: bool = False
    """Rebalance when the oracle's signal publishes anew (e.g. a new meta-model date)."""
    drift: float | None = Field(default=None, gt=0, le=MAX_LEVERAGE, allow_inf_nan=False)
    """Rebalance when a weight has drifted further than this (fraction of equity) from the last target."""
    tranches: int = Field(default=1, ge=1, le=1000)
    """Staggered sub-portfolios (``defipm.oracles.tranches``): each holds 1/k of the book and takes the oracle's
    new target every k periods, so turnover spreads out. 1 = one book."""
    tranche_period_days: float = Field(default=1.0, gt=0, le=366, allow_inf_nan=False)
    """The period the tranches take turns in (each tranche rebalances every ``tranches`` of them)."""
    seed_full: bool = True
    """Before the signal has a period of its own for each tranche, fill them with the current target (else cash)."""

    def policy(self) -> RebalancePolicy | None:
        if self.every_hours is None and not self.on_publication and self.drift is None:
            return None
        every = timedelta(hours=self.every_hours) if self.every_hours is not None else None
        return RebalancePolicy(every=every, on_publication=self.on_publication, drift=self.drift)

    def wrap(self, oracle: Oracle) -> Oracle:
        """``oracle`` itself for one tranche, else its tranched book."""
        if self.tranches == 1:
            return oracle
        from defipm.oracles.tranches import TranchedOracle

        period = timedelta(days=self.tranche_period_days)
        return TranchedOracle(oracle, self.tranches, period, seed_full=self.seed_full)


DEFAULT_DATABASE = "sqlite:///defipm.db"
"""The store when a config names none: a SQLite file beside the config file."""

_MARKET_KEYS = {
    "synthetic": {"n_assets", "seed", "volatility", "interval_hours"},
    "csv": {"path"},
    "hyperliquid": {"network", "base_url"},
}
"""Which keys of [market] each source reads; another key set away from its default would be ignored, so it is
refused."""


class MarketSettings(ConfigModel):
    """Where the paper venue's prices come from when paper trading (backtests use their own data)."""

    source: Literal["synthetic", "csv", "hyperliquid"] = "synthetic"
    """synthetic (seeded random walk), csv (latest bar of a folder of files) or hyperliquid (live mids)."""
    path: Path | None = None
    """Folder of per-symbol OHLCV CSV/Parquet files for source = "csv" (the latest bar is used)."""
    network: Literal["testnet", "mainnet"] = "mainnet"
    """Hyperliquid network whose public mid prices feed the paper venue (source = "hyperliquid"; reads only)."""
    base_url: str | None = Field(default=None, pattern=r"^https?://[^\s/]+")
    """Hyperliquid API root override (e.g. the local exchange of `defipm hl-sim sim`)."""
    n_assets: int = Field(default=8, ge=1, le=5000)
    """Number of synthetic assets (source = "synthetic")."""
    seed: Seed = 0
    """Seed of the synthetic walk (source = "synthetic"), >= 0."""
    volatility: float = Field(default=0.8, gt=0, le=10, allow_inf_nan=False)
    """Annualised volatility of the synthetic walk (0.8 = 80%; at most 10 = 1,000%)."""
    interval_hours: float = Field(default=1.0, ge=0.001, le=24 * 366, allow_inf_nan=False)
    """Synthetic bar length in hours, from 0.001 (3.6 seconds) to a year."""

    @model_validator(mode="after")
    def _keys_of_the_source(self) -> MarketSettings:
        # the settings merge partial sections into their defaults, so "given" is "differs from the default"
        fields = type(self).model_fields
        foreign = sorted(
            k
            for k in fields
            if k not in _MARKET_KEYS[self.source] | {"source"} and getattr(self, k) != fields[k].default
        )
        if foreign:
            raise ValueError(
                f"{', '.join(foreign)} not read with source = {self.source!r} (it reads "
                f"{', '.join(sorted(_MARKET_KEYS[self.source]))}): remove {'it' if len(foreign) == 1 else 'them'} "
                "or change source"
            )
        if self.source == "csv" and self.path is None:
            raise ValueError("source = 'csv' needs path, the folder of OHLCV files")
        return self


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="DEFIPM_",
        env_nested_delimiter="__",
        extra="forbid",
        frozen=True,
        nested_model_default_partial_update=True,
    )

    _source: str = PrivateAttr(default="settings")

    run: str = Field(default="default", min_length=1, max_length=64)
    """Name of this portfolio in the database."""
    database: str = Field(default=DEFAULT_DATABASE, min_length=1)
    """SQLAlchemy URL: sqlite:///path.db (default) or postgresql+psycopg://user@host/db. A relative SQLite path in
    a config file (or the default, when the file names none) is read from the file's folder."""
    oracle: ComponentSettings = ComponentSettings(kind="equal_weight")
    venue: ComponentSettings = ComponentSettings(kind="paper")
    risk: RiskSettings = RiskSettings()
    planner: PlannerSettings = PlannerSettings()
    market: MarketSettings = MarketSettings()
    rebalance: RebalanceSettings = RebalanceSettings()

    def __repr_args__(self) -> Any:
        from defipm.core.redaction import redact_url

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
        return _StrictJsonEnvironment(settings_cls), init_settings  # the environment overrides the file

    @property
    def source(self) -> str:
        """Where these settings were read: the config file (with the environment variables overriding it), for
        messages that name a bad key's file."""
        return self._source


class _StrictJsonEnvironment(EnvSettingsSource):
    """The settings' environment source, reading JSON values without letting a duplicated key through."""

    def decode_complex_value(self, field_name: str, field: FieldInfo, value: Any) -> Any:
        try:
            return mark_booleans(field.annotation, strict_json(value))
        except ValueError as exc:
            variables = [v for v in setting_variables(Settings) if v.upper().endswith(field_name.upper())]
            raise ConfigError(f"environment: {' or '.join(variables) or field_name}: not valid JSON ({exc})") from None


def settings_from_dict(data: dict[str, Any], source: str = "config") -> Settings:
    """``Settings`` from a parsed config (overridden by the environment); ``ConfigError`` names every problem:
    each bad key with its fix, and every ``DEFIPM_`` variable that is not a setting nor one of defipm's own."""
    check_environment(Settings)
    try:  # booleans marked first: the settings' merge with the defaults would take `true` for 1.0 and drop it
        settings = Settings(**mark_booleans(Settings, data))
        settings._source = source
        return settings
    except ValidationError as exc:
        raise ConfigError(f"{source}: {'; '.join(problems(exc, Settings))}") from None
    except SettingsError as exc:  # e.g. a DEFIPM_VENUE__PARAMS that is not valid JSON
        raise ConfigError(f"environment: {exc}") from None
    except TypeError as exc:  # keys that are not names (a dict built in Python)
        raise ConfigError(f"{source}: {exc}") from None


def load_settings(path: str | Path | None = None, *, required: bool = True) -> Settings:
    """Read ``path`` (``defipm.toml`` by default) and apply environment overrides."""
    p = Path(path) if path is not None else DEFAULT_CONFIG
    if not p.is_file():
        if required:
            file = p / DEFAULT_CONFIG.name if p.is_dir() else p
            fix = f"give the file in it, -c {file}" if file.is_file() else f"create one with `defipm init {file}`"
            raise ConfigError(f"{missing_file('config file', p)}: {fix}")
        return settings_from_dict({}, "environment")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{p}: cannot read: {exc}") from None
    overrides = setting_variables(Settings)
    source = f"{p} (with environment overrides {', '.join(overrides)})" if overrides else str(p)
    if "DEFIPM_DATABASE" not in os.environ and isinstance(data.get("database", DEFAULT_DATABASE), str):
        data["database"] = anchored_database(data.get("database", DEFAULT_DATABASE), p.resolve().parent)
    return settings_from_dict(data, source)


_SQLITE_FILE = re.compile(r"(?P<scheme>sqlite(?:\+\w+)?):///(?P<path>[^?]*)(?P<query>\?.*)?", re.DOTALL)


def anchored_database(url: str, folder: Path) -> str:
    """``url`` with a relative SQLite file path read from ``folder`` (the config file's): a config names the same
    database whichever folder the command runs from (a cron job's, a service's), instead of silently opening a new,
    empty one beside the caller. Absolute paths, in-memory databases and other databases are returned as given."""
    m = _SQLITE_FILE.fullmatch(url)
    if m is None:
        return url
    path = m["path"]
    if not path or path == ":memory:" or path.startswith("file:") or Path(path).is_absolute():
        return url
    return f"{m['scheme']}:///{(folder / path).resolve()}{m['query'] or ''}"


def sqlite_file(url: str) -> Path | None:
    """The file of a SQLite ``url`` (None for another database or an in-memory one)."""
    m = _SQLITE_FILE.fullmatch(url)
    if m is None or not m["path"] or m["path"] == ":memory:" or m["path"].startswith("file:"):
        return None
    return Path(m["path"])
