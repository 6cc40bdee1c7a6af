"""Numerai Crypto meta-model history: download through numerapi, a cache with a freshness check, and validation.

Holds:

- ``MetaModelHistory``: the validated table (``date``, ``symbol``, ``meta_model``), sorted by date then symbol.
- ``read_meta_model_file`` / ``validate_meta_model_frame``: read a local CSV or Parquet file (works offline) and
  reject an empty file, missing columns, bad dates or scores, and duplicated (date, symbol) rows.
- ``check_not_stale``: reject a history whose latest date is too old for the moment it is used.
- ``NumeraiCryptoSource``: resolves the dataset name against ``CryptoAPI().list_datasets()``, downloads it with
  ``CryptoAPI().download_dataset(...)`` and keeps it in a cache directory.

The cache (``defipm.data.download_cache``) is never trusted because of its size (numerapi's own ``download_file``
skips a download when the local file's size equals the remote's Content-Length): a cached file is reused only
while its last check is younger than ``max_age`` and its SHA-256 still matches the sidecar record.

Every numerapi, requests or pandas error is translated into ``defipm.core.errors.DataError`` here.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from defipm.config_schema import missing_file
from defipm.core.errors import DataError
from defipm.data.cells import cell_error, parse_numbers, row_label
from defipm.data.download_cache import CacheStatus, DownloadCache
from defipm.extras import install_hint

if TYPE_CHECKING:
    import pandas as pd

REQUIRED_COLUMNS = ("date", "symbol", "meta_model")
SCORE_RANGE = (0.0, 1.0)
"""Numerai's meta-model scores lie in [0, 1]; other signals are checked only for being finite."""
PREFERRED_DATASETS = (
    "crypto/v2.0/historical_meta_models.parquet",
    "crypto/v2.0/historical_meta_models.csv",
    "crypto/v1.0/historical_meta_models.parquet",
    "crypto/v1.0/historical_meta_models.csv",
)
"""Default dataset names, best first; the first one ``list_datasets()`` offers is used."""
META_MODEL_MARKER = "meta_model"
_API_URL_LOCK = threading.Lock()


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise DataError(f"the Numerai data source needs pandas: {install_hint('numerai')}") from exc
    return pd


def utc_naive(ts: datetime | Any) -> datetime:
    """``ts`` as a naive UTC datetime (naive input is taken to be UTC already)."""
    if hasattr(ts, "to_pydatetime"):
        ts = ts.to_pydatetime()
    if not isinstance(ts, datetime):
        raise DataError(f"expected a datetime, got {ts!r}")
    if ts.tzinfo is not None:
        ts = ts.astimezone(UTC).replace(tzinfo=None)
    return ts


# --------------------------------------------------------------------------------------------- history table


@dataclass(frozen=True)
class MetaModelHistory:
    """Validated meta-model scores: one row per (date, symbol), ``meta_model`` in [0, 1].

    frame: columns ``date`` (naive UTC midnight, datetime64), ``symbol`` (str), ``meta_model`` (float).
    source: where it came from (a path or dataset name), for error messages.
    notes: remarks from validation an oracle should pass on to the cycle report (e.g. dropped empty scores).
    """

    frame: pd.DataFrame
    source: str = "<memory>"
    notes: tuple[str, ...] = ()
    _dates: tuple[datetime, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pd = _pandas()
        object.__setattr__(self, "_dates", tuple(pd.Timestamp(d).to_pydatetime() for d in self.frame["date"].unique()))

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, source: str = "<memory>", *, score_range: tuple[float, float] | None = SCORE_RANGE
    ) -> MetaModelHistory:
        """Validate ``frame`` (see ``validate_meta_model_frame``) and wrap it."""
        clean, notes = validate_meta_model_frame(frame, source, score_range=score_range)
        return cls(clean, source, tuple(notes))

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> MetaModelHistory:
        """Read and validate a local CSV or Parquet file."""
        return cls.from_frame(read_meta_model_file(path), str(path))

    @property
    def dates(self) -> tuple[datetime, ...]:
        """Distinct dates, ascending."""
        return self._dates

    @property
    def first_date(self) -> datetime:
        return self._dates[0]

    @property
    def last_date(self) -> datetime:
        return self._dates[-1]

    @property
    def symbols(self) -> list[str]:
        return sorted(self.frame["symbol"].unique())

    def scores_on(self, dates: Sequence[datetime]) -> pd.DataFrame:
        """Rows dated one of ``dates``."""
        pd = _pandas()
        wanted = pd.DatetimeIndex([pd.Timestamp(d) for d in dates])
        return self.frame[self.frame["date"].isin(wanted)]

    def __len__(self) -> int:
        return len(self.frame)


def read_meta_model_file(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a CSV or Parquet meta-model file (by suffix; ``.csv.gz`` works too). Raises ``DataError``."""
    pd = _pandas()
    p = Path(path)
    if not p.exists():
        raise DataError(missing_file("meta-model file", p))
    if p.stat().st_size == 0:
        raise DataError(f"meta-model file {p} is empty (0 bytes)")
    suffixes = [s.lower() for s in p.suffixes]
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            return pd.read_parquet(p)
        if ".csv" in suffixes:
            return pd.read_csv(p, dtype={"symbol": "string"})
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"meta-model file {p} is empty (no header, no rows)") from exc
    except Exception as exc:  # pandas/pyarrow raise many types for a corrupt file
        raise DataError(f"cannot read meta-model file {p}: {type(exc).__name__}: {exc}") from exc
    raise DataError(f"meta-model file {p}: unknown format (expected .csv or .parquet)")


def _parse_dates(col: pd.Series, source: str) -> pd.Series:
    pd = _pandas()
    if pd.api.types.is_integer_dtype(col):  # 20240131
        parsed = pd.to_datetime(col.astype("string"), format="%Y%m%d", errors="coerce")
    elif pd.api.types.is_datetime64_any_dtype(col):
        parsed = col
    else:
        try:  # utc=True: a column mixing offsets (or naive and offset dates) is converted, not a pandas error
            parsed = pd.to_datetime(col.astype("string"), errors="coerce", format="ISO8601", utc=True)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{source}: unreadable dates in column 'date': {exc}") from None
    bad = parsed.isna().to_numpy(dtype=bool)
    if bad.any():
        i = int(np.argmax(bad))
        value = col.iloc[i]
        if pd.isna(value) or not str(value).strip():
            raise DataError(f"{row_label(source, i)}: date is empty ({int(bad.sum())} row(s) without a readable date)")
        raise cell_error(row_label(source, i), "date", value, "a date", "write calendar days as YYYY-MM-DD or YYYYMMDD")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    not_midnight = parsed[parsed != parsed.dt.normalize()]
    if len(not_midnight):
        raise DataError(f"{source}: dates must be calendar days, found times of day, e.g. {not_midnight.iloc[0]}")
    return parsed.astype("datetime64[ns]")


def validate_meta_model_frame(
    frame: pd.DataFrame, source: str = "<memory>", *, score_range: tuple[float, float] | None = SCORE_RANGE
) -> tuple[pd.DataFrame, list[str]]:
    """Check and normalise a raw meta-model table; return it (sorted, three columns) and remarks.

    Raises ``DataError`` for: no rows, missing columns (the message lists them and what was found), unreadable
    dates, empty symbols, scores outside ``score_range`` (Numerai's [0, 1]; None: any finite number) or not
    numbers, and duplicated (date, symbol) rows. Rows whose score is empty (NaN) are dropped and counted in the
    remarks; a table with nothing else is an error.
    """
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        found = ", ".join(map(str, frame.columns)) or "no columns"
        raise DataError(
            f"{source}: not a Numerai meta-model table: missing column(s) {', '.join(missing)} "
            f"(expected {', '.join(REQUIRED_COLUMNS)}; found {found})"
        )
    if frame.empty:
        raise DataError(f"{source}: the meta-model table has no rows")
    df = frame.loc[:, list(REQUIRED_COLUMNS)].copy()
    df["date"] = _parse_dates(df["date"], source)

    sym = df["symbol"]
    empty_sym = sym.isna() | (sym.astype("string").str.strip() == "")
    if empty_sym.any():
        raise DataError(f"{source}: {int(empty_sym.sum())} row(s) with an empty symbol")
    df["symbol"] = sym.astype("string").str.strip().astype(object)

    df["meta_model"] = parse_numbers(source, df["meta_model"], "meta_model")
    notes: list[str] = []
    empty_scores = df["meta_model"].isna()
    if empty_scores.any():
        notes.append(f"{source}: dropped {int(empty_scores.sum())} row(s) with an empty meta_model score")
        df = df[~empty_scores]
        if df.empty:
            raise DataError(f"{source}: every meta_model score is empty")
    values = df["meta_model"].to_numpy()
    low, high = score_range if score_range is not None else (-np.inf, np.inf)
    out_of_range = df[(values < low) | (values > high) | ~np.isfinite(values)]
    if len(out_of_range):
        row = out_of_range.iloc[0]
        bounds = f"outside [{low:g}, {high:g}]" if score_range is not None else "not finite"
        raise DataError(
            f"{source}: {len(out_of_range)} meta_model score(s) {bounds}, "
            f"e.g. {row['symbol']} on {row['date']:%Y-%m-%d}: {row['meta_model']}"
        )

    dup = df.duplicated(subset=["date", "symbol"], keep=False)
    if dup.any():
        pairs = df.loc[dup, ["date", "symbol"]].drop_duplicates().head(5)
        sample = ", ".join(f"({d:%Y-%m-%d}, {s})" for d, s in pairs.itertuples(index=False))
        raise DataError(f"{source}: {int(dup.sum())} rows share a (date, symbol) with another row, e.g. {sample}")
    df = df.sort_values(["date", "symbol"], kind="stable").reset_index(drop=True)
    return df, notes


def check_not_stale(history: MetaModelHistory, now: datetime, max_age: timedelta) -> None:
    """Raise ``DataError`` when the latest date in ``history`` is more than ``max_age`` before ``now``."""
    age = utc_naive(now) - history.last_date
    if age > max_age:
        raise DataError(
            f"{history.source}: stale meta-model data: latest date {history.last_date:%Y-%m-%d} is "
            f"{age} before {utc_naive(now):%Y-%m-%d %H:%M} UTC (allowed: {max_age})"
        )


# --------------------------------------------------------------------------------------------- download + cache


@contextlib.contextmanager
def _numerai_api_url(url: str | None) -> Iterator[None]:
    """Point numerapi's GraphQL calls at ``url`` for the duration (numerapi reads a module constant)."""
    if url is None:
        yield
        return
    from numerapi import base_api

    with _API_URL_LOCK:
        previous = base_api.API_TOURNAMENT_URL
        base_api.API_TOURNAMENT_URL = url
        try:
            yield
        finally:
            base_api.API_TOURNAMENT_URL = previous


class NumeraiCryptoSource:
    """Download the Numerai Crypto meta-model history through numerapi and keep it fresh in ``cache_dir``.

    cache_dir: directory for the cached file and its ``.meta.json`` record.
    dataset: Numerai dataset name, or None for the first of ``PREFERRED_DATASETS`` that ``list_datasets()``
        offers. A configured name is checked against ``list_datasets()`` too.
    max_age: reuse the cached file without asking Numerai while its last check is younger than this.
    api_url: Numerai's GraphQL endpoint; None keeps numerapi's (``https://api-tournament.numer.ai``).
    show_progress_bars: numerapi's tqdm bars.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        dataset: str | None = None,
        *,
        max_age: timedelta = timedelta(hours=6),
        api_url: str | None = None,
        show_progress_bars: bool = False,
    ) -> None:
        self.cache_dir = Path(cache_dir)
        self.dataset = dataset
        self.max_age = max_age
        self.api_url = api_url
        self.show_progress_bars = show_progress_bars
        self._cache = DownloadCache(self.cache_dir)
        self._loaded: tuple[str, MetaModelHistory] | None = None

    # -- numerapi boundary ------------------------------------------------------------------------------------

    def _api(self) -> Any:
        try:
            from numerapi import CryptoAPI
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DataError(f"downloading Numerai data needs numerapi: {install_hint('numerai')}") from exc
        return CryptoAPI(verbosity="WARNING", show_progress_bars=self.show_progress_bars)

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        import requests

        try:
            with _numerai_api_url(self.api_url):
                return fn(*args, **kwargs)
        except DataError:
            raise
        except (KeyError, TypeError) as exc:
            # numerapi logs HTTP and connection errors and returns {} (so ["data"] fails)
            raise DataError(f"Numerai API: {what} failed (no answer from the server; network down?)") from exc
        except ValueError as exc:  # GraphQL errors
            raise DataError(f"Numerai API: {what} failed: {exc}") from exc
        except requests.RequestException as exc:
            raise DataError(f"Numerai API: {what} failed: {type(exc).__name__}: {exc}") from exc
        except OSError as exc:
            raise DataError(f"Numerai API: {what} failed writing the file: {exc}") from exc

    def list_datasets(self) -> list[str]:
        """Every dataset name the Crypto tournament offers now."""
        names = self._call("list_datasets", self._api().list_datasets)
        if not isinstance(names, list):
            raise DataError(f"Numerai API: list_datasets returned {type(names).__name__}, expected a list")
        return [str(n) for n in names]

    def resolve_dataset(self) -> str:
        """The dataset to download: the configured one if Numerai offers it, else the best default offered."""
        available = self.list_datasets()
        if self.dataset is not None:
            if self.dataset not in available:
                offered = [n for n in available if META_MODEL_MARKER in n] or available
                raise DataError(
                    f"Numerai does not offer dataset {self.dataset!r}; meta-model datasets offered: "
                    f"{', '.join(offered) or 'none'}"
                )
            return self.dataset
        for name in PREFERRED_DATASETS:
            if name in available:
                return name
        offered = [n for n in available if META_MODEL_MARKER in n]
        raise DataError(
            "Numerai offers none of the known meta-model datasets "
            f"({', '.join(PREFERRED_DATASETS)}); meta-model datasets offered: {', '.join(offered) or 'none'}; "
            "set the dataset name explicitly"
        )

    # -- cache ------------------------------------------------------------------------------------------------

    def cached(self, now: datetime | None = None) -> CacheStatus | None:
        """The cached file if it is fresh (checked within ``max_age``, hash intact), else None. No network."""
        names = PREFERRED_DATASETS if self.dataset is None else (self.dataset,)
        now = utc_naive(now or datetime.now(UTC))
        for name in names:
            hit = self._cache.fresh(name, now, self.max_age)
            if hit is not None:
                return hit
        return None

    def fetch(self, *, force: bool = False, now: datetime | None = None) -> CacheStatus:
        """Return a fresh cached file, downloading it when the cache is missing, old, damaged, or ``force``."""
        now = utc_naive(now or datetime.now(UTC))
        if not force:
            hit = self.cached(now)
            if hit is not None:
                return hit
        dataset = self.resolve_dataset()

        def download(tmp_path: Path) -> None:
            api = self._api()
            self._call(f"download_dataset({dataset!r})", api.download_dataset, dataset, dest_path=str(tmp_path))

        return self._cache.download(dataset, now, download, MetaModelHistory.from_file)

    def load(self, *, force: bool = False, now: datetime | None = None) -> MetaModelHistory:
        """Fetch (if needed) and read the validated history. Every call checks the cached file (``fetch``: its
        hash, and a download once ``max_age`` has passed); the file is parsed again only when its hash changed."""
        status = self.fetch(force=force, now=now)
        if self._loaded is not None and self._loaded[0] == status.sha256:
            return self._loaded[1]
        history = MetaModelHistory.from_file(status.path)
        self._loaded = (status.sha256, history)
        return history
