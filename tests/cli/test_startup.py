"""Start-up (issue 19): ``defipm --help`` and the light commands import none of the heavy libraries; the parts'
sub-commands load only when used, and their one-line help in ``defipm --help`` is their own."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys

import pytest
import typer
from typer import _click as click  # typer 0.29 vendors click: its classes, not the click package's
from typer.core import TyperGroup
from typer.testing import CliRunner

from defipm.cli import app
from defipm.cli_mount import SUBAPPS, load_part

HEAVY = ("pandas", "duckdb", "web3", "hyperliquid", "eth_account", "sqlalchemy", "alembic", "plotly", "fastapi")


def imported_by(*args: str) -> set[str]:
    """Top-level module names a fresh interpreter imports running ``python -X importtime ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args], capture_output=True, text=True, env=os.environ | {"COLUMNS": "100"}
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = (line.split("|")[-1] for line in proc.stderr.splitlines() if line.startswith("import time:"))
    return {line.strip().split(".")[0] for line in lines}


@pytest.mark.parametrize("args", [("-c", "import defipm.cli"), ("-m", "defipm", "--help")], ids=["import", "help"])
def test_help_imports_no_heavy_library(args):
    modules = imported_by(*args)
    assert "typer" in modules  # the measurement sees imports at all
    assert not modules & set(HEAVY), sorted(modules & set(HEAVY))


def test_help_lists_every_part_without_importing_it():
    result = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    for name in SUBAPPS:
        assert name in result.output


@pytest.mark.parametrize("name", list(SUBAPPS))
def test_the_listed_help_of_a_part_is_its_own(name):
    try:
        importlib.import_module(SUBAPPS[name].module)
    except ModuleNotFoundError as exc:
        pytest.skip(f"extra not installed: {exc.name}")
    command = load_part(name)
    assert isinstance(command, click.Command)
    assert command.get_short_help_str(500) == SUBAPPS[name].help


def test_a_part_runs_when_invoked():
    result = CliRunner().invoke(app, ["hl-sim", "--help"])
    assert result.exit_code == 0, result.output
    assert "sim" in result.output


def test_completion_sees_a_part_s_real_options():
    group = typer.main.get_command(app)
    assert isinstance(group, TyperGroup)
    with click.Context(group, resilient_parsing=True) as ctx:
        command = group.get_command(ctx, "backtest")
    assert command is not None and any("--data" in p.opts for p in command.params)


def test_a_hyperliquid_rebalance_imports_no_data_library():
    """What ``defipm rebalance`` on Hyperliquid imports: the SDK and SQLAlchemy, not NumPy, pandas, DuckDB or web3
    (the paper venue, which needs NumPy, is imported only for a paper config)."""
    pytest.importorskip("hyperliquid")
    modules = imported_by(
        "-c",
        "import defipm.cli, defipm.config, defipm.assembly, defipm.manager, defipm.store, defipm.oracles.static, "
        "defipm.venues.hyperliquid.venue",
    )
    assert "hyperliquid" in modules
    assert not modules & {"numpy", "pandas", "duckdb", "web3", "plotly"}, sorted(modules)
