"""`defipm backtest`: every grid point and ``-p`` param is checked against the oracle's config model before
anything runs, Ctrl-C before the first trial still says "interrupted", and a config's csv market is the data."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import defipm.backtest.cli as backtest_cli
import defipm.backtest.search as search_module
from defipm.cli import app
from defipm.data import synthetic_panel, write_synthetic_csv

pytest.importorskip("pandas")
runner = CliRunner()


@pytest.fixture
def data(tmp_path: Path) -> Path:
    write_synthetic_csv(tmp_path / "prices", synthetic_panel(4, 80, seed=2, symbols=["BTC", "ETH", "SOL", "ADA"]))
    return tmp_path / "prices"


def run(args: list[str]):
    return runner.invoke(
        app, ["backtest", "--bar-label", "close", "--benchmark", "none", *args], env={"COLUMNS": "200"}
    )


@pytest.mark.parametrize(
    ("grid", "named"),
    [
        ("lookbak=10,20", "--grid lookbak=10: oracle.params.lookbak: unknown key (did you mean lookback?"),
        ("lookback=a,b", "--grid lookback=a: oracle.params.lookback: expected a whole number, got 'a'"),
        ("lookback=10,0", "--grid lookback=0: oracle.params.lookback: input should be greater than or equal to 1"),
        ("gross=0.5,[1]", "--grid gross=[1]: oracle.params.gross:"),
    ],
)
def test_a_bad_grid_point_is_refused_before_anything_runs(
    tmp_path: Path, data: Path, grid: str, named: str, monkeypatch: pytest.MonkeyPatch
):
    replays: list[object] = []
    real = search_module.evaluate
    monkeypatch.setattr(search_module, "evaluate", lambda *a: replays.append(a) or real(*a))
    result = run(["--data", str(data), "--oracle", "momentum", "--grid", grid, "--workers", "1",
                  "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 1
    assert named in result.output and "no valid point" not in result.output
    assert replays == [] and not (tmp_path / "out").exists()


def test_a_misspelt_param_is_refused_before_anything_runs(tmp_path: Path, data: Path):
    result = run(["--data", str(data), "--oracle", "momentum", "-p", "lookbak=3", "--out", str(tmp_path / "out")])
    assert result.exit_code == 1
    assert "--param: oracle.params.lookbak: unknown key (did you mean lookback?" in result.output
    assert not (tmp_path / "out").exists()


def test_grid_params_complete_what_the_fixed_params_leave_out(tmp_path: Path, data: Path):
    result = run(["--data", str(data), "--oracle", "momentum", "-p", "n_long=1", "-p", "n_short=1",
                  "--grid", "lookback=5,10", "--schedules", "24h", "--workers", "1", "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "search.json").exists()


def _interrupt_at(module: object, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real SIGINT to this process when ``module.name`` is called (before any trial ran)."""
    real = getattr(module, name)

    def interrupted(*args: object, **kwargs: object) -> object:
        os.kill(os.getpid(), signal.SIGINT)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, interrupted)


@pytest.mark.parametrize(
    ("module", "name"), [(backtest_cli, "_load_panel"), (search_module, "_boundaries")], ids=["loading", "splitting"]
)
def test_ctrl_c_before_the_first_trial_says_interrupted(
    tmp_path: Path, data: Path, monkeypatch: pytest.MonkeyPatch, module: object, name: str
):
    _interrupt_at(module, name, monkeypatch)
    result = run(["--data", str(data), "--oracle", "momentum", "--grid", "lookback=5,10", "--workers", "1",
                  "--out", str(tmp_path / "out")])  # fmt: skip
    assert result.exit_code == 130
    assert "interrupted: 0 trial(s) had finished" in result.output


def test_the_configs_csv_market_is_the_data_when_no_data_is_given(tmp_path: Path, data: Path):
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(f'[oracle]\nkind = "equal_weight"\n[market]\nsource = "csv"\npath = "{data}"\n')
    result = run(["-c", str(cfg), "--symbols", "BTC,ETH", "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "is not used" not in result.output and (tmp_path / "out" / "summary.json").exists()


@pytest.mark.parametrize("config", [None, '[oracle]\nkind = "equal_weight"\n'], ids=["no config", "no csv market"])
def test_no_data_and_no_csv_market_is_refused_naming_both(tmp_path: Path, config: str | None):
    args = ["--out", str(tmp_path / "out")]
    if config is not None:
        (tmp_path / "defipm.toml").write_text(config)
        args += ["-c", str(tmp_path / "defipm.toml")]
    result = run(args)
    assert result.exit_code == 1
    assert "--data: no price folder; give --data FOLDER" in result.output and 'source = "csv"' in result.output
    assert not (tmp_path / "out").exists()


def test_a_bad_param_names_where_it_was_given_the_config_file_or_p(tmp_path: Path, data: Path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('run = "x"\n[oracle]\nkind = "momentum"\n[oracle.params]\nlookback = -3\n')
    from_file = run(["--data", str(data), "-c", str(cfg), "--out", str(tmp_path / "a")])
    assert from_file.exit_code == 1
    assert f"error: {cfg}: oracle.params.lookback: input should be greater than or equal to 1 (got -3)" in " ".join(
        from_file.output.split()
    )
    from_p = run(["--data", str(data), "-c", str(cfg), "-p", "lookback=0", "--out", str(tmp_path / "b")])
    assert "error: --param: oracle.params.lookback:" in from_p.output and "(got 0)" in from_p.output
    fixed = run(["--data", str(data), "-c", str(cfg), "-p", "lookback=5", "--out", str(tmp_path / "c")])
    assert fixed.exit_code == 0, fixed.output  # -p overrides the config's bad value
