"""Deploy a local Uniswap world: WETH9, test ERC-20s, Uniswap V3 (factory, pools at 500/3000/10000 with
concentrated liquidity in several ranges, SwapRouter, QuoterV2), Uniswap V2 (factory, pairs, Router02) and the
SwapRouter02 over both.

``deploy_uniswap_world(sender, spec)`` returns a ``UniswapDeployment`` with every address. It is deterministic:
the same spec on a fresh anvil gives the same addresses. Prices are set per token in WETH; each fee tier can be
skewed a few basis points (``WorldSpec.tier_skew_bps``) so that tiers differ and arbitrage exists.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from math import isqrt
from typing import TYPE_CHECKING, Any

from defipm.amm.v3_pool import FEE_TIER_TICK_SPACING
from defipm.amm.v3_tick_math import MAX_TICK, get_tick_at_sqrt_ratio
from defipm.chain.artifacts import Artifact, abi_of, load_artifact, to_checksum, verify_init_code_hashes
from defipm.chain.errors import ChainError
from defipm.chain.transactions import TransactionSender, deadline_in

if TYPE_CHECKING:
    from web3.contract import Contract

MAX_UINT256 = (1 << 256) - 1


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A test token: symbol, decimals, and its price in WETH per whole token (e.g. "0.0005" for a $1 token)."""

    symbol: str
    decimals: int
    price_weth: str


@dataclass(frozen=True, slots=True)
class WorldSpec:
    """What to deploy.

    tokens: test tokens, each paired with WETH in every V3 fee tier and in V2.
    fee_tiers: V3 fee tiers in pips.
    tier_skew_bps: price skew per fee tier, in basis points of the token's price.
    position_ranges: V3 positions per pool as (lower, upper) in tick spacings around the current tick;
        a full-range position is always added. Many overlapping ranges make swaps cross ticks.
    weth_per_spacing: WETH value per tick spacing of width put on each side of a V3 position (so every
        position has about the same liquidity and swaps cross their boundaries).
    full_range_weth: WETH value on each side of the full-range position.
    v2_weth_liquidity: WETH side of each V2 pair (whole WETH).
    deployer_weth: ETH the deployer wraps into WETH (whole ETH).
    """

    tokens: tuple[TokenSpec, ...] = (
        TokenSpec("USDC", 6, "0.0005"),
        TokenSpec("WBTC", 8, "20"),
        TokenSpec("UNI", 18, "0.004"),
        TokenSpec("LINK", 18, "0.007"),
        TokenSpec("STETH", 18, "1"),
    )
    fee_tiers: tuple[int, ...] = (500, 3000, 10000)
    tier_skew_bps: dict[int, int] = field(default_factory=lambda: {500: 0, 3000: 15, 10000: -30})
    position_ranges: tuple[tuple[int, int], ...] = (
        (-1, 1), (-2, 3), (-3, 1), (-5, 5), (-8, 2), (-2, 9), (-13, 13), (-30, 25), (-80, 90),
    )  # fmt: skip
    weth_per_spacing: Fraction = Fraction(1, 2)
    full_range_weth: int = 20
    v2_weth_liquidity: int = 200
    deployer_weth: int = 6000


@dataclass(frozen=True, slots=True)
class TokenInfo:
    symbol: str
    address: str
    decimals: int


@dataclass(frozen=True, slots=True)
class UniswapDeployment:
    """Addresses of a deployed local Uniswap world. ``v3_pools`` maps (symbol, fee) to the pool address."""

    chain_id: int
    deployer: str
    weth: TokenInfo
    tokens: dict[str, TokenInfo]
    v3_factory: str
    position_manager: str
    swap_router: str
    quoter_v2: str
    v2_factory: str
    v2_router: str
    v3_pools: dict[tuple[str, int], str]
    v2_pairs: dict[str, str]
    swap_router02: str = ""
    """SwapRouter02 (the router of chains such as Base; V2 and V3 routes, deadlines through ``multicall``)."""

    def token(self, symbol: str) -> TokenInfo:
        if symbol == self.weth.symbol:
            return self.weth
        try:
            return self.tokens[symbol]
        except KeyError:
            raise ChainError(f"no token {symbol!r} in this deployment (have {sorted(self.tokens)})") from None

    def describe(self) -> list[tuple[str, str]]:
        """(label, address) rows for printing."""
        rows = [("WETH9", self.weth.address)]
        rows += [(f"{t.symbol} ({t.decimals} decimals)", t.address) for t in self.tokens.values()]
        rows += [
            ("UniswapV3Factory", self.v3_factory),
            ("NonfungiblePositionManager", self.position_manager),
            ("SwapRouter", self.swap_router),
            *([("SwapRouter02", self.swap_router02)] if self.swap_router02 else []),
            ("QuoterV2", self.quoter_v2),
            ("UniswapV2Factory", self.v2_factory),
            ("UniswapV2Router02", self.v2_router),
        ]
        rows += [(f"V3 pool {s}/WETH {fee}", a) for (s, fee), a in sorted(self.v3_pools.items())]
        rows += [(f"V2 pair {s}/WETH", a) for s, a in sorted(self.v2_pairs.items())]
        return rows


def deploy_artifact(sender: TransactionSender, artifact: Artifact, *args: Any) -> str:
    """Deploy ``artifact`` with constructor ``args`` from ``sender``'s wallet; return its address."""
    factory = sender.w3.eth.contract(abi=artifact.abi, bytecode=artifact.bytecode)
    outcome = sender.send(factory.constructor(*args))
    address = outcome.receipt.get("contractAddress")
    if not address:
        raise ChainError(f"deploying {artifact.name} produced no contract address (tx {outcome.tx_hash})")
    return str(address)


def deploy_contract(sender: TransactionSender, name: str, *args: Any) -> str:
    """Deploy artifact ``name`` (``load_artifact``) with constructor ``args``; return its address."""
    return deploy_artifact(sender, load_artifact(name), *args)


def contract(sender: TransactionSender, name: str, address: str) -> Contract:
    return sender.w3.eth.contract(address=to_checksum(address), abi=abi_of(name))


def sqrt_price_x96(price_token1_per_token0_raw: Fraction) -> int:
    """floor(sqrt(price) * 2**96) for a raw (base-unit) price, exactly."""
    return isqrt(price_token1_per_token0_raw.numerator * (1 << 192) // price_token1_per_token0_raw.denominator)


def _raw_price(token: TokenSpec, weth_is_token0: bool, skew_bps: int) -> Fraction:
    weth_per_token_raw = Fraction(token.price_weth) * (10_000 + skew_bps) / 10_000 * 10**18 / 10**token.decimals
    return 1 / weth_per_token_raw if weth_is_token0 else weth_per_token_raw


def deploy_uniswap_world(sender: TransactionSender, spec: WorldSpec | None = None) -> UniswapDeployment:
    """Deploy everything in ``spec`` from ``sender``'s account (which must hold enough ETH). The transactions go
    out in a fixed order, so the same spec on a fresh chain gives the same addresses."""
    spec = spec or WorldSpec()
    verify_init_code_hashes()
    me = sender.address
    weth_address = deploy_contract(sender, "WETH9")
    sender.send(contract(sender, "WETH9", weth_address).functions.deposit(), value=spec.deployer_weth * 10**18)
    tokens: dict[str, TokenInfo] = {}
    for t in spec.tokens:
        address = deploy_contract(sender, "TestERC20", t.symbol, t.symbol, t.decimals, 10**12 * 10**t.decimals)
        tokens[t.symbol] = TokenInfo(t.symbol, address, t.decimals)
    v3_factory = deploy_contract(sender, "UniswapV3Factory")
    npm_address = deploy_contract(sender, "NonfungiblePositionManager", v3_factory, weth_address, me)
    swap_router = deploy_contract(sender, "SwapRouter", v3_factory, weth_address)
    quoter = deploy_contract(sender, "QuoterV2", v3_factory, weth_address)
    v2_factory = deploy_contract(sender, "UniswapV2Factory", me)
    v2_router = deploy_contract(sender, "UniswapV2Router02", v2_factory, weth_address)
    for address in [weth_address, *(t.address for t in tokens.values())]:
        erc20 = contract(sender, "TestERC20", address)
        sender.send(erc20.functions.approve(npm_address, MAX_UINT256))
        sender.send(erc20.functions.approve(v2_router, MAX_UINT256))
    deadline = deadline_in(sender.w3, 3600)
    pools = _seed_v3_pools(sender, spec, weth_address, tokens, v3_factory, npm_address, deadline)
    pairs = _seed_v2_pairs(sender, spec, weth_address, tokens, v2_factory, v2_router, deadline)
    # last, so the addresses deployed before it are those of a world without it
    swap_router02 = deploy_contract(sender, "SwapRouter02", v2_factory, v3_factory, npm_address, weth_address)
    return UniswapDeployment(
        chain_id=sender.chain_id, deployer=me, weth=TokenInfo("WETH", weth_address, 18), tokens=tokens,
        v3_factory=v3_factory, position_manager=npm_address, swap_router=swap_router, quoter_v2=quoter,
        v2_factory=v2_factory, v2_router=v2_router, v3_pools=pools, v2_pairs=pairs, swap_router02=swap_router02,
    )  # fmt: skip


def _seed_v3_pools(
    sender: TransactionSender, spec: WorldSpec, weth: str, tokens: dict[str, TokenInfo], v3_factory: str, npm_address: str,
    deadline: int,
) -> dict[tuple[str, int], str]:  # fmt: skip
    """Create every token's WETH pool in each fee tier at its (skewed) price, with the spec's positions."""
    npm = contract(sender, "NonfungiblePositionManager", npm_address)
    factory = contract(sender, "UniswapV3Factory", v3_factory)
    pools: dict[tuple[str, int], str] = {}
    for t in spec.tokens:
        weth_is_token0 = int(weth, 16) < int(tokens[t.symbol].address, 16)
        token0, token1 = (weth, tokens[t.symbol].address) if weth_is_token0 else (tokens[t.symbol].address, weth)
        for fee in spec.fee_tiers:
            sqrt_p = sqrt_price_x96(_raw_price(t, weth_is_token0, spec.tier_skew_bps.get(fee, 0)))
            sender.send(npm.functions.createAndInitializePoolIfNecessary(token0, token1, fee, sqrt_p))
            pools[(t.symbol, fee)] = factory.functions.getPool(token0, token1, fee).call()
            for lower, upper, (amount0, amount1) in _positions(spec, t, weth_is_token0, fee, sqrt_p):
                params = (token0, token1, fee, lower, upper, amount0, amount1, 0, 0, sender.address, deadline)
                sender.send(npm.functions.mint(params))
    return pools


def _positions(
    spec: WorldSpec, token: TokenSpec, weth_is_token0: bool, fee: int, sqrt_p: int
) -> list[tuple[int, int, tuple[int, int]]]:
    """(lower tick, upper tick, (amount0, amount1)) of each position of a pool: the spec's ranges around the
    current tick, then the full range."""

    def amounts(weth_value: Fraction) -> tuple[int, int]:
        weth_amount = int(weth_value * 10**18)
        token_amount = int(weth_value / Fraction(token.price_weth) * 10**token.decimals)
        return (weth_amount, token_amount) if weth_is_token0 else (token_amount, weth_amount)

    spacing = FEE_TIER_TICK_SPACING[fee]
    center = get_tick_at_sqrt_ratio(sqrt_p) // spacing * spacing
    full = (MAX_TICK // spacing) * spacing
    ranges = [(center + lo * spacing, center + hi * spacing, amounts(spec.weth_per_spacing * (hi - lo)))
              for lo, hi in spec.position_ranges]  # fmt: skip
    ranges.append((-full, full, amounts(Fraction(spec.full_range_weth))))
    return [(max(lower, -full), min(upper, full), both) for lower, upper, both in ranges]


def _seed_v2_pairs(
    sender: TransactionSender, spec: WorldSpec, weth: str, tokens: dict[str, TokenInfo], v2_factory: str, router: str,
    deadline: int,
) -> dict[str, str]:  # fmt: skip
    """Add each token's WETH pair to V2 with ``v2_weth_liquidity`` WETH at the token's price."""
    v2_router, v2 = contract(sender, "UniswapV2Router02", router), contract(sender, "UniswapV2Factory", v2_factory)
    pairs: dict[str, str] = {}
    for t in spec.tokens:
        weth_amount = spec.v2_weth_liquidity * 10**18
        token_amount = int(spec.v2_weth_liquidity / Fraction(t.price_weth) * 10**t.decimals)
        address = tokens[t.symbol].address
        sender.send(v2_router.functions.addLiquidity(weth, address, weth_amount, token_amount, 0, 0, sender.address,
                                                     deadline))  # fmt: skip
        pairs[t.symbol] = v2.functions.getPair(weth, address).call()
    return pairs
