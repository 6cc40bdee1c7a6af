"""Signing keys: loaded from an encrypted keystore file or an environment variable, never logged or printed.

    wallet = Wallet.from_env("DEFIPM_PRIVATE_KEY")                         # hex key in the environment
    wallet = Wallet.from_keystore("key.json", password_env="DEFIPM_KEYSTORE_PASSWORD")
    signed = wallet.sign_transaction(tx, chain_id=w3.eth.chain_id)

``sign_transaction`` refuses known mainnet chain ids (Ethereum, Arbitrum, Optimism, Base, Polygon, ...) unless
the wallet was built with ``allow_mainnet=True``, so a test key or a misconfigured RPC URL cannot move real
funds by accident. ``repr`` and ``str`` show the address only.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from defipm.chain.errors import MainnetSigningRefusedError, WalletError

MAINNET_CHAIN_IDS: Mapping[int, str] = {
    1: "Ethereum",
    10: "Optimism",
    56: "BNB Chain",
    100: "Gnosis",
    130: "Unichain",
    137: "Polygon",
    250: "Fantom",
    324: "zkSync Era",
    1101: "Polygon zkEVM",
    5000: "Mantle",
    8453: "Base",
    42161: "Arbitrum One",
    42170: "Arbitrum Nova",
    42220: "Celo",
    43114: "Avalanche C-Chain",
    59144: "Linea",
    81457: "Blast",
    534352: "Scroll",
}
"""Names of well-known mainnets, for messages. Every chain id not in ``TEST_CHAIN_IDS`` counts as a mainnet."""

TEST_CHAIN_IDS: Mapping[int, str] = {
    31337: "anvil / hardhat (local)",
    1337: "local development chain",
    11155111: "Sepolia",
    17000: "Holesky",
    560048: "Hoodi",
    84532: "Base Sepolia",
    421614: "Arbitrum Sepolia",
    11155420: "OP Sepolia",
    80002: "Polygon Amoy",
    1301: "Unichain Sepolia",
    43113: "Avalanche Fuji",
    97: "BNB Chain testnet",
    10200: "Gnosis Chiado",
    59141: "Linea Sepolia",
    534351: "Scroll Sepolia",
    44787: "Celo Alfajores",
}
"""Local and public test chains: the only ones a wallet signs for without ``allow_mainnet=True``. An allowlist,
so that a chain missing from any list (a new L2, an RPC URL pointed at the wrong network) is treated as real money."""


class Wallet:
    """One private key and the rules for using it. The key never leaves this object except as signatures."""

    __slots__ = ("__key", "address", "allow_mainnet")

    def __init__(self, private_key: str | bytes, *, allow_mainnet: bool = False) -> None:
        from eth_account import Account

        try:
            account = Account.from_key(private_key)
        except (ValueError, TypeError):
            # The library's message may quote the key: neither chain nor repeat it.
            raise WalletError("malformed private key (expected 32 bytes, hex)") from None
        self.__key = account.key
        self.address: str = account.address
        self.allow_mainnet = allow_mainnet

    @classmethod
    def from_env(cls, variable: str = "DEFIPM_PRIVATE_KEY", *, allow_mainnet: bool = False) -> Wallet:
        """The key in environment variable ``variable`` (hex, with or without 0x)."""
        value = os.environ.get(variable)
        if not value:
            raise WalletError(f"environment variable {variable} is not set (it should hold the private key)")
        return cls(value.strip(), allow_mainnet=allow_mainnet)

    @classmethod
    def from_keystore(
        cls,
        path: str | Path,
        *,
        password: str | None = None,
        password_env: str = "DEFIPM_KEYSTORE_PASSWORD",
        allow_mainnet: bool = False,
    ) -> Wallet:
        """Decrypt an Ethereum keystore (V3 JSON) with ``password`` or the password in ``password_env``."""
        from eth_account import Account

        secret = password if password is not None else os.environ.get(password_env)
        if secret is None:
            raise WalletError(f"no keystore password: pass one or set {password_env}")
        try:
            keyfile = json.loads(Path(path).read_text())
        except (OSError, ValueError) as exc:
            raise WalletError(f"cannot read keystore {path}: {exc}") from exc
        try:
            key = Account.decrypt(keyfile, secret)
        except ValueError:
            raise WalletError(f"cannot decrypt keystore {path}: wrong password or corrupt file") from None
        return cls(key, allow_mainnet=allow_mainnet)

    @staticmethod
    def write_keystore(private_key: str | bytes, path: str | Path, password: str) -> Path:
        """Encrypt ``private_key`` with ``password`` into a V3 keystore at ``path`` (mode 0600)."""
        from eth_account import Account

        data = Account.encrypt(private_key, password)  # type: ignore[arg-type]
        target = Path(path)
        target.write_text(json.dumps(data))
        target.chmod(0o600)
        return target

    def check_chain(self, chain_id: int) -> None:
        """Raise MainnetSigningRefusedError for any chain but a known local or test chain, unless this wallet
        allows mainnet."""
        if chain_id not in TEST_CHAIN_IDS and not self.allow_mainnet:
            name = MAINNET_CHAIN_IDS.get(chain_id, "not a known test chain")
            raise MainnetSigningRefusedError(
                f"refusing to sign for chain id {chain_id} ({name}): "
                "set allow_mainnet = true in the wallet config to trade real funds"
            )

    def sign_transaction(self, tx: dict[str, Any], *, chain_id: int) -> bytes:
        """Sign ``tx`` for ``chain_id`` (set into the tx) and return the raw signed transaction."""
        from eth_account import Account

        self.check_chain(chain_id)
        if tx.get("chainId", chain_id) != chain_id:
            raise WalletError(f"transaction chainId {tx['chainId']} differs from the node's {chain_id}")
        signed = Account.sign_transaction({**tx, "chainId": chain_id}, self.__key)
        raw: bytes = signed.raw_transaction
        return raw

    def __repr__(self) -> str:
        return f"Wallet({self.address})"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("Wallet objects cannot be pickled (they hold a private key)")


def anvil_wallets(count: int = 10) -> list[Wallet]:
    """Wallets for anvil's default accounts (derived from the public test mnemonic). Local chains only."""
    from eth_account import Account

    from defipm.chain.anvil import ANVIL_MNEMONIC

    Account.enable_unaudited_hdwallet_features()
    return [Wallet(Account.from_mnemonic(ANVIL_MNEMONIC, account_path=f"m/44'/60'/0'/0/{i}").key) for i in range(count)]
