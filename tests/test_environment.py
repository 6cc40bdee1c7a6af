"""DEFIPM_ variables: every one is a setting, one of defipm's own, or refused by name (never silently ignored)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from defipm.cli import app
from defipm.config import Settings, load_settings, settings_from_dict
from defipm.core.errors import ConfigError
from defipm.environment import OWN_PREFIXES, RENAMED, is_own_variable, unknown_variables

REPO = Path(__file__).resolve().parents[1]


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    for name in list(os.environ):
        if name.upper().startswith("DEFIPM_") and not is_own_variable(name.upper()):
            monkeypatch.delenv(name)


def test_a_misspelt_section_is_refused_like_a_misspelt_key(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    _clear(monkeypatch)
    config = tmp_path / "defipm.toml"
    config.write_text("[risk]\nmax_gross_leverage = 1.5\n")
    monkeypatch.setenv("DEFIPM_RISKS__MAX_DRAWDOWN", "0.1")
    with pytest.raises(ConfigError) as refused:
        load_settings(config)
    assert "DEFIPM_RISKS__MAX_DRAWDOWN: did you mean DEFIPM_RISK__MAX_DRAWDOWN?" in str(refused.value)
    monkeypatch.delenv("DEFIPM_RISKS__MAX_DRAWDOWN")
    monkeypatch.setenv("DEFIPM_RISK__MAX_DRAWDOWN", "0.1")
    assert load_settings(config).risk.max_drawdown == 0.1  # the right spelling is used


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("DEFIPM_FOO", "DEFIPM_FOO: not a defipm setting"),
        ("DEFIPM_RISK_MAX_DRAWDOWN", "did you mean DEFIPM_RISK__MAX_DRAWDOWN?"),
        ("DEFIPM_RISK__MAX_DRAWDOWNN", "did you mean DEFIPM_RISK__MAX_DRAWDOWN?"),
        ("defipm_risks__max_weight", "did you mean DEFIPM_RISK__MAX_WEIGHT?"),
        ("DEFIPM_RUN__NAME", "DEFIPM_RUN__NAME: "),
        ("DEFIPM_RISK__", "DEFIPM_RISK__: "),
        ("DEFIPM_HL_SECRET_KEY", "renamed, so a key is never used on the wrong network: use DEFIPM_HL_TESTNET_"),
        ("DEFIPM_ANVLI", "did you mean DEFIPM_ANVIL?"),
        ("DEFIPM_ORACLE__PARAMS__WEIGHTS__BTC", "DEFIPM_ORACLE__PARAMS__WEIGHTS='{\"BTC\": 0.5}'"),
    ],
)
def test_unknown_variables_are_named_with_their_fix(name: str, expected: str):
    found = unknown_variables(Settings, {name: "0.1", "DEFIPM_RUN": "alpha", "DEFIPM_ANVIL": "/bin/anvil"})
    assert len(found) == 1 and expected in found[0]


def test_every_defipm_variable_the_code_reads_is_allowed():
    """A new DEFIPM_ variable in the code must be added to OWN_VARIABLES (or be a setting), or every run fails."""
    pattern = re.compile(r"\bDEFIPM_[A-Z0-9_]*[A-Z0-9]")
    names: set[str] = set()
    for folder in ("src", "benchmarks", "scripts", ".ci"):  # the code, not the docs' examples of mistakes
        for path in (REPO / folder).rglob("*"):
            if (
                path.is_file()
                and path.suffix in ("", ".py", ".sh", ".toml")
                and path.name != "environment.py"
                and ".egg-info" not in str(path)
            ):
                names |= set(pattern.findall(path.read_text(errors="ignore")))
    assert {"DEFIPM_NODE_MODULES", "DEFIPM_ANVIL", "DEFIPM_REQUIRE_CHAIN", "DEFIPM_HL_TESTNET_SECRET_KEY"} <= names
    read = names - set(RENAMED)  # the network-less Hyperliquid names are read only to be refused with the new ones
    read = {n for n in read if not any(p.startswith(n + "_") for p in OWN_PREFIXES)}  # f-string prefixes of names
    assert unknown_variables(Settings, dict.fromkeys(read, "1")) == []


def test_hyperliquid_key_variables_of_any_profile_are_defipm_s_own():
    environ = {"DEFIPM_HL_TESTNET_SECRET_KEY": "k", "DEFIPM_HL_MAINNET_FUND_SECRET_KEY": "k", "DEFIPM_RUN": "a"}
    assert unknown_variables(Settings, environ) == []


@pytest.mark.parametrize(
    ("name", "nearest"),
    [
        ("DEFIPM_HL_TESTNET_SECRT_KEY", "DEFIPM_HL_TESTNET_SECRET_KEY"),  # misspelt suffix under the prefix
        ("DEFIPM_HL_TESTNET_SECRETKEY", "DEFIPM_HL_TESTNET_SECRET_KEY"),  # a lost underscore
        ("DEFIPM_HL_MAINNET_ACCOUNT_ADRESS", "DEFIPM_HL_MAINNET_ACCOUNT_ADDRESS"),
        ("DEFIPM_HL_TESTNET_KEYSTORE_PASSWRD", "DEFIPM_HL_TESTNET_KEYSTORE_PASSWORD"),
        ("DEFIPM_HL_TESNET_SECRET_KEY", "DEFIPM_HL_TESTNET_SECRET_KEY"),  # misspelt network: outside the prefixes
        ("DEFIPM_HL_TESTNET__SECRET_KEY", "DEFIPM_HL_TESTNET_SECRET_KEY"),  # an empty profile name
        ("defipm_hl_mainnet_secret_ky", "DEFIPM_HL_MAINNET_SECRET_KEY"),
    ],
)
def test_a_misspelt_hyperliquid_key_variable_is_refused_with_the_nearest_name(name: str, nearest: str):
    found = unknown_variables(Settings, {name: "1", "DEFIPM_HL_TESTNET_SECRET_KEY": "k"})
    assert len(found) == 1 and found[0].startswith(f"{name}: ") and f"did you mean {nearest}?" in found[0]
    assert not is_own_variable(name.upper())


def test_every_variable_the_hyperliquid_venue_reads_is_allowed():
    from defipm.venues.hyperliquid.credentials import variables

    names = variables(["personal", "fund_2", "VAULT"])
    assert len(names) == 12 and unknown_variables(Settings, dict.fromkeys(names, "1")) == []


def test_json_values_from_the_environment_refuse_a_duplicated_key(monkeypatch: pytest.MonkeyPatch):
    _clear(monkeypatch)
    monkeypatch.setenv("DEFIPM_RISK", '{"max_weight": 0.2, "max_weight": 0.9}')
    with pytest.raises(ConfigError, match=r"DEFIPM_RISK: not valid JSON \(key 'max_weight' appears twice\)"):
        settings_from_dict({})
    monkeypatch.delenv("DEFIPM_RISK")
    monkeypatch.setenv("DEFIPM_ORACLE__PARAMS__WEIGHTS", '{"BTC": 0.2, "BTC": 0.9}')
    with pytest.raises(ConfigError, match=r"oracle\.params: weights: not valid JSON \(key 'BTC' appears twice\)"):
        settings_from_dict({"oracle": {"kind": "static"}})
    monkeypatch.setenv("DEFIPM_ORACLE__PARAMS__WEIGHTS", '{"BTC": 0.2, "ETH": -0.1}')
    assert settings_from_dict({"oracle": {"kind": "static"}}).oracle.params == {"weights": {"BTC": 0.2, "ETH": -0.1}}


def test_every_command_refuses_an_unknown_variable_and_changes_nothing(tmp_path: Path):
    target = tmp_path / "defipm.toml"
    result = CliRunner().invoke(app, ["init", str(target)], env={"DEFIPM_FOO": "1"})
    assert result.exit_code == 1 and "DEFIPM_FOO: not a defipm setting" in result.output
    assert not target.exists()
    result = CliRunner().invoke(app, ["init", str(target)], env={"DEFIPM_ANVIL": "/nowhere/anvil"})
    assert result.exit_code == 0 and target.exists()  # defipm's own variables are fine everywhere


NAME_PARTS = st.sampled_from(
    ["RUN", "DATABASE", "RISK", "RISKS", "MAX_WEIGHT", "MAX_DRAWDOWN", "ORACLE", "VENUE", "PARAMS", "KIND", "MARKET",
     "SEED", "PLANNER", "NO_TRADE_BAND", "FOO", "HL", "SECRET", "X", ""]
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(NAME_PARTS, min_size=1, max_size=4), joints=st.lists(st.sampled_from(["_", "__"]), max_size=3))
def test_no_variable_is_silently_ignored(parts: list[str], joints: list[str]):
    """Property: with any DEFIPM_ name set, loading either fails naming it or the settings change (it is used)."""
    name = "DEFIPM_" + parts[0] + "".join(j + p for j, p in zip(joints, parts[1:], strict=False))
    if is_own_variable(name.upper()):
        return
    with pytest.MonkeyPatch.context() as mp:
        _clear(mp)
        baseline = settings_from_dict({})
        mp.setenv(name, "zz-not-a-default")
        try:
            loaded = settings_from_dict({})
        except ConfigError as exc:
            assert name in str(exc) or name.split("__")[0].removeprefix("DEFIPM_").lower() in str(exc)
            return
    assert loaded != baseline, f"{name} was accepted but changed nothing"


def test_an_empty_symbol_from_the_environment_is_named(tmp_path: Path):
    config = tmp_path / "defipm.toml"
    config.write_text(f'run = "t"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n[oracle]\nkind = "static"\n')
    env = {"DEFIPM_ORACLE__PARAMS__WEIGHTS": '{"": 0.5, "SYN000": 0.2}'}
    result = CliRunner().invoke(app, ["rebalance", "-c", str(config)], env=env)
    assert result.exit_code == 1, result.output
    assert "oracle.params.weights: key '': a symbol is a non-empty name" in result.output
    assert "Traceback" not in result.output
    assert not (tmp_path / "db.sqlite").exists()  # the whole config is checked before the store is opened
