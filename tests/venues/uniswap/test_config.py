"""UniswapConfig: every contract address is checked for its syntax, the error naming the key (no chain needed)."""

from __future__ import annotations

from typing import Any

import pytest

from defipm.core.errors import ConfigError
from defipm.registry import venue_spec

WETH = "0x" + "11" * 20
USDC = "0x" + "22" * 20


def _params(**overrides: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "rpc_url": "http://127.0.0.1:8545",
        "tokens": {"WETH": WETH, "USDC": USDC},
        "factory": "0x" + "33" * 20,
        "swap_router": "0x" + "44" * 20,
        "quoter_v2": "0x" + "55" * 20,
    }
    params.update(overrides)
    return params


def test_well_formed_addresses_are_accepted_in_any_case() -> None:
    spec = venue_spec("uniswap", _params(factory="0x" + "aB" * 20))
    assert spec.config.factory == "0x" + "aB" * 20  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("swap_router", {"swap_router": "0xnothex"}),
        ("factory", {"factory": "0x" + "33" * 19}),  # 38 hex digits
        ("quoter_v2", {"quoter_v2": "33" * 20}),  # no 0x
        ("tokens.USDC", {"tokens": {"WETH": WETH, "USDC": "0x" + "zz" * 20}}),
        ("tokens.WETH", {"tokens": {"WETH": WETH + "00", "USDC": USDC}}),  # 42 hex digits
    ],
)
def test_a_malformed_address_is_refused_naming_its_key(key: str, overrides: dict[str, Any]) -> None:
    with pytest.raises(ConfigError) as caught:
        venue_spec("uniswap", _params(**overrides))
    message = str(caught.value)
    assert f"venue.params.{key}: expected an address (0x and 40 hex digits)" in message
    assert message.count("venue.params.") == 1  # only the bad key is named
