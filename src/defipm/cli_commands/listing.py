"""``defipm list oracles|venues|symbols``: what a config can name."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from defipm.cli_errors import CliConsole, fail
from defipm.config_file import DEFAULT_CONFIG
from defipm.core.errors import DefipmError

console = CliConsole()
WHAT = ("oracles", "venues", "symbols")


def list_(
    what: Annotated[
        str, typer.Argument(help="oracles, venues (the kinds a config may name) or symbols (the venue's).")
    ],
    config: Annotated[Path, typer.Option("--config", "-c", help="Config file (TOML) whose venue lists symbols.")] = (
        DEFAULT_CONFIG
    ),
) -> None:
    """List the oracle or venue kinds a config may name (built-in and plug-ins), or the symbols its venue lists."""
    from defipm.registry import BUILTIN_EXTRAS, available_oracles, available_venues

    if what not in WHAT:
        raise typer.BadParameter(f"{what!r}: choose one of {', '.join(WHAT)}", param_hint="WHAT")
    if what != "symbols":
        kinds = available_oracles() if what == "oracles" else available_venues()
        for kind, target in kinds.items():
            extra = BUILTIN_EXTRAS.get(kind)
            console.print(f"{kind:<14} {target}" + (f"  (needs the {extra} extra)" if extra else ""), highlight=False)
        return
    try:
        symbols = _venue_symbols(config)
    except DefipmError as exc:
        raise fail(exc) from None
    console.print(" ".join(symbols), highlight=False, soft_wrap=True)


def _venue_symbols(config: Path) -> list[str]:
    """The venue's universe now (read-only: no run lock taken, nothing written)."""
    from defipm.assembly import build_portfolio
    from defipm.config import load_settings

    portfolio: Any = build_portfolio(load_settings(config), allow_mainnet=True, lock=False)
    try:
        portfolio.venue.refresh()  # a paper venue reads its feed here, as a cycle does
        return sorted(portfolio.venue.get_universe())
    finally:
        portfolio.close()
