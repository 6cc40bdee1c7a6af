"""Oracles and venues by name: the built-ins plus third-party ones registered as entry points.

A package adds an oracle with, in its ``pyproject.toml``::

    [project.entry-points."defipm.oracles"]
    my_signal = "my_package.oracle:MySignalOracle"

and a venue under ``"defipm.venues"``. A config then says ``kind = "my_signal"``. A class may define
``from_params(cls, params, context)`` to build itself from config params; otherwise ``cls(**params)`` is called.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

from pydantic import ValidationError

from defipm.core.errors import ConfigError
from defipm.oracles.base import Oracle
from defipm.venues.base import Venue

BUILTIN_ORACLES = {
    "static": "defipm.oracles.static:StaticOracle",
    "equal_weight": "defipm.oracles.equal_weight:EqualWeightOracle",
    "momentum": "defipm.oracles.momentum:MomentumOracle",
    "tbn": "defipm.oracles.tbn:TBNOracle",
    "classifier": "defipm.oracles.classifier:ClassifierOracle",
}
BUILTIN_VENUES = {
    "paper": "defipm.venues.paper.venue:PaperVenue",
    "hyperliquid": "defipm.venues.hyperliquid.venue:HyperliquidVenue",
    "uniswap": "defipm.venues.uniswap.venue:UniswapVenue",
}


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a component may need besides its params: the store and the run name."""

    store: Any = None
    run: str = "default"
    market: Any = None
    """The point-in-time market view (``defipm.data.MarketView``) for oracles that read prices (backtests)."""
    venue: str | None = None
    """Kind of the venue the portfolio trades on (e.g. "hyperliquid"), for oracles that adapt to it."""


def _available(group: str, builtins: Mapping[str, str]) -> dict[str, str]:
    found = dict(builtins)
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep.value)
    return found


def available_oracles() -> dict[str, str]:
    return _available("defipm.oracles", BUILTIN_ORACLES)


def available_venues() -> dict[str, str]:
    return _available("defipm.venues", BUILTIN_VENUES)


def _load_class(kind: str, group: str, registry: Mapping[str, str]) -> type:
    target = registry.get(kind)
    if target is None:
        raise ConfigError(f"{group}: unknown kind {kind!r} (available: {', '.join(sorted(registry))})")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise ConfigError(
            f"{group} {kind!r} needs a package that is not installed ({exc.name}); "
            f"install the matching extra, e.g. pip install 'defipm[{kind}]'"
        ) from None
    return getattr(module, attr)  # type: ignore[no-any-return]


def _build(cls: type, params: Mapping[str, Any], context: BuildContext, what: str) -> Any:
    factory = getattr(cls, "from_params", None)
    if factory is not None:
        return factory(dict(params), context)
    config_model = getattr(cls, "config_model", None)
    if config_model is not None:  # one pydantic model: cls.from_config(model, context), else cls(model)
        try:
            config = config_model(**params)
        except ValidationError as exc:
            problems = "; ".join(
                f"{what}.params.{'.'.join(str(p) for p in e['loc'])}: "
                + ("unknown key" if e["type"] == "extra_forbidden" else str(e["msg"]).lower())
                for e in exc.errors()
            )
            raise ConfigError(problems) from None
        from_config = getattr(cls, "from_config", None)
        return from_config(config, context) if from_config is not None else cls(config)
    signature = inspect.signature(cls)
    accepted = set(signature.parameters)
    if not any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values()):
        unknown = sorted(set(params) - accepted)
        if unknown:
            raise ConfigError(
                f"{what}.params: unknown key(s) {', '.join(unknown)} for {cls.__name__} "
                f"(accepted: {', '.join(sorted(accepted - {'self'}))})"
            )
    for key, value in params.items():  # a plain constructor's numeric parameters: name the key, not a TypeError
        annotation = signature.parameters[key].annotation if key in signature.parameters else None
        wants = {"int": (int,), "float": (int, float)}.get(annotation if isinstance(annotation, str) else "")
        if wants is not None and (isinstance(value, bool) or not isinstance(value, wants)):
            kind = "a whole number" if annotation == "int" else "a number"
            raise ConfigError(f"{what}.params.{key}: expected {kind}, got {value!r}")
    kwargs = dict(params)
    if "store" in accepted and "store" not in kwargs:
        kwargs["store"] = context.store
    if "market" in accepted and "market" not in kwargs and context.market is not None:
        kwargs["market"] = context.market
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what}.params: {exc}") from None


def build_oracle(kind: str, params: Mapping[str, Any], context: BuildContext | None = None) -> Oracle:
    cls = _load_class(kind, "oracle", available_oracles())
    oracle = _build(cls, params, context or BuildContext(), "oracle")
    if not isinstance(oracle, Oracle):
        raise ConfigError(f"oracle {kind!r} built a {type(oracle).__name__}, not an Oracle")
    return oracle


def build_venue(kind: str, params: Mapping[str, Any], context: BuildContext | None = None) -> Venue:
    cls = _load_class(kind, "venue", available_venues())
    venue = _build(cls, params, context or BuildContext(), "venue")
    if not isinstance(venue, Venue):
        raise ConfigError(f"venue {kind!r} built a {type(venue).__name__}, not a Venue")
    return venue
