"""Sending transactions: nonces, gas estimates, EIP-1559 fees, deadlines, receipts and revert reasons.

``TransactionSender`` owns one wallet's nonce on one node: it reads the pending nonce once, then counts locally
(re-reading after any send whose outcome is unknown). ``send`` simulates the call first (``eth_estimateGas``,
which also surfaces revert reasons before any gas is paid), signs, broadcasts, waits for the receipt and returns a
``TxOutcome`` with the gas used and its cost in wei. Every error of the node or the network leaves as a defipm
error (``node_errors``); a bug of ours propagates as it is.

Journalling: ``on_signed`` (of ``send`` / ``send_built``) is called with the signed transaction's nonce and hash
after signing and before broadcasting, so a caller can record what it is about to send; if it raises, nothing is
sent. ``outcome_of`` / ``is_pending`` find a transaction again by its hash after a restart.

Gas ceiling: with ``GasPolicy.max_fee_per_gas_wei`` set, a transaction is refused (``GasPriceTooHighError``, nothing
signed) while the latest base fee plus the tip is above it, and no transaction offers a max fee above it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from defipm.chain.errors import (
    GasPriceTooHighError,
    RpcUnavailableError,
    TransactionRevertedError,
    node_errors,
    translate_web3_error,
)
from defipm.chain.history import WalletHistory
from defipm.chain.wallet import Wallet

if TYPE_CHECKING:
    from web3 import Web3
    from web3.contract.contract import ContractConstructor, ContractFunction
    from web3.types import TxParams


@dataclass(frozen=True, slots=True)
class GasPolicy:
    """How gas is priced and limited.

    estimate_multiplier_bps: gas limit = estimate * this / 10_000 (12_000 = +20% headroom).
    priority_fee_wei: tip per gas; None asks the node (eth_maxPriorityFeePerGas).
    max_fee_multiplier: max fee per gas = base fee * this + tip.
    fixed_gas_limit: skip estimation and use this limit (a revert is then only seen on chain, gas paid).
    receipt_timeout_s: seconds to wait for a receipt before the outcome is declared unknown.
    max_fee_per_gas_wei: ceiling on the fee per gas, wei: nothing is sent while base fee + tip is above it, and
        no transaction offers a max fee above it. None: no ceiling.
    """

    estimate_multiplier_bps: int = 12_000
    priority_fee_wei: int | None = None
    max_fee_multiplier: int = 2
    fixed_gas_limit: int | None = None
    receipt_timeout_s: float = 120.0
    max_fee_per_gas_wei: int | None = None


@dataclass(frozen=True, slots=True)
class FeeQuote:
    """The fees a transaction sent now would offer, wei per gas: the latest block's base fee, the tip, and the
    max fee (``base x max_fee_multiplier + tip``, capped at the ceiling)."""

    base_fee_wei: int
    priority_fee_wei: int
    max_fee_per_gas_wei: int

    @property
    def expected_per_gas(self) -> int:
        """What one gas unit costs if the transaction is included at the current base fee (base fee + tip)."""
        return self.base_fee_wei + self.priority_fee_wei


@dataclass(frozen=True, slots=True)
class SignedTx:
    """A signed transaction not yet broadcast: its nonce, its hash (known before sending), the raw bytes, and the
    call (``to``, ``data`` as 0x hex) that finds it again if it is replaced by another with the same nonce."""

    nonce: int
    tx_hash: str
    raw: bytes
    to: str = ""
    data: str = "0x"


@dataclass(frozen=True, slots=True)
class TxOutcome:
    """A mined transaction: hash, status, gas figures (gas cost in wei of the native coin) and the receipt."""

    tx_hash: str
    success: bool
    block_number: int
    gas_estimate: int
    gas_used: int
    effective_gas_price: int
    receipt: Any

    @property
    def gas_cost_wei(self) -> int:
        return self.gas_used * self.effective_gas_price


def deadline_in(w3: Web3, seconds: int) -> int:
    """A swap deadline ``seconds`` after the latest block's timestamp (chain time, not wall time)."""
    latest = w3.eth.get_block("latest")
    return int(latest["timestamp"]) + seconds


class TransactionSender:
    """Signs and sends one wallet's transactions on one node, managing its nonce."""

    def __init__(self, w3: Web3, wallet: Wallet, gas: GasPolicy | None = None) -> None:
        self.w3 = w3
        self.wallet = wallet
        self.gas = gas or GasPolicy()
        try:
            self.chain_id: int = w3.eth.chain_id
        except node_errors() as exc:
            raise translate_web3_error(exc, "read chain id") from exc
        wallet.check_chain(self.chain_id)
        self.history = WalletHistory(w3, wallet.address)
        """The wallet's transactions on this node (nonces, mined and pending transactions)."""
        self._nonce: int | None = None

    @property
    def address(self) -> str:
        return self.wallet.address

    def next_nonce(self) -> int:
        if self._nonce is None:
            self._nonce = self.history.nonce("pending")
        return self._nonce

    def resync_nonce(self) -> None:
        """Forget the local nonce; the next send reads the pending count from the node."""
        self._nonce = None

    def mined_nonce(self) -> int:
        """How many of the wallet's transactions are mined (its nonce at the latest block)."""
        return self.history.nonce("latest")

    def pending_nonce(self) -> int:
        """The wallet's nonce counting its transactions in the node's mempool (read now, not the local count)."""
        return self.history.nonce("pending")

    def fee_quote(self) -> FeeQuote:
        """The fees a transaction sent now would offer (reads the latest block and, unless fixed, the tip)."""
        try:
            block = self.w3.eth.get_block("latest")
            tip = self.gas.priority_fee_wei
            if tip is None:
                tip = int(self.w3.eth.max_priority_fee)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read the base fee") from exc
        base = int(block.get("baseFeePerGas", 0) or 0)
        offer = base * self.gas.max_fee_multiplier + tip
        if self.gas.max_fee_per_gas_wei is not None:
            offer = min(offer, self.gas.max_fee_per_gas_wei)
        return FeeQuote(base, tip, offer)

    def check_fee_ceiling(self, quote: FeeQuote | None = None) -> FeeQuote:
        """The current ``FeeQuote``; raises GasPriceTooHighError when base fee + tip is above the ceiling."""
        quote = quote or self.fee_quote()
        ceiling = self.gas.max_fee_per_gas_wei
        if ceiling is not None and quote.expected_per_gas > ceiling:
            raise GasPriceTooHighError(
                f"fee per gas {quote.expected_per_gas / 10**9:,.2f} gwei (base fee {quote.base_fee_wei / 10**9:,.2f} "
                f"+ tip {quote.priority_fee_wei / 10**9:,.2f}) is above the ceiling of {ceiling / 10**9:,.2f} gwei: "
                "nothing sent (raise the max fee per gas in the config to pay it)",
                fee_per_gas_wei=quote.expected_per_gas,
                ceiling_wei=ceiling,
            )
        return quote

    def _fees(self) -> dict[str, int]:
        quote = self.check_fee_ceiling()
        tip = min(quote.priority_fee_wei, quote.max_fee_per_gas_wei)
        return {"maxFeePerGas": quote.max_fee_per_gas_wei, "maxPriorityFeePerGas": tip}

    def build(
        self, call: ContractFunction | ContractConstructor, value: int = 0, *, calldata_suffix: bytes = b""
    ) -> tuple[dict[str, Any], int]:
        """The unsigned transaction for ``call`` and its gas estimate (raises TransactionRevertedError if the
        simulation reverts; nothing is sent then).

        ``calldata_suffix`` is appended to the ABI-encoded call data (Solidity ignores trailing bytes), e.g. a
        tag that finds the transaction again later; the gas estimate then simulates the tagged data."""
        context = _describe(call)
        base: dict[str, Any] = {"from": self.wallet.address, "value": value, "chainId": self.chain_id}
        fees = self._fees()
        try:
            if calldata_suffix:
                return self._build_with_suffix(call, base, fees, calldata_suffix)
            if self.gas.fixed_gas_limit is not None:
                estimate = self.gas.fixed_gas_limit
                limit = estimate
            else:
                estimate = int(call.estimate_gas(cast("TxParams", base)))
                limit = estimate * self.gas.estimate_multiplier_bps // 10_000
            tx = call.build_transaction(cast("TxParams", {**base, **fees, "gas": limit, "nonce": 0}))
        except node_errors() as exc:
            raise translate_web3_error(exc, context) from exc
        return dict(tx), estimate

    def _build_with_suffix(
        self, call: ContractFunction | ContractConstructor, base: dict[str, Any], fees: dict[str, int], suffix: bytes
    ) -> tuple[dict[str, Any], int]:
        placeholder = self.gas.fixed_gas_limit or 21_000  # replaced below; avoids web3's own estimate
        tx = dict(call.build_transaction(cast("TxParams", {**base, **fees, "gas": placeholder, "nonce": 0})))
        data = tx["data"]
        tx["data"] = "0x" + (bytes(data) if isinstance(data, bytes) else bytes.fromhex(data[2:])).hex() + suffix.hex()
        if self.gas.fixed_gas_limit is not None:
            return tx, self.gas.fixed_gas_limit
        simulated = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        estimate = int(self.w3.eth.estimate_gas(cast("TxParams", simulated)))
        tx["gas"] = estimate * self.gas.estimate_multiplier_bps // 10_000
        return tx, estimate

    def send(
        self,
        call: ContractFunction | ContractConstructor,
        value: int = 0,
        *,
        calldata_suffix: bytes = b"",
        on_signed: Callable[[SignedTx], None] | None = None,
    ) -> TxOutcome:
        """Simulate, sign, send and wait. Reverts raise TransactionRevertedError (with the tx hash when mined);
        an unreachable node after broadcasting raises RpcUnavailableError (outcome unknown, nonce resynced).
        ``calldata_suffix``: as in ``build``; ``on_signed``: as in ``send_built``."""
        tx, estimate = self.build(call, value, calldata_suffix=calldata_suffix)
        return self.send_built(tx, estimate, _describe(call), on_signed=on_signed)

    def sign(self, tx: dict[str, Any]) -> SignedTx:
        """Sign ``tx`` with the next nonce (nothing is sent)."""
        tx = dict(tx)
        tx["nonce"] = self.next_nonce()
        raw = self.wallet.sign_transaction(tx, chain_id=self.chain_id)
        from eth_utils import keccak

        data = tx.get("data", b"")
        data_hex = "0x" + (bytes(data).hex() if not isinstance(data, str) else data.removeprefix("0x"))
        return SignedTx(int(tx["nonce"]), "0x" + keccak(raw).hex(), raw, str(tx.get("to") or "").lower(), data_hex)

    def send_built(
        self,
        tx: dict[str, Any],
        estimate: int,
        context: str,
        *,
        on_signed: Callable[[SignedTx], None] | None = None,
    ) -> TxOutcome:
        """Sign and send a transaction made earlier by ``build`` (gas limit fixed then, no new simulation),
        wait and return its outcome; raises like ``send``. ``on_signed(signed)`` runs between signing and
        broadcasting (to journal the nonce and hash); when it raises, nothing is sent."""
        signed = self.sign(tx)
        if on_signed is not None:
            on_signed(signed)
        try:
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw)
        except node_errors() as exc:
            self.resync_nonce()
            raise translate_web3_error(exc, context) from exc
        assert self._nonce is not None
        self._nonce += 1
        outcome = self.wait(tx_hash.to_0x_hex(), estimate, context)
        if not outcome.success:
            reason = self.revert_reason(tx, outcome.block_number)
            raise TransactionRevertedError(
                f"{context}: reverted on chain in tx {outcome.tx_hash} ({reason or 'no reason'})",
                reason=reason,
                tx_hash=outcome.tx_hash,
            )
        return outcome

    def wait(self, tx_hash: str, gas_estimate: int, context: str) -> TxOutcome:
        """Wait for the receipt of ``tx_hash``."""
        try:
            receipt = self.w3.eth.wait_for_transaction_receipt(
                tx_hash,  # type: ignore[arg-type]
                timeout=self.gas.receipt_timeout_s,
                poll_latency=0.005,
            )
        except node_errors() as exc:
            self.resync_nonce()
            error = translate_web3_error(exc, f"{context}: waiting for receipt of {tx_hash}")
            if isinstance(error, RpcUnavailableError):
                raise error from exc
            raise RpcUnavailableError(str(error)) from exc
        return _outcome(tx_hash, gas_estimate, receipt)

    def outcome_of(self, tx_hash: str) -> TxOutcome | None:
        """The outcome of an earlier transaction from its receipt, or None while the node has no receipt for it
        (pending, dropped or never received: ``is_pending`` tells which)."""
        receipt = self._known(self.w3.eth.get_transaction_receipt, tx_hash, "read receipt")
        return None if receipt is None else _outcome(tx_hash, 0, receipt)

    def is_pending(self, tx_hash: str) -> bool:
        """Whether the node holds ``tx_hash`` unmined (in its mempool)."""
        tx = self._known(self.w3.eth.get_transaction, tx_hash, "read transaction")
        return tx is not None and tx.get("blockNumber") is None

    @staticmethod
    def _known(read: Callable[[Any], Any], tx_hash: str, what: str) -> Any | None:
        """``read(tx_hash)``, or None when the node does not know the hash."""
        from web3.exceptions import TransactionNotFound

        try:
            return read(tx_hash)
        except TransactionNotFound:
            return None
        except node_errors() as exc:
            raise translate_web3_error(exc, f"{what} {tx_hash}") from exc

    def revert_reason(self, tx: dict[str, Any], block_number: int) -> str | None:
        """Replay a reverted transaction as a call on the state before its block to recover the reason."""
        call = {k: tx[k] for k in ("from", "to", "data", "value") if k in tx}
        try:
            self.w3.eth.call(call, block_number - 1)  # type: ignore[arg-type]
        except node_errors() as exc:
            error = translate_web3_error(exc, "replay")
            return getattr(error, "reason", None) or str(error)
        return None


def _outcome(tx_hash: str, gas_estimate: int, receipt: Any) -> TxOutcome:
    return TxOutcome(
        tx_hash=tx_hash,
        success=receipt["status"] == 1,
        block_number=int(receipt["blockNumber"]),
        gas_estimate=gas_estimate,
        gas_used=int(receipt["gasUsed"]),
        effective_gas_price=int(receipt.get("effectiveGasPrice", 0) or 0),
        receipt=receipt,
    )


def _describe(call: Any) -> str:
    name = getattr(call, "fn_name", None) or type(call).__name__
    address = getattr(call, "address", None)
    return f"{name} on {address}" if address else str(name)
