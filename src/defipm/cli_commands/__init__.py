"""Commands of the ``defipm`` line kept out of ``defipm.cli``, one module per concept: ``init`` (config templates),
``data download``, ``list``, the ``rebalance --dry-run`` plan. ``defipm.cli`` registers them with ``register``."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add these commands to ``app``."""
    from defipm.cli_commands import data, init, listing

    app.command("init")(init.init)
    app.add_typer(data.app, name="data")
    app.command("list")(listing.list_)
