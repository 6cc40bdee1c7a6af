"""Contract calls of the Uniswap venue: token facts and balances, pool discovery and state, approvals, swaps.

``UniswapClient`` is the only place the venue touches web3. Swaps go through the SwapRouter's
``exactInputSingle`` with an ``amountOutMinimum`` and a deadline; their real amounts are read from the receipt's
ERC-20 ``Transfer`` logs, never assumed from the quote.

Every swap carries its order's client order id: the 16 bytes of ``cloid_tag`` are appended to the router call's
data (Solidity ignores calldata after the ABI-encoded arguments), so after a restart the swap can be found on
chain (``wallet_transactions``, ``pending_wallet_transactions``, ``decode_swap``) and its fill rebuilt from the
receipt exactly as when it was sent.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.amm.v3_pool import V3PoolState
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.errors import translate_web3_error
from defipm.chain.transactions import GasPolicy, TransactionSender, TxOutcome, deadline_in
from defipm.chain.v3_reader import PoolInfo, batch_call, read_pool_info, read_pool_state
from defipm.chain.wallet import Wallet

if TYPE_CHECKING:
    from web3 import Web3

MAX_UINT256 = (1 << 256) - 1
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
TRANSFER_TOPIC = "ddf252ad1be2c89b69c2b068fc378daa952ba7f163c4a11628f55a4df523b3ef"
SWAP_TAG_BYTES = 16
"""Length of the client-order-id tag appended to each swap's calldata."""
EXACT_INPUT_SINGLE_TYPES = "(address,address,uint24,address,uint256,uint256,uint256,uint160)"
EXACT_INPUT_SINGLE_SELECTOR = "414bf389"  # exactInputSingle((address,address,uint24,address,uint256,...))
APPROVE_SELECTOR = "095ea7b3"  # approve(address,uint256)
BLOCK_BATCH = 100
"""Blocks fetched per JSON-RPC batch when scanning blocks one by one."""
_CLOID = re.compile(r"0x[0-9a-f]{32}")


def cloid_tag(client_order_id: str) -> bytes:
    """The 16 bytes that tag a swap with ``client_order_id``: the id itself when it is ``0x`` + 32 hex digits
    (``new_client_order_id``'s format), else the first 16 bytes of the keccak of its text."""
    text = client_order_id.lower()
    if _CLOID.fullmatch(text):
        return bytes.fromhex(text[2:])
    from eth_utils import keccak

    return keccak(text=client_order_id)[:SWAP_TAG_BYTES]


def _bytes(value: Any) -> bytes:
    if isinstance(value, str):
        return bytes.fromhex(value.removeprefix("0x"))
    return bytes(value)


def tx_hash_of(tx: Any) -> str:
    """The ``0x`` hash of a web3 (or raw JSON) transaction."""
    value = tx["hash"]
    return value if isinstance(value, str) else "0x" + bytes(value).hex()


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
class SwapFill:
    """What a mined swap did: amounts from the Transfer logs (base units) and the transaction's gas figures."""

    amount_in: int
    amount_out: int
    tx: TxOutcome


class UniswapClient:
    """web3 calls for one wallet on one node."""

    def __init__(self, w3: Web3, wallet: Wallet, gas: GasPolicy, factory: str, swap_router: str) -> None:
        self.w3 = w3
        self.wallet = wallet
        self.sender = TransactionSender(w3, wallet, gas)
        self.factory = w3.eth.contract(address=to_checksum(factory), abi=abi_of("UniswapV3Factory"))
        self.router = w3.eth.contract(address=to_checksum(swap_router), abi=abi_of("SwapRouter"))
        self._erc20_abi = abi_of("TestERC20")

    @property
    def address(self) -> str:
        return self.wallet.address

    @property
    def chain_id(self) -> int:
        return self.sender.chain_id

    def erc20(self, address: str) -> Any:
        return self.w3.eth.contract(address=to_checksum(address), abi=self._erc20_abi)

    def decimals(self, token: str) -> int:
        try:
            return int(self.erc20(token).functions.decimals().call())
        except Exception as exc:
            raise translate_web3_error(exc, f"read decimals of {token}") from exc

    def balances(self, tokens: dict[str, str], owner: str, block: int | str = "pending") -> dict[str, int]:
        """``balanceOf(owner)`` for each symbol -> address at ``block``: by default the pending state, so a swap
        of this wallet still in the mempool has already spent its input (a transaction may be in flight)."""
        symbols = list(tokens)
        try:
            out = [batch_call(self.w3, self.erc20(tokens[s]), [("balanceOf", (owner,))], block)[0] for s in symbols]
        except Exception as exc:
            raise translate_web3_error(exc, "read token balances") from exc
        return {s: int(v) for s, v in zip(symbols, out, strict=True)}

    def allowance(self, token: str, spender: str) -> int:
        """The wallet's allowance for ``spender`` in the pending state (counting approvals still in flight)."""
        try:
            call = self.erc20(token).functions.allowance(self.address, to_checksum(spender))
            return int(call.call(block_identifier="pending"))
        except Exception as exc:
            raise translate_web3_error(exc, f"read allowance of {token}") from exc

    def find_pool(self, token_a: str, token_b: str, fee: int) -> str | None:
        """The V3 pool of the pair at ``fee``, or None when the factory has none."""
        try:
            address = str(self.factory.functions.getPool(to_checksum(token_a), to_checksum(token_b), fee).call())
        except Exception as exc:
            raise translate_web3_error(exc, f"look up pool {token_a}/{token_b} {fee}") from exc
        return None if int(address, 16) == 0 else address

    def pool_info(self, pool: str) -> PoolInfo:
        return read_pool_info(self.w3, pool)

    def pool_state(self, pool: str, info: PoolInfo, word_radius: int | None) -> V3PoolState:
        return read_pool_state(self.w3, pool, info=info, word_radius=word_radius)

    def pool_price_state(self, pool: str) -> tuple[int, int, int]:
        """(sqrtPriceX96, tick, liquidity) now: the parts of the state a swap changes."""
        contract = self.w3.eth.contract(address=to_checksum(pool), abi=abi_of("UniswapV3Pool"))
        try:
            slot0, liquidity = batch_call(
                self.w3, contract, [("slot0", ()), ("liquidity", ())], self.w3.eth.block_number
            )
        except Exception as exc:
            raise translate_web3_error(exc, f"read pool {pool}") from exc
        return int(slot0[0]), int(slot0[1]), int(liquidity)

    def approve(self, token: str, spender: str, amount: int) -> TxOutcome:
        return self.sender.send(self.erc20(token).functions.approve(to_checksum(spender), amount))

    def deadline(self, seconds: int) -> int:
        try:
            return deadline_in(self.w3, seconds)
        except Exception as exc:
            raise translate_web3_error(exc, "read latest block") from exc

    def build_swap(
        self,
        token_in: str,
        token_out: str,
        fee: int,
        amount_in: int,
        amount_out_minimum: int,
        deadline: int,
        tag: bytes = b"",
    ) -> tuple[dict[str, Any], int]:
        """The unsigned ``exactInputSingle`` transaction (calldata followed by ``tag``) and its gas estimate.
        Raises TransactionRevertedError when the simulation reverts."""
        params = (
            to_checksum(token_in),
            to_checksum(token_out),
            fee,
            self.address,
            deadline,
            amount_in,
            amount_out_minimum,
            0,
        )
        return self.sender.build(self.router.functions.exactInputSingle(params), calldata_suffix=tag)

    def exact_input_single(
        self,
        token_in: str,
        token_out: str,
        fee: int,
        amount_in: int,
        amount_out_minimum: int,
        deadline: int,
        tag: bytes = b"",
    ) -> SwapFill:
        """Swap exactly ``amount_in`` of ``token_in`` for at least ``amount_out_minimum`` of ``token_out``, the
        transaction tagged with ``tag`` (see ``cloid_tag``).

        Raises TransactionRevertedError (simulation or on-chain revert, e.g. "Too little received") and
        RpcUnavailableError (outcome unknown)."""
        tx, estimate = self.build_swap(token_in, token_out, fee, amount_in, amount_out_minimum, deadline, tag)
        outcome = self.sender.send_built(tx, estimate, f"exactInputSingle on {self.router.address}")
        return self.swap_fill(outcome, token_in, token_out)

    def swap_fill(self, outcome: TxOutcome, token_in: str, token_out: str) -> SwapFill:
        """What a mined swap of this wallet paid and received, from its receipt's Transfer logs."""
        paid = self._transferred(outcome, token_in, sender=self.address)
        received = self._transferred(outcome, token_out, recipient=self.address)
        return SwapFill(paid, received, outcome)

    # -- finding tagged transactions again -------------------------------------------------------------------
    def decode_swap(self, tx: Any) -> SwapCall | None:
        """``tx`` (a web3 transaction) as a tagged ``exactInputSingle`` of this wallet through the router, or None
        when it is anything else."""
        from eth_abi import decode

        data = _bytes(tx.get("input", b""))
        if (
            to_checksum(str(tx.get("from"))) != self.address
            or not tx.get("to")
            or to_checksum(str(tx["to"])) != self.router.address
            or len(data) != 4 + 8 * 32 + SWAP_TAG_BYTES
            or data[:4].hex() != EXACT_INPUT_SINGLE_SELECTOR
        ):
            return None
        (params,) = decode([EXACT_INPUT_SINGLE_TYPES], data[4 : 4 + 8 * 32])
        token_in, token_out, fee, recipient, _deadline, amount_in, minimum, _limit = params
        if to_checksum(recipient) != self.address:
            return None
        block = tx.get("blockNumber")
        return SwapCall(
            tx_hash=tx_hash_of(tx),
            nonce=int(tx["nonce"]),
            block_number=int(block) if block is not None else None,
            token_in=to_checksum(token_in),
            token_out=to_checksum(token_out),
            fee=int(fee),
            amount_in=int(amount_in),
            amount_out_minimum=int(minimum),
            tag=data[-SWAP_TAG_BYTES:],
        )

    def decode_approval(self, tx: Any) -> tuple[str, str, int] | None:
        """(token, spender, amount) when ``tx`` is an ERC-20 ``approve`` sent by this wallet, else None."""
        from eth_abi import decode

        data = _bytes(tx.get("input", b""))
        if to_checksum(str(tx.get("from"))) != self.address or not tx.get("to") or len(data) != 4 + 64:
            return None
        if data[:4].hex() != APPROVE_SELECTOR:
            return None
        spender, amount = decode(["address", "uint256"], data[4:])
        return to_checksum(str(tx["to"])), to_checksum(spender), int(amount)

    def latest_block(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except Exception as exc:
            raise translate_web3_error(exc, "read block number") from exc

    def mined_nonce(self) -> int:
        """How many of this wallet's transactions are mined (its nonce at the latest block)."""
        try:
            return self._nonce_at("latest")
        except Exception as exc:
            raise translate_web3_error(exc, "read the wallet's nonce") from exc

    def _nonce_at(self, block: int | str) -> int:
        if isinstance(block, int) and block < 0:
            return 0
        return int(self.w3.eth.get_transaction_count(self.address, block))  # type: ignore[arg-type]

    def wallet_transactions(self, after_block: int, to_block: int) -> list[Any]:
        """This wallet's mined transactions in blocks ``after_block`` (excluded) to ``to_block`` (included).

        Bisects on the wallet's nonce (``eth_getTransactionCount`` at past blocks) so only blocks holding one of
        its transactions are fetched: about log2(range) reads per transaction. A node without that history (not
        an archive node) makes it fall back to fetching every block, full transactions, in JSON-RPC batches."""
        if to_block <= after_block:
            return []
        try:
            blocks = self._blocks_with_wallet_txs(after_block, to_block)
        except Exception:
            blocks = list(range(after_block + 1, to_block + 1))
        return [tx for block in self._full_blocks(blocks) for tx in block["transactions"]
                if to_checksum(str(tx["from"])) == self.address]  # fmt: skip

    def _blocks_with_wallet_txs(self, after_block: int, to_block: int) -> list[int]:
        found: list[int] = []
        stack = [(after_block, to_block, self._nonce_at(after_block), self._nonce_at(to_block))]
        while stack:
            lo, hi, n_lo, n_hi = stack.pop()
            if n_lo == n_hi:
                continue
            if hi - lo == 1:
                found.append(hi)
                continue
            mid = (lo + hi) // 2
            n_mid = self._nonce_at(mid)
            stack.extend([(lo, mid, n_lo, n_mid), (mid, hi, n_mid, n_hi)])
        return sorted(found)

    def _full_blocks(self, numbers: list[int]) -> list[Any]:
        out: list[Any] = []
        try:
            for i in range(0, len(numbers), BLOCK_BATCH):
                with self.w3.batch_requests() as batch:
                    for n in numbers[i : i + BLOCK_BATCH]:
                        batch.add(self.w3.eth.get_block(n, full_transactions=True))
                    out.extend(batch.execute())
        except Exception as exc:
            raise translate_web3_error(exc, "read blocks") from exc
        return out

    def pending_wallet_transactions(self) -> tuple[list[Any], bool]:
        """This wallet's sent but unmined transactions, and whether that list is complete (the node showed as
        many as its pending nonce says there are)."""
        try:
            waiting = self._nonce_at("pending") - self._nonce_at("latest")
        except Exception as exc:
            raise translate_web3_error(exc, "read nonce") from exc
        if waiting <= 0:
            return [], True
        txs: dict[int, Any] = {}
        with contextlib.suppress(Exception):  # a node may not serve the pending block: txpool below
            block: Any = self.w3.eth.get_block("pending", full_transactions=True)
            for tx in block["transactions"]:
                if to_checksum(str(tx["from"])) == self.address:
                    txs[int(tx["nonce"])] = tx
        if len(txs) < waiting:
            with contextlib.suppress(Exception):  # txpool_content is not a standard method
                pool = self.w3.provider.make_request("txpool_content", [])["result"]  # type: ignore[arg-type]
                for group in ("pending", "queued"):
                    for owner, by_nonce in (pool.get(group) or {}).items():
                        if to_checksum(owner) == self.address:
                            for raw in by_nonce.values():
                                nonce = raw["nonce"]
                                nonce = int(nonce, 0) if isinstance(nonce, str) else int(nonce)
                                txs.setdefault(nonce, {**raw, "nonce": nonce, "blockNumber": None})
        return list(txs.values()), len(txs) >= waiting

    def receipt_outcome(self, tx_hash: str) -> TxOutcome | None:
        """The outcome of an earlier transaction, or None when the node does not know it (yet)."""
        return self.sender.outcome_of(tx_hash)

    @staticmethod
    def _transferred(outcome: TxOutcome, token: str, *, sender: str | None = None, recipient: str | None = None) -> int:
        total = 0
        for log in outcome.receipt["logs"]:
            topics = log["topics"]
            if to_checksum(log["address"]) != to_checksum(token) or len(topics) != 3:
                continue
            if bytes(topics[0]).hex().removeprefix("0x") != TRANSFER_TOPIC:
                continue
            src = to_checksum("0x" + bytes(topics[1])[-20:].hex())
            dst = to_checksum("0x" + bytes(topics[2])[-20:].hex())
            if (sender is None or src == to_checksum(sender)) and (recipient is None or dst == to_checksum(recipient)):
                total += int.from_bytes(bytes(log["data"]), "big")
        return total
