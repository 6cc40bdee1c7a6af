"""Oracles and venues by name: the built-ins plus third-party ones registered as entry points.

A package adds an oracle with, in its ``pyproject.toml``::

    [project.entry-points."defipm.oracles"]
    my_signal = "my_package.oracle:MySignalOracle"

and a venue under ``"defipm.venues"``. A config then says ``kind = "my_signal"``.

One construction path for every component: the class's ``config_model`` (derived from its constructor when it
declares none, see ``defipm.component``) validates the params, then ``cls.from_config(config, context)`` builds
it. Every problem is one ``ConfigError`` line naming the key (``oracle.params.lookback: expected a whole number,
got 'abc'``); an unknown key lists the accepted ones and the nearest.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel, ValidationError

from defipm.component import BuildContext, Configurable, constructor_model
from defipm.config_schema import near_miss, problems
from defipm.core.errors import ConfigError
from defipm.extras import install_hint
from defipm.oracles.base import Oracle
from defipm.venues.base import Venue

__all__ = [
    "BUILTIN_ORACLES",
    "BUILTIN_VENUES",
    "BuildContext",
    "ComponentSpec",
    "available_oracles",
    "available_venues",
    "build_oracle",
    "build_venue",
    "oracle_class",
    "oracle_spec",
    "venue_spec",
]

BUILTIN_ORACLES = {
    "static": "defipm.oracles.static:StaticOracle",
    "equal_weight": "defipm.oracles.equal_weight:EqualWeightOracle",
    "momentum": "defipm.oracles.momentum:MomentumOracle",
    "tbn": "defipm.oracles.tbn:TBNOracle",
    "classifier": "defipm.oracles.classifier:ClassifierOracle",
    "ppo": "defipm.oracles.ppo:PPOOracle",
    "ppo_rotation": "defipm.oracles.ppo_rotation:PPORotationOracle",
}
BUILTIN_VENUES = {
    "paper": "defipm.venues.paper.venue:PaperVenue",
    "hyperliquid": "defipm.venues.hyperliquid.venue:HyperliquidVenue",
    "uniswap": "defipm.venues.uniswap.venue:UniswapVenue",
}
BUILTIN_EXTRAS = {"tbn": "numerai", "hyperliquid": "hyperliquid", "uniswap": "chain", "ppo": "rl", "ppo_rotation": "rl"}
"""The extra that installs what a built-in needs beyond the base package."""
C = TypeVar("C", bound=Configurable)


def _available(group: str, builtins: Mapping[str, str]) -> dict[str, str]:
    found = dict(builtins)
    for ep in entry_points(group=group):
        found.setdefault(ep.name, ep.value)
    return found


def available_oracles() -> dict[str, str]:
    return _available("defipm.oracles", BUILTIN_ORACLES)


def available_venues() -> dict[str, str]:
    return _available("defipm.venues", BUILTIN_VENUES)


def _candidates(kind: str, group: str, builtins: Mapping[str, str]) -> Mapping[str, str]:
    """Where to look ``kind`` up: the built-ins when it is one (a built-in wins over an entry point of the same
    name, so the installed distributions need not be scanned: ~20 ms of every command's start-up), else every
    available component."""
    return builtins if kind in builtins else _available(group, builtins)


def _load_class(kind: str, group: str, registry: Mapping[str, str], base: type) -> type:
    target = registry.get(kind)
    if target is None:
        hint = near_miss(str(kind), list(registry))
        raise ConfigError(f"{group}: unknown kind {kind!r} ({hint}available: {', '.join(sorted(registry))})")
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        extra = BUILTIN_EXTRAS.get(kind)
        fix = install_hint(extra) if extra else "install the package that provides it"
        raise ConfigError(f"{group} {kind!r} needs a package that is not installed ({exc.name}): {fix}") from None
    cls = vars(module).get(attr)
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"{group} {kind!r}: {target} is not a {base.__name__} subclass (fix its entry point)")
    return cls


@dataclass(frozen=True, slots=True)
class ComponentSpec(Generic[C]):
    """A component whose params are validated, not yet built (so a whole config is checked before anything is
    opened or written)."""

    cls: type[C]
    config: BaseModel
    what: str
    """"oracle" or "venue", for messages."""
    sources: Mapping[str, str] = field(default_factory=dict)
    """Where the user set a param, by its name, when not in the config's ``[oracle.params]`` (``-p max_gross=...``
    on a backtest's command line): a rejected target names that as its fix."""

    def build(self, context: BuildContext | None = None) -> C:
        """``cls.from_config(config, context)``; a refusal it raises is a ``ConfigError`` naming the component."""
        try:
            built = self.cls.from_config(self.config, context or BuildContext())
        except ValueError as exc:  # a refusal the model cannot see (e.g. a stored account in another mode)
            raise ConfigError(f"{self.what} {self.cls.__name__}: {exc}") from None
        except TypeError as exc:
            if self.cls.config_model is not None:
                raise  # our own bug: never dressed up as a config problem
            raise ConfigError(f"{self.what} {self.cls.__name__}: {exc}") from None
        _name_limit_keys(built, self.config, self.what, self.sources)
        return built


LIMIT_PARAMS = {
    "max_gross": ("max_gross", "gross"),
    "target_gross": ("target_gross", "gross"),
    "max_weight": ("max_weight",),
    "target_net": ("target_net",),
    "symbols": ("weights", "symbols", "path"),
}
"""For each weight limit, the params that may set it, first match wins: a rejected target names the key to edit."""


def _name_limit_keys(component: object, config: BaseModel, what: str, sources: Mapping[str, str]) -> None:
    """Give a built oracle's ``constraints`` the keys that set its limits, as the user set them (``sources``, e.g.
    ``-p max_gross=...``; else the config's ``[oracle.params] max_gross``; a weights file by its path), so "gross
    exposure 100 above max_gross 1" says what to edit. Of the params that may set a limit, the one given wins."""
    from defipm.core.validation import WeightConstraints

    constraints = getattr(component, "constraints", None)
    if not isinstance(constraints, WeightConstraints) or constraints.keys:
        return
    fields, given = type(config).model_fields, config.model_fields_set
    keys = {}
    for limit, params in LIMIT_PARAMS.items():
        found = next((p for p in params if p in given), None) or next((p for p in params if p in fields), None)
        if found is None:
            continue
        key = sources.get(found) or f"[{what}.params] {found}"
        value = getattr(config, found, None)
        keys[limit] = f"the file {value}, set by {key}" if found == "path" and value is not None else key
    if keys:
        component.constraints = replace(constraints, keys=keys)  # type: ignore[attr-defined]


def _spec(
    cls: type[C], params: Mapping[str, Any], what: str, sources: Mapping[str, str] | None = None
) -> ComponentSpec[C]:
    """Validate ``params`` with the class's config model (derived from its constructor when it declares none)."""
    model = cls.config_model or constructor_model(cls)
    if not isinstance(params, Mapping):
        raise ConfigError(f"{what}.params: expected a table of key = value, got {params!r}")
    try:
        return ComponentSpec(cls, model.model_validate(dict(params)), what, dict(sources or {}))
    except ValidationError as exc:
        raise ConfigError("; ".join(problems(exc, model, f"{what}.params"))) from None


def oracle_class(kind: str) -> type[Oracle]:
    """The oracle class registered as ``kind`` (``ConfigError`` naming the near miss, or the missing extra)."""
    return cast(type[Oracle], _load_class(kind, "oracle", _candidates(kind, "defipm.oracles", BUILTIN_ORACLES), Oracle))


def oracle_spec(
    kind: str, params: Mapping[str, Any], cls: type[Oracle] | None = None, sources: Mapping[str, str] | None = None
) -> ComponentSpec[Oracle]:
    """The oracle registered as ``kind`` (``cls`` when already looked up, e.g. once for a whole grid) with its
    params validated (``ConfigError`` naming every bad key); ``sources``: where the user set a param, by name,
    when not in the config (see ``ComponentSpec.sources``)."""
    return _spec(cls or oracle_class(kind), params, "oracle", sources)


def venue_spec(kind: str, params: Mapping[str, Any]) -> ComponentSpec[Venue]:
    """The venue registered as ``kind`` with its params validated (``ConfigError`` naming every bad key)."""
    cls = _load_class(kind, "venue", _candidates(kind, "defipm.venues", BUILTIN_VENUES), Venue)
    return _spec(cast(type[Venue], cls), params, "venue")


def build_oracle(
    kind: str, params: Mapping[str, Any], context: BuildContext | None = None, sources: Mapping[str, str] | None = None
) -> Oracle:
    """The oracle registered as ``kind``, built from ``params`` (``ConfigError`` naming every bad key); a rejected
    target names the param to edit as ``sources`` says the user set it (default: the config's ``[oracle.params]``)."""
    return oracle_spec(kind, params, sources=sources).build(context)


def build_venue(kind: str, params: Mapping[str, Any], context: BuildContext | None = None) -> Venue:
    """The venue registered as ``kind``, built from ``params`` (``ConfigError`` naming every bad key)."""
    return venue_spec(kind, params).build(context)
