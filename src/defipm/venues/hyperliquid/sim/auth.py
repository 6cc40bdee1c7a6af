"""Signature and nonce checks of the local exchange, done the way Hyperliquid does them: the signer is recovered
from the signed action (the SDK's own hashing, ``action_hash`` + phantom agent for L1 actions, EIP-712 user-signed
payloads for transfers, and ``eth_account``), never taken from the request.

User-signed actions (``usdClassTransfer``, ``approveAgent``) must be signed by the account itself; L1 actions
(orders, cancels, leverage) by the account or one of its approved agents (see ``roles.py``).

Rejects: an unknown signer (a wrong key recovers to another address), a signature made for the other network
(L1 ``source`` "a"/"b", user-signed ``hyperliquidChain``), a reused nonce or one outside the accepted window, and
non-canonical number strings (the real exchange re-serialises them, so the signature would not match).
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Any

from hyperliquid.utils.signing import (
    USD_CLASS_TRANSFER_SIGN_TYPES,
    float_to_wire,
    recover_agent_or_user_from_l1_action,
    recover_user_from_user_signed_action,
)

APPROVE_AGENT_SIGN_TYPES = [
    {"name": "hyperliquidChain", "type": "string"},
    {"name": "agentAddress", "type": "address"},
    {"name": "agentName", "type": "string"},
    {"name": "nonce", "type": "uint64"},
]
"""The fields the SDK's ``sign_agent`` signs (it has no constant for them)."""
USER_SIGNED_TYPES: dict[str, tuple[list[dict[str, str]], str]] = {
    "usdClassTransfer": (USD_CLASS_TRANSFER_SIGN_TYPES, "HyperliquidTransaction:UsdClassTransfer"),
    "approveAgent": (APPROVE_AGENT_SIGN_TYPES, "HyperliquidTransaction:ApproveAgent"),
}
NONCE_WINDOW_PAST_MS = 2 * 24 * 3600 * 1000
NONCE_WINDOW_FUTURE_MS = 24 * 3600 * 1000
KEPT_NONCES = 100


class AuthError(Exception):
    """The request is refused before any state changes; the message is what the exchange answers."""


@dataclass
class NonceBook:
    """The highest nonces each signer used (Hyperliquid keeps 100 per signer)."""

    used: dict[str, set[int]] = field(default_factory=dict)

    def check_and_use(self, signer: str, nonce: int, now_ms: int | None = None) -> None:
        now = now_ms if now_ms is not None else int(time.time() * 1000)
        if not (now - NONCE_WINDOW_PAST_MS < nonce < now + NONCE_WINDOW_FUTURE_MS):
            raise AuthError(f"Invalid nonce: {nonce} is outside the accepted time window")
        seen = self.used.setdefault(signer, set())
        if nonce in seen:
            raise AuthError(f"Invalid nonce: duplicate nonce {nonce} for signer {signer}")
        if len(seen) >= KEPT_NONCES and nonce < min(seen):
            raise AuthError(f"Invalid nonce: {nonce} is lower than the {KEPT_NONCES} most recent nonces")
        seen.add(nonce)
        if len(seen) > KEPT_NONCES:
            seen.discard(min(seen))


def _canonical(value: str) -> bool:
    try:
        return float_to_wire(float(value)) == value
    except ValueError:
        return False


def check_wire_numbers(action: dict[str, Any]) -> None:
    """Order prices and sizes must be in ``float_to_wire`` form ("1.5", not "1.50" or "1.5e0")."""
    for wire in action.get("orders", []) if action.get("type") == "order" else []:
        for key in ("p", "s"):
            if not isinstance(wire.get(key), str) or not _canonical(wire[key]):
                raise AuthError(f"Order has non-canonical {'price' if key == 'p' else 'size'} {wire.get(key)!r}")


def recover_signer(payload: dict[str, Any], is_mainnet: bool) -> str:
    """The signer recovered for this exchange's network."""
    return _recover(payload, is_mainnet)


def recover_signer_elsewhere(payload: dict[str, Any], is_mainnet: bool) -> str | None:
    """The signer recovered as if signed for the other network (None for user-signed actions, which name their
    network in the action): asked only when the first signer is unknown, to say "wrong network"."""
    if payload["action"].get("type") in USER_SIGNED_TYPES:
        return None
    return _recover(payload, not is_mainnet)


def _recover(payload: dict[str, Any], is_mainnet: bool) -> str:
    action, sig = payload["action"], payload["signature"]
    kind = action.get("type")
    if kind in USER_SIGNED_TYPES:
        types, primary = USER_SIGNED_TYPES[kind]
        chain = action.get("hyperliquidChain")
        expected = "Mainnet" if is_mainnet else "Testnet"
        if chain != expected:
            raise AuthError(f"Wrong network: action signed for {chain!r}, this exchange is {expected}")
        signed = copy.deepcopy(action)
        if kind == "approveAgent":
            signed.setdefault("agentName", "")  # the SDK signs "" and drops the key for an unnamed agent
        signer = recover_user_from_user_signed_action(signed, sig, types, primary, is_mainnet)
        return str(signer).lower()
    vault, expires = payload.get("vaultAddress"), payload.get("expiresAfter")
    nonce = int(payload["nonce"])
    return str(recover_agent_or_user_from_l1_action(action, sig, vault, nonce, expires, is_mainnet)).lower()
