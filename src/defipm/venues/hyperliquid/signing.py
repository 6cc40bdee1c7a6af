"""The key: its address and its L1 action signatures, byte-for-byte the SDK's (tested against it), without
importing ``eth_account``.

The SDK signs through ``eth_account`` (``sign_l1_action`` -> ``encode_typed_data`` -> ``sign_message``), whose
import alone is a quarter of a second of every ``defipm rebalance``'s start-up, and ~0.5 ms per action. The L1
payload is fixed except its ``connectionId`` (the SDK's ``action_hash``), so the domain separator and type hash are
computed once here and only the struct hash and the ECDSA signature are per action: secp256k1 by coincurve (the
backend ``eth_keys`` itself uses when installed), RFC 6979 deterministic nonces, so the result equals the SDK's
exactly. The address is the key's public key's keccak, in EIP-55 checksum case, as ``Account.from_key`` gives it.

User-signed actions (transfers, agent approval) and keystores still go through ``eth_account``: ``wallet()``
imports it when one is first needed.
"""

from __future__ import annotations

import re
from typing import Any

from coincurve import PrivateKey
from eth_hash.auto import keccak

from defipm.venues.hyperliquid.wire import action_hash

_DOMAIN_TYPE = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_DOMAIN_SEPARATOR = keccak(_DOMAIN_TYPE + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32))
_AGENT_TYPE = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE = {True: keccak(b"a"), False: keccak(b"b")}
_SECP256K1_ORDER = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_HEX_KEY = re.compile(r"(?:0[xX])?[0-9a-fA-F]{64}")


def key_bytes(secret: str) -> bytes:
    """The 32 bytes of a private key given as hex ("0x" and 64 hex digits, the usual form); anything else is
    read by ``eth_account``'s ``Account.from_key``, so what it accepts and refuses stays the rule. Raises
    ``ValueError`` (or ``TypeError``) for what is not a key; the message never holds the key."""
    if _HEX_KEY.fullmatch(secret) and 0 < int(secret[-64:], 16) < _SECP256K1_ORDER:
        return bytes.fromhex(secret[-64:])
    from eth_account import Account

    return bytes(Account.from_key(secret).key)


def checksum_address(address: bytes) -> str:
    """A 20-byte address in EIP-55 mixed case ("0x5aAeb6..."): each hex letter upper-case where the keccak of the
    lower-case hex has a nibble of 8 or more."""
    lower = address.hex()
    digest = keccak(lower.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if int(d, 16) >= 8 else c for c, d in zip(lower, digest, strict=False))


class L1Signer:
    """Signs L1 actions with one private key (32 bytes). Holds the key object only; its repr shows nothing
    secret. ``ValueError`` for bytes that are not a secp256k1 key."""

    __slots__ = ("_key", "address")

    def __init__(self, private_key: bytes) -> None:
        self._key = PrivateKey(bytes(private_key))
        public = self._key.public_key.format(compressed=False)[1:]
        self.address: str = checksum_address(keccak(public)[-20:])
        """The key's own address, checksummed (what ``eth_account``'s ``Account.from_key(key).address`` is)."""

    @classmethod
    def from_secret(cls, secret: str) -> L1Signer:
        """The signer of a key given as text (``key_bytes``)."""
        return cls(key_bytes(secret))

    def __repr__(self) -> str:
        return "L1Signer(<key hidden>)"

    def sign(
        self, action: Any, vault_address: str | None, nonce: int, expires_after: int | None, is_mainnet: bool
    ) -> dict[str, Any]:
        """``{"r", "s", "v"}`` of ``action`` as the SDK's ``sign_l1_action`` gives it (r and s as "0x" hex
        without leading zeros, v 27 or 28)."""
        connection_id = action_hash(action, vault_address, nonce, expires_after)
        struct_hash = keccak(_AGENT_TYPE + _SOURCE[is_mainnet] + connection_id)
        digest = keccak(b"\x19\x01" + _DOMAIN_SEPARATOR + struct_hash)
        sig = self._key.sign_recoverable(digest, hasher=None)
        r, s, v = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:64], "big"), sig[64]
        return {"r": hex(r), "s": hex(s), "v": v + 27}

    def wallet(self) -> Any:
        """The ``eth_account`` wallet of the same key, for the SDK's user-signed actions (imports eth_account)."""
        from eth_account import Account

        return Account.from_key(self._key.secret)
