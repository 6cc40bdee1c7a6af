"""One validation of the paper venue's params: a config file and code are held to the same rules."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from defipm.core.errors import ConfigError
from defipm.registry import build_venue
from defipm.venues.paper import PaperVenue


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        (
            "initial_cash",
            1e23,
            "initial_cash: at most 1000000000000000 (amounts are kept exact to 28 significant digits)",
        ),
        ("initial_cash", True, "initial_cash: expected a number, got True"),
        ("initial_cash", "10k", "initial_cash: expected a number, got '10k'"),
        ("taker_fee", 4.5, "taker_fee: at most 0.1 (a fee is a fraction of notional: 0.00045 = 4.5 bps)"),
        ("taker_fee", float("nan"), "taker_fee: expected a finite number"),
        ("max_leverage", 0, "max_leverage: input should be greater than 0"),
        ("max_leverage", 1e6, "max_leverage: at most 1000"),
        ("max_price_age", 1e-320, "max_price_age: input should be greater than or equal to 0.001"),
        ("max_price_age", float("inf"), "max_price_age: expected a finite number"),
        ("mode", "margin", "mode: input should be 'perp' or 'spot'"),
    ],
)
def test_config_and_code_refuse_the_same_values_with_the_same_words(key: str, value: Any, message: str):
    with pytest.raises(ConfigError) as from_config:
        build_venue("paper", {key: value})
    assert f"venue.params.{message}" in str(from_config.value)
    with pytest.raises(ValueError) as from_code:
        PaperVenue(**{key: value})
    assert f"paper venue {message}" in str(from_code.value)


def test_values_from_code_are_read_exactly():
    venue = PaperVenue(initial_cash=0.1, taker_fee=0.00045, max_leverage=2.5)
    assert venue.get_cash() == Decimal("0.1") and venue.taker_fee == Decimal("0.00045")
    assert venue.max_leverage == Decimal("2.5")
    assert PaperVenue(initial_cash="1E+15").get_cash() == Decimal("1E+15")  # the largest amount is exact


def test_slippage_and_rules_from_a_config():
    venue = build_venue(
        "paper",
        {"slippage": {"fixed_bps": 2}, "rules": {"BTC": {"size_step": "0.001", "min_notional": 10}}},
    )
    rules = venue.get_rules("BTC")
    assert (venue.slippage.fixed_bps, rules.size_step, rules.min_notional) == (2, Decimal("0.001"), Decimal(10))
    with pytest.raises(ConfigError, match=r"slippage.fixed_bps: input should be less than 10000"):
        build_venue("paper", {"slippage": {"fixed_bps": 10_000}})
    with pytest.raises(ConfigError, match=r"rules: key '': a symbol is a non-empty name"):
        build_venue("paper", {"rules": {"": {}}})
