"""``defipm init``: write a config from a template (``defipm.config_templates``) that works as written."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from defipm.cli_errors import CliConsole, fail
from defipm.config_file import DEFAULT_CONFIG
from defipm.config_templates import TEMPLATES

console = CliConsole()

NEXT_STEP = {
    "paper": "defipm rebalance -c {path}",
    "backtest": "defipm data download, then defipm backtest --data data/hyperliquid -c {path}",
    "hyperliquid": "defipm hl-sim account (a test key pair), defipm hl-sim sim --account 0xADDRESS=100000, "
    "export DEFIPM_HL_TESTNET_SECRET_KEY=0xKEY, then defipm rebalance -c {path}",
    "uniswap": "defipm chain up (in this folder), export DEFIPM_PRIVATE_KEY=$(defipm chain key 1), "
    "then defipm rebalance -c {path}",
}


def init(
    path: Annotated[Path, typer.Argument(help="Where to write the config.")] = DEFAULT_CONFIG,
    template: Annotated[str, typer.Option("--template", "-t", help=f"Which config: {', '.join(TEMPLATES)}.")] = "paper",
    force: Annotated[bool, typer.Option(help="Overwrite an existing file.")] = False,
) -> None:
    """Write a commented config from a template that works as written (default: paper venue, synthetic market)."""
    text = TEMPLATES.get(template)
    if text is None:
        raise typer.BadParameter(f"{template!r}: choose one of {', '.join(TEMPLATES)}", param_hint="--template")
    if path.is_dir():
        raise fail(
            f"{path} is a folder, not a file: give the config's file name, e.g. defipm init {path / DEFAULT_CONFIG}"
        )
    if path.exists() and not force:
        raise fail(f"{path} exists: pass --force to overwrite it, or give another path")
    try:
        path.write_text(text)
    except OSError as exc:
        folder = path.parent.resolve()
        raise fail(
            f"cannot write {path} ({exc.strerror or exc}): write it into a folder you may write to, "
            f"e.g. defipm init ~/defipm.toml (the folder {folder} is not writable or does not exist)"
        ) from None
    console.print(f"wrote {path} ({template} template): next, {NEXT_STEP[template].format(path=path)}", highlight=False)
