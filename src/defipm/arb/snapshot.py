"""Protocol adapters for pool snapshot files: JSON rows to ``V2Pool`` / ``V3Pool`` objects.

The V2 row format is the one of the public Uniswap V2 snapshots (``{address, token0: {address, symbol, decimal},
token1: {...}, reserve0, reserve1}``, optional ``fee_bps``). A row with ``"kind": "v3"`` instead carries
``sqrt_price_x96, tick, liquidity, fee`` (pips), ``tick_spacing`` and ``ticks`` (``{tick: liquidityNet}``).

Bad rows never stop a load: each is skipped with its row number and the reason (missing or malformed field,
zero or too small reserves, unknown decimals, duplicate address, a token traded against itself) in
``SnapshotLoad.skipped``. Only an unreadable file raises ``DataError``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from defipm.amm.errors import AmmError
from defipm.amm.v3_pool import V3PoolState
from defipm.arb.pools import Pool, Token, V2Pool, V3Pool
from defipm.core.errors import DataError

__all__ = ["SkippedRow", "SnapshotLoad", "load_snapshot", "parse_rows"]

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


def _address(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.startswith("0x") or len(value) != 42:
        raise ValueError(f"{what} is not a 20-byte hex address: {value!r}")
    int(value[2:], 16)
    return value.lower()


def _int(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"{what} is not an integer: {value!r}")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{what} is not an integer: {value!r}") from None


def _token(raw: Any, what: str) -> Token:
    if not isinstance(raw, Mapping):
        raise ValueError(f"{what} is not an object")
    address = _address(raw.get("address"), f"{what}.address")
    dec = raw.get("decimal", raw.get("decimals"))
    if dec is None:
        raise ValueError(f"{what} ({address}) has unknown decimals")
    decimals = _int(dec, f"{what}.decimals")
    if not 0 <= decimals <= MAX_DECIMALS:
        raise ValueError(f"{what} ({address}) has out-of-range decimals {decimals}")
    symbol = raw.get("symbol")
    return Token(address, symbol if isinstance(symbol, str) and symbol else address[:10], decimals)


def _pool(raw: Mapping[str, Any], min_reserve: int) -> tuple[Pool, Token, Token]:
    address = _address(raw.get("address"), "address")
    t0, t1 = _token(raw.get("token0"), "token0"), _token(raw.get("token1"), "token1")
    if t0.address == t1.address:
        raise ValueError(f"token0 and token1 are the same token {t0.address}")
    kind = raw.get("kind", "v2")
    if kind == "v2":
        r0, r1 = _int(raw.get("reserve0"), "reserve0"), _int(raw.get("reserve1"), "reserve1")
        if r0 < min_reserve or r1 < min_reserve:
            raise ValueError(f"reserves ({r0}, {r1}) below the minimum {min_reserve} (drained pool)")
        fee = _int(raw.get("fee_bps", 30), "fee_bps")
        if not 0 <= fee < 10_000:
            raise ValueError(f"fee_bps {fee} outside [0, 10000)")
        return V2Pool(address, t0.address, t1.address, r0, r1, fee), t0, t1
    if kind == "v3":
        ticks_raw = raw.get("ticks", {})
        if not isinstance(ticks_raw, Mapping):
            raise ValueError("ticks is not an object")
        try:
            state = V3PoolState(
                sqrt_price_x96=_int(raw.get("sqrt_price_x96"), "sqrt_price_x96"),
                tick=_int(raw.get("tick"), "tick"),
                liquidity=_int(raw.get("liquidity"), "liquidity"),
                fee=_int(raw.get("fee"), "fee"),
                tick_spacing=_int(raw.get("tick_spacing"), "tick_spacing"),
                ticks={_int(k, "tick"): _int(v, "liquidityNet") for k, v in ticks_raw.items()},
            )
        except AmmError as exc:
            raise ValueError(str(exc)) from None
        if state.liquidity <= 0:
            raise ValueError("no active liquidity (drained pool)")
        return V3Pool(address, t0.address, t1.address, state), t0, t1
    raise ValueError(f"unknown pool kind {kind!r}")


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


def load_snapshot(path: str | Path, min_reserve: int = 1) -> SnapshotLoad:
    """Read a snapshot JSON file (see the module docstring for the row formats)."""
    p = Path(path)
    try:
        rows = json.loads(p.read_text())
    except OSError as exc:
        raise DataError(f"cannot read pool snapshot {p}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataError(f"pool snapshot {p} is not valid JSON: {exc}") from exc
    return parse_rows(rows, min_reserve)
