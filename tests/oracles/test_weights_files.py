"""Weights files: every entry is used or refused by name, the same way in TOML, JSON and CSV."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from defipm.core.errors import ConfigError
from defipm.core.weights import Weights
from defipm.oracles.static import load_weights_file


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("dup.json", '{"BTC": 0.5, "ETH": 0.1, "BTC": 0.2}', "cannot parse: key 'BTC' appears twice"),
        ("dup.json", '{"weights": {"BTC": 0.5, "BTC": 0.2}}', "cannot parse: key 'BTC' appears twice"),
        ("dup.toml", "BTC = 0.5\nBTC = 0.2\n", "cannot parse"),
        ("dup.csv", "symbol,weight\nBTC,0.5\nBTC,0.2\n", ":3: duplicate symbol BTC"),
        ("empty.toml", '"" = 0.5\nETH = 0.1\n', "symbol '': a symbol is a non-empty name"),
        ("empty.json", '{"": 0.5}', "symbol '': a symbol is a non-empty name"),
        ("empty.csv", "symbol,weight\n,0.5\n", "symbol '': a symbol is a non-empty name"),
        ("space.json", '{" BTC": 0.5}', "symbol ' BTC': a symbol is a non-empty name without spaces"),
        ("bool.toml", "BTC = true\n", "weight of BTC: expected a number, got True"),
        ("bool.json", '{"BTC": false}', "weight of BTC: expected a number, got False"),
        ("nan.toml", "BTC = nan\n", "weight of BTC: expected a finite number, got nan"),
        ("nan.json", '{"BTC": NaN}', "cannot parse: NaN is not a finite number"),
        ("inf.csv", "symbol,weight\nBTC,inf\n", "weight of BTC: expected a finite number"),
        ("huge.json", '{"BTC": 1e308}', "weight of BTC: at most 1000 in size"),
        ("huge.json", '{"BTC": 1e400}', "weight of BTC: expected a finite number"),
        ("big.json", '{"BTC": ' + "9" * 400 + "}", "weight of BTC"),
        ("list.json", "[0.5]", "expected a table of symbol = weight, got list"),
        ("extra.toml", "max_gross = 2\n[weights]\nBTC = 0.5\n", "keys beside the weights table would be ignored: max"),
        ("extra.csv", "symbol,weight,note\nBTC,0.5,x\n", "exactly the columns symbol,weight"),
        ("cells.csv", "symbol,weight\nBTC,0.5,oops\n", ":2: expected two cells"),
        ("short.csv", "symbol,weight\nBTC\n", ":2: expected two cells"),
        ("table.toml", "[BTC]\nx = 1\n", "weight of BTC: expected a number, got a table"),
    ],
)
def test_every_bad_entry_is_named(tmp_path: Path, name: str, text: str, message: str):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as refused:
        load_weights_file(path)
    assert name in str(refused.value) and message in str(refused.value)


def test_every_problem_at_once(tmp_path: Path):
    path = tmp_path / "w.toml"
    path.write_text('"" = 0.5\nETH = true\nSOL = nan\nXRP = 0.1\n')
    with pytest.raises(ConfigError) as refused:
        load_weights_file(path)
    assert str(refused.value).count(";") == 2  # three problems, XRP is fine


def test_a_file_that_is_not_utf8_is_named(tmp_path: Path):
    path = tmp_path / "w.csv"
    path.write_bytes(b"symbol,weight\n\xff\xfe,0.5\n")
    with pytest.raises(ConfigError, match=r"w\.csv: cannot parse"):
        load_weights_file(path)


def test_good_files_with_the_right_values(tmp_path: Path):
    (tmp_path / "w.csv").write_text("\ufeffsymbol , weight\nBTC, 0.5\nETH,-0.25\n")  # a spreadsheet's BOM and spaces
    (tmp_path / "w.json").write_text('{"weights": {"BTC": 0.5, "ETH": -0.25}}')
    (tmp_path / "w.toml").write_text("[weights]\nBTC = 0.5\nETH = -0.25\n")
    for name in ("w.csv", "w.json", "w.toml"):
        assert load_weights_file(tmp_path / name) == Weights({"BTC": 0.5, "ETH": -0.25})


SYMBOLS = st.sampled_from(["BTC", "ETH", "", " X", "kPEPE", "@107", "a\nb", "weights"]) | st.text(max_size=3)
WEIGHTS = (
    st.floats(allow_nan=True, allow_infinity=True) | st.booleans() | st.integers(-(10**30), 10**30) | st.none()
    | st.text(max_size=5) | st.lists(st.integers(), max_size=2)
)  # fmt: skip


def _csv_cell(value: object) -> str:
    return "" if value is None else str(value).replace("\n", " ")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    suffix=st.sampled_from([".json", ".csv", ".toml"]),
    entries=st.lists(st.tuples(SYMBOLS, WEIGHTS), max_size=5),
    junk=st.text(max_size=12),
)
def test_fuzzed_weights_files_raise_only_config_errors(tmp_path: Path, suffix: str, entries: list, junk: str):
    path = tmp_path / f"w{suffix}"
    if suffix == ".json":
        body = ", ".join(f"{json.dumps(s)}: {json.dumps(w)}" for s, w in entries)
        text = "{" + body + "}" + junk
    elif suffix == ".csv":
        text = "symbol,weight\n" + "".join(f"{_csv_cell(s)},{_csv_cell(w)}\n" for s, w in entries) + junk
    else:
        text = "".join(f"{json.dumps(s)} = {json.dumps(w) if w is not None else ''}\n" for s, w in entries) + junk
    path.write_text(text, encoding="utf-8", errors="surrogateescape")
    try:
        weights = load_weights_file(path)
    except ConfigError as exc:
        assert str(path) in str(exc)
        return
    assert all(s and s == s.strip() for s in weights)  # whatever loads is clean: named symbols, finite weights
    assert all(abs(w) <= 1000 for w in weights.values())
