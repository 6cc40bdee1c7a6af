"""A wallet's own transactions, found on the node without an indexer: mined in a block range, by nonce, or pending.

A wallet's nonce at a block (``eth_getTransactionCount(address, block)``) counts its transactions mined up to that
block, so the blocks holding its transactions are where that count steps up. ``WalletHistory.mined`` finds them by
bisection (about log2(range) reads per transaction, skipping every stretch where the count does not move, and every
stretch outside the wanted nonces) and reads only those blocks, full transactions, in JSON-RPC batches. A node
without state at past blocks (not an archive node) answers the past counts with an error; the search then reads
every block of the range instead (bounded by the caller's window).

Two callers, one search:

- the Uniswap venue finds the swap tagged with a client order id among the wallet's recent transactions after a
  restart (``defipm.venues.uniswap.reconcile``);
- arbitrage settlement finds the transaction that took a journalled nonce when the journalled hash was never mined
  (a "speed up" re-signs the same call with a higher fee): ``by_nonce``.

``pending`` lists the wallet's sent but unmined transactions (the node's pending block, else ``txpool_content``)
and says whether that list is complete (as many as the pending nonce says there are). Every transaction is a
``WalletTx`` (hash, nonce, block, from, to, calldata), however the node delivered it.

Errors: a node or network failure leaves as the translated defipm error (``RpcUnavailableError`` when the node
cannot be reached); anything else propagates.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.chain.batch import Request, read_all
from defipm.chain.errors import node_errors, translate_web3_error

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["BLOCK_BATCH", "WalletHistory", "WalletTx"]

BLOCK_BATCH = 100
"""Full blocks fetched per JSON-RPC batch."""


@dataclass(frozen=True, slots=True)
class WalletTx:
    """A transaction as the node shows it: ``0x`` hash, nonce, block number (None while pending), sender and
    recipient (lower-case ``0x`` addresses; ``to`` is None for a contract creation) and the calldata."""

    hash: str
    nonce: int
    block_number: int | None
    sender: str
    to: str | None
    data: bytes

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> WalletTx:
        """From a JSON-RPC transaction object (hex quantities and data)."""
        block = raw.get("blockNumber")
        to = raw.get("to")
        return cls(str(raw["hash"]).lower(), _quantity(raw["nonce"]), None if block is None else _quantity(block),
                   str(raw["from"]).lower(), None if to is None else str(to).lower(),
                   bytes.fromhex(str(raw.get("input") or "0x").removeprefix("0x")))  # fmt: skip


def _quantity(value: Any) -> int:
    return int(value, 16) if isinstance(value, str) else int(value)


def _block_txs(raw: Any) -> list[WalletTx]:
    return [WalletTx.from_json(tx) for tx in (raw or {}).get("transactions", [])]


class WalletHistory:
    """Finds the transactions of ``address`` on the node of ``w3`` (see the module docstring)."""

    def __init__(self, w3: Web3, address: str) -> None:
        self.w3 = w3
        self.address = address
        self._me = address.lower()

    # -- reads -------------------------------------------------------------------------------------------------
    def latest_block(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read the block number") from exc

    def nonce(self, block: int | str = "latest") -> int:
        """The wallet's nonce at ``block`` (a number, ``"latest"`` or ``"pending"``); 0 before the chain began."""
        try:
            return self._nonce_at(block)
        except node_errors() as exc:
            raise translate_web3_error(exc, f"read the nonce of {self.address} at block {block}") from exc

    def _nonce_at(self, block: int | str) -> int:
        if isinstance(block, int) and block < 0:
            return 0
        return int(self.w3.eth.get_transaction_count(self.address, block))  # type: ignore[arg-type]

    # -- mined -------------------------------------------------------------------------------------------------
    def mined(self, after_block: int, to_block: int, nonces: range | None = None) -> list[WalletTx]:
        """The wallet's mined transactions in blocks ``after_block`` (excluded; -1 for the whole
        chain) to ``to_block`` (included), in chain order; only those with a nonce in ``nonces`` when given."""
        if to_block <= after_block:
            return []
        from web3.exceptions import Web3RPCError

        try:
            blocks: list[int] = self._stepping_blocks(after_block, to_block, nonces)
        except Web3RPCError:  # no state at past blocks (not an archive node): read every block of the range
            blocks = list(range(after_block + 1, to_block + 1))
        except node_errors() as exc:
            raise translate_web3_error(exc, f"find the transactions of {self.address}") from exc
        reads = [Request("eth_getBlockByNumber", [hex(n), True], _block_txs, f"block {n}") for n in blocks]
        found = read_all(self.w3, reads, f"read blocks of {self.address}'s transactions", size=BLOCK_BATCH)
        txs = [tx for block in found for tx in block if tx.sender == self._me]
        return [tx for tx in txs if nonces is None or tx.nonce in nonces]

    def _stepping_blocks(self, after_block: int, to_block: int, nonces: range | None) -> list[int]:
        """Blocks in (after_block, to_block] where the wallet's nonce steps up (through a nonce in ``nonces``)."""
        found: list[int] = []
        stack = [(after_block, to_block, self._nonce_at(after_block), self._nonce_at(to_block))]
        while stack:
            lo, hi, n_lo, n_hi = stack.pop()
            if n_lo == n_hi or (nonces is not None and (n_hi <= nonces.start or n_lo >= nonces.stop)):
                continue
            if hi - lo == 1:
                found.append(hi)
                continue
            mid = (lo + hi) // 2
            n_mid = self._nonce_at(mid)
            stack.extend([(lo, mid, n_lo, n_mid), (mid, hi, n_mid, n_hi)])
        return sorted(found)

    def by_nonce(self, nonce: int, lookback_blocks: int = 5_000) -> WalletTx | None:
        """The mined transaction of the wallet with ``nonce`` in the last ``lookback_blocks`` blocks, or None when
        that nonce is not mined yet or was mined before the window."""
        latest = self.latest_block()
        found = self.mined(max(latest - lookback_blocks, -1), latest, range(nonce, nonce + 1))
        return found[0] if found else None

    # -- pending -----------------------------------------------------------------------------------------------
    def pending(self) -> tuple[list[WalletTx], bool]:
        """The wallet's sent but unmined transactions, and whether that list is complete."""
        waiting = self.nonce("pending") - self.nonce("latest")
        if waiting <= 0:
            return [], True
        txs = {tx.nonce: tx for tx in self._ask("eth_getBlockByNumber", ["pending", True], _block_txs)}
        if len(txs) < waiting:  # a node may not serve the pending block: its txpool then
            for tx in self._ask("txpool_content", [], self._txpool):
                txs.setdefault(tx.nonce, tx)
        return list(txs.values()), len(txs) >= waiting

    def _ask(self, method: str, params: list[Any], decode: Any) -> list[WalletTx]:
        """An optional read: what ``decode`` makes of the answer, or nothing when the node refuses the method."""
        try:
            response = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        except node_errors() as exc:
            raise translate_web3_error(exc, f"read {method}") from exc
        if "error" in response or response.get("result") is None:
            return []
        return [tx for tx in decode(response["result"]) if tx.sender == self._me]

    def _txpool(self, pool: Mapping[str, Any]) -> list[WalletTx]:
        """The wallet's transactions in a ``txpool_content`` answer (pending and queued)."""
        out = []
        for group in ("pending", "queued"):
            for owner, by_nonce in (pool.get(group) or {}).items():
                if str(owner).lower() == self._me:
                    out += [WalletTx.from_json({**raw, "blockNumber": None}) for raw in by_nonce.values()]
        return out
