"""Arbitrage on the local Uniswap world: the flash lender and executor deployed, and mispricings made to order.

``ArbLocalWorld.setup(world)`` takes a running ``LocalUniswap`` (``defipm.chain.local``), deploys a
``MockAaveV3Pool`` (5 bps premium) funded with WETH and every test token, and an ``ArbExecutor`` owned by the
arbitrage wallet (``world.wallets[ARB_WALLET]``). ``scenario(name)`` then creates one of the named mispricings
(``SCENARIOS``) by adding skewed token/token V2 pairs or by pushing a pool with a swap from the deployer, and returns
the ``PoolRef``s of the ring of pools that carries it (the only cycles in that ring are the mispriced one, both
ways). The demo, the end-to-end tests and the gas fit all use these, so they run the same code.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING

from defipm.arb.chain_pools import PoolRef
from defipm.arb.execution.contracts import deploy_executor, deploy_mock_lender, erc20
from defipm.chain.artifacts import to_checksum
from defipm.chain.deploy import MAX_UINT256, WorldSpec, contract
from defipm.chain.transactions import GasPolicy, TransactionSender, deadline_in
from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    from defipm.chain.local import LocalUniswap

__all__ = ["ARB_WALLET", "SCENARIOS", "ArbLocalWorld", "Scenario"]

ARB_WALLET = 7
"""Index of the anvil account that owns the executor and trades (others are used by other tests)."""

LENDER_WETH = 1_000
"""WETH (whole) the mock lender can lend; it also holds the same value of every test token."""


@dataclass(frozen=True, slots=True)
class Scenario:
    """A mispriced ring of pools. ``pools``: hop order starting from WETH; ``kinds``: their families."""

    name: str
    pools: tuple[PoolRef, ...]

    @property
    def length(self) -> int:
        return len(self.pools)


SCENARIOS = ("two-hop", "two-hop-v3", "triangle", "triangle-v3", "four-hop", "five-hop")
"""two-hop: V3 USDC/WETH 0.05% vs the V2 pair, pushed. two-hop-v3: the 0.05% vs the 0.3% V3 pool, pushed.
triangle: WETH-USDC (V3) -> USDC-UNI (new V2, skewed) -> UNI-WETH (V2). triangle-v3: the same closing through V3.
four-hop: WETH-USDC (V3), USDC-LINK, LINK-UNI (new V2), UNI-WETH (V3). five-hop: WETH-USDC (V3), USDC-LINK, LINK-UNI,
UNI-WBTC (new V2), WBTC-WETH (V2)."""


class ArbLocalWorld:
    """The local world plus arbitrage contracts. Use inside a snapshot to keep the shared world clean."""

    def __init__(self, world: LocalUniswap, lender: str, executor: str) -> None:
        self.world = world
        self.lender = lender
        self.executor = executor
        self.wallet = world.wallets[ARB_WALLET]
        self.sender = TransactionSender(world.w3, self.wallet)
        # generous gas limits: an estimate misses the price-accumulator writes of a V2 pair's first swap in a block
        self.deployer = TransactionSender(world.w3, world.wallets[0], GasPolicy(estimate_multiplier_bps=20_000))
        self.prices = {t.symbol: Fraction(t.price_weth) for t in WorldSpec().tokens} | {"WETH": Fraction(1)}

    @classmethod
    def setup(cls, world: LocalUniswap, premium_bps: int = 5) -> ArbLocalWorld:
        """Deploy and fund the lender, deploy the executor, and approve the deployer's swaps on the V3 router."""
        dep = world.deployment
        owner = TransactionSender(world.w3, world.wallets[ARB_WALLET])
        lender = deploy_mock_lender(owner, premium_bps)
        executor = deploy_executor(owner, lender)
        self = cls(world, lender, executor)
        for symbol in ["WETH", *dep.tokens]:
            info = dep.token(symbol)
            token = contract(self.deployer, "TestERC20", info.address)
            self.deployer.send(token.functions.transfer(to_checksum(lender), self.amount_of(symbol, LENDER_WETH)))
            self.deployer.send(token.functions.approve(dep.swap_router, MAX_UINT256))
        return self

    # -- helpers ---------------------------------------------------------------------------------------------
    def snapshot(self) -> str:
        """An anvil snapshot of the world (see ``revert``)."""
        return self.world.snapshot()

    def revert(self, snapshot_id: str) -> None:
        """Return to ``snapshot_id`` and make this world's senders re-read their nonces."""
        self.world.revert(snapshot_id)
        self.sender.resync_nonce()
        self.deployer.resync_nonce()

    def address(self, symbol: str) -> str:
        return self.world.deployment.token(symbol).address.lower()

    def amount_of(self, symbol: str, weth_value: Fraction | int | str) -> int:
        """Raw units of ``symbol`` worth ``weth_value`` WETH at the world's reference prices."""
        info = self.world.deployment.token(symbol)
        return int(Fraction(weth_value) / self.prices[symbol] * 10**info.decimals)

    def v2_pair(self, a: str, b: str) -> PoolRef:
        factory = contract(self.deployer, "UniswapV2Factory", self.world.deployment.v2_factory)
        address = factory.functions.getPair(to_checksum(self.address(a)), to_checksum(self.address(b))).call()
        if int(address, 16) == 0:
            raise ConfigError(f"no V2 pair {a}/{b} in this world")
        return PoolRef(address.lower(), "v2")

    def v3_pool(self, symbol: str, fee: int) -> PoolRef:
        return PoolRef(self.world.deployment.v3_pools[(symbol, fee)].lower(), "v3")

    def add_v2_pair(self, a: str, b: str, weth_value: int = 50, skew_bps: int = 0) -> PoolRef:
        """A new V2 pair a/b holding ``weth_value`` WETH of each side; ``skew_bps`` more b than the fair price
        (so a buys ``skew_bps`` too much b there)."""
        router = contract(self.deployer, "UniswapV2Router02", self.world.deployment.v2_router)
        amount_a = self.amount_of(a, weth_value)
        amount_b = self.amount_of(b, weth_value) * (10_000 + skew_bps) // 10_000
        deadline = deadline_in(self.world.w3, 3600)
        self.deployer.send(
            router.functions.addLiquidity(
                to_checksum(self.address(a)), to_checksum(self.address(b)), amount_a, amount_b, 0, 0,
                self.deployer.address, deadline,
            )
        )  # fmt: skip
        return self.v2_pair(a, b)

    def swap_v2(self, token_in: str, token_out: str, amount_in: int) -> None:
        """Deployer swaps through the V2 router (moves the pair's price)."""
        router = contract(self.deployer, "UniswapV2Router02", self.world.deployment.v2_router)
        path = [to_checksum(self.address(token_in)), to_checksum(self.address(token_out))]
        deadline = deadline_in(self.world.w3, 3600)
        self.deployer.send(
            router.functions.swapExactTokensForTokens(amount_in, 0, path, self.deployer.address, deadline)
        )

    def swap_v3(self, token_in: str, token_out: str, fee: int, amount_in: int) -> None:
        """Deployer swaps through the V3 SwapRouter (moves that pool's price)."""
        router = contract(self.deployer, "SwapRouter", self.world.deployment.swap_router)
        params = (
            to_checksum(self.address(token_in)), to_checksum(self.address(token_out)), fee, self.deployer.address,
            deadline_in(self.world.w3, 3600), amount_in, 0, 0,
        )  # fmt: skip
        self.deployer.send(router.functions.exactInputSingle(params))

    def fund_wallet(self, weth: int, tokens: dict[str, int] | None = None) -> None:
        """Give the arbitrage wallet ``weth`` wei of WETH (from the deployer) and token amounts (raw units)."""
        for symbol, amount in [("WETH", weth), *(tokens or {}).items()]:
            if amount:
                token = contract(self.deployer, "TestERC20", self.address(symbol))
                self.deployer.send(token.functions.transfer(self.wallet.address, amount))

    def balance(self, symbol_or_address: str, owner: str | None = None) -> int:
        address = symbol_or_address if symbol_or_address.startswith("0x") else self.address(symbol_or_address)
        return int(erc20(self.sender, address).functions.balanceOf(to_checksum(owner or self.wallet.address)).call())

    # -- scenarios -------------------------------------------------------------------------------------------
    def scenario(self, name: str) -> Scenario:
        """Create the mispricing ``name`` (one of ``SCENARIOS``) and return its ring of pools."""
        v3_usdc = self.v3_pool("USDC", 500)
        if name == "two-hop":
            self.swap_v2("WETH", "USDC", 8 * 10**18)  # WETH cheap in the V2 pair
            pools: tuple[PoolRef, ...] = (v3_usdc, self.v2_pair("USDC", "WETH"))
        elif name == "two-hop-v3":
            self.swap_v3("WETH", "USDC", 3000, 6 * 10**18)
            pools = (v3_usdc, self.v3_pool("USDC", 3000))
        elif name in ("triangle", "triangle-v3"):
            mid = self.add_v2_pair("USDC", "UNI", skew_bps=400)
            close = self.v2_pair("UNI", "WETH") if name == "triangle" else self.v3_pool("UNI", 500)
            pools = (v3_usdc, mid, close)
        elif name == "four-hop":
            a = self.add_v2_pair("USDC", "LINK", skew_bps=200)
            b = self.add_v2_pair("LINK", "UNI", skew_bps=200)
            pools = (v3_usdc, a, b, self.v3_pool("UNI", 500))
        elif name == "five-hop":
            a = self.add_v2_pair("USDC", "LINK", skew_bps=150)
            b = self.add_v2_pair("LINK", "UNI", skew_bps=150)
            c = self.add_v2_pair("UNI", "WBTC", skew_bps=150)
            pools = (v3_usdc, a, b, c, self.v2_pair("WBTC", "WETH"))
        else:
            raise ConfigError(f"unknown scenario {name!r}; known: {', '.join(SCENARIOS)}")
        return Scenario(name, pools)
