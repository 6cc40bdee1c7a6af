"""Where a backtest's report goes, settled before the run: a fresh folder per report, checked writable first.

Without ``--out`` each run gets its own ``reports/backtest-<UTC time>`` folder (what ``defipm serve --reports``
lists); an ``--out`` folder that already holds a report is refused unless ``--overwrite`` says so, so a report is
never replaced silently. Either way the folder is test-written (and removed again) before hours of replay, so an
unwritable destination is an error naming it, not a traceback after the run."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from defipm.core.errors import ConfigError

REPORTS = Path("reports")
REPORT_FILES = ("report.html", "summary.json", "search.json")


def report_folder(out: Path | None, *, overwrite: bool, now: datetime | None = None, prefix: str = "backtest") -> Path:
    """The folder to write into, checked writable (not left created: the writers create it). Raises ``ConfigError`` naming ``--out`` and the fix
    for an unwritable folder or one holding a report (without ``overwrite``)."""
    if out is None:
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
        out = REPORTS / f"{prefix}-{stamp}"
        for n in range(2, 1000):  # two runs in the same second: -2, -3, ...
            if not out.exists():
                break
            out = REPORTS / f"{prefix}-{stamp}-{n}"
    elif not overwrite and any((out / f).exists() for f in REPORT_FILES):
        raise ConfigError(f"--out {out} already holds a report: give another folder, or add --overwrite to replace it")
    check_writable(out)
    return out


def check_writable(out: Path) -> None:
    """Create ``out`` and write a file in it, then remove what was created: a refused or failed run leaves
    nothing behind. Raises ``ConfigError`` naming ``--out`` when the folder cannot be written."""
    created = [p for p in (out, *out.parents) if not p.exists()]
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".defipm-write-check"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"--out: cannot write {out} ({exc.strerror or exc}); give a folder you may write to"
        ) from None
    finally:
        for folder in created:  # deepest first
            if folder.is_dir():
                folder.rmdir()
