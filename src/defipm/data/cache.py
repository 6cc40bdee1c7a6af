"""The price cache: checked OHLCV folders stored as one Parquet file each, read back through DuckDB.

A folder's key is a hash of its path and of every bar file's name, size and modification time, so editing, adding or
removing a file invalidates the entry. The cache is an optimisation only: a corrupt or unreadable entry is
rebuilt from the source files. Funding files (``funding/``) are small and read on every load, after the bars.
Default location: ``$DEFIPM_CACHE_DIR`` or ``~/.cache/defipm/prices``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np

from defipm.core.errors import DataError
from defipm.core.schedule import duration_ns, ns_duration
from defipm.data.contracts import check_against_panel, read_contracts
from defipm.data.folder import DataFolder, scan_folder
from defipm.data.funding import attach_funding
from defipm.data.ohlcv import BarLabel, panel_from_files
from defipm.data.panel import FIELDS, PricePanel

NOTE_SEPARATOR = "\x1e"

CACHE_VERSION = 3
"""Part of every key: raised when the loader checks more (3: a bar's Low <= Open, Close <= High), so an entry an
older, laxer loader built is read again from its files, never served past the new checks."""


def default_cache_dir() -> Path:
    env = os.environ.get("DEFIPM_CACHE_DIR")
    return Path(env) if env else Path.home() / ".cache" / "defipm" / "prices"


def cache_key(
    files: dict[str, Path], bar_label: str, interval: timedelta | None, side_files: dict[str, Path] | None = None
) -> str:
    """The entry's name: the settings and every bar file's (and side file's) path, size and modification time."""
    h = hashlib.sha256(f"v{CACHE_VERSION}|{bar_label}|{interval}".encode())
    for sym, path in [*sorted(files.items()), *sorted((side_files or {}).items())]:
        st = path.stat()
        h.update(f"|{sym}|{path.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    return h.hexdigest()[:24]


def _write(panel: PricePanel, target: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    cols = panel.to_columns()
    table = pa.table(
        {
            "timestamp": pa.array(cols["timestamp"], type=pa.timestamp("ns")),
            "symbol": pa.array([str(s) for s in cols["symbol"]], type=pa.string()),
            **{f: pa.array(cols[f], type=pa.float64()) for f in FIELDS},
        }
    )
    meta = {
        b"defipm.interval_ns": str(duration_ns(panel.interval)).encode(),
        b"defipm.symbols": "\x1f".join(panel.symbols).encode(),
        b"defipm.notes": NOTE_SEPARATOR.join(panel.notes).encode(),
    }
    table = table.replace_schema_metadata(meta)
    tmp = target.with_suffix(".tmp")
    pq.write_table(table, tmp)
    tmp.replace(target)


def _read(target: Path, source: str, order: Sequence[str]) -> PricePanel:
    """The cached panel, with its symbols in ``order`` (the cache key ignores order: one file serves any)."""
    import duckdb
    import pyarrow.parquet as pq

    meta = pq.read_schema(target).metadata or {}
    interval = ns_duration(int(meta[b"defipm.interval_ns"]))
    symbols = meta[b"defipm.symbols"].decode().split("\x1f")
    notes = [n for n in meta[b"defipm.notes"].decode().split(NOTE_SEPARATOR) if n]
    if sorted(symbols) != sorted(order):
        raise DataError(f"price cache {target.name} holds {', '.join(symbols)}, not {', '.join(order)}")
    con = duckdb.connect()
    try:
        rel = con.execute(
            "SELECT timestamp, symbol, open, high, low, close, volume FROM read_parquet(?) ORDER BY symbol, timestamp",
            [str(target)],
        )
        arrays = rel.fetchnumpy()
    finally:
        con.close()
    cols = {k: np.asarray(v) for k, v in arrays.items()}
    cols["timestamp"] = cols["timestamp"].astype("datetime64[ns]")
    return PricePanel.from_columns(cols, interval=interval, source=source, symbols=list(order), notes=notes)


def load_prices(
    folder: str | Path,
    symbols: Sequence[str] | None = None,
    *,
    bar_label: BarLabel = "open",
    interval: timedelta | None = None,
    cache: bool | str | Path = True,
) -> PricePanel:
    """OHLCV of ``symbols`` (default: every file) from a folder of ``<SYMBOL>.csv|.parquet`` files.

    Every entry of the folder is used or refused (``defipm.data.folder``): funding files in ``funding/`` become
    the panel's per-bar ``funding`` (``defipm.data.funding``); a contract manifest (``symbols.csv``, see
    ``defipm.data.contracts``) is checked against the files and the bars. ``bar_label`` says what a file's time
    means and ``interval`` gives the bar length instead of inferring it per file (see ``panel_from_files``);
    ``cache`` is True (default folder), False, or a cache folder. The folder's other symbols are the panel's
    ``left_out``. Raises ``DataError`` naming the file, column or row of any bad input.
    """
    found = scan_folder(folder, symbols)
    every_file = scan_folder(folder).bars if symbols is not None else found.bars
    contracts = read_contracts(found.root, every_file)
    panel = attach_funding(_bars(found, bar_label, interval, cache), found.funding)
    if contracts is not None:
        check_against_panel(contracts, panel, panel.interval if bar_label == "open" else timedelta(0))
    left_out = tuple(s for s in every_file if s not in found.bars)
    return replace(panel, left_out=left_out) if left_out else panel


def _bars(found: DataFolder, bar_label: BarLabel, interval: timedelta | None, cache: bool | str | Path) -> PricePanel:
    files, source = found.bars, str(found.root)
    if cache is False:
        return panel_from_files(files, bar_label=bar_label, interval=interval, source=source)
    cache_dir = default_cache_dir() if cache is True else Path(cache)
    target = cache_dir / f"{cache_key(files, bar_label, interval, found.side_files)}.parquet"
    if target.is_file():
        try:
            return _read(target, source, list(files))
        except Exception:
            target.unlink(missing_ok=True)
    panel = panel_from_files(files, bar_label=bar_label, interval=interval, source=source)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _write(panel, target)
    except OSError as exc:  # a read-only home etc.: say where, and how to run without the cache
        raise DataError(f"cannot write the price cache in {cache_dir}: {exc} (pass cache=False)") from exc
    return panel
