"""Finding the venue's swaps again on chain after a restart, by the client order id they carry.

On chain there is no order book to ask, so every swap carries its order's client order id: the 16 bytes of
``cloid_tag`` are appended to the router call's data (Solidity ignores calldata after the ABI-encoded arguments).
``SwapFinder.find(client_order_id)`` then looks for the tagged ``exactInputSingle`` among the wallet's transactions:

1. mined in the last ``lookback_blocks`` blocks (``defipm.chain.history.WalletHistory``: bisection on the wallet's
   nonce, or every block on a node without past state), indexed by tag and scanned incrementally;
2. else waiting in the mempool (UNKNOWN for the venue: never to be resent). A node that hides some of the wallet's
   pending transactions makes the lookup raise rather than answer "never seen";
3. else, if nothing of the wallet was mined while it looked, the swap was never sent (None). If something was,
   it looks again (``LOOKUP_ATTEMPTS`` times), since the swap may have moved from the mempool into a block.

Transactions are decoded with the contracts' ABI (``decode_function_input``): a swap is the router's
``exactInputSingle`` (SwapRouter02: the only call inside ``multicall(deadline, ...)``) paying the wallet, sent by the
wallet, whose calldata is exactly the ABI encoding followed by the 16-byte tag; an approval is an ERC-20 ``approve`` by the wallet. ``approval_gas`` finds the approvals
``send_swap`` made just before a swap (the previous nonces), so the recovered gas cost is the one first recorded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from eth_abi.exceptions import DecodingError
from eth_utils import function_signature_to_4byte_selector, keccak

from defipm.chain.artifacts import to_checksum
from defipm.chain.history import WalletHistory, WalletTx
from defipm.core.errors import VenueUnavailableError
from defipm.venues.uniswap.client import MULTICALL_WITH_DEADLINE

if TYPE_CHECKING:
    from defipm.venues.uniswap.client import UniswapClient

__all__ = ["LOOKUP_ATTEMPTS", "SWAP_TAG_BYTES", "FoundSwap", "SwapCall", "SwapFinder", "cloid_tag"]

SWAP_TAG_BYTES = 16
"""Length of the client-order-id tag appended to each swap's calldata."""
LOOKUP_ATTEMPTS = 3
"""Scans ``find`` makes when the wallet's transactions are being mined while it looks."""
MAX_UINT256 = (1 << 256) - 1
_CLOID = re.compile(r"0x[0-9a-f]{32}")


def cloid_tag(client_order_id: str) -> bytes:
    """The 16 bytes that tag a swap with ``client_order_id``: the id itself when it is ``0x`` + 32 hex digits
    (``new_client_order_id``'s format), else the first 16 bytes of the keccak of its text."""
    text = client_order_id.lower()
    if _CLOID.fullmatch(text):
        return bytes.fromhex(text[2:])
    return keccak(text=client_order_id)[:SWAP_TAG_BYTES]


@dataclass(frozen=True, slots=True)
class SwapCall:
    """A tagged ``exactInputSingle`` the wallet sent, decoded from its transaction (mined or pending)."""

    tx_hash: str
    nonce: int
    block_number: int | None
    """None while the transaction is pending."""
    token_in: str
    token_out: str
    fee: int
    amount_in: int
    amount_out_minimum: int
    tag: bytes


@dataclass(frozen=True, slots=True)
class FoundSwap:
    """What ``find`` saw of one client order id: its mined swaps (several only by mistake), or the one pending."""

    mined: tuple[SwapCall, ...] = ()
    pending: SwapCall | None = None


class SwapFinder:
    """Finds the tagged swaps of ``client``'s wallet on its node (see the module docstring)."""

    def __init__(self, client: UniswapClient, lookback_blocks: int) -> None:
        self.client = client
        self.lookback_blocks = lookback_blocks
        self.history = WalletHistory(client.w3, client.address)
        self._tagged: dict[bytes, dict[str, SwapCall]] = {}
        self._wallet_txs: dict[int, WalletTx] = {}
        self._scanned_to: int | None = None

    # -- decoding ----------------------------------------------------------------------------------------------
    @cached_property
    def _swap_selector(self) -> bytes:
        return function_signature_to_4byte_selector(
            self.client.router.get_function_by_name("exactInputSingle").signature
        )

    @cached_property
    def _multicall_selector(self) -> bytes:
        return function_signature_to_4byte_selector(MULTICALL_WITH_DEADLINE)

    def decode_swap(self, tx: WalletTx) -> SwapCall | None:
        """``tx`` as a tagged ``exactInputSingle`` of the wallet to itself through the router, or None when it is
        anything else."""
        router, data = self.client.router, tx.data
        mine = tx.sender == self.client.address.lower() and tx.to == router.address.lower()
        if not mine or len(data) <= SWAP_TAG_BYTES:
            return None
        body: bytes | None = data[:-SWAP_TAG_BYTES]
        tag = data[-SWAP_TAG_BYTES:]
        if body is not None and self.client.router_kind == "SwapRouter02":
            body = self._only_call_of_multicall(body)
        params = self._exact_input_single(body) if body is not None else None
        if params is None or to_checksum(params["recipient"]) != self.client.address:
            return None
        return SwapCall(tx.hash, tx.nonce, tx.block_number, to_checksum(params["tokenIn"]),
                        to_checksum(params["tokenOut"]), int(params["fee"]), int(params["amountIn"]),
                        int(params["amountOutMinimum"]), tag)  # fmt: skip

    def _exact_input_single(self, body: bytes) -> dict[str, Any] | None:
        """The parameters of ``body`` when it is exactly the ABI encoding of an ``exactInputSingle`` call."""
        router = self.client.router
        if body[:4] != self._swap_selector:
            return None
        try:
            params = router.decode_function_input(body)[1]["params"]
        except DecodingError:
            return None
        if bytes.fromhex(router.encode_abi("exactInputSingle", args=[params])[2:]) != body:
            return None  # not exactly the ABI encoding (followed by the tag)
        return dict(params)

    def _only_call_of_multicall(self, body: bytes) -> bytes | None:
        """The one call inside ``body`` when it is exactly the encoding of SwapRouter02's ``multicall(deadline,
        [call])``, as ``UniswapClient.swap_call`` sends a swap; None for anything else."""
        if body[:4] != self._multicall_selector:
            return None
        router = self.client.router
        try:
            args = router.decode_function_input(body)[1]
        except DecodingError:
            return None
        calls = args.get("data")
        if not isinstance(calls, list | tuple) or len(calls) != 1:
            return None
        inner = bytes(calls[0])
        if bytes.fromhex(router.encode_abi(MULTICALL_WITH_DEADLINE, args=[args["deadline"], [inner]])[2:]) != body:
            return None
        return inner

    def decode_approval(self, tx: WalletTx) -> tuple[str, str, int] | None:
        """(token, spender, amount) when ``tx`` is an ERC-20 ``approve`` sent by the wallet, else None."""
        if tx.sender != self.client.address.lower() or tx.to is None:
            return None
        token = self.client.erc20(tx.to)
        try:
            fn, args = token.decode_function_input(tx.data)
        except (DecodingError, ValueError):  # not a call of the ERC-20 interface
            return None
        if (
            fn.fn_name != "approve"
            or bytes.fromhex(token.encode_abi("approve", args=list(args.values()))[2:]) != tx.data
        ):
            return None
        return to_checksum(tx.to), to_checksum(args["spender"]), int(args["value"])

    # -- finding -----------------------------------------------------------------------------------------------
    def find(self, client_order_id: str) -> FoundSwap | None:
        """The tagged swap of ``client_order_id`` mined or pending, or None when it was never sent (within the
        lookback window). Raises VenueUnavailableError when the node cannot tell."""
        tag = cloid_tag(client_order_id)
        for _ in range(LOOKUP_ATTEMPTS):
            mined_before = self.history.nonce("latest")
            self._scan_mined()
            mined = self._tagged.get(tag)
            if mined:
                return FoundSwap(mined=tuple(mined.values()))
            pending, complete = self.history.pending()
            for tx in pending:
                call = self.decode_swap(tx)
                if call is not None and call.tag == tag:
                    return FoundSwap(pending=call)
            if not complete:
                raise VenueUnavailableError(
                    f"{client_order_id}: the node does not show all pending transactions of {self.client.address}, "
                    "so whether this order was sent is unknown"
                )
            if self.history.nonce("latest") == mined_before:
                return None  # nothing of this wallet was mined while we looked: the swap was never sent
        raise VenueUnavailableError(
            f"{client_order_id}: the wallet's transactions kept being mined during the lookup; try again"
        )

    def forget(self) -> None:
        """Drop what was scanned (a found swap lost its receipt: the chain was reorganised), so the next lookup
        scans the whole window again."""
        self._scanned_to = None
        self._tagged.clear()

    def _scan_mined(self) -> None:
        """Index the wallet's tagged swaps mined since the last scan (within the lookback window)."""
        latest = self.history.latest_block()
        start = latest - self.lookback_blocks
        if self._scanned_to is not None:
            start = max(start, self._scanned_to)
        for tx in self.history.mined(max(start, -1), latest):
            self._wallet_txs[tx.nonce] = tx
            call = self.decode_swap(tx)
            if call is not None:
                self._tagged.setdefault(call.tag, {})[call.tx_hash] = call
        self._scanned_to = latest

    def approval_gas(self, call: SwapCall, spender: str) -> int:
        """Gas (wei) of the approvals ``send_swap`` made just before ``call``: the wallet's previous transaction
        approving exactly that (same token, ``spender``, the swap's amount or unlimited), and the reset to zero
        before it when there was one."""
        cost = self._approval_gas(call, spender, call.nonce - 1, (call.amount_in, MAX_UINT256))
        if cost:
            cost += self._approval_gas(call, spender, call.nonce - 2, (0,))
        return cost

    def _approval_gas(self, call: SwapCall, spender: str, nonce: int, amounts: tuple[int, ...]) -> int:
        tx = self._wallet_txs.get(nonce)
        approval = self.decode_approval(tx) if tx is not None else None
        if tx is None or approval is None:
            return 0
        token, approved, amount = approval
        if token.lower() != call.token_in.lower() or approved.lower() != spender.lower() or amount not in amounts:
            return 0
        outcome = self.client.receipt_outcome(tx.hash)
        return outcome.gas_cost_wei if outcome is not None else 0
