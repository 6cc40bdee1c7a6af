"""Contract calls of the Uniswap venue: token facts and balances, pool discovery and state, approvals, swaps.

``UniswapClient`` is the only place the venue touches web3. Swaps go through the router's ``exactInputSingle``
with an ``amountOutMinimum`` and a deadline (SwapRouter: in its parameters; SwapRouter02, whose parameters have no
deadline: inside ``multicall(deadline, [exactInputSingle])``); their real amounts are read from the receipt's
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
from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    from web3 import Web3

MAX_UINT256 = (1 << 256) - 1
ROUTER_KINDS = ("SwapRouter", "SwapRouter02")
"""The Uniswap routers the venue can swap through (``UniswapConfig.swap_router_kind``)."""
MULTICALL_WITH_DEADLINE = "multicall(uint256,bytes[])"
"""SwapRouter02's ``multicall`` that reverts after a deadline (its other overloads check none or a block hash)."""


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

    def __init__(
        self, w3: Web3, wallet: Wallet, gas: GasPolicy, factory: str, swap_router: str, router_kind: str = "auto"
    ) -> None:
        """``router_kind``: "SwapRouter", "SwapRouter02" or "auto" (asks the contract: ``router_kind_of``)."""
        self.w3 = w3
        self.wallet = wallet
        self.sender = TransactionSender(w3, wallet, gas)
        self.factory = w3.eth.contract(address=to_checksum(factory), abi=abi_of("UniswapV3Factory"))
        self.router_kind = router_kind if router_kind != "auto" else router_kind_of(w3, swap_router, factory)
        if self.router_kind not in ROUTER_KINDS:
            raise ValueError(f"swap_router_kind {router_kind!r}: use one of auto, {', '.join(ROUTER_KINDS)}")
        self.router = w3.eth.contract(address=to_checksum(swap_router), abi=abi_of(self.router_kind))
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

    def _configured_call(self, fn: Any, what: str, setting: str, fix: str) -> Any:
        """``_call`` of a contract the config names at ``[venue.params] setting``: when nothing there answers
        (no code at the address, a revert, an answer that does not decode) the address is wrong, a ``ConfigError``
        naming ``setting`` and ``fix``. Other node errors leave translated as in ``_call``."""
        from web3.exceptions import BadFunctionCallOutput, ContractLogicError, InsufficientData

        try:
            return fn.call(block_identifier="latest")
        except (ContractLogicError, BadFunctionCallOutput, InsufficientData) as exc:
            address = str(fn.address)
            try:
                has_code = bool(self.w3.eth.get_code(to_checksum(address)))
            except node_errors() as err:
                raise translate_web3_error(err, what) from exc
            found = "the contract there does not answer it" if has_code else "no contract is at that address"
            raise ConfigError(
                f"[venue.params] {setting} = {address}: {what} failed on chain {self.chain_id}: {found} "
                f"({type(exc).__name__}); {fix}"
            ) from exc
        except node_errors() as exc:
            raise translate_web3_error(exc, what) from exc

    def decimals(self, token: str, setting: str | None = None) -> int:
        """The token's ``decimals()``. With ``setting`` (``tokens.USDC``, the key that configures ``token``), a token
        that does not answer is a ``ConfigError`` naming that key; without it, a node error as in ``_call``."""
        fn, what = self.erc20(token).functions.decimals(), f"read decimals of {token}"
        if setting is None:
            return int(self._call(fn, what))
        fix = f"set {setting} to the ERC-20 token's address on chain {self.chain_id}"
        return int(self._configured_call(fn, "decimals()", setting, fix))

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
        """The V3 pool of the pair at ``fee``, or None when the factory has none. A ``factory`` that does not
        answer is a ``ConfigError`` naming that key."""
        fn = self.factory.functions.getPool(to_checksum(token_a), to_checksum(token_b), fee)
        fix = f"set factory to the UniswapV3Factory address of chain {self.chain_id}"
        address = str(self._configured_call(fn, f"getPool({token_a}, {token_b}, {fee})", "factory", fix))
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

    def swap_call(self, swap: Swap) -> Any:
        """The router call of ``swap``, paying to this wallet: SwapRouter's ``exactInputSingle`` with the deadline
        among its parameters, or SwapRouter02's inside ``multicall(deadline, [exactInputSingle])``."""
        token_in, token_out = to_checksum(swap.token_in), to_checksum(swap.token_out)
        if self.router_kind == "SwapRouter":
            v1 = (token_in, token_out, swap.fee, self.address, swap.deadline, swap.amount_in,
                  swap.amount_out_minimum, 0)  # fmt: skip
            return self.router.functions.exactInputSingle(v1)
        params = (token_in, token_out, swap.fee, self.address, swap.amount_in, swap.amount_out_minimum, 0)
        inner = bytes.fromhex(self.router.encode_abi("exactInputSingle", args=[params])[2:])
        return self.router.get_function_by_signature(MULTICALL_WITH_DEADLINE)(swap.deadline, [inner])

    def build_swap(self, swap: Swap) -> tuple[dict[str, Any], int]:
        """The unsigned transaction of ``swap`` (``swap_call``'s calldata followed by its tag) and its gas
        estimate. Raises TransactionRevertedError when the simulation reverts."""
        return self.sender.build(self.swap_call(swap), calldata_suffix=swap.tag)

    def exact_input_single(self, swap: Swap) -> SwapFill:
        """Send ``swap`` and wait for it; what it paid and received comes from the receipt.

        Raises TransactionRevertedError (simulation or on-chain revert, e.g. "Too little received") and
        RpcUnavailableError (outcome unknown)."""
        tx, estimate = self.build_swap(swap)
        outcome = self.sender.send_built(tx, estimate, f"exactInputSingle on {self.router_kind} {self.router.address}")
        return self.swap_fill(outcome, swap.token_in, swap.token_out)

    def swap_fill(self, outcome: TxOutcome, token_in: str, token_out: str) -> SwapFill:
        """What a mined swap of this wallet paid and received, from its receipt's Transfer logs."""
        paid = transferred(self.w3, outcome.receipt, token_in, sender=self.address)
        received = transferred(self.w3, outcome.receipt, token_out, recipient=self.address)
        return SwapFill(paid, received, outcome)

    def receipt_outcome(self, tx_hash: str) -> TxOutcome | None:
        """The outcome of an earlier transaction, or None when the node does not know it (yet)."""
        return self.sender.outcome_of(tx_hash)


EXACT_INPUT_SINGLE = {
    "SwapRouter": "exactInputSingle((address,address,uint24,address,uint256,uint256,uint256,uint160))",
    "SwapRouter02": "exactInputSingle((address,address,uint24,address,uint256,uint256,uint160))",
}
"""The swap each router kind is called with; its selector must be in the contract's code (``router_kind_of``)."""


def router_kind_of(w3: Web3, swap_router: str, factory: str | None = None) -> str:
    """ "SwapRouter02" when the contract at ``swap_router`` answers ``factoryV2()`` (only SwapRouter02 has it), else
    "SwapRouter" once it answers ``factory()`` as both do. The kind's ``exactInputSingle`` must also be in the
    contract's code (Uniswap's position manager, quoter and V2 router answer ``factory()`` too but swap nothing),
    and with ``factory`` given, ``factory()`` must answer that V3 factory. Raises ``ConfigError`` naming the wrong
    address otherwise, before anything is approved or sent. Node errors leave translated."""
    from web3 import Web3
    from web3.exceptions import BadFunctionCallOutput, ContractLogicError, InsufficientData

    router = w3.eth.contract(address=to_checksum(swap_router), abi=abi_of("SwapRouter02"))
    for kind, fn in (("SwapRouter02", router.functions.factoryV2()), ("SwapRouter", router.functions.factory())):
        try:
            answer = fn.call()
            code = bytes(w3.eth.get_code(to_checksum(swap_router)))
            v3_factory = router.functions.factory().call()
        except (ContractLogicError, BadFunctionCallOutput, InsufficientData):
            continue  # a revert or an answer that is not an address: the contract has no such function
        except node_errors() as exc:
            raise translate_web3_error(exc, f"read the router at {swap_router}") from exc
        if not (isinstance(answer, str) and int(answer, 16)):
            continue
        if b"\x63" + Web3.keccak(text=EXACT_INPUT_SINGLE[kind])[:4] not in code:  # PUSH4 <selector>
            break  # answers factory() but has no swap: a position manager, a quoter, a V2 router
        if factory is not None and v3_factory.lower() != factory.lower():
            raise ConfigError(
                f"swap_router {swap_router}: a {kind} of the V3 factory {v3_factory}, not of the configured "
                f"factory {factory}: set swap_router and factory to the same chain's Uniswap V3 deployment"
            )
        return kind
    raise ConfigError(
        f"swap_router {swap_router}: no Uniswap SwapRouter or SwapRouter02 answers there (factory() and factoryV2() "
        "fail, or no exactInputSingle): set swap_router to the chain's Uniswap V3 router address"
    )
