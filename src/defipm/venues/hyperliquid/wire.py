"""Orders and actions in the wire form the SDK's ``hyperliquid.utils.signing`` writes, without importing it.

That module imports ``eth_account`` (and with it eth_abi, eth_keyfile, rlp, ...), a quarter of a second of every
``defipm rebalance``'s start-up, for the few lines an order needs. They are kept here as the SDK writes them:
``float_to_wire``, ``order_request_to_order_wire`` (as ``order_wire``), ``order_wires_to_order_action`` (as
``order_action``) and ``action_hash``, the ``connectionId`` an L1 action is signed over.
``tests/venues/hyperliquid/test_signing.py`` pins each to the SDK's function, and every signed request the client
sends to the SDK ``Exchange``'s, byte for byte.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import msgpack
from eth_hash.auto import keccak


def float_to_wire(x: float) -> str:
    """The SDK's number on the wire: at most 8 decimals, no trailing zeros, no exponent ("1900.5", "0.01").
    Raises ``ValueError`` when 8 decimals would round ``x``."""
    rounded = f"{x:.8f}"
    if abs(float(rounded) - x) >= 1e-12:
        raise ValueError("float_to_wire causes rounding", x)
    if rounded == "-0":
        rounded = "0"
    normalized = Decimal(rounded).normalize()
    return f"{normalized:f}"


def order_type_wire(order_type: dict[str, Any]) -> dict[str, Any]:
    """``{"limit": {"tif": ...}}`` as it is, or a trigger with its ``triggerPx`` on the wire (a string)."""
    if "limit" in order_type:
        return {"limit": order_type["limit"]}
    if "trigger" in order_type:
        trigger = order_type["trigger"]
        return {
            "trigger": {
                "isMarket": trigger["isMarket"],
                "triggerPx": float_to_wire(trigger["triggerPx"]),
                "tpsl": trigger["tpsl"],
            }
        }
    raise ValueError("Invalid order type", order_type)


def order_wire(
    asset: int,
    is_buy: bool,
    size: float,
    limit_px: float,
    order_type: dict[str, Any],
    reduce_only: bool,
    cloid: str | None = None,
) -> dict[str, Any]:
    """One order of an ``order`` action: ``{"a", "b", "p", "s", "r", "t"}`` and ``"c"`` (the raw cloid, "0x" and
    32 hex digits) when given. Raises ``ValueError`` for a size or price 8 decimals cannot carry."""
    wire: dict[str, Any] = {
        "a": asset,
        "b": is_buy,
        "p": float_to_wire(limit_px),
        "s": float_to_wire(size),
        "r": reduce_only,
        "t": order_type_wire(order_type),
    }
    if cloid is not None:
        wire["c"] = cloid
    return wire


def order_action(wires: list[dict[str, Any]], grouping: str = "na") -> dict[str, Any]:
    """The ``order`` action carrying ``wires`` (grouping "na": independent orders)."""
    return {"type": "order", "orders": wires, "grouping": grouping}


def action_hash(action: Any, vault_address: str | None, nonce: int, expires_after: int | None) -> bytes:
    """The 32-byte keccak of the msgpack'd action, its nonce (8 bytes), the vault (a flag byte, then its 20
    bytes) and the expiry (when given): what an L1 signature's ``connectionId`` is."""
    data = msgpack.packb(action)
    data += nonce.to_bytes(8, "big")
    if vault_address is None:
        data += b"\x00"
    else:
        data += b"\x01"
        data += bytes.fromhex(vault_address[2:] if vault_address.startswith("0x") else vault_address)
    if expires_after is not None:
        data += b"\x00"
        data += expires_after.to_bytes(8, "big")
    return bytes(keccak(data))
