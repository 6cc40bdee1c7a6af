"""The parts every config model is built from, and the one wording of their errors.

- ``ConfigModel``: the base of every section and component config (the settings' sections, each built-in oracle's
  and venue's params). It is frozen, refuses unknown keys, and refuses a boolean where a number is expected
  (pydantic would read ``true`` as 1; a config that says ``max_weight = true`` is a mistake, not 100%).
- Field types with their bounds and the reason for each bound: ``Symbol``, ``Money``, ``FeeFraction``,
  ``Leverage``, ``Seconds``.
- ``problems(exc, model, prefix)``: a pydantic ``ValidationError`` as one line per problem, each naming the key
  (``venue.params.initial_cash: ...``); an unknown key also lists the accepted ones and a near miss.
"""

from __future__ import annotations

import difflib
import json
import types
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

MAX_AMOUNT = Decimal(10) ** 15
"""Largest amount of money (cash, a deposit, a minimum notional): 1e15 quote units. Books are exact ``Decimal``
arithmetic with 28 significant digits; an amount above 1e15 leaves fewer than 13 digits after the point for
sizes on 1e-8 steps times prices, so fills would start to round. No portfolio holds that much."""
MAX_LEVERAGE = 1000
"""Largest leverage or gross exposure (sum |w|, a multiple of equity). No venue offers more; a larger value is a
unit mistake (a percentage or basis points given as a fraction)."""
MAX_FEE = Decimal("0.1")
"""Largest fee fraction of notional (10%). Fees are fractions (0.00045 = 4.5 bps); a larger value is almost
certainly basis points or a percentage."""
MAX_SYMBOL_LENGTH = 64


def _symbol(text: str) -> str:
    if not text or text != text.strip() or any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"a symbol is a non-empty name without spaces, got {text!r}")
    if len(text) > MAX_SYMBOL_LENGTH:
        raise ValueError(f"a symbol has at most {MAX_SYMBOL_LENGTH} characters, got {len(text)}")
    return text


Symbol = Annotated[str, AfterValidator(_symbol)]
"""A venue symbol: non-empty, printable, no spaces (``""`` or ``" BTC"`` are refused, not traded)."""
Money = Annotated[Decimal, Field(ge=0, le=MAX_AMOUNT, allow_inf_nan=False)]
"""An amount of quote currency, 0 <= x <= ``MAX_AMOUNT``, exact."""
FeeFraction = Annotated[Decimal, Field(ge=0, le=MAX_FEE, allow_inf_nan=False)]
"""A fee as a fraction of notional, 0 <= x <= ``MAX_FEE``."""
Leverage = Annotated[Decimal, Field(gt=0, le=MAX_LEVERAGE, allow_inf_nan=False)]
"""A multiple of equity, 0 < x <= ``MAX_LEVERAGE``."""
Gross = Annotated[float, Field(gt=0, le=MAX_LEVERAGE, allow_inf_nan=False)]
"""Gross exposure sum |w| as a multiple of equity, 0 < x <= ``MAX_LEVERAGE``."""
Seconds = Annotated[float, Field(ge=0.001, le=366 * 86_400, allow_inf_nan=False)]
"""A duration in seconds, from 1 ms (below it the clock cannot tell) to a year."""
Seed = Annotated[int, Field(ge=0, lt=2**63)]
"""A random seed (numpy accepts non-negative seeds only)."""


class ConfigModel(BaseModel):
    """Base of every config model: frozen, unknown keys refused, no boolean where a number is expected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None:
            where = _boolean_for_number(field.annotation, value)
            if where is not None:
                path, found, whole = where
                at = f" (at {'.'.join(path)})" if path else ""
                raise ValueError(f"expected {'a whole number' if whole else 'a number'}, got {found!r}{at}")
        return value


_NUMBERS = (int, float, Decimal)


def _arms(annotation: Any) -> list[Any]:
    """The alternatives of a type: ``Annotated`` unwrapped, unions split."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _arms(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [arm for a in get_args(annotation) for arm in _arms(a)]
    return [annotation]


def _admits_bool(arms: list[Any]) -> bool:
    for arm in arms:
        if arm is bool or arm is Any or arm is object:
            return True
        if get_origin(arm) is Literal and any(isinstance(v, bool) for v in get_args(arm)):
            return True
    return False


def _boolean_for_number(annotation: Any, value: Any) -> tuple[list[str], bool, bool] | None:
    """Where ``value`` holds a boolean that ``annotation`` would read as a number: (key path, the boolean, whether
    a whole number is expected)."""
    arms = _arms(annotation)
    if isinstance(value, bool):
        numbers = [arm for arm in arms if isinstance(arm, type) and issubclass(arm, _NUMBERS)]
        return ([], value, all(n is int for n in numbers)) if numbers and not _admits_bool(arms) else None
    for arm in arms:
        origin, args = get_origin(arm), get_args(arm)
        if isinstance(value, Mapping) and origin in (dict, Mapping) and len(args) == 2:
            for key, item in value.items():
                found = _boolean_for_number(args[1], item)
                if found is not None:
                    return [str(key), *found[0]], found[1], found[2]
        if isinstance(value, list | tuple) and origin in (list, tuple, Sequence) and args:
            for index, item in enumerate(value):
                found = _boolean_for_number(args[0], item)
                if found is not None:
                    return [str(index), *found[0]], found[1], found[2]
    return None


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses a duplicated key (plain JSON keeps the last one silently) and the non-standard
    ``NaN`` / ``Infinity``. Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


# -- error wording ---------------------------------------------------------------------------------------------
_WHOLE = {"int_parsing", "int_type", "int_from_float", "int_parsing_size"}
_NUMBER = {"float_parsing", "float_type", "decimal_parsing", "decimal_type"}


def _shown(value: Any) -> str:
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _model_at(model: type[BaseModel], path: Sequence[Any]) -> type[BaseModel] | None:
    """The model that holds the key at ``path`` (the keys before the unknown one), if the path leads to one."""
    current: Any = model
    for part in path:
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            if field is None:
                return None
            current = field.annotation
        else:  # a table or list: the part is a key or an index, the value type is the next step
            for arm in _arms(current):
                args = get_args(arm)
                if get_origin(arm) in (dict, Mapping) and len(args) == 2:
                    current = args[1]
                    break
                if get_origin(arm) in (list, tuple, Sequence) and args:
                    current = args[0]
                    break
            else:
                return None
        arms = [a for a in _arms(current) if a is not type(None)]
        current = arms[0] if len(arms) == 1 else current
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def unknown_key(key: str, accepted: Sequence[str]) -> str:
    """``unknown key`` with a near miss (``did you mean max_weight?``) and the accepted keys."""
    near = difflib.get_close_matches(key, accepted, n=1, cutoff=0.6)
    hint = f"did you mean {near[0]}? " if near else ""
    return f"unknown key ({hint}accepted: {', '.join(accepted) or 'none'})"


def describe_error(err: Any, model: type[BaseModel]) -> str:
    """One pydantic error (an item of ``ValidationError.errors()``) in words, without its location."""
    kind, got, loc = err["type"], err.get("input"), tuple(err["loc"])
    if kind == "extra_forbidden":
        holder = _model_at(model, loc[:-1])
        accepted = list(holder.model_fields) if holder is not None else []
        return unknown_key(str(loc[-1]), accepted) if holder is not None else "unknown key"
    if kind == "missing":
        return "required key is missing"
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in _WHOLE:
        return f"expected a whole number, got {_shown(got)}"
    if kind in _NUMBER:
        return f"expected a number, got {_shown(got)}"
    if kind == "finite_number":
        return f"expected a finite number, got {_shown(got)}"
    return f"{str(err['msg'])[:1].lower()}{str(err['msg'])[1:]} (got {_shown(got)})"


def problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """One line per problem of ``exc`` (raised validating ``model``), each starting with the key's dotted path
    under ``prefix`` (``oracle.params``)."""
    lines = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"])
        where = ".".join(p for p in (prefix, loc) if p) or "(top level)"
        lines.append(f"{where}: {describe_error(err, model)}")
    return lines
