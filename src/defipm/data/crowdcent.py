"""CrowdCent's Hyperliquid-ranking meta-model, downloaded through its published client (``crowdcent-challenge``).

The meta-model file has one row per release date and asset: ``release_date``, ``id`` (the Hyperliquid coin) and
the predictions ``pred_10d`` and ``pred_30d`` (larger = expected to rank higher). ``CrowdCentSource`` downloads it
with ``ChallengeClient.download_meta_model``, keeps it in the shared download cache (``download_cache.py``: reused
while checked within ``max_age`` and intact, replaced only by a download that validates) and reads it with the
configured prediction column.

The API key comes from the environment (``CROWDCENT_API_KEY``, the variable the client documents), never from a
config file. Every client, requests or pandas error becomes a ``DataError`` here, naming what to fix.
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from defipm.core.errors import DataError
from defipm.data.download_cache import CacheStatus, DownloadCache
from defipm.data.numerai import MetaModelHistory, utc_naive
from defipm.data.signals import CROWDCENT_COLUMNS, ColumnMap, read_signal_file
from defipm.extras import install_hint

API_KEY_VARIABLE = "CROWDCENT_API_KEY"
DEFAULT_CHALLENGE = "hyperliquid-ranking"
PREDICTIONS = ("pred_10d", "pred_30d")


class CrowdCentSource:
    """The meta-model of one CrowdCent challenge, cached in ``cache_dir``.

    challenge: the challenge slug. prediction: the prediction column to rank by (``pred_10d`` or ``pred_30d``).
    max_age: reuse the cached file without asking CrowdCent while its last check is younger than this.
    base_url: the API root (None: the client's default, or ``CROWDCENT_API_URL``); tests point it at
    ``defipm.testing.crowdcent.FakeCrowdCentServer``. api_key: None reads ``CROWDCENT_API_KEY``.
    """

    def __init__(
        self,
        cache_dir: str | os.PathLike[str],
        challenge: str = DEFAULT_CHALLENGE,
        prediction: str = "pred_10d",
        *,
        max_age: timedelta = timedelta(hours=6),
        base_url: str | None = None,
        api_key: str | None = None,
    ) -> None:
        self.cache = DownloadCache(Path(cache_dir) / "crowdcent")
        self.challenge = challenge
        self.columns: ColumnMap = replace(CROWDCENT_COLUMNS, prediction=prediction)
        self.max_age = max_age
        self.base_url = base_url
        self._api_key = api_key
        self._loaded: tuple[str, MetaModelHistory] | None = None

    @property
    def name(self) -> str:
        return f"{self.challenge}/meta_model.parquet"

    def _client(self) -> Any:
        key = self._api_key or os.environ.get(API_KEY_VARIABLE)
        if not key:
            raise DataError(
                f"CrowdCent: no API key: set {API_KEY_VARIABLE} (from your CrowdCent account) to download the "
                f'{self.challenge} meta-model, or use a local file (source = "file")'
            )
        try:
            from crowdcent_challenge import ChallengeClient
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise DataError(f"the CrowdCent source needs crowdcent-challenge: {install_hint('crowdcent')}") from exc
        return ChallengeClient(self.challenge, api_key=key, base_url=self.base_url)

    def _download(self, dest: Path) -> None:
        import requests
        from crowdcent_challenge import AuthenticationError, CrowdCentAPIError, NotFoundError

        client = self._client()
        try:
            client.download_meta_model(str(dest))
        except AuthenticationError:
            raise DataError(f"CrowdCent refused the API key in {API_KEY_VARIABLE}: check it") from None
        except NotFoundError:
            raise DataError(f"CrowdCent has no meta-model for challenge {self.challenge!r}: check the name") from None
        except (CrowdCentAPIError, requests.RequestException, OSError) as exc:
            raise DataError(f"CrowdCent: downloading the {self.challenge} meta-model failed: {exc}") from None

    def fetch(self, *, force: bool = False, now: datetime | None = None) -> CacheStatus:
        """A fresh cached meta-model file, downloaded when missing, old, damaged or ``force``."""
        now = utc_naive(now or datetime.now(UTC))
        hit = None if force else self.cache.fresh(self.name, now, self.max_age)
        if hit is not None:
            return hit
        return self.cache.download(self.name, now, self._download, self._read)

    def _read(self, path: Path) -> MetaModelHistory:
        return read_signal_file(path, self.columns)

    def load(self, *, force: bool = False, now: datetime | None = None) -> MetaModelHistory:
        """Fetch (if needed) and read the validated predictions (``meta_model`` = the chosen prediction); the
        parsed table is reused while the file's hash is unchanged."""
        status = self.fetch(force=force, now=now)
        if self._loaded is not None and self._loaded[0] == status.sha256:
            return self._loaded[1]
        history = self._read(status.path)
        self._loaded = (status.sha256, history)
        return history
