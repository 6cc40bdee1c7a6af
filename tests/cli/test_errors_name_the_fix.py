"""Every error names its fix (issue 18, item 2), pinned by class: the limit's config key, the venue's symbols, the
folder searched for a file, the database's file and setting, the exchange's or node's URL, the kill switch's
release, the installer, a near miss for a typo; plain-decimal amounts; no ``None``; errors on stderr."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
import requests
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from defipm.cli import app
from defipm.config_schema import missing_file, near_miss
from defipm.core.amounts import format_amount
from defipm.core.errors import ConfigError
from defipm.core.validation import check_weights
from defipm.core.weights import Weights
from defipm.registry import oracle_spec

runner = CliRunner()


def write_config(tmp_path: Path, weights: str = "SYN000 = 0.4, SYN001 = 0.3", extra: str = "") -> Path:
    cfg = tmp_path / "defipm.toml"
    cfg.write_text(
        f'run = "t"\ndatabase = "sqlite:///{tmp_path / "db.sqlite"}"\n[oracle]\nkind = "static"\n[oracle.params]\n'
        f'weights = {{ {weights} }}\n[venue]\nkind = "paper"\n[market]\nn_assets = 3\nseed = 1\n{extra}'
    )
    return cfg


# -- amounts ---------------------------------------------------------------------------------------------------
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20, places=12))
def test_amounts_print_as_plain_decimals_that_read_back_exactly(value: Decimal) -> None:
    text = format_amount(value)
    assert "e" not in text.lower() and Decimal(text) == value


@pytest.mark.parametrize(
    ("value", "digits", "shown"),
    [(Decimal("1E+3"), None, "1000"), (Decimal("1E-5"), None, "0.00001"), (Decimal("1E+15"), None, "1000000000000000"),
     (Decimal("123456.789"), 6, "123457"), (Decimal("2.50"), None, "2.5"), (Decimal("-0.000"), None, "0")],
)  # fmt: skip
def test_amount_examples(value: Decimal, digits: int | None, shown: str) -> None:
    assert format_amount(value, digits) == shown


def test_a_limit_in_a_config_error_is_a_plain_decimal(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, extra="[venue.params]\ninitial_cash = 1e23\n")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "at most 1000000000000000 (" in result.stderr and "E+" not in result.stderr


# -- weights: the key to edit, the venue's symbols ---------------------------------------------------------------
def test_a_rejected_target_names_the_config_key_of_the_limit() -> None:
    oracle = oracle_spec("static", {"weights": {"SYN000": 100.0}}).build()
    (problem,) = check_weights(oracle.weights, ["SYN000"], oracle.constraints)
    assert problem == "gross exposure 100 above max_gross 1 (edit [oracle.params] max_gross)"
    equal = oracle_spec("equal_weight", {"gross": 1.0}).build()
    assert "(edit [oracle.params] gross)" in check_weights(Weights({"A": 2.0}), None, equal.constraints)[-1]


def test_the_key_to_edit_is_where_the_user_set_the_value(tmp_path: Path) -> None:
    """A command line's -p (or --grid) value is named as such, not as the config's [oracle.params]; a weights file
    by its path; of the params that may set a limit, the one given."""
    given = {"max_gross": "-p max_gross=...", "weights": "-p weights=..."}
    oracle = oracle_spec("static", {"weights": {"SYN000": 100.0}}, sources=given).build()
    assert check_weights(oracle.weights, ["BTC"], oracle.constraints) == [
        "SYN000: not in the venue's universe (it lists BTC) (edit -p weights=...)",
        "gross exposure 100 above max_gross 1 (edit -p max_gross=...)",
    ]
    weights = tmp_path / "w.toml"
    weights.write_text("SYN000 = 0.5\n")
    from_file = oracle_spec("static", {"path": str(weights)}).build()
    (problem,) = check_weights(from_file.weights, ["BTC"], from_file.constraints)
    assert problem.endswith(f"(edit the file {weights}, set by [oracle.params] path)")


def test_a_bad_cell_and_a_left_out_symbol_have_one_wording_each() -> None:
    from defipm.data.cells import cell_error
    from defipm.data.panel import left_out_note

    assert (
        str(cell_error("f.csv: row 3", "Close", "1,0", "a number", "FIX"))
        == "f.csv: row 3: Close '1,0' is not a number: FIX"
    )
    assert left_out_note(["SOL"]) == "SOL: in the data but left out by --symbols (add it to --symbols)"
    assert left_out_note(["SOL", "XRP"], "OTHER") == (
        "SOL, XRP: in the data but left out by --symbols (add them to --symbols, or OTHER)"
    )


def test_an_unknown_symbol_lists_the_venues_symbols_and_the_key(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, weights="BTC = 0.5")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1
    assert (
        "BTC: not in the venue's universe (it lists SYN000, SYN001, SYN002) (edit [oracle.params] weights)"
        in " ".join(result.stderr.split())
    )
    many = check_weights(Weights({"X": 1.0}), [f"S{i:02}" for i in range(30)])
    assert "S11 and 18 more)" in many[0]


# -- halts, exit codes -------------------------------------------------------------------------------------------
def test_a_halt_names_the_release_and_exits_3(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    assert runner.invoke(app, ["kill-switch", "on", "--reason", "audit", "-c", str(cfg)]).exit_code == 0
    halted = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert halted.exit_code == 3
    assert "trading halted: audit (resume with: defipm kill-switch off -c CONFIG)" in " ".join(halted.stderr.split())
    trade = runner.invoke(app, ["trade", "buy", "SYN000", "1", "-c", str(cfg)])
    assert trade.exit_code == 1 and "defipm kill-switch off" in trade.stderr and trade.stdout == ""
    assert runner.invoke(app, ["rebalance", "--no-such-option"]).exit_code == 2


# -- files, databases, connections ------------------------------------------------------------------------------
def test_a_missing_file_names_the_folder_searched_and_a_near_miss(tmp_path: Path) -> None:
    (tmp_path / "weights.toml").write_text("BTC = 1")
    assert missing_file("weights file", tmp_path / "weight.toml") == (
        f"weights file not found: {tmp_path / 'weight.toml'} (looked in {tmp_path}; did you mean weights.toml?)"
    )
    assert f"the folder {tmp_path / 'nope'} does not exist" in missing_file("weights file", tmp_path / "nope/w.csv")
    with pytest.raises(ConfigError, match=re.escape(f"looked in {tmp_path}; did you mean weights.toml?")):
        oracle_spec("static", {"path": str(tmp_path / "weigths.toml")})
    result = runner.invoke(app, ["status", "-c", str(tmp_path / "missing.toml")])
    assert result.exit_code == 1 and f"(looked in {tmp_path})" in " ".join(result.stderr.split())
    assert "defipm init" in result.stderr


def test_an_unopenable_database_names_its_file_and_the_setting(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    cfg.write_text(cfg.read_text().replace(str(tmp_path / "db.sqlite"), str(tmp_path / "gone" / "db.sqlite")))
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    text = " ".join(result.stderr.split())
    assert result.exit_code == 1
    assert f"its folder {tmp_path / 'gone'} does not exist" in text and "set `database` in the config" in text


def test_an_unreachable_exchange_or_node_names_the_url_and_the_local_one() -> None:
    from defipm.chain.errors import translate_web3_error
    from defipm.venues.hyperliquid.client import translate

    refused = requests.ConnectionError("Connection refused")
    local = str(translate(refused, "meta", "http://127.0.0.1:3001"))
    assert local.startswith("meta: connection to http://127.0.0.1:3001 failed (ConnectionError)")
    assert "is the local exchange running (`defipm hl-sim sim`)?" in local and "[venue.params] base_url" in local
    assert "is the exchange reachable?" in str(translate(requests.Timeout(), "meta", "https://api.example"))
    node = str(translate_web3_error(refused, "read chain id"))
    assert "node unreachable" in node and "defipm chain up" in node and "[venue.params] rpc_url" in node


# -- typos, installers, None -------------------------------------------------------------------------------------
def test_every_unknown_name_gets_the_same_near_miss(tmp_path: Path) -> None:
    assert near_miss("max_wieght", ["max_weight", "max_turnover"]) == "did you mean max_weight? "
    with pytest.raises(ConfigError, match=r"unknown kind 'statik' \(did you mean static\? available"):
        oracle_spec("statik", {})
    cfg = write_config(tmp_path, extra="[risk]\nmax_wieght = 0.2\n")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "risk.max_wieght: unknown key (did you mean max_weight?" in result.stderr
    env = runner.invoke(app, ["status", "-c", str(cfg)], env={"DEFIPM_DATABSE": "x"})
    assert env.exit_code == 1 and "DEFIPM_DATABSE: did you mean DEFIPM_DATABASE?" in env.stderr


def test_install_hints_point_at_the_bootstrap_script() -> None:
    from defipm.extras import install_hint

    assert install_hint("backtest").startswith("run scripts/bootstrap backtest")
    sources = Path(__file__).parents[2] / "src" / "defipm"
    bare = [str(p) for p in sources.rglob("*.py") if "pip install 'defipm[" in p.read_text() and p.name != "extras.py"]
    assert bare == []  # every other hint goes through install_hint


def test_no_none_in_a_failed_cycle(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, weights="SYN000 = 100.0")
    result = runner.invoke(app, ["rebalance", "-c", str(cfg)])
    assert result.exit_code == 1 and "None" not in result.output


def test_a_trade_in_an_unknown_symbol_lists_the_venues_symbols(tmp_path: Path) -> None:
    result = runner.invoke(app, ["trade", "buy", "SYN00", "1", "-c", str(write_config(tmp_path))])
    assert result.exit_code == 1 and result.stdout == ""
    assert "SYN00: not listed on paper (did you mean SYN000? it lists SYN000, SYN001, SYN002)" in " ".join(
        result.stderr.split()
    )
