"""The key of a Hyperliquid client and fast L1 action signing, byte-for-byte the SDK's ``sign_l1_action`` (tested
against it).

The SDK builds the EIP-712 message for every action through ``encode_typed_data`` (~0.5 ms). The L1 payload is
fixed except its ``connectionId`` (the SDK's ``action_hash``), so the domain separator and type hash are
computed once here and only the struct hash and the ECDSA signature are per action. Signatures are
deterministic (RFC 6979), so the result equals the SDK's exactly.

The SDK's signing module (``hyperliquid.utils.signing``) imports ``eth_account``, about 0.1 s of
start-up that commands which only read never need: it is imported when something is first signed
(``sdk_signing``), and the key's address comes from ``eth_keys``, as ``eth_account`` derives it.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from eth_keys import keys
from eth_utils import ValidationError, keccak, to_hex
from hexbytes import HexBytes

from defipm.core.errors import ConfigError
from defipm.extras import install_hint

_DOMAIN_TYPE = keccak(b"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)")
_DOMAIN_SEPARATOR = keccak(_DOMAIN_TYPE + keccak(b"Exchange") + keccak(b"1") + (1337).to_bytes(32, "big") + bytes(32))
_AGENT_TYPE = keccak(b"Agent(string source,bytes32 connectionId)")
_SOURCE = {True: keccak(b"a"), False: keccak(b"b")}


def sdk_signing() -> ModuleType:
    """The SDK's ``hyperliquid.utils.signing`` (wire forms, action hash, EIP-712 signing), imported on first use.
    Raises ``ConfigError`` with the install command when it cannot be imported (``eth_account`` missing)."""
    try:
        return importlib.import_module("hyperliquid.utils.signing")
    except ImportError as exc:
        raise ConfigError(
            f"signing Hyperliquid actions needs {exc.name or 'eth_account'}, which is not installed: "
            f"{install_hint('hyperliquid')}"
        ) from None


class L1Signer:
    """Signs L1 actions with one private key, and makes the SDK's ``eth_account`` wallet of it for the actions
    the SDK signs itself (user-signed transfers, agent approval). Holds the key object only; its repr shows
    nothing secret."""

    __slots__ = ("_key", "_wallet", "address")

    def __init__(self, private_key: bytes | str) -> None:
        """``private_key``: 32 bytes, or their hex (with or without ``0x``), as ``eth_account.Account.from_key``
        takes it. Raises ``ValueError`` for anything else (never showing it)."""
        try:
            self._key = keys.PrivateKey(HexBytes(private_key))  # what Account.from_key does
        except (ValidationError, TypeError):
            raise ValueError("not a 32-byte private key") from None
        self._wallet: Any = None
        self.address: str = self._key.public_key.to_checksum_address()
        """The key's checksummed address (``eth_account``'s ``LocalAccount.address``)."""

    def __repr__(self) -> str:
        return f"L1Signer(address={self.address!r}, <key hidden>)"

    def wallet(self) -> Any:
        """The ``eth_account`` ``LocalAccount`` of the key (imported and made when first asked for)."""
        if self._wallet is None:
            sdk_signing()  # the clear error when eth_account is missing
            from eth_account import Account

            self._wallet = Account.from_key(self._key)
        return self._wallet

    def sign(
        self, action: Any, vault_address: str | None, nonce: int, expires_after: int | None, is_mainnet: bool
    ) -> dict[str, Any]:
        connection_id = sdk_signing().action_hash(action, vault_address, nonce, expires_after)
        struct_hash = keccak(_AGENT_TYPE + _SOURCE[is_mainnet] + connection_id)
        digest = keccak(b"\x19\x01" + _DOMAIN_SEPARATOR + struct_hash)
        sig = self._key.sign_msg_hash(digest)
        return {"r": to_hex(sig.r), "s": to_hex(sig.s), "v": sig.v + 27}
