"""Signing is pinned to the official SDK: the fast L1 signer equals ``sign_l1_action`` byte for byte (with and
without a vault, on either network), and every signed request the client sends equals the SDK ``Exchange``'s."""

from __future__ import annotations

import json
import sys
import time
from decimal import Decimal

import eth_account
import pytest
from hyperliquid import exchange as hl_exchange
from hyperliquid.api import API
from hyperliquid.exchange import Exchange
from hyperliquid.utils.constants import MAINNET_API_URL, TESTNET_API_URL
from hyperliquid.utils.signing import order_wires_to_order_action, sign_l1_action
from hyperliquid.utils.types import Cloid
from hypothesis import given, settings
from hypothesis import strategies as st

from defipm.core.errors import ConfigError
from defipm.venues.hyperliquid.authority import Authority
from defipm.venues.hyperliquid.client import HyperliquidClient
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials
from defipm.venues.hyperliquid.signing import L1Signer
from defipm.venues.hyperliquid.sim import LocalExchange

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


@settings(max_examples=25, deadline=None)
@given(
    vault=st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()),
    nonce=st.integers(1_600_000_000_000, 1_900_000_000_000),
    mainnet=st.booleans(),
    leverage=st.integers(1, 50),
)
def test_fast_signer_equals_sdk_for_vault_actions(vault, nonce, mainnet, leverage):
    action = {"type": "updateLeverage", "asset": 3, "isCross": False, "leverage": leverage}
    assert L1Signer(KEY.key).sign(action, vault, nonce, None, mainnet) == sign_l1_action(
        KEY, action, vault, nonce, None, mainnet
    )


def test_the_signer_derives_the_address_as_eth_account_does_and_hides_the_key():
    for key in (KEY.key, KEY.key.hex(), "0x" + KEY.key.hex().removeprefix("0x")):
        signer = L1Signer(key)
        assert signer.address == KEY.address == signer.wallet().address
        assert KEY.key.hex().removeprefix("0x") not in repr(signer)
    for bad in ("0x12", "zz" * 32, b"1" * 31):
        with pytest.raises(ValueError):
            eth_account.Account.from_key(bad)
        with pytest.raises(ValueError) as refused:
            L1Signer(bad)
        assert str(bad) not in str(refused.value)


def test_signing_without_the_sdk_signing_module_is_one_error_naming_the_install(monkeypatch):
    """The SDK's signing (and eth_account) is imported when something is first signed: if it cannot be, the
    error says how to install it, whichever signing path asks (an L1 action, a wire form, a user-signed one)."""
    monkeypatch.setitem(sys.modules, "hyperliquid.utils.signing", None)  # what a missing eth_account does
    signer = L1Signer(KEY.key)
    action = {"type": "updateLeverage", "asset": 3, "isCross": False, "leverage": 2}
    for attempt in (lambda: signer.sign(action, None, 1, None, False), signer.wallet):
        with pytest.raises(ConfigError, match=r"signing Hyperliquid actions needs .*scripts/bootstrap hyperliquid"):
            attempt()


VAULT = "0x" + "5e" * 20
CLOID = "0x" + "0a" * 16
CLOID2 = "0x" + "0b" * 16


@pytest.fixture
def sent(monkeypatch) -> list[str]:
    """Every ``/exchange`` body, as the JSON text that goes on the wire (the network boundary is mocked)."""
    bodies: list[str] = []
    real = API.post

    def post(self, url_path, payload=None):
        if url_path != "/exchange":
            return real(self, url_path, payload)
        bodies.append(json.dumps(payload))
        action = payload["action"]
        statuses = [{"resting": {"oid": i}} for i, _ in enumerate(action.get("orders", []))]
        statuses += ["success" for _ in action.get("cancels", [])]
        return {"status": "ok", "response": {"type": action["type"], "data": {"statuses": statuses}}}

    monkeypatch.setattr(API, "post", post)
    return bodies


@pytest.mark.parametrize("network", ["testnet", "mainnet"])
@pytest.mark.parametrize("vault", [None, VAULT])
def test_signed_requests_are_the_sdks_byte_for_byte(network, vault, sent, monkeypatch):
    """Orders (one, and many in one action: the SDK's ``bulk_orders``), cancels (``bulk_cancel``), leverage, agent
    approval and transfers, for a personal account or a vault/sub-account, on both networks: the JSON our client
    sends equals the SDK ``Exchange``'s for the same nonce."""
    agent = eth_account.Account.create()
    nonce = int(time.time() * 1000) + 60_000
    monkeypatch.setattr(hl_exchange, "get_timestamp_ms", lambda: nonce)
    monkeypatch.setattr(hl_exchange.secrets, "token_hex", lambda n: agent.key.hex().removeprefix("0x"))
    with LocalExchange(network=network) as ex:
        cfg = HyperliquidConfig(network=network, allow_mainnet=True, base_url=ex.url, vault_address=vault)
        ours = HyperliquidClient(cfg, Credentials(secret_key=KEY.key.hex()))
    if vault is not None:  # a sub-account: the transfer names it in the amount
        ours.authority = Authority(KEY.address.lower(), KEY.address.lower(), vault, "owner", "subAccount")
    sdk = Exchange(KEY, MAINNET_API_URL if network == "mainnet" else TESTNET_API_URL, meta=ours.meta,
                   spot_meta={"universe": [], "tokens": []}, vault_address=vault)  # fmt: skip

    def same(call_ours, call_sdk):
        ours._last_nonce = nonce - 1
        call_ours()
        call_sdk()
        assert sent[-2] == sent[-1]

    same(
        lambda: ours.order("ETH", True, Decimal("0.5"), Decimal("1900.5"), tif="Ioc", reduce_only=True, cloid=CLOID),
        lambda: sdk.order("ETH", True, 0.5, 1900.5, {"limit": {"tif": "Ioc"}}, True, Cloid.from_str(CLOID)),
    )
    same(lambda: ours.update_leverage("BTC", 7, False), lambda: sdk.update_leverage(7, "BTC", False))
    # many orders in one signed action (a post-only limit and a stop-loss trigger), and many cancels in one
    stop = {"trigger": {"isMarket": True, "triggerPx": 29500.0, "tpsl": "sl"}}
    same(
        lambda: ours.bulk_orders(
            [
                ours.order_wire("ETH", True, Decimal("0.5"), Decimal("1900.5"), tif="Alo", cloid=CLOID),
                ours.order_wire("BTC", False, Decimal("0.01"), Decimal("28000"), reduce_only=True, cloid=CLOID2,
                                trigger=Decimal("29500")),
            ]
        ),
        lambda: sdk.bulk_orders(
            [
                {"coin": "ETH", "is_buy": True, "sz": 0.5, "limit_px": 1900.5, "order_type": {"limit": {"tif": "Alo"}},
                 "reduce_only": False, "cloid": Cloid.from_str(CLOID)},
                {"coin": "BTC", "is_buy": False, "sz": 0.01, "limit_px": 28000.0, "order_type": stop,
                 "reduce_only": True, "cloid": Cloid.from_str(CLOID2)},
            ]
        ),
    )  # fmt: skip
    same(
        lambda: ours.cancel([("ETH", 12), ("BTC", 13)]),
        lambda: sdk.bulk_cancel([{"coin": "ETH", "oid": 12}, {"coin": "BTC", "oid": 13}]),
    )
    same(lambda: ours.approve_agent(agent.address, "bot"), lambda: sdk.approve_agent("bot"))
    same(lambda: ours.approve_agent(agent.address), lambda: sdk.approve_agent())
    same(lambda: ours.usd_class_transfer(Decimal("12.5"), True), lambda: sdk.usd_class_transfer(12.5, True))
    assert len(sent) == 14 and all(json.loads(body)["vaultAddress"] == vault for body in sent[:10])
