"""No traceback, no lost work (issue 18 item 3): outputs are checked before anything runs, the summary is printed
before files are written, and each backtest report gets its own folder (never a silent overwrite)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.cli import app
from defipm.config import settings_from_dict
from defipm.config_templates import TEMPLATES

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.mark.parametrize("name", list(TEMPLATES))
def test_every_template_is_a_valid_config(name: str):
    settings = settings_from_dict(tomllib.loads(TEMPLATES[name]), name)
    assert settings.venue.kind == {"backtest": "paper"}.get(name, name)


def test_init_into_an_unwritable_folder_is_one_line_naming_the_fix(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = invoke("init", str(blocker / "defipm.toml"))
    assert result.exit_code == 1
    assert "cannot write" in result.output and "folder you may write to" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("force", [[], ["--force"]])
def test_init_on_a_folder_names_the_file_to_give_not_force(tmp_path: Path, force: list[str]):
    """A folder is no config file: --force cannot help, and the folder is writable; the fix is a file name."""
    result = invoke("init", str(tmp_path), *force)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "is a folder" in result.output and f"defipm init {tmp_path / 'defipm.toml'}" in result.output
    assert "--force" not in result.output and "not writable" not in result.output
    assert list(tmp_path.iterdir()) == []


def test_init_templates_and_refusals(tmp_path: Path):
    path = tmp_path / "hl.toml"
    assert invoke("init", str(path), "--template", "hyperliquid").exit_code == 0
    assert 'kind = "hyperliquid"' in path.read_text()
    again = invoke("init", str(path))
    assert again.exit_code == 1 and "--force" in again.output
    assert 'kind = "hyperliquid"' in path.read_text()  # unchanged
    bad = invoke("init", str(tmp_path / "x.toml"), "--template", "binance")
    assert bad.exit_code == 2 and "paper, backtest, hyperliquid, uniswap" in bad.output
    assert not (tmp_path / "x.toml").exists()


def test_backtest_out_is_checked_before_the_run(tmp_path: Path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    # --data does not even exist: the unwritable --out is found first, before any data is read or run
    result = invoke("backtest", "--data", str(tmp_path / "missing"), "--out", str(blocker / "out"))
    assert result.exit_code == 1, result.output
    assert f"--out: cannot write {blocker / 'out'} (" in result.output
    assert "Traceback" not in result.output


def test_each_report_has_its_own_folder(tmp_path: Path, shared_prices: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    args = ("backtest", "--data", str(shared_prices / "daily"), "--symbols", "BTC,ETH", "--start", "2024-10-01",
            "--benchmark", "none")  # fmt: skip
    first, second = invoke(*args), invoke(*args)
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    folders = sorted(p for p in (tmp_path / "reports").iterdir())
    assert len(folders) == 2 and all((p / "summary.json").is_file() for p in folders)
    assert all(p.name.startswith("backtest-20") for p in folders)
    assert first.output.index("total return") < first.output.index("report:")  # the summary comes first
    out = str(folders[0])
    refused = invoke(*args, "--out", out)
    assert refused.exit_code == 1 and "already holds a report" in refused.output and "--overwrite" in refused.output
    assert invoke(*args, "--out", out, "--overwrite").exit_code == 0
