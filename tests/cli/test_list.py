"""``defipm list oracles|venues|symbols`` (issue 18 item 8)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from defipm.cli import app

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args), env={"COLUMNS": "200"})


def test_list_kinds():
    oracles = invoke("list", "oracles")
    assert oracles.exit_code == 0
    assert {"static", "equal_weight", "momentum", "tbn", "classifier"} <= {
        line.split()[0] for line in oracles.output.splitlines()
    }
    assert "numerai extra" in oracles.output
    venues = invoke("list", "venues")
    assert [line.split()[0] for line in venues.output.splitlines()][:3] == ["paper", "hyperliquid", "uniswap"]


def test_list_symbols_of_the_config_s_venue(tmp_path: Path):
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(f'database = "sqlite:///{tmp_path / "db.sqlite"}"\n[market]\nn_assets = 3\n')
    result = invoke("list", "symbols", "-c", str(cfg))
    assert result.exit_code == 0, result.output
    assert result.output.split() == ["SYN000", "SYN001", "SYN002"]


def test_list_refuses_other_things_by_name():
    result = invoke("list", "pools")
    assert result.exit_code == 2 and "choose one of oracles, venues, symbols" in result.output
