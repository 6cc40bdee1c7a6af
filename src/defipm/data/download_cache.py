"""A cache of downloaded files that is never trusted because of its size: one home for every signal download
(Numerai through numerapi, CrowdCent through its client).

A cached file is reused only while its last check is younger than ``max_age`` and its SHA-256 still matches the
sidecar record (``<file>.meta.json``); otherwise it is downloaded again into a fresh temporary directory (numerapi's
``download_file`` skips a file whose size equals the remote's and resumes ``.temp`` files, so a reused directory
could keep stale bytes), validated, compared by content hash, and only then swapped in atomically. A download
that fails or does not validate leaves the previous cache untouched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from defipm.core.errors import DataError


@dataclass(frozen=True, slots=True)
class CacheStatus:
    """What a fetch did.

    path: the cached file. dataset: the name it was downloaded as. sha256: its content hash.
    downloaded: a download happened this call. changed: the content differs from the previous cache.
    checked_at: when the remote was last compared (naive UTC).
    """

    path: Path
    dataset: str
    sha256: str
    downloaded: bool
    changed: bool
    checked_at: datetime


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class DownloadCache:
    """Cached downloads under ``directory``, one file per name (a name may hold ``/``: sub-folders)."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)

    def paths(self, name: str) -> tuple[Path, Path]:
        """(the cached file, its record) of ``name``; ``..`` and absolute parts are dropped."""
        rel = Path(*[part for part in Path(name).parts if part not in ("..", "/", "")])
        path = self.directory / rel
        return path, path.with_name(path.name + ".meta.json")

    @staticmethod
    def _record(record_path: Path) -> dict[str, Any] | None:
        try:
            record = json.loads(record_path.read_text())
            record["checked_at"] = datetime.fromisoformat(record["checked_at"])
            return record  # type: ignore[no-any-return]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def fresh(self, name: str, now: datetime, max_age: timedelta) -> CacheStatus | None:
        """The cached file of ``name`` if it was checked within ``max_age`` and its hash is intact, else None."""
        path, record_path = self.paths(name)
        record = self._record(record_path)
        if record is None or not path.exists() or now - record["checked_at"] > max_age:
            return None
        if sha256_of(path) != record.get("sha256"):
            return None
        return CacheStatus(path, record["dataset"], record["sha256"], False, False, record["checked_at"])

    def download(
        self, name: str, now: datetime, fetch: Callable[[Path], None], validate: Callable[[Path], object]
    ) -> CacheStatus:
        """Download ``name`` with ``fetch(temporary path)``, check it with ``validate(path)`` (which raises on a bad
        file), and swap it in if its content changed. Raises ``DataError`` when ``fetch`` wrote nothing."""
        path, record_path = self.paths(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        previous = self._record(record_path)
        old_sha = sha256_of(path) if path.exists() else None
        tmpdir = Path(tempfile.mkdtemp(prefix=".download-", dir=path.parent))
        try:
            tmp_path = tmpdir / path.name
            fetch(tmp_path)
            if not tmp_path.exists():
                raise DataError(f"the download of {name!r} wrote no file")
            validate(tmp_path)  # never replace a good cache with a bad download
            new_sha = sha256_of(tmp_path)
            changed = new_sha != old_sha
            if changed:
                os.replace(tmp_path, path)
        finally:
            shutil.rmtree(tmpdir, ignore_errors=True)
        record = {
            "dataset": name,
            "sha256": new_sha,
            "bytes": path.stat().st_size,
            "checked_at": now.isoformat(),
            "changed_at": now.isoformat() if changed or previous is None else previous.get("changed_at"),
        }
        tmp_record = record_path.with_name(record_path.name + ".tmp")
        tmp_record.write_text(json.dumps(record, indent=2))
        os.replace(tmp_record, record_path)
        return CacheStatus(path, name, new_sha, True, changed, now)
