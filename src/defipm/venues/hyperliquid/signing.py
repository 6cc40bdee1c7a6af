"""Fast L1 action signing, byte-for-byte the SDK's ``sign_l1_action`` (tested against it).

The SDK builds the EIP-712 message for every action through ``encode_typed_data`` (~0.5 ms). The L1 payload is
fixed except its ``connectionId`` (the SDK's ``action_hash``), so the domain separator and type hash are
computed once here and only the struct hash and the ECDSA signature are per action. Signatures are
deterministic (RFC 6979), so the result equals the SDK's exactly.
"""

from __future__ import annotations

from typing import Any

from eth_keys import keys
from eth_utils import keccak, to_hex
from hyperliquid.utils.signing import action_hash

_DOMAIN_TYPE = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_DOMAIN_SEPARATOR = keccak(_DOMAIN_TYPE + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32))
_AGENT_TYPE = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE = {True: keccak(b"a"), False: keccak(b"b")}


class L1Signer:
    """Signs L1 actions with one private key. Holds the key object only; its repr shows nothing secret."""

    __slots__ = ("_key",)

    def __init__(self, private_key: bytes) -> None:
        self._key = keys.PrivateKey(private_key)

    def __repr__(self) -> str:
        return "L1Signer(<key hidden>)"

    def sign(
        self, action: Any, vault_address: str | None, nonce: int, expires_after: int | None, is_mainnet: bool
    ) -> dict[str, Any]:
        connection_id = action_hash(action, vault_address, nonce, expires_after)
        struct_hash = keccak(_AGENT_TYPE + _SOURCE[is_mainnet] + connection_id)
        digest = keccak(b"\x19\x01" + _DOMAIN_SEPARATOR + struct_hash)
        sig = self._key.sign_msg_hash(digest)
        return {"r": to_hex(sig.r), "s": to_hex(sig.s), "v": sig.v + 27}
