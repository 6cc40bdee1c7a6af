"""Contract calls of the Uniswap venue: token facts and balances, pool discovery and state, approvals, swaps.

``UniswapClient`` is the only place the venue touches web3. Swaps go through the SwapRouter's
``exactInputSingle`` with an ``amountOutMinimum`` and a deadline; their real amounts are read from the receipt's
ERC-20 ``Transfer`` logs, never assumed from the quote.
"""

from __future__ import annotations

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

    def balances(self, tokens: dict[str, str], owner: str) -> dict[str, int]:
        """``balanceOf(owner)`` for each symbol -> address, read in one batch at one block."""
        symbols = list(tokens)
        try:
            block = self.w3.eth.block_number
            out = [batch_call(self.w3, self.erc20(tokens[s]), [("balanceOf", (owner,))], block)[0] for s in symbols]
        except Exception as exc:
            raise translate_web3_error(exc, "read token balances") from exc
        return {s: int(v) for s, v in zip(symbols, out, strict=True)}

    def allowance(self, token: str, spender: str) -> int:
        try:
            return int(self.erc20(token).functions.allowance(self.address, to_checksum(spender)).call())
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

    def exact_input_single(
        self, token_in: str, token_out: str, fee: int, amount_in: int, amount_out_minimum: int, deadline: int
    ) -> SwapFill:
        """Swap exactly ``amount_in`` of ``token_in`` for at least ``amount_out_minimum`` of ``token_out``.

        Raises TransactionRevertedError (simulation or on-chain revert, e.g. "Too little received") and
        RpcUnavailableError (outcome unknown)."""
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
        outcome = self.sender.send(self.router.functions.exactInputSingle(params))
        paid = self._transferred(outcome, token_in, sender=self.address)
        received = self._transferred(outcome, token_out, recipient=self.address)
        return SwapFill(paid, received, outcome)

    def receipt_outcome(self, tx_hash: str) -> TxOutcome | None:
        """The outcome of an earlier transaction, or None when the node does not know it (yet)."""
        from web3.exceptions import TransactionNotFound

        try:
            self.w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
        except TransactionNotFound:
            return None
        except Exception as exc:
            raise translate_web3_error(exc, f"read receipt {tx_hash}") from exc
        return self.sender.wait(tx_hash, 0, "lookup")

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
