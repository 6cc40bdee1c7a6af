"""``defipm rl train | evaluate | search | models`` on a folder of files, and every bad input as one line naming
the problem, with nothing written."""

from __future__ import annotations

import json
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
    return folder


def _invoke(folder: Path, *args: str):  # type: ignore[no-untyped-def]
    common = ["--registry", str(folder / "models")] if args[0] != "search" else []
    if args[0] in ("train",):
        common += ["--database", f"sqlite:///{folder / 'rl.db'}"]
    return runner.invoke(app, ["rl", *args, *common], env={"COLUMNS": "250"})


def test_train_registers_the_model_in_the_folder_and_the_store(workdir: Path) -> None:
    assert (workdir / "models" / "cli" / "1" / "policy.zip").is_file()
    with Store(f"sqlite:///{workdir / 'rl.db'}").engine.connect() as conn:
        row = conn.execute(select(RLModelRecord)).one()
    assert row.id == "cli@1" and json.loads(row.symbols) == ["BTC", "ETH", "SOL"] and row.rebalance_every == 2
    listing = _invoke(workdir, "models")
    assert listing.exit_code == 0 and "cli@1" in listing.output and "BTC,ETH,SOL" in listing.output
    card = _invoke(workdir, "models", "cli@1")
    assert card.exit_code == 0 and json.loads(card.output)["env"]["window"] == 6


def test_evaluate_writes_the_report_against_the_three_baselines(workdir: Path, data: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    result = _invoke(workdir, "evaluate", "cli", "--data", str(data), "--bar-label", "close", "--risk-free", "0.04",
                     "--out", str(out), "--lookback", "20")  # fmt: skip
    assert result.exit_code == 0, result.output
    for label in ("policy cli@1", "buy and hold BTC", "equal weight", "hrp (lookback 20)"):
        assert label in result.output
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
        (["train", "--every", "5h"], "--every 5h: not a whole number of the data's 1 day, 0:00:00 bars"),
        (["train", "-p", "env.windw=3"], "--param.env.windw: unknown key"),
        (["train", "-p", "costs.taker_fee=0.5"], "--param.costs.taker_fee"),
        (["train", "-p", "ppo.batch_size=999"], "batch_size 999 is above n_steps"),
        (["train", "-p", "nothing"], "--param 'nothing': expected SECTION.KEY=VALUE"),
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


def test_evaluate_refuses_data_without_the_models_symbols_naming_them(workdir: Path, tmp_path: Path) -> None:
    write_synthetic_csv(tmp_path / "other", synthetic_panel(2, 160, seed=9, symbols=["BTC", "ETH"]))
    result = _invoke(workdir, "evaluate", "cli", "--data", str(tmp_path / "other"), "--bar-label", "close")
    assert result.exit_code == 1
    assert "SOL" in " ".join(result.output.split())
