"""Every parameter of every ``defipm`` command, the parts' included, has help text (issue 18 item 8)."""

from __future__ import annotations

import importlib

import pytest
import typer
from typer import _click as click  # typer 0.29 vendors click
from typer.core import TyperGroup

from defipm.cli import app
from defipm.cli_mount import SUBAPPS


def commands(command: click.Command, path: str = "defipm") -> list[tuple[str, click.Command]]:
    """``command`` and every command under it, by path."""
    found = [(path, command)]
    if isinstance(command, TyperGroup):
        ctx = click.Context(command, resilient_parsing=True)
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None:
                found += commands(sub, f"{path} {name}")
    return found


def every_command() -> list[tuple[str, click.Command]]:
    for part in SUBAPPS.values():
        try:
            importlib.import_module(part.module)
        except ModuleNotFoundError:
            pytest.skip(f"{part.module}: extra not installed")
    return commands(typer.main.get_command(app))


def test_every_parameter_has_help():
    missing = [
        f"{path} {param.name}"
        for path, command in every_command()
        for param in command.params
        if not getattr(param, "hidden", False) and not (getattr(param, "help", None) or "").strip()
    ]
    assert not missing, "parameters without help: " + ", ".join(missing)


def test_every_command_has_help():
    assert not [path for path, command in every_command() if not (command.help or command.short_help)]


def test_the_walk_sees_the_parts():
    paths = {path for path, _ in every_command()}
    assert {"defipm backtest", "defipm hl-sim sim", "defipm data download", "defipm list"} <= paths
    assert len(paths) > 25


def test_one_name_for_the_store_url(tmp_path):
    from typer.testing import CliRunner

    result = CliRunner().invoke(app, ["demo", "--database", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2 and "--database is now --db" in result.output
    assert not (tmp_path / "x.db").exists()
