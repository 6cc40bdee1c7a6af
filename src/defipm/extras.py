"""The optional parts of defipm and how a user installs one: ``install_hint("backtest")`` is the command every
"needs the X extra" refusal names (``scripts/bootstrap backtest``, which installs into the project's ``.venv``)."""

from __future__ import annotations


def install_hint(extra: str) -> str:
    """The fix for a missing optional dependency: ``scripts/bootstrap EXTRA`` (the project's installer), with the
    plain pip command for an installed package beside it."""
    return f"run scripts/bootstrap {extra} (or: pip install 'defipm[{extra}]')"
