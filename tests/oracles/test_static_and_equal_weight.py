"""Static weights from TOML, JSON and CSV files, with errors that name the file and entry; equal weight."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from defipm import ConfigError, DataError, EqualWeightOracle, StaticOracle, Weights
from defipm.registry import build_oracle

T = datetime(2024, 1, 1, tzinfo=UTC)
EXPECTED = {"BTC": 0.5, "ETH": -0.25, "SOL": 0.25}


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("w.toml", "[weights]\nBTC = 0.5\nETH = -0.25\nSOL = 0.25\n"),
        ("flat.toml", "BTC = 0.5\nETH = -0.25\nSOL = 0.25\n"),
        ("w.json", '{"weights": {"BTC": 0.5, "ETH": -0.25, "SOL": 0.25}}'),
        ("flat.json", '{"BTC": 0.5, "ETH": -0.25, "SOL": 0.25}'),
        ("w.csv", "symbol,weight\nBTC,0.5\nETH,-0.25\nSOL,0.25\n"),
    ],
)
def test_every_file_format_loads(tmp_path: Path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text)
    oracle = StaticOracle.from_file(path)
    assert dict(oracle.fetch_portfolio_weights(T, ["BTC", "ETH", "SOL"])) == EXPECTED
    assert oracle.validate_weights(oracle.weights)


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("bad.toml", "BTC = 'half'\n", "weight of BTC: expected a number, got 'half'"),
        ("bad.json", "{not json", "cannot parse"),
        ("bad.csv", "sym,w\nBTC,1\n", "columns symbol,weight"),
        ("dup.csv", "symbol,weight\nBTC,0.5\nBTC,0.5\n", ":3: duplicate symbol BTC"),
        ("w.yaml", "BTC: 1", "unsupported weights file type"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, name: str, text: str, message: str):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as exc:
        StaticOracle.from_file(path)
    assert name in str(exc.value)


def test_missing_file(tmp_path: Path):
    with pytest.raises(ConfigError, match="weights file not found"):
        StaticOracle.from_file(tmp_path / "nope.toml")


def test_registry_builds_static_from_config_params(tmp_path: Path):
    oracle = build_oracle("static", {"weights": {"BTC": 1.0}})
    assert oracle.fetch_portfolio_weights(T, ["BTC"]) == Weights({"BTC": 1.0})
    with pytest.raises(ConfigError, match=r"oracle.params: static needs exactly one of weights \(a table\) or path"):
        build_oracle("static", {})
    with pytest.raises(ConfigError, match=r"oracle.params.wieghts: unknown key \(did you mean weights\?"):
        build_oracle("static", {"weights": {"BTC": 1.0}, "wieghts": 1})
    with pytest.raises(ConfigError, match=r"oracle.params.gros: unknown key \(did you mean gross\?"):
        build_oracle("equal_weight", {"gros": 1.0})


def test_equal_weight_over_chosen_symbols():
    oracle = EqualWeightOracle(["BTC", "ETH", "DOGE"], gross=0.9)
    w = oracle.fetch_portfolio_weights(T, ["BTC", "ETH", "SOL"])
    assert dict(w) == {"BTC": 0.45, "ETH": 0.45}
    assert any("DOGE" in n for n in oracle.pop_notes())
    with pytest.raises(DataError):
        oracle.fetch_portfolio_weights(T, ["SOL"])
