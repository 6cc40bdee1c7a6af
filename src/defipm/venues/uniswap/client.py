"""Contract calls of the Uniswap venue: token facts and balances, pool discovery and state, approvals, swaps.

``UniswapClient`` is the only place the venue touches web3. Swaps go through the SwapRouter's
``exactInputSingle`` with an ``amountOutMinimum`` and a deadline; their real amounts are read from the receipt's
ERC-20 ``Transfer`` logs (``defipm.chain.receipts``), never assumed from the quote. A swap's calldata may end with a
tag (the order's client order id, ``reconcile.cloid_tag``) by which ``reconcile.SwapFinder`` finds it after a restart.

Errors: what the node or the network cause leaves as defipm's errors (``RpcUnavailableError``,
``TransactionRevertedError``, ...); anything else is a bug of ours and propagates as it is, never taken for a node
whose answer was lost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from defipm.amm.v3_pool import V3PoolState
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.batch import contract_call, read_all
from defipm.chain.errors import node_errors, translate_web3_error
from defipm.chain.receipts import transferred
from defipm.chain.transactions import GasPolicy, TransactionSender, TxOutcome, deadline_in
from defipm.chain.v3_reader import PoolInfo, read_pool_info, read_pool_state
from defipm.chain.wallet import Wallet

if TYPE_CHECKING:
    from web3 import Web3

MAX_UINT256 = (1 << 256) - 1


@dataclass(frozen=True, slots=True)
class Swap:
    """One ``exactInputSingle``: pay exactly ``amount_in`` of ``token_in`` (base units) for at least
    ``amount_out_minimum`` of ``token_out`` in the ``fee`` tier (pips), before ``deadline`` (chain time, seconds);
    ``tag`` is appended to the calldata (``reconcile.cloid_tag``)."""

    token_in: str
    token_out: str
    fee: int
    amount_in: int
    amount_out_minimum: int
    deadline: int
    tag: bytes = b""


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

    def _call(self, fn: Any, what: str, block: int | str = "latest") -> Any:
        """``eth_call`` of a bound contract function; node errors leave translated, naming ``what``."""
        try:
            return fn.call(block_identifier=block)
        except node_errors() as exc:
            raise translate_web3_error(exc, what) from exc

    def decimals(self, token: str) -> int:
        return int(self._call(self.erc20(token).functions.decimals(), f"read decimals of {token}"))

    def balances(self, tokens: dict[str, str], owner: str, block: int | str = "pending") -> dict[str, int]:
        """``balanceOf(owner)`` for each symbol -> address at ``block``, in one batch: by default the pending state,
        so a swap of this wallet still in the mempool has already spent its input (a transaction may be in flight)."""
        symbols = list(tokens)
        reads = [contract_call(self.erc20(tokens[s]), "balanceOf", owner, block=block) for s in symbols]
        out = read_all(self.w3, reads, "read token balances")
        return {s: int(v) for s, v in zip(symbols, out, strict=True)}

    def allowance(self, token: str, spender: str) -> int:
        """The wallet's allowance for ``spender`` in the pending state (counting approvals still in flight)."""
        fn = self.erc20(token).functions.allowance(self.address, to_checksum(spender))
        return int(self._call(fn, f"read allowance of {token}", "pending"))

    def find_pool(self, token_a: str, token_b: str, fee: int) -> str | None:
        """The V3 pool of the pair at ``fee``, or None when the factory has none."""
        fn = self.factory.functions.getPool(to_checksum(token_a), to_checksum(token_b), fee)
        address = str(self._call(fn, f"look up pool {token_a}/{token_b} {fee}"))
        return None if int(address, 16) == 0 else address

    def pool_info(self, pool: str) -> PoolInfo:
        return read_pool_info(self.w3, pool)

    def pool_state(self, pool: str, info: PoolInfo, word_radius: int | None) -> V3PoolState:
        return read_pool_state(self.w3, pool, info=info, word_radius=word_radius)

    def pool_price_state(self, pool: str) -> tuple[int, int, int]:
        """(sqrtPriceX96, tick, liquidity) now: the parts of the state a swap changes."""
        contract = self.w3.eth.contract(address=to_checksum(pool), abi=abi_of("UniswapV3Pool"))
        block = self.latest_block()  # both reads pinned to one block
        reads = [contract_call(contract, name, block=block) for name in ("slot0", "liquidity")]
        slot0, liquidity = read_all(self.w3, reads, f"read pool {pool}")
        return int(slot0[0]), int(slot0[1]), int(liquidity)

    def latest_block(self) -> int:
        try:
            return int(self.w3.eth.block_number)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read the block number") from exc

    def approve(self, token: str, spender: str, amount: int) -> TxOutcome:
        return self.sender.send(self.erc20(token).functions.approve(to_checksum(spender), amount))

    def deadline(self, seconds: int) -> int:
        try:
            return deadline_in(self.w3, seconds)
        except node_errors() as exc:
            raise translate_web3_error(exc, "read latest block") from exc

    def build_swap(self, swap: Swap) -> tuple[dict[str, Any], int]:
        """The unsigned ``exactInputSingle`` transaction of ``swap`` (calldata followed by its tag), paying to this
        wallet, and its gas estimate. Raises TransactionRevertedError when the simulation reverts."""
        params = (to_checksum(swap.token_in), to_checksum(swap.token_out), swap.fee, self.address, swap.deadline,
                  swap.amount_in, swap.amount_out_minimum, 0)  # fmt: skip
        return self.sender.build(self.router.functions.exactInputSingle(params), calldata_suffix=swap.tag)

    def exact_input_single(self, swap: Swap) -> SwapFill:
        """Send ``swap`` and wait for it; what it paid and received comes from the receipt.

        Raises TransactionRevertedError (simulation or on-chain revert, e.g. "Too little received") and
        RpcUnavailableError (outcome unknown)."""
        tx, estimate = self.build_swap(swap)
        outcome = self.sender.send_built(tx, estimate, f"exactInputSingle on {self.router.address}")
        return self.swap_fill(outcome, swap.token_in, swap.token_out)

    def swap_fill(self, outcome: TxOutcome, token_in: str, token_out: str) -> SwapFill:
        """What a mined swap of this wallet paid and received, from its receipt's Transfer logs."""
        paid = transferred(self.w3, outcome.receipt, token_in, sender=self.address)
        received = transferred(self.w3, outcome.receipt, token_out, recipient=self.address)
        return SwapFill(paid, received, outcome)

    def receipt_outcome(self, tx_hash: str) -> TxOutcome | None:
        """The outcome of an earlier transaction, or None when the node does not know it (yet)."""
        return self.sender.outcome_of(tx_hash)
