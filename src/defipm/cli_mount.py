"""The other parts' sub-commands (backtest, classify, numerai, chain, arb, hl-sim, serve, hl, rl), mounted lazily.

``defipm --help`` lists them from the short help below without importing a part: a part's module, and its heavy
dependencies (pandas, DuckDB, web3, the Hyperliquid SDK, FastAPI), load only when its command runs or a shell
completes its arguments (issue 19, start-up). A part whose extra is missing becomes a placeholder command that
says which extra to install. ``tests/cli/test_startup.py`` pins both: the short help equals the part's own, and
``import defipm.cli`` imports none of the heavy libraries.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import NamedTuple

import typer
from typer import _click as click  # typer 0.29 vendors click: its classes, not the click package's
from typer.core import TyperCommand, TyperGroup

from defipm.cli_errors import fail
from defipm.extras import install_hint


class Part(NamedTuple):
    """One mounted part: its module (holding ``app`` or a function named like the command), its extra, and the
    one line ``defipm --help`` shows for it."""

    module: str
    extra: str
    help: str


SUBAPPS: dict[str, Part] = {
    "backtest": Part(
        "defipm.backtest.cli",
        "backtest",
        ("Backtest an oracle on historical bars through the live PortfolioManager and the paper venue."),
    ),
    "classify": Part(
        "defipm.classify.cli",
        "backtest",
        ("Classify the tokens of a data folder at one time: kept, or excluded with the first rule they fail."),
    ),
    "numerai": Part(
        "defipm.oracles.numerai_cli", "numerai", "Numerai Crypto meta-model: download it, show TB-N picks."
    ),
    "chain": Part("defipm.chain.cli", "chain", "Local EVM chain with Uniswap deployed (anvil, loopback only)."),
    "arb": Part(
        "defipm.arb.cli", "arb", "Cross-DEX arbitrage: scan pool snapshots, run against a chain, or watch a local demo."
    ),
    "hl-sim": Part(
        "defipm.venues.hyperliquid.cli",
        "hyperliquid",
        "The local Hyperliquid exchange (loopback only, verifies every signature).",
    ),
    "serve": Part(
        "defipm.service.cli", "service", "Serve the JSON API, live events, /metrics and the dashboard over the store."
    ),
    "hl": Part(
        "defipm.hl_cli",
        "hyperliquid",
        "The Hyperliquid account of a config: account, orders, history, cancel, close-all.",
    ),
    "rl": Part("defipm.rl.cli", "rl", "The learned allocator: train, evaluate, search and list PPO models."),
}


def bind_missing(extra: str, module: str) -> Callable[..., None]:
    """A placeholder command for a part whose optional dependencies are not installed."""

    def missing_extra(ctx: typer.Context) -> None:
        raise fail(ModuleNotFoundError(f"`defipm {ctx.info_name}` needs {module}: {install_hint(extra)}"))

    return missing_extra


def load_part(name: str) -> click.Command | None:
    """The click command of part ``name`` (its module imported now), a placeholder naming the missing extra, or
    None when the part's own module is absent (a trimmed install)."""
    part = SUBAPPS[name]
    holder = typer.Typer()
    try:
        module = importlib.import_module(part.module)
    except ModuleNotFoundError as exc:
        missing = exc.name or "a dependency"
        if missing.startswith("defipm"):
            return None
        holder.command(
            name,
            help=f"(needs the {part.extra} extra: {install_hint(part.extra)})",
            context_settings={"allow_extra_args": True, "ignore_unknown_options": True},
            add_help_option=False,
        )(bind_missing(part.extra, missing))
        return typer.main.get_command(holder)
    sub = getattr(module, "app", None)
    if isinstance(sub, typer.Typer):
        command = typer.main.get_command(sub)
        command.name = name
        return command
    holder.command(name)(getattr(module, name.replace("-", "_")))
    return typer.main.get_command(holder)


class LazyGroup(TyperGroup):
    """The ``defipm`` group: its own commands as usual, the parts of ``SUBAPPS`` loaded on first real use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [*super().list_commands(ctx), *(n for n in SUBAPPS if n not in self.commands)]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands or cmd_name not in SUBAPPS:
            return super().get_command(ctx, cmd_name)
        if ctx.resilient_parsing:  # shell completion needs the real parameters
            return self._load(cmd_name)
        return TyperCommand(cmd_name, help=SUBAPPS[cmd_name].help)  # a listing: the short help only

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        name = args[0] if args else None
        if name in SUBAPPS and name not in self.commands:
            command = self._load(name)
            if command is not None:
                return name, command, args[1:]
        return super().resolve_command(ctx, args)

    def _load(self, name: str) -> click.Command | None:
        command = load_part(name)
        if command is not None:
            self.add_command(command, name)
        return command
