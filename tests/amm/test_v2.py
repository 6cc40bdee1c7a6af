"""Uniswap V2 integer math against the Solidity library's formulas and its invariants."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from defipm.amm.errors import AmmError
from defipm.amm.v2 import fee_fraction, get_amount_in, get_amount_out, get_amounts_in, get_amounts_out, quote

reserve = st.integers(min_value=1_000, max_value=10**30)


def _library_out(a: int, r_in: int, r_out: int) -> int:
    # UniswapV2Library.getAmountOut, transcribed literally
    amount_in_with_fee = a * 997
    return (amount_in_with_fee * r_out) // (r_in * 1000 + amount_in_with_fee)


def _library_in(b: int, r_in: int, r_out: int) -> int:
    return (r_in * b * 1000) // ((r_out - b) * 997) + 1


def test_known_value() -> None:
    # 1 ETH into a 100 ETH / 200,000 USDC pool
    out = get_amount_out(10**18, 100 * 10**18, 200_000 * 10**6)
    assert out == _library_out(10**18, 100 * 10**18, 200_000 * 10**6) == 1_974_316_068


@given(a=st.integers(min_value=1, max_value=10**30), r_in=reserve, r_out=reserve)
def test_out_matches_library_for_every_fee_spelling(a: int, r_in: int, r_out: int) -> None:
    expected = _library_out(a, r_in, r_out)
    assert get_amount_out(a, r_in, r_out) == expected
    assert get_amount_out(a, r_in, r_out, 30) == expected
    assert get_amount_out(a, r_in, r_out, fee=(997, 1000)) == expected


@given(r_in=reserve, r_out=reserve, frac=st.floats(min_value=1e-9, max_value=0.999))
def test_in_matches_library_and_round_trips(r_in: int, r_out: int, frac: float) -> None:
    b = max(1, int(r_out * frac))
    if b >= r_out:
        return
    a = get_amount_in(b, r_in, r_out)
    assert a == _library_in(b, r_in, r_out)
    assert get_amount_out(a, r_in, r_out) >= b  # paying the quoted input always delivers the output


@given(a=st.integers(min_value=1, max_value=10**25), r_in=reserve, r_out=reserve, bps=st.integers(0, 9999))
def test_constant_product_never_decreases(a: int, r_in: int, r_out: int, bps: int) -> None:
    out = get_amount_out(a, r_in, r_out, bps)
    assert 0 <= out < r_out
    assert (r_in + a) * (r_out - out) >= r_in * r_out


def test_chained_amounts() -> None:
    reserves = [(10**21, 2 * 10**21), (3 * 10**20, 10**20)]
    outs = get_amounts_out(10**18, reserves)
    assert outs[1] == get_amount_out(10**18, *reserves[0])
    assert outs[2] == get_amount_out(outs[1], *reserves[1])
    ins = get_amounts_in(outs[2], reserves)
    assert ins[-1] == outs[2] and ins[0] <= 10**18


@pytest.mark.parametrize(
    "call",
    [
        lambda: get_amount_out(0, 10, 10),
        lambda: get_amount_out(1, 0, 10),
        lambda: get_amount_out(1, 10, 0),
        lambda: get_amount_in(10, 10, 10),
        lambda: get_amount_in(0, 10, 10),
        lambda: quote(1, 0, 1),
        lambda: fee_fraction(10_000),
        lambda: fee_fraction(fee=(0, 1000)),
    ],
)
def test_bad_input_raises_data_error(call) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(AmmError):
        call()


def test_fee_fraction() -> None:
    assert fee_fraction() == (9970, 10000)
    assert fee_fraction(5) == (9995, 10000)
    assert fee_fraction(fee=(997, 1000)) == (997, 1000)
