"""The parts every config model is built from, and the one wording of their errors.

- ``ConfigModel``: the base of every section and component config (the settings' sections, each built-in oracle's
  and venue's params). It is frozen, refuses unknown keys, and refuses a boolean where a number is expected
  (pydantic would read ``true`` as 1; a config that says ``max_weight = true`` is a mistake, not 100%).
- Field types with their bounds and the reason for each bound: ``Symbol``, ``Address``, ``Money``, ``FeeFraction`` (and
  ``FeeRate``), ``Leverage``, ``Bps``, ``Impact``, ``Seconds``. The bounds (``MAX_AMOUNT``, ``MAX_FEE``,
  ``MAX_LEVERAGE``, ``BPS_LIMIT``, ``MAX_IMPACT``) are the only ones: the paper venue's params, a backtest's
  options and the learned allocator's costs all read them, so a trading config a backtest replays is never refused
  there for a value paper trading accepts.
- ``near_miss(name, choices)``: the "did you mean X?" of every unknown name.
- ``missing_file(what, path)``: the wording of every "file not found", naming the folder searched.
- ``problems(exc, model, prefix)``: a pydantic ``ValidationError`` as one line per problem, each naming the key
  (``venue.params.initial_cash: ...``); an unknown key also lists the accepted ones and a near miss.
"""

from __future__ import annotations

import difflib
import json
import re
import types
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from defipm.core.amounts import format_amount
from defipm.core.errors import ConfigError
from defipm.core.names import near_miss as near_miss  # re-exported: one wording of a near miss, in the core

MAX_AMOUNT = Decimal("1E+15")
"""Largest amount of money (cash, a deposit, a minimum notional): 1e15 quote units. Books are exact ``Decimal``
arithmetic with 28 significant digits; an amount above 1e15 leaves fewer than 13 digits after the point for
sizes on 1e-8 steps times prices, so fills would start to round. No portfolio holds that much."""
MAX_LEVERAGE = 1000
"""Largest leverage or gross exposure (sum |w|, a multiple of equity). No venue offers more; a larger value is a
unit mistake (a percentage or basis points given as a fraction)."""
MAX_FEE = Decimal("0.1")
"""Largest fee fraction of notional (10%). Fees are fractions (0.00045 = 4.5 bps); a larger value is almost
certainly basis points or a percentage. The one fee bound: the paper venue, a backtest and the learned allocator's
costs all use it, so a config one accepts the others replay."""
BPS_LIMIT = 10_000
"""Every basis-point cost (a half-spread, noise, a slippage cap, the planner's cost reserve) is below 10,000 bps:
a 100% move takes a fill price to zero."""
MAX_IMPACT = 100
"""Largest square-root impact coefficient (0.1: a trade of 1% of a bar's volume moves the price 1%); far beyond it
every trade is at the slippage cap, and a larger value is a unit mistake."""
MAX_SYMBOL_LENGTH = 64


def _symbol(text: str) -> str:
    if not text or text != text.strip() or any(c.isspace() or not c.isprintable() for c in text):
        raise ValueError(f"a symbol is a non-empty name without spaces, got {text!r}")
    if len(text) > MAX_SYMBOL_LENGTH:
        raise ValueError(f"a symbol has at most {MAX_SYMBOL_LENGTH} characters, got {len(text)}")
    return text


Symbol = Annotated[str, AfterValidator(_symbol)]
"""A venue symbol: non-empty, printable, no spaces (``""`` or ``" BTC"`` are refused, not traded)."""

_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")


def is_address(text: str) -> bool:
    """Whether ``text`` is a 0x-prefixed 20-byte hex address (``0x`` and 40 hex digits, any case)."""
    return bool(_ADDRESS.fullmatch(text))


def _address(text: str) -> str:
    if not is_address(text):
        raise ValueError(f"expected an address (0x and 40 hex digits), got {_shown(text)}")
    return text


Address = Annotated[str, AfterValidator(_address)]
"""A 20-byte EVM address as text, ``0x`` and 40 hex digits (a contract's or a wallet's); the checksum of a
mixed-case address is not checked here."""


def _at_most(limit: Decimal | int, why: str) -> Any:
    def check(value: Any) -> Any:
        if value > limit:
            raise ValueError(f"at most {format_amount(limit)} ({why}), got {format_amount(value)}")
        return value

    return AfterValidator(check)


Money = Annotated[
    Decimal, Field(ge=0, allow_inf_nan=False), _at_most(MAX_AMOUNT, "amounts are kept exact to 28 significant digits")
]
"""An amount of quote currency, 0 <= x <= ``MAX_AMOUNT``, exact."""
FeeFraction = Annotated[
    Decimal, Field(ge=0, allow_inf_nan=False), _at_most(MAX_FEE, "a fee is a fraction of notional: 0.00045 = 4.5 bps")
]
"""A fee as a fraction of notional, 0 <= x <= ``MAX_FEE``."""
FeeRate = Annotated[float, Field(ge=0, le=float(MAX_FEE), allow_inf_nan=False)]
"""``FeeFraction`` as a float, for models that compute in floats (the learned allocator's costs)."""
Bps = Annotated[float, Field(ge=0, lt=BPS_LIMIT, allow_inf_nan=False)]
"""A cost in basis points, 0 <= x < ``BPS_LIMIT``."""
Impact = Annotated[float, Field(ge=0, le=MAX_IMPACT, allow_inf_nan=False)]
"""A square-root impact coefficient, 0 <= x <= ``MAX_IMPACT``."""
_LEVERAGE_WHY = "a multiple of equity; no venue offers more"
Leverage = Annotated[Decimal, Field(gt=0, allow_inf_nan=False), _at_most(MAX_LEVERAGE, _LEVERAGE_WHY)]
"""A multiple of equity, 0 < x <= ``MAX_LEVERAGE``."""
Gross = Annotated[float, Field(gt=0, allow_inf_nan=False), _at_most(MAX_LEVERAGE, _LEVERAGE_WHY)]
"""Gross exposure sum |w| as a multiple of equity, 0 < x <= ``MAX_LEVERAGE``."""


def _weight(value: float) -> float:
    if abs(value) > MAX_LEVERAGE:
        raise ValueError(f"at most {MAX_LEVERAGE} in size ({_LEVERAGE_WHY}), got {value}")
    return value


Weight = Annotated[float, Field(allow_inf_nan=False), AfterValidator(_weight)]
"""A target weight: a finite signed fraction of equity, at most ``MAX_LEVERAGE`` in size."""
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
        return value if field is None else mark_booleans(field.annotation, value)


class Boolean:
    """A boolean found where a number is expected. Pydantic refuses it as "not a number" at its own key (so every
    other problem of the same field is still reported); it shows as the boolean it was."""

    __slots__ = ("value",)

    def __init__(self, value: bool) -> None:
        self.value = value

    def __repr__(self) -> str:
        return repr(self.value)


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


def mark_booleans(annotation: Any, value: Any) -> Any:
    """``value`` with every boolean that ``annotation`` (a type or a model) would read as a number replaced by a
    ``Boolean``, which validation then refuses at its key."""
    arms = _arms(annotation)
    if isinstance(value, bool):
        wants_number = any(isinstance(arm, type) and issubclass(arm, _NUMBERS) for arm in arms)
        return Boolean(value) if wants_number and not _admits_bool(arms) else value
    for arm in arms:
        origin, args = get_origin(arm), get_args(arm)
        if isinstance(value, dict) and isinstance(arm, type) and issubclass(arm, BaseModel):
            fields = arm.model_fields
            return {k: mark_booleans(fields[k].annotation, v) if k in fields else v for k, v in value.items()}
        if isinstance(value, dict) and origin in (dict, Mapping) and len(args) == 2:
            return {key: mark_booleans(args[1], item) for key, item in value.items()}
        if isinstance(value, list | tuple) and origin in (list, tuple, Sequence) and args:
            return type(value)(mark_booleans(args[0], item) for item in value)
    return value


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"key {key!r} appears twice")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number (JSON has no NaN or Infinity)")


def strict_json(text: str) -> Any:
    """``json.loads`` that refuses a duplicated key (plain JSON keeps the last one silently) and the non-standard
    ``NaN`` / ``Infinity``. Raises ``ValueError`` (``json.JSONDecodeError`` for bad syntax)."""
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)


# -- error wording ---------------------------------------------------------------------------------------------
_WHOLE = {"int_parsing", "int_type", "int_from_float", "int_parsing_size"}
_NUMBER = {"float_parsing", "float_type", "decimal_parsing", "decimal_type"}


def utc_datetime(text: str | None, option: str) -> datetime | None:
    """An ISO date or time given as ``option`` (``2024-05-01``, ``2024-05-01T06:00``, with or without an offset)
    as an aware datetime, UTC when no offset is given; None for None. ``ConfigError`` naming ``option`` otherwise."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{option} {text!r} is not an ISO date or time (YYYY-MM-DD[THH:MM])") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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


def missing_file(what: str, path: str | Path) -> str:
    """``WHAT not found: PATH (looked in FOLDER ...)``, or ``WHAT PATH is a folder, not a file``: the absolute folder searched (a relative path is read from
    the current folder), a near miss among that folder's files, or that the folder itself does not exist."""
    p = Path(path)
    if p.is_dir():
        return f"{what} {p} is a folder, not a file"
    folder = (p.parent if p.is_absolute() else Path.cwd() / p.parent).resolve()
    if not folder.is_dir():
        where = f"the folder {folder} does not exist"
    else:
        try:  # a near miss by name, among the files of the same type (every .toml looks alike by its suffix)
            names = {f.stem: f.name for f in folder.iterdir() if f.is_file() and f.suffix == p.suffix}
        except OSError:
            names = {}
        near = difflib.get_close_matches(p.stem, list(names), n=1, cutoff=0.6)
        where = f"looked in {folder}" + (f"; did you mean {names[near[0]]}?" if near else "")
    return f"{what} not found: {p} ({where})"


def unknown_key(key: str, accepted: Sequence[str]) -> str:
    """``unknown key`` with a near miss (``did you mean max_weight?``) and the accepted keys."""
    hint = near_miss(key, accepted)
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
    if kind == "path_not_file" and isinstance(got, str | Path):
        return missing_file("file", got)
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in _WHOLE:
        return f"expected a whole number, got {_shown(got)}"
    if kind in _NUMBER:
        return f"expected a number, got {_shown(got)}"
    if kind == "finite_number":
        return f"expected a finite number, got {_shown(got)}"
    return f"{str(err['msg'])[:1].lower()}{str(err['msg'])[1:]} (got {_shown(got)})"


def _key(part: Any) -> str:
    text = str(part)
    return text if text and text.isprintable() and not any(c in text for c in ". ") else repr(text)


def problems(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> list[str]:
    """One line per problem of ``exc`` (raised validating ``model``), each starting with the key's dotted path
    under ``prefix`` (``oracle.params``); a bad table key reads ``weights: key '': ...``."""
    lines = []
    for err in exc.errors():
        loc = list(err["loc"])
        what = ""
        if loc and loc[-1] == "[key]":  # the key itself of a table is wrong
            loc, what = loc[:-2], f"key {str(loc[-2])!r}: "
        where = ".".join([prefix] * bool(prefix) + [_key(p) for p in loc]) or "(top level)"
        lines.append(f"{where}: {what}{describe_error(err, model)}")
    return lines
