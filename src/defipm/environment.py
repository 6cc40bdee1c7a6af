"""defipm's environment variables: the settings overrides, defipm's own other variables, and the one check that
refuses any other name with the ``DEFIPM_`` prefix.

A ``DEFIPM_`` variable is either

- a setting: ``DEFIPM_<KEY>`` for a top-level key (``DEFIPM_RUN``), ``DEFIPM_<SECTION>`` for a whole section as
  JSON, ``DEFIPM_<SECTION>__<KEY>`` for one key of a section (``DEFIPM_RISK__MAX_DRAWDOWN``), and for a
  component's params ``DEFIPM_ORACLE__PARAMS__<KEY>`` (a table-valued param, such as static weights, as JSON:
  variable names lose their case, so ``...__WEIGHTS__BTC`` would name a symbol ``btc``); or
- one of ``OWN_VARIABLES`` below (paths, keys and test switches defipm reads itself), or a name under one of
  ``OWN_PREFIXES`` (the Hyperliquid key variables, named for their network and profile).

Anything else (``DEFIPM_FOO``, a misspelt section ``DEFIPM_RISKS__MAX_DRAWDOWN``, a single underscore
``DEFIPM_RISK_MAX_DRAWDOWN``) would be silently ignored by the settings loader, so ``check_environment`` refuses
it, naming the variable and the nearest correct name. The prefix is reserved: a key variable you name yourself
(Uniswap's ``private_key_env``, ``arb run --key-env``) must not start with ``DEFIPM_`` unless it is listed here.
Names are compared case-insensitively, as the settings loader reads them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator, Mapping
from typing import Any, get_args, get_origin

from pydantic import BaseModel

from defipm.config_schema import near_miss
from defipm.core.errors import ConfigError

PREFIX = "DEFIPM_"
OWN_VARIABLES: Mapping[str, str] = {
    "DEFIPM_PRIVATE_KEY": "Uniswap venue and arb execution: the wallet's hex private key (default name)",
    "DEFIPM_KEYSTORE_PASSWORD": "Uniswap venue and wallets: password of the keystore (default name)",
    "DEFIPM_NODE_MODULES": "chain: the node_modules folder with anvil and the Uniswap artifacts",
    "DEFIPM_ANVIL": "chain: the anvil binary",
    "DEFIPM_CACHE_DIR": "backtest: the price cache folder (default ~/.cache/defipm/prices)",
    "DEFIPM_PG_BINDIR": "testing: PostgreSQL server binaries for the throwaway server",
    "DEFIPM_DATA": "benchmarks: the shared data folder",
    "DEFIPM_REQUIRE_CHAIN": "tests: fail instead of skipping when anvil or the npm artifacts are missing (CI)",
    "DEFIPM_REQUIRE_POSTGRES": "tests: fail instead of skipping when PostgreSQL is missing (CI)",
    "DEFIPM_REQUIRE_BROWSER": "tests: fail instead of skipping when Chromium or chromedriver is missing (CI)",
}
"""defipm's variables that are not settings, with what each is for."""
OWN_PREFIXES: Mapping[str, str] = {
    "DEFIPM_HL_TESTNET_": "Hyperliquid testnet: key, account and keystore password (per profile, see the venue)",
    "DEFIPM_HL_MAINNET_": "Hyperliquid mainnet: key, account and keystore password (per profile, see the venue)",
}
"""Prefixes of defipm's own variables whose full names depend on the config (a profile's name)."""
OWN_PREFIXED = re.compile(
    r"DEFIPM_HL_(TESTNET|MAINNET)_(SECRET_KEY|ACCOUNT_ADDRESS|KEYSTORE_PASSWORD|[A-Z0-9]+(_[A-Z0-9]+)*_SECRET_KEY)"
)
"""The names allowed under ``OWN_PREFIXES`` (upper case): the network's ``SECRET_KEY``, ``ACCOUNT_ADDRESS`` and
``KEYSTORE_PASSWORD``, and a profile's (or a ``secret_key_env``'s) ``<NAME>_SECRET_KEY``; as
``venues/hyperliquid/credentials.py`` reads them. Any other name under the prefixes is a misspelling."""
HL_EXAMPLES = tuple(
    f"DEFIPM_HL_{n}_{v}" for n in ("TESTNET", "MAINNET") for v in ("SECRET_KEY", "ACCOUNT_ADDRESS", "KEYSTORE_PASSWORD")
)
"""The Hyperliquid variables named as near misses of a misspelt one."""
RENAMED: Mapping[str, str] = {
    "DEFIPM_HL_SECRET_KEY": "DEFIPM_HL_TESTNET_SECRET_KEY or DEFIPM_HL_MAINNET_SECRET_KEY",
    "DEFIPM_HL_ACCOUNT_ADDRESS": "DEFIPM_HL_TESTNET_ACCOUNT_ADDRESS or DEFIPM_HL_MAINNET_ACCOUNT_ADDRESS",
    "DEFIPM_HL_KEYSTORE_PASSWORD": "DEFIPM_HL_TESTNET_KEYSTORE_PASSWORD or DEFIPM_HL_MAINNET_KEYSTORE_PASSWORD",
}
"""Network-less names of earlier versions, refused with the names to use (a key never crosses networks)."""
DELIMITER = "__"


def _fields(model: type[BaseModel]) -> dict[str, Any]:
    return {name: field.annotation for name, field in model.model_fields.items()}


def _section(annotation: Any) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _is_table(annotation: Any) -> bool:
    return get_origin(annotation) is dict or annotation is dict or dict in get_args(annotation)


def setting_names(settings: type[BaseModel]) -> Iterator[str]:
    """Every variable name that sets something (``<KEY>`` marks where a component param's name goes)."""
    for name, annotation in _fields(settings).items():
        yield f"{PREFIX}{name.upper()}"
        section = _section(annotation)
        for key, inner in _fields(section).items() if section is not None else ():
            yield f"{PREFIX}{name.upper()}{DELIMITER}{key.upper()}"
            if _is_table(inner):
                yield f"{PREFIX}{name.upper()}{DELIMITER}{key.upper()}{DELIMITER}<KEY>"


def _is_setting(parts: list[str], settings: type[BaseModel]) -> bool:
    fields = _fields(settings)
    if any(not p for p in parts) or parts[0] not in fields:
        return False
    section = _section(fields[parts[0]])
    if section is None or len(parts) == 1:
        return len(parts) == 1
    inner = _fields(section)
    if parts[1] not in inner:
        return False
    return len(parts) == 2 or (len(parts) == 3 and _is_table(inner[parts[1]]))


def is_own_variable(upper: str) -> bool:
    """Whether the (upper-case) name is one of defipm's own variables rather than a setting."""
    return upper in OWN_VARIABLES or OWN_PREFIXED.fullmatch(upper) is not None


def _problem(name: str, settings: type[BaseModel]) -> str:
    upper = name.upper()
    if upper in RENAMED:
        return f"{name}: renamed, so a key is never used on the wrong network: use {RENAMED[upper]}"
    parts = upper[len(PREFIX) :].split(DELIMITER)
    if len(parts) > 3 and _is_setting([p.lower() for p in parts[:3]], settings):
        return (
            f"{name}: too deep (variable names lose their case, so a table such as weights or rules is given whole "
            f"as JSON: {PREFIX}{DELIMITER.join(parts[:3])}='{{\"BTC\": 0.5}}')"
        )
    if upper.startswith(tuple(OWN_PREFIXES)) or upper.startswith("DEFIPM_HL_"):
        return (
            f"{name}: not a Hyperliquid key variable ({near_miss(upper, HL_EXAMPLES)}the names are "
            "DEFIPM_HL_<TESTNET|MAINNET>_ then SECRET_KEY, ACCOUNT_ADDRESS, KEYSTORE_PASSWORD or <PROFILE>_SECRET_KEY)"
        )
    concrete = [k for k in (*setting_names(settings), *OWN_VARIABLES, *HL_EXAMPLES) if "<KEY>" not in k]
    near = near_miss(upper, concrete, cutoff=0.75)
    if near:
        return f"{name}: {near}(it is neither a defipm setting nor one of its own variables)"
    keys = ", ".join(k.upper() for k in _fields(settings))
    return (
        f"{name}: not a defipm setting (DEFIPM_<KEY> or DEFIPM_<SECTION>{DELIMITER}<KEY>, KEY or SECTION one of "
        f"{keys}) nor one of defipm's own variables ({', '.join(OWN_VARIABLES)}); remove it, or rename it without "
        "the DEFIPM_ prefix"
    )


def unknown_variables(settings: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[str]:
    """One problem line per ``DEFIPM_`` variable of ``environ`` (default ``os.environ``) that is neither a setting
    of ``settings`` nor one of ``OWN_VARIABLES``."""
    environ = os.environ if environ is None else environ
    out = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(PREFIX) or is_own_variable(upper):
            continue
        if not _is_setting(upper[len(PREFIX) :].lower().split(DELIMITER), settings):
            out.append(_problem(name, settings))
    return out


def check_environment(settings: type[BaseModel], environ: Mapping[str, str] | None = None) -> None:
    """Raise ``ConfigError`` naming every ``DEFIPM_`` variable that defipm would not read."""
    found = unknown_variables(settings, environ)
    if found:
        raise ConfigError(f"environment: unknown variable(s): {'; '.join(found)}")


def setting_variables(settings: type[BaseModel], environ: Mapping[str, str] | None = None) -> list[str]:
    """The ``DEFIPM_`` variables of ``environ`` that override settings (for the config's source label)."""
    environ = os.environ if environ is None else environ
    return sorted(
        name
        for name in environ
        if name.upper().startswith(PREFIX)
        and not is_own_variable(name.upper())
        and _is_setting(name.upper()[len(PREFIX) :].lower().split(DELIMITER), settings)
    )
