"""The settings: bounded values, no boolean for a number, every key read or refused, and a fuzzed loader that only
ever raises ConfigError naming the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defipm.config import Settings, load_settings, settings_from_dict
from defipm.core.errors import ConfigError
from defipm.environment import is_own_variable


@pytest.fixture(autouse=True)
def _no_setting_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("DEFIPM_") and not is_own_variable(name.upper()):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ({"market": {"interval_hours": float("inf")}}, "market.interval_hours: expected a finite number, got inf"),
        ({"market": {"interval_hours": 1e-320}}, "market.interval_hours: input should be greater than or equal to"),
        ({"market": {"volatility": float("nan")}}, "market.volatility: expected a finite number, got nan"),
        ({"market": {"seed": -1}}, "market.seed: input should be greater than or equal to 0"),
        ({"market": {"n_assets": True}}, "market.n_assets: expected a whole number, got True"),
        ({"risk": {"max_gross_leverage": True}}, "risk.max_gross_leverage: expected a number, got True"),
        ({"risk": {"max_gross_leverage": float("inf")}}, "risk.max_gross_leverage: expected a finite number"),
        ({"risk": {"max_wieght": 0.5}}, "risk.max_wieght: unknown key (did you mean max_weight? accepted: "),
        ({"planner": {"cost_reserve_bps": False}}, "planner.cost_reserve_bps: expected a number, got False"),
        ({"oracle": {"kind": ""}}, "oracle.kind: string should have at least 1 character"),
        ({"run": ""}, "run: string should have at least 1 character"),
        ({"markets": {}}, "markets: unknown key (did you mean market? accepted: run, database, oracle, venue"),
    ],
)
def test_bad_values_are_named(data: dict[str, Any], expected: str):
    with pytest.raises(ConfigError) as refused:
        settings_from_dict(data)
    assert expected in str(refused.value)


def test_market_keys_of_another_source_are_refused_not_ignored():
    with pytest.raises(ConfigError, match=r"market: seed not read with source = 'csv' \(it reads path\)"):
        settings_from_dict({"market": {"source": "csv", "path": "prices", "seed": 3}})
    with pytest.raises(ConfigError, match="market: source = 'csv' needs path"):
        settings_from_dict({"market": {"source": "csv"}})
    assert settings_from_dict({"market": {"source": "csv", "path": "prices"}}).market.path == Path("prices")
    assert settings_from_dict({"market": {"seed": 4, "interval_hours": 0.25}}).market.seed == 4


def test_the_example_config_loads(tmp_path: Path):
    from defipm.config import EXAMPLE_CONFIG

    path = tmp_path / "defipm.toml"
    path.write_text(EXAMPLE_CONFIG)
    assert load_settings(path).risk.max_drawdown == 0.3


def test_a_config_that_is_not_utf8_is_a_config_error(tmp_path: Path):
    path = tmp_path / "defipm.toml"
    path.write_bytes(b'run = "\xff\xfe"\n')
    with pytest.raises(ConfigError, match=r"defipm\.toml: cannot read"):
        load_settings(path)


KEYS = ["run", "database", "oracle", "venue", "risk", "planner", "market", "kind", "params", "max_weight",
        "max_drawdown", "no_trade_band", "order_type", "source", "seed", "interval_hours", "path", "weights", "x"]  # fmt: skip
SCALARS = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["static", "paper", "csv", "market", "", "1e400", "nan"]),
)
TABLE_KEYS = st.sampled_from(KEYS) | st.text(max_size=4)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TABLE_KEYS, inner, max_size=4),
    max_leaves=12,
)
CONFIGS = st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=6), VALUES, max_size=5)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=CONFIGS)
def test_fuzzed_configs_raise_only_config_errors_naming_a_field(data: dict[str, Any]):
    try:
        loaded = settings_from_dict(data)
    except ConfigError as exc:
        message = str(exc)
        assert message.startswith("config: ")
        low = message.lower()  # section names are case-insensitive (VENUE is venue): named in either case
        named = [
            k
            for k in data
            if f" {k}" in message or f" {k!r}" in message or f"{k}:" in message or f" {k.lower()}:" in low
        ]
        assert named or "(top level)" in message, message
        return
    assert isinstance(loaded, Settings)


@settings(max_examples=150, deadline=None)
@given(data=CONFIGS)
def test_fuzzed_toml_files_raise_only_config_errors(tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]):
    path = tmp_path_factory.mktemp("cfg") / "defipm.toml"
    try:
        path.write_text(tomli_w.dumps(data))
    except (TypeError, ValueError):  # not representable in TOML (None, mixed arrays in old writers)
        return
    try:
        load_settings(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


@settings(max_examples=150, deadline=None)
@given(text=st.text(max_size=80) | st.binary(max_size=40).map(lambda b: b.decode("latin-1")))
def test_any_text_as_a_config_file_raises_only_config_errors(tmp_path_factory: pytest.TempPathFactory, text: str):
    path = tmp_path_factory.mktemp("cfg") / "defipm.toml"
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        load_settings(path)
    except ConfigError as exc:
        assert str(path) in str(exc)


def test_a_folder_given_as_the_config_is_named_as_a_folder(tmp_path: Path):
    from typer.testing import CliRunner

    from defipm.cli import app

    folder = tmp_path / "portfolio"
    folder.mkdir()
    for command in (["status"], ["rebalance"], ["run", "--max-cycles", "1"]):
        result = CliRunner().invoke(app, [*command, "-c", str(folder)])
        output = " ".join(result.output.split())
        assert result.exit_code == 1, output
        assert f"config file {folder} is a folder, not a file" in output and "not found" not in output
        assert f"defipm init {folder / 'defipm.toml'}" in output
    assert list(folder.iterdir()) == []  # nothing created
    (folder / "defipm.toml").write_text('run = "a"\n')
    with pytest.raises(ConfigError, match=f"is a folder, not a file: give the file in it, -c {folder / 'defipm.toml'}"):
        load_settings(folder)
