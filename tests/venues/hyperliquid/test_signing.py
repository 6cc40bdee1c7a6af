"""The fast L1 signer produces the SDK's ``sign_l1_action`` signature byte for byte, on either network."""

from __future__ import annotations

import eth_account
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.venues.hyperliquid.signing import L1Signer

KEY = eth_account.Account.create()


@settings(max_examples=40, deadline=None)
@given(
    asset=st.integers(0, 200),
    is_buy=st.booleans(),
    price=st.decimals(min_value="0.0001", max_value="99999", places=4),
    size=st.decimals(min_value="0.001", max_value="1000", places=3),
    nonce=st.integers(1_600_000_000_000, 1_900_000_000_000),
    mainnet=st.booleans(),
)
def test_fast_signer_equals_sdk(asset, is_buy, price, size, nonce, mainnet):
    wire = {"a": asset, "b": is_buy, "p": f"{price.normalize():f}", "s": f"{size.normalize():f}", "r": False,
            "t": {"limit": {"tif": "Ioc"}}, "c": "0x" + "cd" * 16}  # fmt: skip
    action = order_wires_to_order_action([wire])
    assert L1Signer(KEY.key).sign(action, None, nonce, None, mainnet) == sign_l1_action(
        KEY, action, None, nonce, None, mainnet
    )
    assert KEY.key.hex()[2:] not in repr(L1Signer(KEY.key))
