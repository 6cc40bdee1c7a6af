"""``defipm rl train | evaluate | search | models`` on a folder of files, and every bad input as one line naming
the problem, with nothing written."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from defipm.cli import app
from defipm.data import synthetic_panel, write_synthetic_csv
from defipm.store import Store
from defipm.store.models import RLModelRecord

pytest.importorskip("pandas")
runner = CliRunner()
TINY = ["-p", "ppo.n_steps=128", "-p", "ppo.batch_size=64", "-p", "ppo.n_epochs=1", "-p", "ppo.net_arch=[16]"]


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("prices")
    write_synthetic_csv(folder, synthetic_panel(3, 160, seed=9, symbols=["BTC", "ETH", "SOL"]))
    return folder


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory, data: Path) -> Path:
    """A registry with one model trained through the CLI."""
    folder = tmp_path_factory.mktemp("work")
    result = _invoke(folder, "train", "--data", str(data), "--bar-label", "close", "--name", "cli", "--every", "48h",
                     "--window", "6", "--timesteps", "128", *TINY)  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "registered cli@1" in result.output and "test part" in result.output
    assert "…" not in result.output  # off a terminal, at 40 COLUMNS, no figure is cut ("+80…")
    return folder


NARROW = {"COLUMNS": "40"}
"""What a pipe or a narrow window gives: off a terminal it must not cut anything."""


def _invoke(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    common = ["--registry", str(folder / "models")] if args[0] != "search" else []
    if args[0] in ("train",):
        common += ["--database", f"sqlite:///{folder / 'rl.db'}"]
    return runner.invoke(app, ["rl", *args, *common], env=NARROW)


def _figures(text: str) -> list[str]:
    """The signed percentages a figures table shows (``+12.34%``), whole."""
    return re.findall(r"[+-]\d+\.\d\d%", text)


def test_train_registers_the_model_in_the_folder_and_the_store(workdir: Path) -> None:
    assert (workdir / "models" / "cli" / "1" / "policy.zip").is_file()
    with Store(f"sqlite:///{workdir / 'rl.db'}").engine.connect() as conn:
        row = conn.execute(select(RLModelRecord)).one()
    assert row.id == "cli@1" and json.loads(row.symbols) == ["BTC", "ETH", "SOL"] and row.rebalance_every == 2
    listing = _invoke(workdir, "models")
    assert listing.exit_code == 0 and "cli@1" in listing.output and "BTC,ETH,SOL" in listing.output
    row = next(line for line in listing.stdout.splitlines() if "cli@1" in line)
    cells = [c.strip() for c in re.split(r"[│┃]", row) if c.strip()]
    assert cells[3:6] == ["1d", "6 bars", "2d"]  # the duration grammar, not "1 day, 0:00:00"
    card = _invoke(workdir, "models", "cli@1")
    assert card.exit_code == 0 and json.loads(card.output)["env"]["window"] == 6


def test_evaluate_writes_the_report_against_the_three_baselines(workdir: Path, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _invoke(workdir, "evaluate", "cli", "--data", str(data), "--bar-label", "close", "--risk-free", "0.04",
                     "--out", str(out), "--lookback", "20")  # fmt: skip
    assert result.exit_code == 0, result.output
    for label in ("policy cli@1", "buy and hold BTC", "equal weight", "hrp (lookback 20)"):
        assert label in result.output
    assert "…" not in result.output and len(_figures(result.stdout)) >= 4 * 5  # every row's figures, whole
    assert "every 2d (2 bar(s))" in " ".join(result.stdout.split())
    figures = json.loads((out / "evaluation.json").read_text())
    assert [c["label"] for c in figures["contenders"]][1] == "buy and hold BTC"
    assert all(c["figures"]["beta"] is not None for c in figures["contenders"])
    assert "plotly" in (out / "evaluation.html").read_text()[:200_000].lower()


def test_evaluate_against_an_index_from_a_file(workdir: Path, data: Path, tmp_path: Path) -> None:
    index = synthetic_panel(1, 160, seed=2, symbols=["DEFI"])
    write_synthetic_csv(tmp_path / "index", index)
    result = _invoke(workdir, "evaluate", "cli", "--data", str(data), "--bar-label", "close", "--benchmark",
                     str(tmp_path / "index" / "DEFI.csv"), "--out", str(tmp_path / "r"))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "buy and hold DEFI" in result.output and "benchmark DEFI" in result.output


def test_search_chooses_an_interval_and_writes_what_it_found(workdir: Path, data: Path, tmp_path: Path) -> None:
    result = runner.invoke(app, ["rl", "search", "--data", str(data), "--bar-label", "close", "--grid", "24h,48h,5h",
                                 "--workers", "1", "-p", "env.window=6", "-p", "ppo.timesteps=128", *TINY, "--out",
                                 str(tmp_path)], env={"COLUMNS": "250"})  # fmt: skip
    assert result.exit_code == 0, result.output
    found = json.loads((tmp_path / "search.json").read_text())["frequency"]
    assert found["chosen"] in ("24h", "48h") and "5h: not a whole number" in " ".join(result.output.split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--symbols", "BTC,DOGE"], "DOGE"),
        (["train", "--window", "500"], "too little data: BTC, ETH, SOL all have prices on 160 bars"),
        (["train", "--every", "5h"], "--every 5h: not a whole number of the data's 1d bars"),
        (["train", "-p", "env.windw=3"], "--param.env.windw: unknown key"),
        (["train", "-p", "costs.taker_fee=0.5"], "--param.costs.taker_fee"),
        (["train", "-p", "ppo.batch_size=999"], "batch_size 999 is above n_steps"),
        (["train", "-p", "nothing"], "--param 'nothing': expected SECTION.KEY=VALUE"),
        (["train", "--timesteps", "0"], "error: --timesteps: input should be greater than or equal to 1"),
        (["train", "--window", "1"], "error: --window: input should be greater than or equal to 2"),
        (["train", "--risk-free", "nan"], "error: --risk-free: expected a finite number"),
        (["train", "-p", "ppo.timesteps=0"], "error: --param.ppo.timesteps: input should be greater than or equal"),
        (["train", "--benchmark", "DOGE"], "benchmark 'DOGE' is neither a symbol of the data"),
        (["search", "--grid", "5h,7h"], "the frequency grid has no valid point: 5h: not a whole number"),
        (["search", "--metric", "luck"], "metric 'luck' is not one of sortino, normalised_return"),
        (["evaluate", "nothing"], "model 'nothing': no such model"),
        (["evaluate", "cli", "--risk-free", "nan"], "--risk-free: the risk-free rate must be a finite yearly fraction"),
        (["evaluate", "cli", "--baseline", "kelly"], "the covariance baseline is hrp or min_variance, got 'kelly'"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem_and_writes_nothing(
    workdir: Path, data: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    extra = ["--name", "bad"] if args[0] == "train" else []
    if args[0] in ("train", "search", "evaluate"):
        extra += ["--data", str(data), "--bar-label", "close"]
    if args[0] in ("search", "evaluate"):
        extra += ["--out", str(tmp_path / "out")]
    before = sorted(p.name for p in (workdir / "models").iterdir())
    result = _invoke(workdir, *args, *extra)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert message in text and text.startswith("error:") and "Traceback" not in text
    assert sorted(p.name for p in (workdir / "models").iterdir()) == before
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("args", [["models"], ["models", "cli"], ["evaluate", "cli", "--data", "."]])
def test_a_registry_folder_that_does_not_exist_is_an_error_naming_it(tmp_path: Path, args: list[str]) -> None:
    missing = tmp_path / "modles"
    result = runner.invoke(app, ["rl", *args, "--registry", str(missing)], env=NARROW)
    assert result.exit_code == 1, result.output
    text = " ".join(result.output.split())
    assert text.startswith(f"error: model registry {missing} does not exist") and "--registry" in text


def test_evaluate_refuses_data_without_the_models_symbols_naming_them(workdir: Path, tmp_path: Path) -> None:
    write_synthetic_csv(tmp_path / "other", synthetic_panel(2, 160, seed=9, symbols=["BTC", "ETH"]))
    result = _invoke(workdir, "evaluate", "cli", "--data", str(tmp_path / "other"), "--bar-label", "close")
    assert result.exit_code == 1
    assert "SOL" in " ".join(result.output.split())


def _only_json(result) -> object:  # type: ignore[no-untyped-def]
    """The command's stdout as one JSON document (it fails on anything else there: a table, a progress bar)."""
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_json_on_every_command_is_the_only_thing_on_stdout(workdir: Path, data: Path, tmp_path: Path) -> None:
    trained = _only_json(_invoke(tmp_path, "train", "--data", str(data), "--bar-label", "close", "--name", "js",
                                 "--every", "48h", "--window", "6", "--timesteps", "128", *TINY, "--json"))  # fmt: skip
    assert trained["model"]["name"] == "js" and trained["registry"] == str(tmp_path / "models")  # type: ignore[index]
    assert set(trained["model"]["test_figures"]) >= {"total_return", "sortino"}  # type: ignore[index]
    listed = _only_json(_invoke(workdir, "models", "--json"))
    assert [c["name"] for c in listed] == ["cli"] and listed[0]["env"]["rebalance_every"] == 2  # type: ignore[index]
    assert _only_json(_invoke(workdir, "models", "cli@1", "--json")) == listed[0]  # type: ignore[index]
    evaluated = _only_json(_invoke(workdir, "evaluate", "cli", "--data", str(data), "--bar-label", "close",
                                   "--out", str(tmp_path / "e"), "--lookback", "20", "--json"))  # fmt: skip
    assert evaluated == json.loads((tmp_path / "e" / "evaluation.json").read_text()) | {  # type: ignore[operator]
        "report": str(tmp_path / "e" / "evaluation.html"),
        "figures": str(tmp_path / "e" / "evaluation.json"),
    }
    searched = _only_json(runner.invoke(app, ["rl", "search", "--data", str(data), "--bar-label", "close", "--grid",
                                              "48h,5h", "--workers", "1", "-p", "env.window=6", "-p",
                                              "ppo.timesteps=128", *TINY, "--out", str(tmp_path / "s"), "--json"]))  # fmt: skip
    assert searched["frequency"]["chosen"] == "48h" and searched["path"] == str(tmp_path / "s" / "search.json")  # type: ignore[index]
    assert searched["frequency"]["points"][1]["error"] == "not a whole number of the data's 1d bars"  # type: ignore[index]
