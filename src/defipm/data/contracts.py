"""Contract manifests: the ``symbols.csv`` that may sit beside a folder of bars and says what each file trades.

Some exchanges quote a bundle of tokens under one name: Bybit's ``1000PEPE`` is the price of 1,000 PEPE,
``SHIB1000`` of 1,000 SHIB, Hyperliquid's ``kPEPE`` of 1,000 PEPE. A manifest names, per file, the asset behind
the contract and the multiplier, so the rest of defipm can tell that ``1000PEPE`` and ``kPEPE`` are one token.

Format (the header is required; columns in any order, case-insensitive)::

    Symbol,BybitContract,BaseAsset,PriceMultiplier,FirstDate,LastDate,Rows
    1000PEPE,1000PEPEUSDT,PEPE,1000,2023-05-03,2025-11-13,926

``Symbol`` (the file's stem), ``BaseAsset`` and ``PriceMultiplier`` (a positive whole number: tokens per contract)
are required. ``FirstDate``, ``LastDate`` (the first and last ``Date`` label of the file) and ``Rows`` (its bar
count) are optional and, when present, checked against the bars; a ``...Contract`` column (the exchange's own
name) is kept as ``Contract.venue_symbol``. Any other column, a duplicated symbol, a symbol without a file, a file
without a row or a figure that disagrees with the bars is an error naming the line (or symbol) and the fix.

Weights are fractions of equity, so a multiplier changes nothing for sizing or returns; it matters where tokens
are matched by name (category tags, symbol maps).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np

from defipm.core.errors import DataError
from defipm.data.cells import date_cell, whole_cell
from defipm.data.panel import PricePanel

MANIFEST = "symbols.csv"
"""File name of a folder's contract manifest; the bar loader never reads it as a symbol."""

_REQUIRED = ("symbol", "baseasset", "pricemultiplier")
_OPTIONAL = ("firstdate", "lastdate", "rows")


@dataclass(frozen=True, slots=True)
class Contract:
    """One contract of a manifest: ``symbol`` (the data's name) quotes ``multiplier`` units of ``asset``."""

    symbol: str
    asset: str
    multiplier: int = 1
    venue_symbol: str = ""
    """The exchange's own name (e.g. ``1000PEPEUSDT``), when the manifest gives one."""
    first_date: date | None = None
    last_date: date | None = None
    rows: int | None = None


@dataclass(frozen=True, slots=True)
class ContractTable:
    """The contracts of one folder, by symbol."""

    contracts: Mapping[str, Contract]
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "contracts", MappingProxyType(dict(self.contracts)))

    def asset(self, symbol: str) -> str:
        """The token behind ``symbol`` (the symbol itself when the manifest does not list it)."""
        contract = self.contracts.get(symbol)
        return contract.asset if contract is not None else symbol

    def multiplier(self, symbol: str) -> int:
        contract = self.contracts.get(symbol)
        return contract.multiplier if contract is not None else 1

    def bundles(self) -> dict[str, str]:
        """Asset -> symbol for every contract whose name differs from its asset (``PEPE -> 1000PEPE``)."""
        return {c.asset: c.symbol for c in self.contracts.values() if c.asset != c.symbol}


def _bundles(source: str, entries: Iterable[tuple[str, str, int, str]]) -> ContractTable:
    contracts = {symbol: Contract(symbol, asset, multiplier, venue) for symbol, asset, multiplier, venue in entries}
    return ContractTable(contracts, source)


_BYBIT_BUNDLES = (
    ("1000PEPE", "PEPE", 1000), ("1000FLOKI", "FLOKI", 1000), ("1000BONK", "BONK", 1000), ("1000LUNC", "LUNC", 1000),
    ("1000XEC", "XEC", 1000), ("1000BTT", "BTT", 1000), ("1000CAT", "CAT", 1000), ("1000NEIROCTO", "NEIROCTO", 1000),
    ("1000RATS", "RATS", 1000), ("1000TURBO", "TURBO", 1000), ("1000X", "X", 1000), ("10000SATS", "SATS", 10_000),
    ("1000000MOG", "MOG", 1_000_000), ("1000000BABYDOGE", "BABYDOGE", 1_000_000), ("SHIB1000", "SHIB", 1000),
)  # fmt: skip
_HYPERLIQUID_KILO = ("PEPE", "SHIB", "BONK", "FLOKI", "LUNC", "NEIRO")

VENUE_BUNDLES: Mapping[str, ContractTable] = MappingProxyType(
    {
        "bybit": _bundles(
            "Bybit's bundle contracts", [(name, asset, n, f"{name}USDT") for name, asset, n in _BYBIT_BUNDLES]
        ),
        "hyperliquid": _bundles("Hyperliquid's k coins", [(f"k{c}", c, 1000, f"k{c}") for c in _HYPERLIQUID_KILO]),
    }
)
"""The bundle contracts defipm knows without a manifest, by venue: Bybit's (``1000PEPE``, ``SHIB1000``, ...) and
Hyperliquid's ``k`` coins (``kPEPE`` = 1,000 PEPE). Keep in step with the venues' listings (tests check Bybit's
against the wide panel's manifest and Hyperliquid's against ``defipm.oracles.symbols.HYPERLIQUID_KILO``)."""

BUNDLES = ContractTable(
    {s: c for table in VENUE_BUNDLES.values() for s, c in table.contracts.items()}, "known bundle contracts"
)
"""Every contract of ``VENUE_BUNDLES``, by symbol."""


def contract_of(symbol: str, manifest: ContractTable | None = None) -> Contract:
    """What a data symbol trades: the manifest's row, else a known bundle, else one unit of the symbol itself."""
    for table in (manifest, BUNDLES):
        if table is not None and symbol in table.contracts:
            return table.contracts[symbol]
    return Contract(symbol, symbol)


def read_contracts(folder: str | Path, symbols: Iterable[str] | None = None) -> ContractTable | None:
    """The manifest of ``folder`` (None when it has none), checked against ``symbols`` (the folder's bar files)
    when given: every file has a row and every row a file."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    table = _parse(path)
    if symbols is not None:
        files = set(symbols)
        listed = set(table.contracts)
        if listed - files:
            raise DataError(
                f"{path}: lists {', '.join(sorted(listed - files))} but the folder has no bar file for "
                f"{'it' if len(listed - files) == 1 else 'them'}; add the file(s) or remove the row(s)"
            )
        if files - listed:
            raise DataError(
                f"{path}: has no row for {', '.join(sorted(files - listed))}; add one (Symbol,BaseAsset,"
                "PriceMultiplier) per bar file"
            )
    return table


def _parse(path: Path) -> ContractTable:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{path}: cannot read the contract manifest: {exc}") from exc
    if not rows:
        raise DataError(f"{path}: empty contract manifest (expected a header Symbol,BaseAsset,PriceMultiplier)")
    header = [h.strip().lower() for h in rows[0]]
    columns = _columns(path, header)
    contracts: dict[str, Contract] = {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            raise DataError(f"{path} line {line}: {len(row)} fields, the header has {len(header)}")
        contract = _contract(path, line, {key: row[i].strip() for key, i in columns.items()})
        if contract.symbol in contracts:
            raise DataError(f"{path} line {line}: symbol {contract.symbol!r} is listed twice")
        contracts[contract.symbol] = contract
    return ContractTable(contracts, str(path))


def _columns(path: Path, header: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for i, name in enumerate(header):
        key = "contract" if name.endswith("contract") else name
        if key not in (*_REQUIRED, *_OPTIONAL, "contract"):
            raise DataError(
                f"{path} line 1: unknown column {name!r} (expected Symbol, BaseAsset, PriceMultiplier and optionally "
                "a ...Contract column, FirstDate, LastDate, Rows)"
            )
        if key in columns:
            raise DataError(f"{path} line 1: column {name!r} appears twice")
        columns[key] = i
    missing = [c for c in _REQUIRED if c not in columns]
    if missing:
        raise DataError(f"{path} line 1: missing column(s) {', '.join(missing)} (header: {','.join(header)})")
    return columns


def _contract(path: Path, line: int, cells: dict[str, str]) -> Contract:
    where = f"{path} line {line}"
    symbol, asset = cells["symbol"], cells["baseasset"]
    if not symbol or not asset:
        raise DataError(f"{where}: empty Symbol or BaseAsset")
    multiplier = whole_cell(where, "PriceMultiplier", cells["pricemultiplier"])
    if multiplier < 1:
        raise DataError(f"{where}: PriceMultiplier must be a whole number >= 1, got {cells['pricemultiplier']!r}")
    rows = whole_cell(where, "Rows", cells["rows"]) if cells.get("rows") else None
    return Contract(
        symbol=symbol,
        asset=asset,
        multiplier=multiplier,
        venue_symbol=cells.get("contract", ""),
        first_date=_optional_date(where, "FirstDate", cells.get("firstdate", "")),
        last_date=_optional_date(where, "LastDate", cells.get("lastdate", "")),
        rows=rows,
    )


def _optional_date(where: str, column: str, text: str) -> date | None:
    return date_cell(where, column, text) if text else None


def check_against_panel(table: ContractTable, panel: PricePanel, label_shift: timedelta) -> None:
    """Check each contract's FirstDate, LastDate and Rows against the bars the panel holds.

    ``label_shift`` is what the loader added to the files' times (one interval for open-labelled files), so the
    manifest's dates, which are the files' labels, compare with ``panel time - label_shift``."""
    shift = np.timedelta64(int(label_shift.total_seconds() * 1e6), "us")
    for j, symbol in enumerate(panel.symbols):
        contract = table.contracts.get(symbol)
        if contract is None:
            continue
        first, last = int(panel.first_index[j]), int(panel.last_index[j])
        if last < 0:
            continue
        found = {
            "FirstDate": str((panel.timestamps[first] - shift).astype("datetime64[D]")),
            "LastDate": str((panel.timestamps[last] - shift).astype("datetime64[D]")),
            "Rows": str(int(panel.has_bar[:, j].sum())),
        }
        stated = {"FirstDate": contract.first_date, "LastDate": contract.last_date, "Rows": contract.rows}
        for column, value in stated.items():
            if value is not None and str(value) != found[column]:
                raise DataError(
                    f"{table.source}: {symbol} has {column} {value} but its file has {found[column]}; "
                    "fix the manifest row or the file"
                )
