"""Protocol adapters for pool snapshot files: JSON rows to ``V2Pool`` / ``V3Pool`` objects.

The V2 row format is the one of the public Uniswap V2 snapshots (``{address, token0: {address, symbol, decimal},
token1: {...}, reserve0, reserve1}``, optional ``fee_bps``). A row with ``"kind": "v3"`` instead carries
``sqrt_price_x96, tick, liquidity, fee`` (pips), ``tick_spacing`` and ``ticks`` (``{tick: liquidityNet}``).

Rows are validated with pydantic models (``V2Row``, ``V3Row``, ``TokenRow``): integers of any size as JSON numbers
or decimal text (never booleans or fractions), addresses as 20-byte hex, decimals 0..77, a V2 fee below 100%.
Bad rows never stop a load: each is skipped with its row number, its address and the reason naming every bad field
(``reserve1: not an integer: 'lots'``; also zero or too small reserves, duplicate address, a token traded against
itself) in ``SnapshotLoad.skipped``. ``parse_rows`` raises ``DataError`` only for rows that are not a list;
``load_snapshot`` also for an unreadable file and for a file with no usable pool (an empty list, or rows that all
lack fields), naming the file and what its rows miss.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from pydantic import AliasChoices, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from defipm.amm.errors import AmmError
from defipm.amm.v3_pool import V3PoolState
from defipm.arb.pools import Pool, Token, V2Pool, V3Pool
from defipm.core.errors import DataError

__all__ = ["ROW_MODELS", "SkippedRow", "SnapshotLoad", "TokenRow", "V2Row", "V3Row", "load_snapshot", "parse_rows"]

MAX_DECIMALS = 77  # 10**77 < 2**256


@dataclass(frozen=True, slots=True)
class SkippedRow:
    """A snapshot row left out of the graph, with why."""

    row: int
    address: str | None
    reason: str


@dataclass
class SnapshotLoad:
    """Pools and tokens loaded from a snapshot, and the rows skipped."""

    pools: list[Pool] = field(default_factory=list)
    tokens: dict[str, Token] = field(default_factory=dict)
    skipped: list[SkippedRow] = field(default_factory=list)


def _address(value: Any) -> str:
    if not isinstance(value, str) or not _ADDRESS.fullmatch(value):
        raise ValueError(f"not a 20-byte hex address: {value!r}")
    return value.lower()


def _integer(value: Any) -> int:
    """An integer of any size, given as a JSON number without fraction or as decimal text (big reserves)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value)
        except ValueError:
            pass
    raise ValueError(f"not an integer: {value!r}")


_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
Address = Annotated[str, BeforeValidator(_address)]
Integer = Annotated[int, BeforeValidator(_integer)]


class _Row(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class TokenRow(_Row):
    """A token of a pool row: address, symbol (optional) and decimals (``decimal`` in the public V2 snapshots)."""

    address: Address
    symbol: str | None = None
    decimals: Annotated[Integer, Field(ge=0, le=MAX_DECIMALS, validation_alias=AliasChoices("decimal", "decimals"))]

    @model_validator(mode="before")
    @classmethod
    def _known_decimals(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and raw.get("decimal", raw.get("decimals")) is None:
            raise ValueError("unknown decimals (no 'decimal' or 'decimals' given)")
        return raw

    def token(self) -> Token:
        return Token(self.address, self.symbol or self.address[:10], self.decimals)


class V2Row(_Row):
    """A Uniswap V2 pair: reserves in base units and the swap fee in basis points (default 30)."""

    address: Address
    token0: TokenRow
    token1: TokenRow
    reserve0: Integer
    reserve1: Integer
    fee_bps: Annotated[Integer, Field(ge=0, lt=10_000)] = 30


class V3Row(_Row):
    """A Uniswap V3 pool's swap state: sqrtPriceX96, tick, active liquidity, fee (pips), tick spacing and the
    initialized ticks' liquidityNet."""

    address: Address
    token0: TokenRow
    token1: TokenRow
    sqrt_price_x96: Integer
    tick: Integer
    liquidity: Integer
    fee: Integer
    tick_spacing: Integer
    ticks: dict[Integer, Integer] = {}


ROW_MODELS: dict[str, type[V2Row] | type[V3Row]] = {"v2": V2Row, "v3": V3Row}
"""The model of each pool kind (a row's ``kind``, "v2" when absent)."""


def _reason(exc: ValidationError) -> str:
    """Every problem of a row, each named by its key as the row spells it (``token0.decimal: ...``)."""
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _pool(raw: Mapping[str, Any], min_reserve: int) -> tuple[Pool, Token, Token]:
    """The pool of one row; ValueError with the reason when the row is refused."""
    kind = raw.get("kind", "v2")
    model = ROW_MODELS.get(kind) if isinstance(kind, str) else None
    if model is None:
        raise ValueError(f"unknown pool kind {kind!r} (expected one of {sorted(ROW_MODELS)})")
    try:
        row = model.model_validate(raw)
    except ValidationError as exc:
        raise ValueError(_reason(exc)) from None
    t0, t1 = row.token0.token(), row.token1.token()
    if t0.address == t1.address:
        raise ValueError(f"token0 and token1 are the same token {t0.address}")
    if isinstance(row, V2Row):
        if row.reserve0 < min_reserve or row.reserve1 < min_reserve:
            raise ValueError(
                f"reserves ({row.reserve0}, {row.reserve1}) below the minimum {min_reserve} (drained pool)"
            )
        return V2Pool(row.address, t0.address, t1.address, row.reserve0, row.reserve1, row.fee_bps), t0, t1
    try:
        state = V3PoolState(row.sqrt_price_x96, row.tick, row.liquidity, row.fee, row.tick_spacing, dict(row.ticks))
    except AmmError as exc:
        raise ValueError(str(exc)) from None
    if state.liquidity <= 0:
        raise ValueError("no active liquidity (drained pool)")
    return V3Pool(row.address, t0.address, t1.address, state), t0, t1


def parse_rows(rows: Any, min_reserve: int = 1) -> SnapshotLoad:
    """Turn decoded JSON rows into pools, skipping bad ones with a reason."""
    if not isinstance(rows, list):
        raise DataError(f"a pool snapshot must be a JSON list of rows, got {type(rows).__name__}")
    out = SnapshotLoad()
    seen: set[str] = set()
    for i, raw in enumerate(rows):
        addr = raw.get("address") if isinstance(raw, Mapping) else None
        try:
            if not isinstance(raw, Mapping):
                raise ValueError(f"row is a {type(raw).__name__}, not an object")
            pool, t0, t1 = _pool(raw, min_reserve)
            if pool.address in seen:
                raise ValueError("duplicate pool address")
        except (ValueError, TypeError) as exc:
            out.skipped.append(SkippedRow(i, addr if isinstance(addr, str) else None, str(exc)))
            continue
        seen.add(pool.address)
        out.pools.append(pool)
        out.tokens.setdefault(t0.address, t0)
        out.tokens.setdefault(t1.address, t1)
    return out


ROW_EXAMPLE = (
    '{"address": "0x..", "token0": {"address": "0x..", "symbol": "WETH", "decimal": 18}, "token1": {...}, '
    '"reserve0": ..., "reserve1": ...}'
)
"""A V2 row, as a refusal shows what a snapshot's rows need."""

SKIPPED_SHOWN = 3
"""Skipped rows a refusal names (the rest are counted)."""


def load_snapshot(path: str | Path, min_reserve: int = 1) -> SnapshotLoad:
    """Read a snapshot JSON file (see the module docstring for the row formats). Raises ``DataError`` naming the
    file when it cannot be read, is not a JSON list, or yields no pool (empty, or every row refused: the first
    rows' reasons say which fields are missing or bad)."""
    p = Path(path)
    try:
        rows = json.loads(p.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise DataError(f"cannot read pool snapshot {p}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise DataError(f"pool snapshot {p} is not UTF-8 text (a JSON file must be): {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"pool snapshot {p} is not valid JSON: {exc}") from exc
    except RecursionError:
        raise DataError(f"pool snapshot {p} is not valid JSON: nested deeper than a snapshot's rows can be") from None
    if not isinstance(rows, list):
        raise DataError(f"pool snapshot {p} must be a JSON list of rows, got {_json_kind(rows)}")
    load = parse_rows(rows, min_reserve)
    if not load.pools:
        raise DataError(_no_pools(p, load))
    return load


def _json_kind(value: Any) -> str:
    """What a decoded JSON document is, in JSON's words (``an object``, ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    names = {dict: "an object", str: "a string", int: "a number", float: "a number"}
    return names.get(type(value), type(value).__name__)


def _no_pools(path: Path, load: SnapshotLoad) -> str:
    """Why ``path`` yields no pool: an empty list, or its first rows' reasons (the rest counted)."""
    if not load.skipped:
        return f"pool snapshot {path} is an empty list: it holds no pool rows (each row as {ROW_EXAMPLE})"
    shown = "; ".join(f"row {s.row}: {s.reason}" for s in load.skipped[:SKIPPED_SHOWN])
    more = len(load.skipped) - SKIPPED_SHOWN
    return (
        f"pool snapshot {path}: none of its {len(load.skipped)} row(s) is a usable pool ({shown}"
        f"{f'; and {more} more' if more > 0 else ''}); each row needs {ROW_EXAMPLE}"
    )
