"""Wallets: keystore and environment loading, no key in repr or errors, mainnet refusal (no chain needed)."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from defipm.chain.errors import MainnetSigningRefusedError, WalletError
from defipm.chain.wallet import Wallet

KEY = "0x" + "11" * 32
TX = {"to": "0x" + "22" * 20, "value": 1, "gas": 21_000, "maxFeePerGas": 2, "maxPriorityFeePerGas": 1, "nonce": 0}


def test_keystore_round_trip_and_wrong_password(tmp_path: Path) -> None:
    path = Wallet.write_keystore(KEY, tmp_path / "key.json", "hunter2")
    wallet = Wallet.from_keystore(path, password="hunter2")
    assert wallet.address == Wallet(KEY).address
    with pytest.raises(WalletError, match="wrong password"):
        Wallet.from_keystore(path, password="nope")


def test_env_key_and_missing_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_DEFIPM_KEY", KEY)
    assert Wallet.from_env("TEST_DEFIPM_KEY").address == Wallet(KEY).address
    with pytest.raises(WalletError, match="TEST_DEFIPM_MISSING"):
        Wallet.from_env("TEST_DEFIPM_MISSING")


def test_key_never_shown() -> None:
    wallet = Wallet(KEY)
    assert "11" * 8 not in repr(wallet) + str(wallet)
    with pytest.raises(TypeError):
        pickle.dumps(wallet)
    with pytest.raises(WalletError) as info:
        Wallet("0x1234" + "zz" * 30)
    assert "zz" not in str(info.value) and info.value.__cause__ is None


@pytest.mark.parametrize("chain_id", [1, 42161, 10, 137, 8453])
def test_mainnet_refused_unless_allowed(chain_id: int) -> None:
    with pytest.raises(MainnetSigningRefusedError, match=str(chain_id)):
        Wallet(KEY).sign_transaction(TX, chain_id=chain_id)
    assert Wallet(KEY, allow_mainnet=True).sign_transaction(TX, chain_id=chain_id)


def test_local_chain_signs() -> None:
    assert Wallet(KEY).sign_transaction(TX, chain_id=31337)
