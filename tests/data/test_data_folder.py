"""Everything in a data folder is used or refused by name (issue 8 item 1): bars, funding/, side files, READMEs."""

from __future__ import annotations

from pathlib import Path

import pytest

from defipm.core.errors import DataError
from defipm.data.cache import load_prices
from defipm.data.folder import EntryKind, classify_entry, scan_folder

BARS = "Date,Close\n2024-01-01,10\n2024-01-02,11\n2024-01-03,12\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    root.mkdir()
    (root / "BTC.csv").write_text(BARS)
    (root / "ETH.csv").write_text(BARS)
    return root


@pytest.mark.parametrize(
    ("name", "is_dir", "message"),
    [
        ("notes.txt", False, "not a bar file"),
        ("BTC.csv.bak", False, "not a bar file"),
        ("prices.json", False, "not a bar file"),
        ("old", True, "a subfolder the loader does not read"),
        ("Funding", True, "a subfolder the loader does not read"),
    ],
)
def test_unused_entries_are_refused_by_name(folder: Path, name: str, is_dir: bool, message: str) -> None:
    entry = folder / name
    entry.mkdir() if is_dir else entry.write_text("x")
    with pytest.raises(DataError) as err:
        load_prices(folder, cache=False)
    assert message in str(err.value) and str(entry) in str(err.value)


def test_funding_folder_entries_are_used_or_refused(folder: Path) -> None:
    (folder / "funding").mkdir()
    (folder / "funding" / "BTC.csv").write_text("date,funding_rate\n2024-01-02,0.0001\n")
    assert scan_folder(folder).funding == {"BTC": folder / "funding" / "BTC.csv"}
    assert scan_folder(folder, ["ETH"]).funding == {}  # BTC not asked for: its funding neither
    (folder / "funding" / "SOL.csv").write_text("date,funding_rate\n2024-01-02,0.0001\n")
    with pytest.raises(DataError, match=r"funding file\(s\) for SOL without bars"):
        scan_folder(folder)
    (folder / "funding" / "SOL.csv").unlink()
    (folder / "funding" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match=r"notes.txt: the 'funding/' folder holds only"):
        scan_folder(folder)


def test_side_files_readmes_and_hidden_entries_are_classified(folder: Path) -> None:
    (folder / "symbols.csv").write_text("Symbol,PriceMultiplier\nBTC,1\n")
    (folder / "README.md").write_text("# prices\n")
    (folder / ".DS_Store").write_bytes(b"\0")
    (folder / ".git").mkdir()
    found = scan_folder(folder)
    assert set(found.bars) == {"BTC", "ETH"}  # symbols.csv is never read as a symbol's bars
    assert found.side_files == {"symbols.csv": folder / "symbols.csv"}
    assert classify_entry(folder / "README.md") is EntryKind.DOCUMENTATION
    assert classify_entry(folder / ".git") is EntryKind.HIDDEN


@pytest.mark.parametrize(("symbols", "message"), [(["BTC", "BTC"], "asked for twice"), (["BTC", ""], "not a symbol")])
def test_bad_symbol_lists_are_named(folder: Path, symbols: list[str], message: str) -> None:
    with pytest.raises(DataError, match=message):
        load_prices(folder, symbols, cache=False)


def test_the_real_wide_folder_is_classified(shared_prices: Path) -> None:
    """``daily_wide`` holds a README and symbols.csv beside 329 bar files: neither is refused nor read as bars."""
    found = scan_folder(shared_prices / "daily_wide")
    assert len(found.bars) == 329 and "symbols" not in found.bars
    assert set(found.side_files) == {"symbols.csv"}
