"""What the registry needs from an oracle or venue class: a config model, and a way to build from it.

``Oracle`` and ``Venue`` inherit ``Configurable``. A class declares ``config_model``, the pydantic model of its
``[oracle.params]`` / ``[venue.params]`` (built-ins use ``defipm.config_schema.ConfigModel``: unknown keys refused,
no boolean for a number, bounded values), and overrides ``from_config(config, context)`` when it is built from
more than the model (the store, the market view); by default ``cls(config)`` is called.

A plugin class without a config model keeps working: its model is derived from its constructor's type hints
(``constructor_model``), so ``def __init__(self, lookback: int = 30)`` refuses ``lookback = "abc"`` by name, and
``from_config`` calls the constructor with the validated values (plus ``store`` / ``market`` from the context when
it takes them). A constructor with ``**kwargs`` accepts any other key.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from defipm.config_schema import ConfigModel

CONTEXT_ARGUMENTS = ("store", "market")
"""Constructor parameters filled from the ``BuildContext``, never from params."""


@dataclass(frozen=True, slots=True)
class BuildContext:
    """What a component may need besides its params: the store and the run name."""

    store: Any = None
    run: str = "default"
    market: Any = None
    """The point-in-time market view (``defipm.data.MarketView``) for oracles that read prices (backtests)."""
    venue: str | None = None
    """Kind of the venue the portfolio trades on (e.g. "hyperliquid"), for oracles that adapt to it."""


class Configurable:
    """A component the registry builds from config params (see the module docstring)."""

    config_model: ClassVar[type[BaseModel] | None] = None
    """The pydantic model of this component's config params; None derives one from the constructor."""

    @classmethod
    def from_config(cls, config: Any, context: BuildContext) -> Self:
        """Build from validated params. Default: ``cls(config)``, or the constructor's keyword arguments when the
        model was derived from it."""
        if cls.config_model is None:
            return cls(**constructor_arguments(cls, config, context))
        return cls(config)  # type: ignore[call-arg]


class _ConstructorParams(ConfigModel):
    model_config = ConfigDict(extra="forbid", frozen=True, arbitrary_types_allowed=True)


class _OpenConstructorParams(ConfigModel):
    model_config = ConfigDict(extra="allow", frozen=True, arbitrary_types_allowed=True)


def _usable(annotation: Any) -> Any:
    """The annotation when pydantic can check it, else ``Any`` (the constructor checks it)."""
    try:
        TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
    except Exception:  # any type pydantic cannot build a schema for
        return Any
    return annotation


_DERIVED: dict[type, type[BaseModel]] = {}


def constructor_model(cls: type) -> type[BaseModel]:
    """A config model of ``cls``'s constructor: one field per keyword parameter (its type hint, its default),
    except ``store`` and ``market``; unknown keys refused unless the constructor takes ``**kwargs``."""
    if cls in _DERIVED:
        return _DERIVED[cls]
    parameters = inspect.signature(cls).parameters
    try:
        hints = typing.get_type_hints(cls.__init__)  # type: ignore[misc]
    except Exception:  # a hint naming something only imported for type checking: leave the checks to cls
        hints = {}
    fields: dict[str, Any] = {}
    for name, p in parameters.items():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD, p.POSITIONAL_ONLY) or name in CONTEXT_ARGUMENTS:
            continue
        fields[name] = (_usable(hints.get(name, Any)), ... if p.default is p.empty else p.default)
    open_ = any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    base = _OpenConstructorParams if open_ else _ConstructorParams
    model = _DERIVED[cls] = create_model(f"{cls.__name__}Params", __base__=base, **fields)
    return model


def constructor_arguments(cls: type, config: BaseModel, context: BuildContext) -> dict[str, Any]:
    """Keyword arguments for ``cls(...)``: the validated fields (and extra keys), plus ``store`` / ``market``
    from ``context`` when the constructor takes them."""
    kwargs = {name: getattr(config, name) for name in type(config).model_fields}
    kwargs.update(config.model_extra or {})
    parameters = inspect.signature(cls).parameters
    if "store" in parameters:
        kwargs["store"] = context.store
    if "market" in parameters and context.market is not None:
        kwargs["market"] = context.market
    return kwargs
