"""How every ``defipm`` command reports a refusal: one line ``error: ...`` on stderr, secrets masked, exit code 1.

The main commands, ``backtest``, ``classify``, ``numerai``, ``chain``, ``arb`` and ``hl-sim`` all go through
``fail``, so a script sees the same shape whichever part refused. (Typer's own usage errors, a missing or
malformed option, keep its usage box and exit code 2.)
"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.markup import escape

from defipm.core.redaction import redact_text

err_console = Console(stderr=True)


def print_error(problem: BaseException | str, *urls: str | None) -> None:
    """``error: <problem>`` on stderr, with any secret part of ``urls`` (and of known endpoints) masked."""
    err_console.print(
        f"[bold red]error:[/] {escape(redact_text(str(problem), *urls))}", highlight=False, soft_wrap=True
    )


def fail(problem: BaseException | str, *urls: str | None) -> typer.Exit:
    """Print ``problem`` as the command's error line and return the exit (code 1) to raise:
    ``raise fail(exc) from None``."""
    print_error(problem, *urls)
    return typer.Exit(code=1)
