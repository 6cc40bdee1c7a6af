"""How every ``defipm`` command reports a refusal: one line ``error: ...`` on stderr, secrets masked, and its exit
code: ``EXIT_FAILURE`` (1) for a refusal or failure, ``EXIT_USAGE`` (2) for a usage error, ``EXIT_HALTED`` (3) for
a cycle that trading halts stopped.

The main commands, ``backtest``, ``classify``, ``numerai``, ``chain``, ``arb`` and ``hl-sim`` all go through
``fail``, so a script sees the same shape whichever part refused. (Typer's own usage errors, a missing or
malformed option, keep its usage box and exit code 2.)
"""

from __future__ import annotations

from typing import Any

import typer
from rich.console import Console, ConsoleDimensions
from rich.markup import escape

from defipm.core.redaction import redact_text

UNTRUNCATED_WIDTH = 1000
"""The width a console assumes when its stream is not a terminal (a pipe, a log file): wide enough that a table's
headers and numbers are never cut (``orde…``, ``11.…``); a terminal keeps its own width."""


class CliConsole(Console):
    """A ``rich`` console that truncates nothing when its output is not a terminal: it lays out at
    ``UNTRUNCATED_WIDTH`` columns there (a rule stays 80 wide). Every ``defipm`` command prints through one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._fixed_width = kwargs.get("width") is not None  # else rich took COLUMNS, meant for a terminal

    @property
    def size(self) -> ConsoleDimensions:
        if not self._fixed_width and not self.is_terminal:
            return ConsoleDimensions(UNTRUNCATED_WIDTH, super().size.height)
        return super().size

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    def rule(self, title: Any = "", **kwargs: Any) -> None:
        from rich.rule import Rule

        self.print(Rule(title, **kwargs), width=None if self.is_terminal else 80)


err_console = CliConsole(stderr=True)


def print_error(problem: BaseException | str, *urls: str | None) -> None:
    """``error: <problem>`` on stderr, with any secret part of ``urls`` (and of known endpoints) masked."""
    err_console.print(
        f"[bold red]error:[/] {escape(redact_text(str(problem), *urls))}", highlight=False, soft_wrap=True
    )


EXIT_FAILURE = 1
"""A command refused or failed (bad config, unreachable venue, an order not filled)."""
EXIT_USAGE = 2
"""A usage error: an unknown or malformed option or argument (Typer's own code for it)."""
EXIT_HALTED = 3
"""The cycle ran but trading is halted (the kill switch or the drawdown breaker): nothing was sent."""


def fail(problem: BaseException | str, *urls: str | None, exit_code: int = EXIT_FAILURE) -> typer.Exit:
    """Print ``problem`` as the command's error line and return the exit to raise (``EXIT_FAILURE`` unless told):
    ``raise fail(exc) from None``."""
    print_error(problem, *urls)
    return typer.Exit(code=exit_code)
