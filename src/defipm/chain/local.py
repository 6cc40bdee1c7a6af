"""A local Uniswap world: an anvil node with WETH, test tokens, Uniswap V3 and V2 deployed and funded accounts.

Used by ``defipm chain up``, the test suite and the demo, so all three run the same code::

    with LocalUniswap.start() as world:
        w3, deployment = world.w3, world.deployment
        trader = world.wallets[1]
        world.fund(trader, weth=10 * 10**18, tokens={"USDC": 5_000 * 10**6})

``shared_local_uniswap()`` returns one world per process (started on first use, stopped at exit) so test
modules share a single deployment; isolate tests with ``world.snapshot()`` / ``world.revert(snapshot_id)``.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING

from defipm.chain.anvil import AnvilNode
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import MAX_UINT256, UniswapDeployment, WorldSpec, contract, deploy_uniswap_world
from defipm.chain.transactions import TransactionSender
from defipm.chain.wallet import Wallet, anvil_wallets

if TYPE_CHECKING:
    from web3 import Web3


@dataclass
class LocalUniswap:
    """A running anvil with a deployed Uniswap world. ``wallets[0]`` is the deployer (holds the token supply)."""

    node: AnvilNode
    w3: Web3
    deployment: UniswapDeployment
    wallets: list[Wallet]

    @classmethod
    def start(cls, spec: WorldSpec | None = None, *, accounts: int = 10, port: int | None = None) -> LocalUniswap:
        """Start anvil, deploy ``spec`` from account 0 and return the world (stop it with ``stop()``)."""
        node = AnvilNode.start(accounts=accounts, port=port)
        try:
            w3 = node.web3()
            wallets = anvil_wallets(accounts)
            deployment = deploy_uniswap_world(TransactionSender(w3, wallets[0]), spec)
        except BaseException:
            node.stop()
            raise
        return cls(node, w3, deployment, wallets)

    @property
    def url(self) -> str:
        return self.node.url

    def sender(self, wallet: Wallet) -> TransactionSender:
        return TransactionSender(self.w3, wallet)

    def fund(self, wallet: Wallet, *, weth: int = 0, tokens: Mapping[str, int] | None = None) -> None:
        """Give ``wallet`` ``weth`` wei of WETH (wrapped from its own ETH) and token amounts (base units) from
        the deployer."""
        if weth:
            own = self.sender(wallet)
            own.send(contract(own, "WETH9", self.deployment.weth.address).functions.deposit(), value=weth)
        if tokens:
            deployer = self.sender(self.wallets[0])
            for symbol, amount in tokens.items():
                token = contract(deployer, "TestERC20", self.deployment.token(symbol).address)
                deployer.send(token.functions.transfer(wallet.address, amount))

    def approve_all(self, wallet: Wallet, spender: str) -> None:
        """Unlimited approvals of WETH and every token from ``wallet`` to ``spender`` (test helper)."""
        sender = self.sender(wallet)
        for info in [self.deployment.weth, *self.deployment.tokens.values()]:
            sender.send(contract(sender, "TestERC20", info.address).functions.approve(spender, MAX_UINT256))

    def balance_of(self, symbol: str, owner: str) -> int:
        token = self.w3.eth.contract(
            address=to_checksum(self.deployment.token(symbol).address), abi=abi_of("TestERC20")
        )
        return int(token.functions.balanceOf(owner).call())

    def snapshot(self) -> str:
        """An anvil snapshot id of the current state."""
        return str(self.node.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Return the chain to ``snapshot_id`` (the snapshot is consumed)."""
        self.node.rpc("evm_revert", snapshot_id)

    @contextmanager
    def base_fee(self, wei: int) -> Iterator[None]:
        """Blocks with a base fee of ``wei`` per gas inside the ``with`` block (one is mined on entry); the base fee
        of before on the way out (anvil keeps a base fee across ``revert``, so tests must undo it)."""
        usual = int(self.w3.eth.get_block("latest").get("baseFeePerGas", 0) or 0)
        self.node.rpc("anvil_setNextBlockBaseFeePerGas", hex(wei))
        self.node.rpc("evm_mine")
        try:
            yield
        finally:
            self.node.rpc("anvil_setNextBlockBaseFeePerGas", hex(usual))
            self.node.rpc("evm_mine")

    def stop(self) -> None:
        self.node.stop()

    def __enter__(self) -> LocalUniswap:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def local_chain_missing() -> str | None:
    """Why a local world cannot start here (anvil or the npm artifacts missing), or None when it can."""
    from defipm.chain.anvil import find_anvil
    from defipm.chain.artifacts import find_node_modules
    from defipm.chain.errors import ChainError

    try:
        find_node_modules()
        find_anvil()
    except ChainError as exc:
        return str(exc)
    return None


_shared: LocalUniswap | None = None
_lock = threading.Lock()


def shared_local_uniswap() -> LocalUniswap:
    """The process-wide local world with the default spec, started on first call and stopped at exit."""
    global _shared
    with _lock:
        if _shared is None or _shared.node.process.poll() is not None:
            _shared = LocalUniswap.start()
            atexit.register(_shared.stop)
        return _shared
