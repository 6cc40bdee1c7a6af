"""Configuration of the Uniswap V3 spot venue: node, contracts, tokens, execution limits and the key source.

``UniswapConfig`` is frozen and rejects unknown keys. The private key never lives in it: ``load_wallet`` reads it
from an encrypted keystore (``keystore_file``, password in ``keystore_password_env``) or from the environment
(``private_key_env``). ``allow_mainnet`` must be set to sign on a known mainnet chain id.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from defipm.config_schema import Address, ConfigModel, Symbol
from defipm.core.errors import ConfigError

if TYPE_CHECKING:
    from defipm.chain.deploy import UniswapDeployment
    from defipm.chain.wallet import Wallet


WRAPPED_NATIVE = frozenset({"WETH", "WBNB", "WPOL", "WMATIC", "WAVAX", "WXDAI", "WCELO"})
"""Symbols of the wrapped native coins of the chains Uniswap V3 is deployed on."""


class UniswapConfig(ConfigModel):
    """Everything the Uniswap venue needs except the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    deployment: Path | None = None
    """A deployment record of ``defipm chain up`` (it writes ``defipm-chain.json``): ``rpc_url``, ``chain_id``,
    ``tokens``, ``factory``, ``swap_router`` and ``quoter_v2`` come from it unless set here."""
    rpc_url: str = Field(repr=False)
    """JSON-RPC endpoint of the node, e.g. ``http://127.0.0.1:8545``. Hosted endpoints carry an API key in their
    path or query, so it is never shown: messages use ``rpc_display``."""
    chain_id: int | None = None
    """Expected chain id; the venue refuses a node reporting another. None = accept the node's."""
    allow_mainnet: bool = False
    """Must be true to sign on any chain but a known local or test chain (Ethereum, Arbitrum, Base, ...): real
    money."""
    base_token: Symbol = "WETH"
    """Symbol of the quote asset (the venue's cash): every trade is token <-> base."""
    tokens: dict[Symbol, Address]
    """Symbol -> ERC-20 address of every tradable token, the base token included."""
    factory: Address
    """UniswapV3Factory address."""
    swap_router: Address
    """Address of the router the swaps go through: Uniswap's SwapRouter (v1: Ethereum, Arbitrum, Optimism, Polygon)
    or SwapRouter02 (every chain, the only one on Base and most newer chains)."""
    swap_router_kind: Literal["auto", "SwapRouter", "SwapRouter02"] = "auto"
    """Which router ``swap_router`` is: "auto" (default) asks the contract on connect (only SwapRouter02 answers
    ``factoryV2()``). The swap call differs: SwapRouter's ``exactInputSingle`` carries the deadline; SwapRouter02's
    has none, so it is sent inside ``multicall(deadline, [exactInputSingle])``, which enforces the same deadline."""
    quoter_v2: Address | None = None
    """QuoterV2 address (optional: quotes are computed off chain; used only for checks)."""
    fee_tiers: tuple[int, ...] = (500, 3000, 10000)
    """Fee tiers (pips) searched for the best pool."""
    min_pool_base_liquidity: Decimal = Field(default=Decimal("1"), ge=0)
    """A pool counts only if it holds at least this much base token (whole units); a token without such a pool
    is outside the universe."""
    slippage_bps: int = Field(default=50, ge=0, le=5_000)
    """amountOutMinimum = off-chain quote x (1 - slippage_bps / 10_000). Never widened by the venue. It bounds the
    price moving between the quote and the swap; the quote's own price impact is bounded by ``max_price_impact_bps``."""
    max_price_impact_bps: int | None = Field(default=300, ge=0, le=10_000)
    """Largest price impact of one swap, in basis points: how much less than the pool's current price (after its fee)
    the quote pays. A larger order is refused, saying so, and nothing is sent (300 = 3%). None: no limit."""
    deadline_secs: int = Field(default=300, gt=0)
    """Swap deadline after the latest block's timestamp, seconds."""
    unlimited_approvals: bool = False
    """Approve the router for 2**256-1 once instead of the exact amount of each swap."""
    stop_on_failure: bool = False
    """Stop the rest of a rebalance at the first failed swap (default: report it and continue)."""
    simulate_before_send: bool = True
    """Estimate gas (a simulation) before sending; false sends with ``gas_limit`` and sees reverts on chain."""
    gas_limit: int = Field(default=600_000, gt=21_000)
    """Gas limit when ``simulate_before_send`` is false."""
    gas_estimate_multiplier_bps: int = Field(default=12_000, ge=10_000)
    """Gas limit = estimate x this / 10_000 (12_000 = +20%)."""
    priority_fee_wei: int | None = None
    """Tip per gas in wei; None asks the node."""
    max_fee_per_gas_gwei: Decimal | None = Field(default=Decimal(300), gt=0)
    """Ceiling on the fee per gas (latest base fee + tip), gwei. Above it the venue sends nothing: the planner skips
    every order and a swap is refused, each saying why (the next cycle tries again); no transaction ever offers a
    max fee above it. None: no ceiling."""
    max_gas_share: Decimal | None = Field(default=Decimal("0.01"), gt=0, lt=1)
    """Largest expected gas cost of one order as a share of its value (0.01 = 1%): the planner skips smaller
    orders (gas would exceed what they are worth to the rebalance) and a swap above it is refused. Gas is valued
    in the base token (through the wrapped native token's price when the base is not it). None: no limit."""
    gas_per_order: int = Field(default=180_000, gt=21_000)
    """Gas units one order is expected to use (a V3 swap and, without unlimited approvals, its approval), for the
    gas checks above and the planner's cost of an order."""
    planning_fee: Decimal = Field(default=Decimal("0.003"), ge=0, lt=1)
    """Fee fraction the planner reserves per trade (0.003 = 0.3%) so the book stays solvent after pool fees."""
    base_is_native: bool | None = None
    """The base token is the wrapped native coin (WETH): gas is then reported in base units as each order's
    ``network_fee``. Otherwise gas stays in ``venue.executions`` (wei of the native coin). None (default): true
    when ``base_token`` is one of the usual wrapped native coins (WETH, WBNB, WPOL, WMATIC, WAVAX, WXDAI, WCELO), so
    that a USDC-based book never reads gas in wei of ETH as USDC."""
    min_trade_base: Decimal = Field(default=Decimal("0"), ge=0)
    """Smallest trade value in base token; smaller trades are skipped by the planner."""
    tick_word_radius: int | None = None
    """Tick-bitmap words read on each side of the current tick; None reads the whole range (exact)."""
    reconcile_lookback_blocks: int = Field(default=5000, gt=0)
    """How many recent blocks ``lookup_order`` searches for a swap tagged with a client order id after a restart.
    Must span the manager's ``resume_window`` on this chain (5000 blocks: ~17 h on Ethereum, ~21 min on
    Arbitrum): a swap older than the window reads as never sent."""
    private_key_env: str = "DEFIPM_PRIVATE_KEY"
    """Environment variable holding the hex private key (used when no keystore is configured)."""
    keystore_file: Path | None = None
    """Encrypted keystore (V3 JSON) with the key; takes precedence over ``private_key_env``."""
    keystore_password_env: str = "DEFIPM_KEYSTORE_PASSWORD"
    """Environment variable with the keystore password."""

    @model_validator(mode="before")
    @classmethod
    def _from_deployment_file(cls, values: object) -> object:
        if not isinstance(values, dict) or not values.get("deployment"):
            return values
        from defipm.chain.deployment_file import uniswap_settings

        return {**uniswap_settings(Path(values["deployment"])), **values}

    @field_validator("fee_tiers")
    @classmethod
    def _known_tiers(cls, tiers: tuple[int, ...]) -> tuple[int, ...]:
        from defipm.amm.v3_pool import FEE_TIER_TICK_SPACING

        unknown = [t for t in tiers if t not in FEE_TIER_TICK_SPACING]
        if unknown or not tiers:
            raise ValueError(f"fee tiers must be among {sorted(FEE_TIER_TICK_SPACING)}, got {list(tiers)}")
        return tiers

    @model_validator(mode="after")
    def _base_listed(self) -> UniswapConfig:
        if self.base_token not in self.tokens:
            raise ValueError(f"base_token {self.base_token!r} missing from tokens ({sorted(self.tokens)})")
        if self.base_is_native is None:
            object.__setattr__(self, "base_is_native", self.base_token.upper() in WRAPPED_NATIVE)
        return self

    @property
    def max_fee_per_gas_wei(self) -> int | None:
        """``max_fee_per_gas_gwei`` in wei (rounded down), or None."""
        if self.max_fee_per_gas_gwei is None:
            return None
        return int(self.max_fee_per_gas_gwei.scaleb(9))

    @property
    def rpc_display(self) -> str:
        """The endpoint as scheme, host and port only (hosted RPC URLs carry their API key in the path or query)."""
        from defipm.core.redaction import redact_url

        return redact_url(self.rpc_url)

    @classmethod
    def from_deployment(cls, deployment: UniswapDeployment, rpc_url: str, **overrides: object) -> UniswapConfig:
        """The config of a local deployment (``defipm.chain.deploy``), with field overrides."""
        tokens = {deployment.weth.symbol: deployment.weth.address}
        tokens.update({s: t.address for s, t in deployment.tokens.items()})
        values: dict[str, object] = {
            "rpc_url": rpc_url,
            "chain_id": deployment.chain_id,
            "base_token": deployment.weth.symbol,
            "tokens": tokens,
            "factory": deployment.v3_factory,
            "swap_router": deployment.swap_router,
            "quoter_v2": deployment.quoter_v2,
        }
        values.update(overrides)
        return cls.model_validate(values)

    def load_wallet(self) -> Wallet:
        """The signing wallet from the keystore (if configured) or the environment. Raises ConfigError."""
        from defipm.chain.wallet import Wallet

        if self.keystore_file is not None:
            return Wallet.from_keystore(
                self.keystore_file, password_env=self.keystore_password_env, allow_mainnet=self.allow_mainnet
            )
        try:
            return Wallet.from_env(self.private_key_env, allow_mainnet=self.allow_mainnet)
        except ConfigError as exc:
            raise ConfigError(f"{exc}; or set keystore_file in the uniswap venue config") from exc
