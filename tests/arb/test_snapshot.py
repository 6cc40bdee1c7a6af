"""Snapshot loading skips bad rows with reasons; the scanner never crashes on what the loader lets through."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.arb.graph import PoolGraph
from defipm.arb.scanner import Scanner
from defipm.arb.snapshot import load_snapshot, parse_rows
from defipm.core.errors import DataError

T = ["0x" + f"{i:040x}" for i in range(1, 6)]


def _row(addr: int, a: int, b: int, r0: object = 10**20, r1: object = 10**20, **extra: object) -> dict:
    return {
        "address": "0x" + f"{0xAA00 + addr:040x}",
        "token0": {"address": T[a], "symbol": f"T{a}", "decimal": 18},
        "token1": {"address": T[b], "symbol": f"T{b}", "decimal": 18},
        "reserve0": r0,
        "reserve1": r1,
        **extra,
    }


def test_bad_rows_are_skipped_with_reasons() -> None:
    rows = [
        _row(1, 0, 1),
        _row(2, 1, 2, r0=0),  # zero reserve
        _row(3, 0, 2, r1="lots"),  # broken number
        {"address": "0x" + "1" * 40, "token0": {"address": T[0], "decimal": None}, "token1": {}},  # unknown decimals
        "not a row",
        _row(1, 0, 1),  # duplicate
        _row(4, 2, 2),  # token against itself
        _row(5, 2, 3, fee_bps=20_000),
        {"address": "0xnothex", "token0": {}, "token1": {}},
        _row(6, 1, 2, r0="123456789012345678901234"),  # integer as string is fine
        _row(7, 0, 3, kind="v3", sqrt_price_x96=2**96, tick=0, liquidity=0, fee=3000, tick_spacing=60),
    ]
    load = parse_rows(rows)
    assert [p.address[-2:] for p in load.pools] == ["01", "06"]
    reasons = {s.row: s.reason for s in load.skipped}
    assert "below the minimum" in reasons[1]
    assert "not an integer" in reasons[2]
    assert "unknown decimals" in reasons[3]
    assert "not an object" in reasons[4]
    assert "duplicate" in reasons[5]
    assert "same token" in reasons[6]
    assert "fee_bps" in reasons[7]
    assert "hex address" in reasons[8]
    assert "drained" in reasons[10]
    assert len(load.tokens) == 3


def test_unreadable_files_raise_data_error(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="cannot read"):
        load_snapshot(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("[{")
    with pytest.raises(DataError, match="not valid JSON"):
        load_snapshot(bad)
    obj = tmp_path / "obj.json"
    obj.write_text("{}")
    with pytest.raises(DataError, match="JSON list"):
        load_snapshot(obj)


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"{}", "must be a JSON list of rows, got an object"),
        (b"null", "must be a JSON list of rows, got null"),
        (b'"pools"', "must be a JSON list of rows, got a string"),
        (b"\xff\xfe[]", "is not UTF-8 text"),  # a binary file, or text saved in another encoding
        (b"[" * 100_000 + b"]" * 100_000, "is not valid JSON"),  # nested deeper than the parser recurses
    ],
)
def test_every_broken_snapshot_is_refused_naming_the_file(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "broken.json"
    path.write_bytes(content)
    with pytest.raises(DataError) as info:
        load_snapshot(path)
    assert str(info.value).startswith(f"pool snapshot {path} ") and why in str(info.value)


def test_scanner_survives_tiny_and_lopsided_pools(tmp_path: Path) -> None:
    rows = [
        _row(1, 0, 1, r0=1, r1=10**30),
        _row(2, 1, 2, r0=10**30, r1=1),
        _row(3, 0, 2, r0=5, r1=7),
        _row(4, 0, 1, r0=10**20, r1=10**20),
    ]
    path = tmp_path / "pools.json"
    path.write_text(json.dumps(rows))
    load = load_snapshot(path)
    scanner = Scanner(PoolGraph(load.pools, load.tokens), 3)
    result = scanner.scan()  # must not raise
    assert result.screened == scanner.n_cycles


def test_scan_takes_start_tokens_by_address_or_symbol_and_refuses_unknown_ones(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from defipm.arb.cli import app

    path = tmp_path / "pools.json"
    path.write_text(json.dumps([_row(1, 0, 1), _row(2, 1, 2), _row(3, 0, 2, r0=int(1.05 * 10**20))]))
    runner = CliRunner()
    by_symbol = runner.invoke(app, ["scan", "--snapshot", str(path), "--start", "T0", "--native", T[0]])
    by_address = runner.invoke(app, ["scan", "--snapshot", str(path), "--start", T[0], "--native", T[0]])
    assert by_symbol.exit_code == 0 and by_address.exit_code == 0, by_symbol.output
    assert by_symbol.output == by_address.output
    for bad in (["--start", "0xdeadbeef"], ["--start", "WETH"], ["--native", "0x" + "9" * 40]):
        result = runner.invoke(app, ["scan", "--snapshot", str(path), "--native", T[0], "--start", T[0], *bad])
        assert result.exit_code == 1, result.output
        assert "not a token of the snapshot" in " ".join(result.output.split())


@pytest.mark.parametrize(
    "field,value",
    [
        ("reserve0", True),
        ("reserve1", 1.5),
        ("reserve0", "12e3"),
        ("fee_bps", -1),
        ("address", "0x" + "g" * 40),
        ("token0.decimal", 78),
        ("token1.decimal", "eighteen"),
        ("token1.address", 7),
    ],
)
def test_a_bad_field_skips_its_row_and_the_reason_names_it(field: str, value: object) -> None:
    row = _row(1, 0, 1)
    target, key = (row, field) if "." not in field else (row[field.split(".")[0]], field.split(".")[1])
    target[key] = value  # type: ignore[index]
    load = parse_rows([_row(2, 1, 2), row])
    assert [p.address[-2:] for p in load.pools] == ["02"]  # the good row is kept
    (skipped,) = load.skipped
    assert skipped.row == 1 and skipped.reason.startswith(field), skipped.reason


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 2**255), st.integers(1, 2**255), st.booleans())
def test_reserves_of_any_size_load_exactly_as_numbers_or_text(r0: int, r1: int, as_text: bool) -> None:
    row = _row(1, 0, 1, r0=str(r0) if as_text else r0, r1=str(r1) if as_text else r1)
    (pool,) = parse_rows([row]).pools
    assert (pool.reserve0, pool.reserve1) == (r0, r1)  # type: ignore[union-attr]


def test_scan_with_compound_search_sizes_what_the_printed_top_needs(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from defipm.arb.cli import app

    up = int(1.02 * 10**20)  # every ring hop T0 -> T1 -> ... -> T4 -> T0 pays ~1.7% after the fee; chords are fair
    ring = [_row(i + 1, i, i + 1, r1=up) for i in range(4)] + [_row(5, 0, 4, r0=up)]
    chords = [_row(6, 0, 2), _row(7, 1, 3), _row(8, 2, 4)]
    path = tmp_path / "pools.json"
    path.write_text(json.dumps(ring + chords))
    runner = CliRunner()
    # at 24 gwei the fitted flash gas of a 4-hop cycle costs about 0.011 T0: the 4-hop cycles still pay
    args = [
        "scan",
        "--snapshot",
        str(path),
        "--start",
        "T0",
        "--native",
        T[0],
        "--max-len",
        "2",
        "--gas-price-gwei",
        "24",
    ]
    one = runner.invoke(app, [*args, "--compound-len", "5", "--top", "1"])
    every = runner.invoke(app, [*args, "--compound-len", "5", "--top", "50"])
    assert one.exit_code == 0 and every.exit_code == 0, one.output + every.output
    one_text, every_text = " ".join(one.output.split()), " ".join(every.output.split())
    # the best cycle (the whole ring) is sized alone; the three 4-hop cycles wait, then are sized for --top 50
    assert "1 opportunities after fees, premium and gas (4 more long cycles left unsized" in one_text
    assert "4 opportunities after fees, premium and gas" in every_text and "left unsized" not in every_text

    def first_row(output: str) -> list[str]:
        row = output[output.index("│ 1 │") :].split("\n")[0]
        return [c.strip() for c in row.split("│")]

    assert first_row(one.output) == first_row(every.output), "the top-1 row differs from the first of the full list"
