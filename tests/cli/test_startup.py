"""Start-up (issue 19): ``defipm --help`` and the light commands import none of the heavy libraries; the parts'
sub-commands load only when used, and their one-line help in ``defipm --help`` is their own; a whole-process
Hyperliquid rebalance imports the SDK and SQLAlchemy's core, not the data libraries, Alembic or SQLAlchemy's
ORM; reading commands (status, a dry run) never import the SDK's signing or ``eth_account``."""

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


def imported_modules(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Full names of the modules a fresh interpreter imports running ``python -X importtime ARGS``."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", *args],
        capture_output=True,
        text=True,
        env=os.environ | {"COLUMNS": "100"} | (env or {}),
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    lines = (line.split("|")[-1] for line in proc.stderr.splitlines() if line.startswith("import time:"))
    return {line.strip() for line in lines}


def imported_by(*args: str, env: dict[str, str] | None = None) -> set[str]:
    """Top-level module names a fresh interpreter imports running ``python -X importtime ARGS``."""
    return {name.split(".")[0] for name in imported_modules(*args, env=env)}


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


HYPERLIQUID_CONFIG = """
run = "startup"
database = "sqlite:///{db}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.04, SYN001 = -0.04 }}
[venue]
kind = "hyperliquid"
[venue.params]
base_url = "{url}"
"""


def test_a_hyperliquid_rebalance_imports_no_data_library_and_no_alembic(tmp_path):
    """A whole ``defipm rebalance`` on the local exchange (it trades): the SDK (its signing included) and
    SQLAlchemy, not NumPy, pandas, DuckDB or web3 (the paper venue, which needs NumPy, is imported only for a paper
    config), not Alembic (the schema is at head after the first run), not SQLAlchemy's ORM (the store uses the Core
    tables of ``store/tables.py``)."""
    eth_account = pytest.importorskip("eth_account")
    from defipm.venues.hyperliquid.sim import LocalExchange

    wallet = eth_account.Account.create()
    with LocalExchange(synthetic_assets=2, fixtures=None, accounts={wallet.address: 100_000}) as ex:
        cfg = tmp_path / "hl.toml"
        cfg.write_text(HYPERLIQUID_CONFIG.format(db=tmp_path / "db.sqlite", url=ex.url))
        env = {"DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex()}
        args = ("-m", "defipm", "rebalance", "--yes", "-c", str(cfg))
        subprocess.run([sys.executable, *args], env=os.environ | env, check=True, capture_output=True)  # migrates
        names = imported_modules(*args, env=env)
    modules = {name.split(".")[0] for name in names}
    assert {"hyperliquid", "sqlalchemy"} <= modules
    unwanted = {"numpy", "pandas", "duckdb", "web3", "plotly", "alembic"}
    assert not modules & unwanted, sorted(modules & unwanted)
    assert not {"sqlalchemy.orm", "defipm.store.models"} & names  # the store's Core tables only


@pytest.mark.parametrize("command", [("status",), ("rebalance", "--dry-run")], ids=["status", "dry-run"])
def test_reading_commands_with_a_key_do_not_import_the_signing(tmp_path, command):
    """With the key set, ``status`` and ``rebalance --dry-run`` check it with the exchange (its address, from
    ``eth_keys``) and sign nothing: neither ``eth_account`` nor the SDK's ``hyperliquid.utils.signing`` loads."""
    eth_account = pytest.importorskip("eth_account")
    from defipm.venues.hyperliquid.sim import LocalExchange

    wallet = eth_account.Account.create()
    with LocalExchange(synthetic_assets=2, fixtures=None, accounts={wallet.address: 100_000}) as ex:
        cfg = tmp_path / "hl.toml"
        cfg.write_text(HYPERLIQUID_CONFIG.format(db=tmp_path / "db.sqlite", url=ex.url))
        env = {"DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex()}
        names = imported_modules("-m", "defipm", *command, "-c", str(cfg), env=env)
        assert ex.stats.by_type["userRole"] >= 1 and ex.stats.exchange_requests == 0  # the key checked, no action
    assert {"hyperliquid.info", "eth_keys"} <= names
    assert not {"eth_account", "hyperliquid.utils.signing"} & names


@pytest.mark.parametrize(("given", "kept"), [(None, "__all__"), ("", ""), ("some_plugin", "some_plugin")])
def test_the_command_turns_pydantic_plugins_off_unless_the_variable_is_set(monkeypatch, given, kept):
    """pydantic scans every installed distribution's entry points for plugins at its first model; the ``defipm``
    command turns that off, and a value the user set (an empty one loads every plugin) is kept."""
    from defipm import cli_process
    from defipm.cli import main

    monkeypatch.setattr(cli_process, "_command_process", False)  # main() sets it: restored for the other tests
    variable = cli_process.PLUGINS_OFF[0]
    monkeypatch.setenv(variable, "to be replaced")  # monkeypatch then restores the test process's own value
    if given is None:
        monkeypatch.delenv(variable)
    else:
        monkeypatch.setenv(variable, given)
    monkeypatch.setattr(sys, "argv", ["defipm", "--version"])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 0
    assert os.environ[variable] == kept


@pytest.mark.parametrize("command_process", [True, False], ids=["defipm command", "app called in a process"])
def test_what_a_command_builds_is_frozen_out_of_the_collectors_walks_in_its_own_process_only(
    monkeypatch, command_process
):
    """In the ``defipm`` command's process the portfolio is built with the cyclic collector paused and then
    frozen (``gc.freeze``), the collector resumed; a program or test calling the app keeps its collector as is."""
    import gc

    from defipm import cli_process

    monkeypatch.setattr(cli_process, "_command_process", command_process)
    assert gc.isenabled()
    frozen = gc.get_freeze_count()
    try:
        with cli_process.built_heap():
            assert gc.isenabled() is not command_process
            built = [[]]  # tracked by the collector
        assert gc.isenabled()
        assert (gc.get_freeze_count() > frozen) is command_process
        assert gc.is_tracked(built)
    finally:
        gc.unfreeze()  # the test process's heap back to the collector
