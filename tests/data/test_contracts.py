"""The wide panel's format: the BaseVolume column (checked against Volume, or used for it), the symbols.csv contract
manifest (checked against the files and bars, never read as a symbol), and auxiliary prices of 0 kept as unknown."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from defipm.core.errors import DataError
from defipm.data.cache import load_prices
from defipm.data.contracts import MANIFEST, read_contracts
from defipm.data.ohlcv import DataWarning, read_ohlcv
from defipm.oracles.symbols import SymbolMap

pytest.importorskip("pandas")

WIDE = Path(os.environ.get("DEFIPM_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
HEADER = "Date,Open,High,Low,Close,Volume,BaseVolume\n"
BARS = [
    "2024-01-01,10,11,9,10.5,1000,100",  # average price 10: within 9..11
    "2024-01-02,10.5,12,10,11,2200,200",
    "2024-01-03,11,12,10.5,12,3300,300",
]
MANIFEST_HEADER = "Symbol,BybitContract,BaseAsset,PriceMultiplier,FirstDate,LastDate,Rows\n"


def folder_with(tmp_path: Path, files: dict[str, list[str]], manifest: str | None, header: str = HEADER) -> Path:
    root = tmp_path / "bars"
    root.mkdir()
    for symbol, rows in files.items():
        (root / f"{symbol}.csv").write_text(header + "\n".join(rows) + "\n")
    if manifest is not None:
        (root / MANIFEST).write_text(manifest)
    return root


def test_a_wide_folder_loads_with_its_manifest(tmp_path: Path):
    manifest = MANIFEST_HEADER + "1000PEPE,1000PEPEUSDT,PEPE,1000,2024-01-01,2024-01-03,3\nBTC,BTCUSDT,BTC,1,,,\n"
    root = folder_with(tmp_path, {"1000PEPE": BARS, "BTC": BARS}, manifest)
    panel = load_prices(root, cache=False)
    assert panel.symbols == ("1000PEPE", "BTC")  # symbols.csv is not a symbol
    np.testing.assert_allclose(panel.volume[:, 0], [1000, 2200, 3300])  # Volume (dollars), not BaseVolume
    table = read_contracts(root)
    assert table is not None and table.asset("1000PEPE") == "PEPE" and table.multiplier("1000PEPE") == 1000
    assert table.contracts["1000PEPE"].venue_symbol == "1000PEPEUSDT"
    assert SymbolMap.from_contracts(table).to_venue("PEPE") == "1000PEPE"
    assert load_prices(root, ["BTC"], cache=False).symbols == ("BTC",)  # a subset is still checked against all files


@pytest.mark.parametrize(
    ("manifest", "message"),
    [
        (
            MANIFEST_HEADER + "BTC,BTCUSDT,BTC,1,2024-01-02,2024-01-03,3\n",
            "BTC has FirstDate 2024-01-02 but its file has 2024-01-01",
        ),
        (MANIFEST_HEADER + "BTC,BTCUSDT,BTC,1,2024-01-01,2024-01-03,4\n", "BTC has Rows 4 but its file has 3"),
        (MANIFEST_HEADER + "BTC,BTCUSDT,BTC,1,,,\nETH,ETHUSDT,ETH,1,,,\n", "lists ETH but the folder has no bar file"),
        ("Symbol,BaseAsset,PriceMultiplier\n", "has no row for BTC"),
        ("Symbol,BaseAsset,PriceMultiplier,Sector\nBTC,BTC,1,L1\n", "line 1: unknown column 'sector'"),
        ("Symbol,PriceMultiplier\nBTC,1\n", "line 1: missing column(s) baseasset"),
        ("Symbol,BaseAsset,PriceMultiplier\nBTC,BTC,0.5\n", "line 2: PriceMultiplier '0.5' is not a whole number"),
        ("Symbol,BaseAsset,PriceMultiplier\nBTC,BTC,0\n", "line 2: PriceMultiplier must be a whole number >= 1"),
        ("Symbol,BaseAsset,PriceMultiplier\nBTC,BTC,1\nBTC,BTC,1\n", "line 3: symbol 'BTC' is listed twice"),
        ("Symbol,BaseAsset,PriceMultiplier\nBTC,BTC\n", "line 2: 2 fields, the header has 3"),
        (
            "Symbol,BaseAsset,PriceMultiplier,FirstDate\nBTC,BTC,1,01/01/2024\n",
            "line 2: FirstDate '01/01/2024' is not a date",
        ),
    ],
)
def test_a_bad_manifest_is_refused_naming_the_line_or_symbol(tmp_path: Path, manifest: str, message: str):
    root = folder_with(tmp_path, {"BTC": BARS}, manifest)
    with pytest.raises(DataError) as exc:
        load_prices(root, cache=False)
    assert message in str(exc.value) and MANIFEST in str(exc.value)


def test_volume_is_checked_against_base_volume(tmp_path: Path):
    swapped = [*BARS[:1], "2024-01-02,10.5,12,10,11,200,2200", BARS[2]]  # the two volume columns swapped on row 3
    root = folder_with(tmp_path, {"BTC": swapped}, None)
    with pytest.raises(DataError, match=r"BTC.csv: row 3 \(2024-01-02.*\): Volume 200.0 / BaseVolume 2200.0 = 0.0909"):
        read_ohlcv(root / "BTC.csv")
    (root / "ETH.csv").write_text(HEADER + "2024-01-01,10,11,9,10.5,1000,0\n")
    with pytest.raises(DataError, match="row 2"):
        read_ohlcv(root / "ETH.csv")
    (root / "SOL.csv").write_text(HEADER + "2024-01-01,10,11,9,10.5,1000,-3\n")
    with pytest.raises(DataError, match="'BaseVolume' has a negative value"):
        read_ohlcv(root / "SOL.csv")


def test_base_volume_alone_gives_the_dollar_volume(tmp_path: Path):
    root = folder_with(
        tmp_path, {"BTC": ["2024-01-01,10,12,9,10.5,100"]}, None, "Date,Open,High,Low,Close,BaseVolume\n"
    )
    frame = read_ohlcv(root / "BTC.csv")
    assert frame["volume"].iloc[0] == pytest.approx(100 * (12 + 9 + 10.5) / 3)


def test_an_open_or_low_of_zero_is_kept_as_unknown_with_a_warning(tmp_path: Path):
    root = folder_with(tmp_path, {"BCH": ["2024-01-01,0,11,0,10.5,1000,100", *BARS[1:]]}, None)
    with pytest.warns(DataWarning) as record:
        panel = load_prices(root, cache=tmp_path / "cache")
    messages = [str(w.message) for w in record]
    assert len(messages) == 2 and "BCH.csv: column 'Open' is 0 at row 2 (2024-01-01" in messages[0]
    assert "column 'Low'" in messages[1] and "not a price; kept as unknown (the Close is used)" in messages[1]
    assert np.isnan(panel.open[0, 0]) and np.isnan(panel.low[0, 0]) and panel.close[0, 0] == 10.5
    again = load_prices(root, cache=tmp_path / "cache")  # through the cache: still unknown, not zero
    assert np.isnan(again.open[0, 0]) and again.volume[0, 0] == 1000
    (root / "BCH.csv").write_text(HEADER + "2024-01-01,10,11,9,0,1000,100\n")
    with pytest.raises(DataError, match="'Close' has a non-positive value"):  # the Close stays strict
        read_ohlcv(root / "BCH.csv")
    (root / "BCH.csv").write_text(HEADER + "2024-01-01,-1,11,9,10,1000,100\n")
    with pytest.raises(DataError, match=r"'Open' has a non-positive value -1\.0"):  # and so does a negative Open
        read_ohlcv(root / "BCH.csv")


def test_the_real_wide_panel_loads():
    folder = WIDE / "prices" / "daily_wide"
    if not folder.is_dir():
        pytest.skip(f"real data not found at {folder} (set DEFIPM_DATA to the shared data folder)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        panel = load_prices(folder, ["BCH", "UNI", "1000PEPE", "SHIB1000"], cache=False)  # the manifest: all 329
    assert [str(w.message).split(": column")[0].rsplit("/", 1)[1] for w in caught] == ["BCH.csv", "BCH.csv"]
    assert np.isnan(panel.open[panel.first_index[0], 0]) and panel.close[panel.first_index[0], 0] == 276.95
    j = panel.column("UNI")
    first = int(panel.first_index[j])
    assert panel.volume[first, j] == pytest.approx(5153552.1365)  # the README's sample row, in dollars
    manifest = read_contracts(folder)
    assert manifest is not None and len(manifest.contracts) == 329
    assert manifest.asset("SHIB1000") == "SHIB" and manifest.multiplier("10000SATS") == 10_000
