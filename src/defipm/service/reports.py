"""The folder of backtest reports: one directory per report (``defipm backtest --out reports/NAME`` writes
``report.html`` and ``summary.json``, a search ``search.json``).

A report is named by its directory's name alone: a name that is empty, has a slash or backslash, is ``.`` or
``..``, starts with a dot or holds a control character is refused (``BadField("name")``) before the disk is
touched, and a directory whose real path leaves the folder (a symbolic link out) is treated as unknown.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from defipm.service.refusals import BadField, NotFound

__all__ = ["REPORT_FILES", "ReportFolder"]

REPORT_FILES = ("report.html", "summary.json", "search.json")
SHOWN_METRICS = ("total_return", "cagr", "sharpe", "max_drawdown", "annual_volatility")


@dataclass(frozen=True, slots=True)
class ReportFolder:
    """Reports under ``root`` (which need not exist yet: then there are none)."""

    root: Path

    def names(self) -> list[str]:
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if self._is_report(p))

    def _is_report(self, path: Path) -> bool:
        return (
            not path.name.startswith(".")
            and path.is_dir()
            and self._inside(path)
            and any((path / f).is_file() for f in REPORT_FILES)
        )

    def _inside(self, path: Path) -> bool:
        return path.resolve().parent == self.root.resolve()

    def directory(self, name: str) -> Path:
        """The directory of report ``name``; ``BadField`` for a name that is not one, ``NotFound`` if absent."""
        if (
            not name
            or "/" in name
            or "\\" in name
            or name in (".", "..")
            or name.startswith(".")
            or any(ord(c) < 32 for c in name)
        ):
            raise BadField("name", f"{name!r} is not a report name (one folder name: no slash, no '..')")
        path = self.root / name
        if not self._is_report(path):
            known = ", ".join(self.names()) or "none"
            raise NotFound(f"unknown report {name!r} in {self.root} (reports: {known})")
        return path

    def summary(self, name: str) -> dict[str, Any]:
        """The report's summary (``summary.json``, else ``search.json``) with its name and files; a summary that
        cannot be read (or is not a JSON object) is ``{"unreadable": "FILE: why"}``."""
        path = self.directory(name)
        data, problem = _read_summary(path)
        summary = {"unreadable": problem} if problem is not None else data
        return {"name": name, "files": [f for f in REPORT_FILES if (path / f).is_file()], "summary": summary}

    def listing(self) -> list[dict[str, Any]]:
        """Every report: name, files, when written, the strategy, period and headline figures, and ``unreadable``:
        why its summary cannot be read (``FILE: why``), else None."""
        out = []
        for name in self.names():
            path = self.directory(name)
            found, problem = _read_summary(path)
            data: dict[str, Any] = found if isinstance(found, dict) else {}
            metrics: dict[str, Any] = data["metrics"] if isinstance(data.get("metrics"), dict) else {}
            files = [f for f in REPORT_FILES if (path / f).is_file()]
            stamp = max((path / f).stat().st_mtime for f in files)
            out.append(
                {
                    "name": name,
                    "files": files,
                    "written": datetime.fromtimestamp(stamp, UTC).isoformat(),
                    "unreadable": problem,
                    "oracle": data.get("oracle"),
                    "start": data.get("start"),
                    "end": data.get("end"),
                    "metrics": {k: metrics.get(k) for k in SHOWN_METRICS if k in metrics},
                }
            )
        return out

    def html(self, name: str) -> Path:
        path = self.directory(name) / "report.html"
        if not path.is_file():
            raise NotFound(f"report {name!r} has no report.html (a search writes search.json only)")
        return path


def _read_summary(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """(the summary object of the report at ``path``, None) from ``summary.json``, else ``search.json``; (None, None)
    when it has neither; (None, "FILE: why") when the file cannot be read, is not JSON or not a JSON object."""
    for file in ("summary.json", "search.json"):
        if (path / file).is_file():
            try:
                data = json.loads((path / file).read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                return None, f"{file}: {exc}"
            if not isinstance(data, dict):
                return None, f"{file}: not a JSON object"
            return data, None
    return None, None
