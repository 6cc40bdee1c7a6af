"""What a data folder holds: every entry is classified, and anything the loader would not use is refused by name.

A data folder for ``load_prices`` / ``defipm backtest --data`` may hold:

- ``<SYMBOL>.csv`` / ``.parquet`` / ``.pq``: one symbol's OHLCV bars (``defipm.data.ohlcv``);
- ``funding/<SYMBOL>.csv`` (or ``.parquet``): that symbol's funding rates, as the Hyperliquid history download
  writes them (``defipm.data.funding``); charged by perpetual backtests;
- a side file from ``SIDE_FILES`` (``symbols.csv``: the contract list with price multipliers), read by its own
  reader rather than as bars;
- ``README`` files (``README``, ``README.md``, ...): documentation, for people;
- hidden entries (names starting with ``.``: ``.DS_Store``, ``.git``): tool files, never data.

Anything else (``notes.txt``, ``BTC.csv.bak``, an unknown subfolder) is an error naming it, so that nothing a user
puts in the folder is silently ignored. ``classify_entry`` is the one place that decides.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from defipm.core.errors import DataError

BAR_SUFFIXES = (".csv", ".parquet", ".pq")
FUNDING_FOLDER = "funding"
"""The subfolder of funding-rate files (``defipm.venues.hyperliquid.history.store_history`` writes it)."""
SIDE_FILES: dict[str, str] = {"symbols.csv": "the contract list with price multipliers"}
"""Known non-bar files of a data folder, by file name -> what they hold. Each is handed to its own reader through
``DataFolder.side_files`` (never read as a symbol's bars). Add a name here together with its reader."""


class EntryKind(Enum):
    BARS = "bars"
    FUNDING = "funding folder"
    SIDE_FILE = "side file"
    DOCUMENTATION = "documentation"
    HIDDEN = "hidden"


def download_hint(folder: Path) -> str:
    """How to fill a missing or empty bars folder."""
    return f"download bars with `defipm data download --out {folder}`"


def _is_readme(name: str) -> bool:
    return name.split(".", 1)[0].lower() == "readme"


def classify_entry(path: Path) -> EntryKind:
    """What one entry of a data folder is (module doc); raises ``DataError`` naming an entry nothing would read."""
    name = path.name
    if name.startswith("."):
        return EntryKind.HIDDEN
    if path.is_dir():
        if name == FUNDING_FOLDER:
            return EntryKind.FUNDING
        raise DataError(
            f"{path}: a subfolder the loader does not read (only '{FUNDING_FOLDER}/' is); move it out of the data "
            "folder"
        )
    if name in SIDE_FILES:
        return EntryKind.SIDE_FILE
    if _is_readme(name):
        return EntryKind.DOCUMENTATION
    if path.suffix.lower() in BAR_SUFFIXES and path.stem:
        return EntryKind.BARS
    raise DataError(
        f"{path}: not a bar file (<SYMBOL>.csv or .parquet), a '{FUNDING_FOLDER}/' folder, a README or one of "
        f"{', '.join(SIDE_FILES)}; the loader would not use it: move it out of the data folder"
    )


@dataclass(frozen=True, slots=True)
class DataFolder:
    """A classified data folder. ``bars`` and ``funding`` map symbol -> file (only the symbols asked for)."""

    root: Path
    bars: dict[str, Path]
    funding: dict[str, Path] = field(default_factory=dict)
    side_files: dict[str, Path] = field(default_factory=dict)
    """File name (a key of ``SIDE_FILES``) -> path, for the side files' readers."""


def _by_symbol(files: list[Path], where: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for p in files:
        if p.stem in found:
            raise DataError(f"{where}: two files for symbol {p.stem!r}: {found[p.stem].name} and {p.name}")
        found[p.stem] = p
    return found


def _funding_files(folder: Path) -> dict[str, Path]:
    files = []
    for p in sorted(folder.iterdir()):
        if p.name.startswith("."):
            continue
        if not p.is_file() or p.suffix.lower() not in BAR_SUFFIXES or _is_readme(p.name):
            raise DataError(
                f"{p}: the '{FUNDING_FOLDER}/' folder holds only <SYMBOL>.csv or .parquet funding files; move it out"
            )
        files.append(p)
    return _by_symbol(files, folder)


def _check_symbols(root: Path, symbols: Sequence[str]) -> None:
    seen: set[str] = set()
    for s in symbols:
        if not isinstance(s, str) or not s.strip() or s != s.strip():
            raise DataError(f"{root}: symbol {s!r} is not a symbol name (empty, or spaces around it)")
        if s in seen:
            raise DataError(f"{root}: symbol {s!r} asked for twice")
        seen.add(s)


def scan_folder(folder: str | Path, symbols: Sequence[str] | None = None) -> DataFolder:
    """Classify every entry of ``folder`` and pick the files of ``symbols`` (default: every bar file).

    Raises ``DataError`` naming the folder, the entry or the symbols for: a missing folder, an entry nothing reads,
    two files for one symbol, a funding file without bars, no bar files, or a symbol asked for without a file."""
    root = Path(folder)
    if root.is_file():
        raise DataError(f"{root} is a file, not a data folder: give the folder that holds it ({root.parent})")
    if not root.is_dir():
        raise DataError(f"{root}: no such data folder: {download_hint(root)}")
    bar_files: list[Path] = []
    funding: dict[str, Path] = {}
    side: dict[str, Path] = {}
    for p in sorted(root.iterdir()):
        kind = classify_entry(p)
        if kind is EntryKind.BARS:
            bar_files.append(p)
        elif kind is EntryKind.FUNDING:
            funding = _funding_files(p)
        elif kind is EntryKind.SIDE_FILE:
            side[p.name] = p
    bars = _by_symbol(bar_files, root)
    orphans = sorted(set(funding) - set(bars))
    if orphans:
        raise DataError(
            f"{root / FUNDING_FOLDER}: funding file(s) for {', '.join(orphans)} without bars ({orphans[0]}.csv) in "
            f"{root}: add the bars or remove the funding file"
        )
    if symbols is None:
        if not bars:
            raise DataError(f"no .csv or .parquet files in {root}: {download_hint(root)}")
        return DataFolder(root, bars, funding, side)
    _check_symbols(root, symbols)
    missing = [s for s in symbols if s not in bars]
    if missing:
        raise DataError(f"{root}: missing file(s) for {', '.join(missing)} (expected <SYMBOL>.csv or .parquet)")
    return DataFolder(root, {s: bars[s] for s in symbols}, {s: funding[s] for s in symbols if s in funding}, side)
