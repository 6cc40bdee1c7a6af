"""``defipm arb scan`` as a user meets it: net USD at the snapshot's own native price (its deepest WETH/stablecoin
pool, named; ``--native-usd`` overrides), a file with no usable pool refused naming the file and what its rows
miss, ``--max-len`` bounded with the fix named, and a progress display on a terminal."""

from __future__ import annotations

import json
import math
import re
from io import StringIO
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defipm.amm.v3_pool import V3PoolState
from defipm.amm.v3_tick_math import get_tick_at_sqrt_ratio
from defipm.arb.cli import MAX_SCAN_LEN, app, scan_progress
from defipm.arb.native_usd import native_usd_quote
from defipm.arb.opportunity import CostModel
from defipm.arb.pools import Token, V2Pool, V3Pool
from defipm.cli_errors import CliConsole

runner = CliRunner()
WETH = "0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2"
USDC = "0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"
DAI = "0x6b175474e89094c44da98b954eedeac495271d0f"
A, B = "0x" + "a1" * 20, "0x" + "b2" * 20
E18 = 10**18


def _token(address: str, symbol: str, decimals: int) -> dict:
    return {"address": address, "symbol": symbol, "decimal": decimals}


def _pool(n: int, t0: dict, t1: dict, r0: int, r1: int) -> dict:
    return {"address": "0x" + f"{0xFEED00 + n:040x}", "token0": t0, "token1": t1, "reserve0": r0, "reserve1": r1}


WETH_T, USDC_T, DAI_T = _token(WETH, "WETH", 18), _token(USDC, "USDC", 6), _token(DAI, "DAI", 18)
A_T, B_T = _token(A, "AAA", 18), _token(B, "BBB", 18)
TRIANGLE = [  # WETH -> AAA -> BBB -> WETH pays about 5% before fees: one profitable cycle
    _pool(1, WETH_T, A_T, 1_000 * E18, 1_000 * E18),
    _pool(2, A_T, B_T, 1_000 * E18, 1_000 * E18),
    _pool(3, B_T, WETH_T, 1_000 * E18, 1_050 * E18),
]
DEEP_USDC = _pool(4, USDC_T, WETH_T, 3_370_000 * 10**6, 10_000 * E18)  # $337 a WETH, $3.37M of USDC
SHALLOW_DAI = _pool(5, WETH_T, DAI_T, 1 * E18, 2_000 * E18)  # $2,000 a WETH in a $2,000 pool


def _snapshot(tmp_path: Path, rows: list) -> str:
    path = tmp_path / "pools.json"
    path.write_text(json.dumps(rows))
    return str(path)


def _scan(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["scan", "--start", WETH, *args])


def _best_row(output: str) -> tuple[float, str]:
    """The first row's net (in the start token) and net USD cells."""
    row = next(line for line in output.splitlines() if line.startswith("│ 1 "))
    cells = [c.strip() for c in row.split("│") if c.strip()]
    return float(cells[-2].replace(",", "")), cells[-1] if len(cells) == 8 else ""


def test_net_usd_is_priced_by_the_snapshots_deepest_stablecoin_pool_and_names_it(tmp_path: Path) -> None:
    path = _snapshot(tmp_path, [*TRIANGLE, DEEP_USDC, SHALLOW_DAI])
    result = _scan("--snapshot", path)
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert f"WETH = $337.00 from the WETH/USDC pool {DEEP_USDC['address']}" in text and "overrides" in text
    net, usd = _best_row(result.output)
    assert net > 0 and float(usd.replace(",", "")) == pytest.approx(net * 337, rel=1e-4)
    given = _scan("--snapshot", path, "--native-usd", "2000")
    assert "WETH = $2,000.00 (--native-usd)" in " ".join(given.output.split())
    net, usd = _best_row(given.output)
    assert float(usd.replace(",", "")) == pytest.approx(net * 2000, rel=1e-4)


@pytest.mark.parametrize("no_flash", [False, True])
def test_gas_is_the_engines_fitted_gas_the_runner_charges(tmp_path: Path, no_flash: bool) -> None:
    """A scan costs a cycle as ``arb run`` would with the same engine: the gas model fitted on the local chain."""
    result = _scan("--snapshot", _snapshot(tmp_path, TRIANGLE), "--gas-price-gwei", "40", *(["--no-flash"] * no_flash))
    assert result.exit_code == 0, result.output
    row = next(line for line in result.output.splitlines() if line.startswith("│ 1 "))
    gas = float(row.split("│")[6].replace(",", ""))
    fitted = CostModel.for_engine(not no_flash).gas.estimate(("v2",) * 3, not no_flash)
    assert gas == pytest.approx(fitted * 40e9 / E18, rel=1e-3)


def test_without_a_stablecoin_pool_net_usd_is_left_blank_and_says_why(tmp_path: Path) -> None:
    result = _scan("--snapshot", _snapshot(tmp_path, TRIANGLE))
    assert result.exit_code == 0, result.output
    assert "unknown: the snapshot has no WETH/stablecoin pool (give --native-usd)" in " ".join(result.output.split())
    net, usd = _best_row(result.output)
    assert net > 0 and usd == ""


@pytest.mark.parametrize("native_is0", [True, False])
def test_a_v3_pool_prices_the_native_token_whichever_side_it_is(native_is0: bool) -> None:
    weth, usdc = Token(WETH, "WETH", 18), Token(USDC, "USDC", 6)
    per_weth = 1_850.0  # USDC per WETH
    token1_per_token0 = per_weth * 10**6 / E18 if native_is0 else E18 / (per_weth * 10**6)  # raw units
    sqrt_price = int(math.sqrt(token1_per_token0) * 2**96)
    state = V3PoolState(sqrt_price, get_tick_at_sqrt_ratio(sqrt_price), 10**18, 500, 10, {})
    t0, t1 = (WETH, USDC) if native_is0 else (USDC, WETH)
    v3 = V3Pool("0x" + "33" * 20, t0, t1, state)
    shallow = V2Pool("0x" + "44" * 20, WETH, USDC, E18, 900 * 10**6)  # deeper pools win, whatever their price
    quote = native_usd_quote([shallow, v3], {WETH: weth, USDC: usdc}, WETH)
    assert quote is not None and quote.pool == v3.address and quote.usd == pytest.approx(per_weth, rel=1e-9)
    assert quote.depth_usd > 900


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[]", r"pool snapshot \S+pools.json is an empty list: it holds no pool rows \(each row as \{\"address\""),
        ('[{"index": 0}]', r"pool snapshot \S+pools.json: none of its 1 row\(s\) is a usable pool \(row 0: address: "
                           r"Field required; token0: Field required; token1: Field required; reserve0: Field required"),
        (json.dumps([{"address": "0x" + "1" * 40}] * 5), r"none of its 5 row\(s\) .*; and 2 more\); each row needs"),
    ],
)  # fmt: skip
def test_a_snapshot_without_a_usable_pool_is_refused_naming_the_file_and_what_is_missing(
    tmp_path: Path, content: str, message: str
) -> None:
    (tmp_path / "pools.json").write_text(content)
    result = _scan("--snapshot", str(tmp_path / "pools.json"))
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert text.startswith("error: ") and re.search(message, text), text
    assert "--start" not in text  # not "--start 0xc02a...: not a token of the snapshot"


def test_max_len_above_the_limit_is_refused_naming_it_and_the_fix(tmp_path: Path) -> None:
    path = _snapshot(tmp_path, TRIANGLE)
    result = _scan("--snapshot", path, "--max-len", "9")
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert f"--max-len 9: above the limit of {MAX_SCAN_LEN} edges" in text
    assert f"--max-len {MAX_SCAN_LEN} --compound-len 9" in text
    fix = _scan("--snapshot", path, "--max-len", str(MAX_SCAN_LEN), "--compound-len", "9")
    assert fix.exit_code == 0 and "WETH > AAA > BBB > WETH" in fix.output  # the named fix runs
    assert _scan("--snapshot", path, "--compound-len", "17").exit_code == 2  # a usage error: typer bounds it


def test_a_scan_shows_its_steps_on_a_terminal_and_nothing_in_a_pipe() -> None:
    shown, piped = StringIO(), StringIO()
    for out, terminal in ((shown, True), (piped, False)):
        with scan_progress(CliConsole(file=out, force_terminal=terminal, width=100)) as step:
            step("indexing every cycle of 2 to 5 edges")
            step("screening and sizing 1,234 cycles")
    assert "indexing every cycle of 2 to 5 edges" in shown.getvalue() and "screening and sizing" in shown.getvalue()
    assert "0:00:0" in shown.getvalue()  # the time each step took
    assert piped.getvalue() == ""
