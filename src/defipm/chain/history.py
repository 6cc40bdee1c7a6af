"""Finding a wallet's mined transaction by its nonce, when its hash is not the one we know (it was replaced).

A signed transaction can be replaced by another with the same nonce (a wallet's "speed up" re-signs the same call
with a higher fee), so a journalled hash may never be mined while its call was. ``transaction_by_nonce`` finds the
transaction that took a nonce: a binary search on the wallet's nonce at past blocks (``eth_getTransactionCount``
at a block number, about log2(lookback) reads) for the block that mined it, then that block's transactions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from defipm.chain.errors import RpcUnavailableError, translate_web3_error

if TYPE_CHECKING:
    from web3 import Web3

__all__ = ["transaction_by_nonce"]


def transaction_by_nonce(w3: Web3, address: str, nonce: int, lookback_blocks: int = 5_000) -> Any | None:
    """The mined transaction of ``address`` with ``nonce`` within the last ``lookback_blocks`` blocks, or None when
    that nonce is not mined yet or was mined earlier. Raises RpcUnavailableError when the node cannot tell (no
    state at past blocks: not an archive node)."""
    try:
        latest = int(w3.eth.block_number)
        if _nonce_at(w3, address, latest) <= nonce:
            return None
        lo, hi = max(latest - lookback_blocks, 0), latest
        if _nonce_at(w3, address, lo) > nonce:
            return None
        while hi - lo > 1:  # invariant: nonce_at(lo) <= nonce < nonce_at(hi)
            mid = (lo + hi) // 2
            if _nonce_at(w3, address, mid) > nonce:
                hi = mid
            else:
                lo = mid
        block: Any = w3.eth.get_block(hi, full_transactions=True)
    except Exception as exc:
        error = translate_web3_error(exc, f"find the transaction of {address} with nonce {nonce}")
        raise RpcUnavailableError(str(error)) from exc
    for tx in block["transactions"]:
        if str(tx["from"]).lower() == address.lower() and int(tx["nonce"]) == nonce:
            return tx
    return None


def _nonce_at(w3: Web3, address: str, block: int) -> int:
    return int(w3.eth.get_transaction_count(address, block))  # type: ignore[arg-type]
