"""``UniswapVenue``: spot trading of ERC-20 tokens against one base token (WETH or USDC) on Uniswap V3.

- universe: tokens with a V3 pool against the base holding at least ``min_pool_base_liquidity`` of base;
- prices: mid of the deepest pool (most base token), from ``sqrtPriceX96``, in base per whole token;
- positions / cash: ERC-20 ``balanceOf`` of the wallet (cash = base token balance);
- balances and allowances are read in the pending state, so a swap of this wallet still in the mempool counts;
- gas: above ``max_fee_per_gas_gwei`` nothing is sent (orders skipped at planning, refused at sending, saying why);
  each order costs ``gas_per_order`` gas in the plan, and one whose gas is above ``max_gas_share`` of its value is
  skipped (``defipm.venues.uniswap.gas``);
- orders: the core planner sizes trades in value and puts sells (into the base) before buys; each order becomes
  one ``exactInputSingle`` in the fee tier whose off-chain quote (exact V3 maths) pays most, with
  ``amountOutMinimum`` = quote x (1 - slippage) and a deadline. A sell spends ``quantity`` tokens; a buy spends
  ``quantity x reference price`` of base (value sizing), so a buy never spends more base than planned.
- fills come from the receipt's Transfer logs; ``executions`` keeps per-order gas estimate, gas used and gas cost
  (wei of the native coin), the chosen tier, the quote and the minimum. Pool fees are inside the fill price, so
  ``Fill.fee`` is 0.

A failed swap becomes a REJECTED result (with the revert reason) and the rest of the plan continues, or stops
when ``stop_on_failure`` is set. Slippage is never widened and nothing is retried behind the caller's back.

Restarts: each swap's calldata ends with its client order id (``reconcile.cloid_tag``). ``lookup_order`` answers
from memory, else finds the tagged swap on chain (``reconcile.SwapFinder``: the wallet's transactions of the last
``reconcile_lookback_blocks`` blocks, then its pending ones) and rebuilds its result from the receipt exactly as
``send_swap`` did (FILLED with the Transfer amounts, or REJECTED with the gas paid); a tagged swap still in the
mempool is UNKNOWN (never to be resent), and a node that hides some of the wallet's pending transactions makes the
lookup raise rather than answer "never seen".
``prepare_swap`` / ``send_swap`` split ``submit_order`` for callers that want to inspect a quote before sending.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from defipm.amm.errors import AmmError
from defipm.amm.v3_pool import V3PoolState
from defipm.chain.errors import TransactionRevertedError
from defipm.chain.transactions import FeeQuote, GasPolicy
from defipm.chain.v3_reader import PoolInfo
from defipm.core.account import AccountSnapshot
from defipm.core.errors import ConfigError, OrderRejectedError, UnknownSymbolError, VenueError
from defipm.core.instruments import InstrumentRules
from defipm.core.orders import Fill, Order, OrderResult, OrderStatus, Plan, Side, SkippedOrder, SkipReason
from defipm.core.planner import PlannerConfig
from defipm.core.weights import Weights
from defipm.venues.base import Venue
from defipm.venues.uniswap.client import MAX_UINT256, Swap, SwapFill, UniswapClient
from defipm.venues.uniswap.config import WRAPPED_NATIVE, UniswapConfig
from defipm.venues.uniswap.gas import GasCosting
from defipm.venues.uniswap.reconcile import SwapCall, SwapFinder, cloid_tag

if TYPE_CHECKING:
    from web3 import Web3

    from defipm.chain.wallet import Wallet


@dataclass(frozen=True, slots=True)
class PoolView:
    """One pool of ``symbol`` against the base: facts, last read state and the base token it holds (wei)."""

    symbol: str
    fee: int
    info: PoolInfo
    state: V3PoolState
    base_reserve: int


@dataclass(frozen=True, slots=True)
class PreparedSwap:
    """A quoted swap ready to send: amounts in base units, the chosen tier and every tier's quote."""

    order: Order
    symbol_in: str
    symbol_out: str
    fee: int
    amount_in: int
    quoted_out: int
    amount_out_minimum: int
    quotes: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SwapExecution:
    """What happened to one order on chain: status, amounts, gas (wei of the native coin) and any error."""

    prepared: PreparedSwap
    status: OrderStatus
    tx_hash: str | None = None
    amount_in: int = 0
    amount_out: int = 0
    gas_estimate: int = 0
    gas_used: int = 0
    gas_cost_wei: int = 0
    approval_gas_cost_wei: int = 0
    error: str | None = None


class UniswapVenue(Venue):
    """Spot venue on Uniswap V3 (see the module docstring)."""

    name = "uniswap"
    allows_shorts = False
    fills_by_size = False  # a buy spends quantity x reference price of the base: its tokens differ from quantity
    config_model = UniswapConfig
    """Config params (``[venue.params]``) are validated by this model."""

    def __init__(self, config: UniswapConfig, *, wallet: Wallet | None = None, w3: Web3 | None = None) -> None:
        self.config = config
        self.stop_on_failure = config.stop_on_failure
        self._wallet = wallet
        self._w3 = w3
        self._client: UniswapClient | None = None
        self._decimals: dict[str, int] = {}
        self._pools: dict[str, list[PoolView]] = {}
        self._results: dict[str, OrderResult] = {}
        self._finder: SwapFinder | None = None
        self._gas: GasCosting | None = None
        self.executions: dict[str, SwapExecution] = {}
        """Per client order id: the on-chain outcome of the order (gas figures, tier, quote, minimum)."""

    # -- lifecycle -----------------------------------------------------------------------------------------
    def connect(
        self,
        api_key: str | None = None,
        secret_key: str | None = None,
        additional_params: Mapping[str, Any] | None = None,
    ) -> None:
        """Connect to the node, load the wallet, check the chain id and discover pools."""
        if self._w3 is None:
            from defipm.chain.node import connect

            self._w3 = connect(self.config.rpc_url)  # URL secrets hidden from logs, reads retried
        wallet = self._wallet or self.config.load_wallet()
        self._wallet = wallet
        gas = GasPolicy(
            estimate_multiplier_bps=self.config.gas_estimate_multiplier_bps,
            priority_fee_wei=self.config.priority_fee_wei,
            fixed_gas_limit=None if self.config.simulate_before_send else self.config.gas_limit,
            max_fee_per_gas_wei=self.config.max_fee_per_gas_wei,
        )
        client = UniswapClient(
            self._w3, wallet, gas, self.config.factory, self.config.swap_router, self.config.swap_router_kind
        )
        if self.config.chain_id is not None and client.chain_id != self.config.chain_id:
            raise ConfigError(f"node at {self.config.rpc_display} is chain {client.chain_id}, config expects "
                              f"{self.config.chain_id}")  # fmt: skip
        self._client = client
        self._finder = None
        self._decimals = {s: client.decimals(a, f"tokens.{s}") for s, a in self.config.tokens.items()}
        self.refresh()

    @property
    def client(self) -> UniswapClient:
        if self._client is None:
            self.connect()
        assert self._client is not None
        return self._client

    @property
    def finder(self) -> SwapFinder:
        """Finds this wallet's tagged swaps on chain (``reconcile``); made on first use."""
        client = self.client
        if self._finder is None:
            self._finder = SwapFinder(client, self.config.reconcile_lookback_blocks)
        return self._finder

    @property
    def address(self) -> str:
        return self.client.address

    def connected_account(self) -> str | None:
        """``uniswap chain <id> wallet <address>`` (lowercase), once connected."""
        if self._client is None:
            return None
        return f"uniswap chain {self._client.chain_id} wallet {self._client.address.lower()}"

    def refresh(self) -> None:
        """Re-discover pools and re-read their full state (ticks included) and base reserves."""
        client = self.client
        base = self.config.tokens[self.config.base_token]
        pools: dict[str, list[PoolView]] = {}
        for symbol, address in self.config.tokens.items():
            if symbol == self.config.base_token:
                continue
            views = []
            for fee in self.config.fee_tiers:
                pool = client.find_pool(address, base, fee)
                if pool is None:
                    continue
                info = client.pool_info(pool)
                state = client.pool_state(pool, info, self.config.tick_word_radius)
                reserve = client.balances({"base": base}, pool, "latest")["base"]
                views.append(PoolView(symbol, fee, info, state, reserve))
            pools[symbol] = views
        self._pools = pools
        self._gas = self._read_gas(client.sender.fee_quote())

    # -- gas ------------------------------------------------------------------------------------------------
    def _read_gas(self, fees: FeeQuote) -> GasCosting:
        """The gas checks at ``fees``, gas valued in the base token (through the native coin's deepest pool, as
        read by the last refresh, when the base is not the wrapped native coin)."""
        price: Decimal | None = Decimal(1) if self.config.base_is_native else None
        if price is None:
            native = [s for s in self.config.tokens if s.upper() in WRAPPED_NATIVE and s != self.config.base_token]
            views = [v for s in native[:1] for v in self._liquid_pools(s)]
            if views:
                deepest = max(views, key=lambda p: p.base_reserve)
                price = self._price(deepest.symbol, deepest.state, deepest.info)
        return GasCosting(fees, self.config.max_fee_per_gas_wei, self.config.gas_per_order,
                          self.config.max_gas_share, price, self.config.base_token)  # fmt: skip

    def plan(
        self,
        weights: Weights,
        config: PlannerConfig | None = None,
        snapshot: AccountSnapshot | None = None,
        client_order_id: Callable[[], str] | None = None,
    ) -> tuple[AccountSnapshot, Plan]:
        """The core plan, each order costing its expected gas (``get_rules``); while the fee per gas is above the
        ceiling every order is skipped instead, saying why."""
        snap, plan = super().plan(weights, config, snapshot, client_order_id)
        reason = self._gas.fee_refusal() if self._gas is not None else None
        if reason is None or not plan.orders:
            return snap, plan
        deferred = tuple(SkippedOrder(o.symbol, o.signed_quantity, SkipReason.GAS_PRICE, reason) for o in plan.orders)
        return snap, Plan((), plan.skipped + deferred)

    # -- market and account state -------------------------------------------------------------------------
    def _floor_wei(self) -> int:
        return int(self.config.min_pool_base_liquidity * 10 ** self._decimals[self.config.base_token])

    def _liquid_pools(self, symbol: str) -> list[PoolView]:
        if not self._pools:
            self.client  # noqa: B018 - connects and refreshes
        return [p for p in self._pools.get(symbol, []) if p.base_reserve >= self._floor_wei() and p.state.liquidity]

    def get_universe(self) -> list[str]:
        return sorted(s for s in self.config.tokens if s != self.config.base_token and self._liquid_pools(s))

    def _live_state(self, view: PoolView) -> V3PoolState:
        sqrt_price, tick, liquidity = self.client.pool_price_state(view.info.address)
        s = view.state
        return V3PoolState(sqrt_price, tick, liquidity, s.fee, s.tick_spacing, s.ticks)

    def _price(self, symbol: str, state: V3PoolState, info: PoolInfo) -> Decimal:
        base_is_token1 = info.token1.lower() == self.config.tokens[self.config.base_token].lower()
        num, den = state.sqrt_price_x96**2, 1 << 192  # token1 per token0, raw units
        if not base_is_token1:
            num, den = den, num
        scale = self._decimals[symbol] - self._decimals[self.config.base_token]
        value = Decimal(num) / Decimal(den)
        return value.scaleb(scale)

    def get_prices(self) -> dict[str, Decimal]:
        """Mid price (base per whole token) of each universe token from its deepest pool, read now."""
        prices = {}
        for symbol in self.get_universe():
            deepest = max(self._liquid_pools(symbol), key=lambda p: p.base_reserve)
            prices[symbol] = self._price(symbol, self._live_state(deepest), deepest.info)
        return prices

    def _balances_wei(self) -> dict[str, int]:
        return self.client.balances(dict(self.config.tokens), self.address)

    def _to_units(self, symbol: str, wei: int) -> Decimal:
        return Decimal(wei).scaleb(-self._decimals[symbol])

    def get_positions(self) -> dict[str, Decimal]:
        balances = self._balances_wei()
        return {s: self._to_units(s, v) for s, v in balances.items() if v and s != self.config.base_token}

    def get_cash(self) -> Decimal:
        base = self.config.base_token
        return self._to_units(base, self._balances_wei()[base])

    def get_rules(self, symbol: str) -> InstrumentRules:
        if symbol not in self.config.tokens or symbol == self.config.base_token:
            raise UnknownSymbolError(f"{symbol}: not a tradable token on {self.name} (tokens: "
                                     f"{sorted(self.config.tokens)})")  # fmt: skip
        gas = self._gas
        # above the fee ceiling every order is deferred for that reason (``plan``), not skipped for its cost
        cost = gas.order_cost() if gas is not None and gas.fee_refusal() is None else None
        return InstrumentRules(
            size_step=Decimal(1).scaleb(-self._decimals[symbol]),
            min_notional=self.config.min_trade_base,
            taker_fee=self.config.planning_fee,
            order_cost=cost or Decimal(0),
            max_cost_share=self.config.max_gas_share if cost is not None else None,
        )

    # -- orders ---------------------------------------------------------------------------------------------
    def submit_order(self, order: Order) -> OrderResult:
        return self.send_swap(self.prepare_swap(order))

    def prepare_swap(self, order: Order) -> PreparedSwap:
        """Size, route and quote ``order`` (no transaction). Raises OrderRejectedError when it cannot trade."""
        symbol, base = order.symbol, self.config.base_token
        if symbol not in self.get_universe():
            raise OrderRejectedError(f"{symbol}: no pool against {base} above the liquidity floor",
                                     symbol=symbol, client_order_id=order.client_order_id)  # fmt: skip
        balances = self._balances_wei()
        if order.side is Side.SELL:
            symbol_in, symbol_out = symbol, base
            wanted = int(order.quantity.scaleb(self._decimals[symbol]).to_integral_value(ROUND_DOWN))
        else:
            symbol_in, symbol_out = base, symbol
            price = order.reference_price or self.get_prices()[symbol]
            value = order.quantity * price
            wanted = int(value.scaleb(self._decimals[base]).to_integral_value(ROUND_DOWN))
        amount_in = min(wanted, balances[symbol_in])
        if amount_in <= 0:
            raise OrderRejectedError(f"{symbol}: nothing to spend ({symbol_in} balance {balances[symbol_in]} wei)",
                                     symbol=symbol, client_order_id=order.client_order_id)  # fmt: skip
        token_in = self.config.tokens[symbol_in]
        quotes: dict[int, int] = {}
        at_mid: dict[int, Fraction] = {}  # what each pool would pay at its current price, after its fee
        for view in self._liquid_pools(symbol):
            zero_for_one = view.info.token0.lower() == token_in.lower()
            try:
                state = self._live_state(view)
                quotes[view.fee] = state.quote_exact_input(zero_for_one, amount_in)
            except AmmError:
                continue
            at_mid[view.fee] = _output_at_mid(state.sqrt_price_x96, zero_for_one, amount_in, view.fee)
        if not quotes or max(quotes.values()) <= 0:
            raise OrderRejectedError(f"{symbol}: no pool quotes a positive output for {amount_in} wei of {symbol_in}",
                                     symbol=symbol, client_order_id=order.client_order_id)  # fmt: skip
        fee = max(quotes, key=lambda f: (quotes[f], -f))
        quoted = quotes[fee]
        self._check_impact(order, quoted, at_mid[fee], fee)
        self._check_gas(order, quoted if order.side is Side.SELL else amount_in)
        # rounded up: the minimum never lets through a fill below the configured slippage bound
        minimum = -(-quoted * (10_000 - self.config.slippage_bps) // 10_000)
        return PreparedSwap(order, symbol_in, symbol_out, fee, amount_in, quoted, minimum, quotes)

    def _check_impact(self, order: Order, quoted: int, at_mid: Fraction, fee: int) -> None:
        """Refuse ``order`` when its price impact (how much less than the pool's current price, after the pool's
        fee, the quote pays) is above ``max_price_impact_bps``: nothing is sent; a smaller order, or a deeper pool,
        trades."""
        cap = self.config.max_price_impact_bps
        if cap is None or at_mid <= 0:
            return
        impact = 1 - Fraction(quoted) / at_mid
        if impact * 10_000 > cap:
            raise OrderRejectedError(
                f"{order.symbol}: not sent: price impact {float(impact):.2%} in the {fee / 10_000:g}% pool is above "
                f"max_price_impact_bps {cap} ({cap / 100:g}%): trade a smaller size (a lower weight, or in steps), "
                "or raise max_price_impact_bps",
                symbol=order.symbol,
                client_order_id=order.client_order_id,
            )

    def _check_gas(self, order: Order, base_wei: int) -> None:
        """Refuse ``order`` (worth ``base_wei`` of the base token) when gas now is above the ceiling or its
        expected gas is above ``max_gas_share`` of its value: nothing is sent, the next cycle plans again."""
        gas = self._read_gas(self.client.sender.fee_quote())
        self._gas = gas
        reason = gas.fee_refusal() or gas.share_refusal(self._to_units(self.config.base_token, base_wei))
        if reason is not None:
            raise OrderRejectedError(f"{order.symbol}: not sent: {reason}", symbol=order.symbol,
                                     client_order_id=order.client_order_id)  # fmt: skip

    def send_swap(self, prepared: PreparedSwap) -> OrderResult:
        """Approve (exactly, unless configured), then swap with the prepared minimum and a fresh deadline."""
        client, order = self.client, prepared.order
        token_in = self.config.tokens[prepared.symbol_in]
        token_out = self.config.tokens[prepared.symbol_out]
        approval_cost = 0
        try:
            allowance = client.allowance(token_in, self.config.swap_router)
            if allowance < prepared.amount_in:
                amount = MAX_UINT256 if self.config.unlimited_approvals else prepared.amount_in
                if allowance > 0:  # what a failed swap left: USDT-like tokens refuse non-zero -> non-zero
                    approval_cost += client.approve(token_in, self.config.swap_router, 0).gas_cost_wei
                approval_cost += client.approve(token_in, self.config.swap_router, amount).gas_cost_wei
            tag = cloid_tag(order.client_order_id) if order.client_order_id else b""
            deadline = client.deadline(self.config.deadline_secs)
            fill = client.exact_input_single(Swap(token_in, token_out, prepared.fee, prepared.amount_in,
                                                  prepared.amount_out_minimum, deadline, tag))  # fmt: skip
        except TransactionRevertedError as exc:
            gas_cost = 0
            if exc.tx_hash:
                outcome = client.receipt_outcome(exc.tx_hash)
                gas_cost = outcome.gas_cost_wei if outcome else 0
            execution = SwapExecution(prepared, OrderStatus.REJECTED, exc.tx_hash, gas_cost_wei=gas_cost,
                                      approval_gas_cost_wei=approval_cost, error=str(exc))  # fmt: skip
            return self._record(order, execution, OrderResult(order, OrderStatus.REJECTED, error=str(exc),
                                                              venue_order_id=exc.tx_hash))  # fmt: skip
        tx = fill.tx
        execution = SwapExecution(
            prepared, OrderStatus.FILLED, tx.tx_hash, fill.amount_in, fill.amount_out,
            tx.gas_estimate, tx.gas_used, tx.gas_cost_wei, approval_cost,
        )  # fmt: skip
        return self._record(order, execution, self._filled_result(order, fill))

    def _filled_result(self, order: Order, fill: SwapFill) -> OrderResult:
        token_wei, base_wei = (
            (fill.amount_in, fill.amount_out) if order.side is Side.SELL else (fill.amount_out, fill.amount_in)
        )
        quantity = self._to_units(order.symbol, token_wei)
        price = self._to_units(self.config.base_token, base_wei) / quantity if quantity else Decimal(0)
        tx_hash = fill.tx.tx_hash
        fills = (Fill(order.symbol, order.side, quantity, price, Decimal(0), order.client_order_id,
                      venue_order_id=tx_hash),)  # fmt: skip
        return OrderResult(order, OrderStatus.FILLED, fills=fills, venue_order_id=tx_hash)

    def _record(self, order: Order, execution: SwapExecution, result: OrderResult) -> OrderResult:
        if self.config.base_is_native:
            gas_wei = execution.gas_cost_wei + execution.approval_gas_cost_wei
            result = replace(result, network_fee=Decimal(gas_wei).scaleb(-18))
        if order.client_order_id:
            self.executions[order.client_order_id] = execution
            self._results[order.client_order_id] = result
        return result

    # -- finding orders again after a restart ---------------------------------------------------------------
    def lookup_order(self, client_order_id: str) -> OrderResult | None:
        """The order's result from memory, else from its tagged swap on chain (see the module docstring).

        None means no swap with this client order id was sent in the last ``reconcile_lookback_blocks`` blocks
        nor is waiting in the mempool. Raises VenueUnavailableError when the node cannot tell."""
        known = self._results.get(client_order_id)
        if known is not None:
            return known
        found = self.finder.find(client_order_id)
        if found is None:
            return None
        if found.pending is not None:
            call = found.pending
            order = self._recovered_order(client_order_id, call, None)
            return OrderResult(order, OrderStatus.UNKNOWN, venue_order_id=call.tx_hash,
                               error=f"{order.symbol}: swap {call.tx_hash} sent but not mined yet")  # fmt: skip
        return self._recovered_result(client_order_id, list(found.mined))

    def _symbol_of(self, token: str) -> str:
        for symbol, address in self.config.tokens.items():
            if address.lower() == token.lower():
                return symbol
        raise VenueError(f"tagged swap trades {token}, which is not among the configured tokens")

    def _recovered_order(self, cloid: str, call: SwapCall, fill: SwapFill | None) -> Order:
        """The order a tagged swap executed, as far as the chain tells: symbol, side and the traded quantity (the
        journal keeps the original intent)."""
        symbol_in, symbol_out = self._symbol_of(call.token_in), self._symbol_of(call.token_out)
        side = Side.SELL if symbol_out == self.config.base_token else Side.BUY
        symbol = symbol_in if side is Side.SELL else symbol_out
        if fill is not None:
            token_wei = fill.amount_in if side is Side.SELL else fill.amount_out
        else:
            token_wei = call.amount_in if side is Side.SELL else call.amount_out_minimum
        return Order(symbol, side, self._to_units(symbol, max(token_wei, 1)), client_order_id=cloid)

    def _recovered_result(self, cloid: str, calls: list[SwapCall]) -> OrderResult:
        """The result of a mined tagged swap rebuilt from its receipt (the successful one if, wrongly, several
        carry the tag), recorded as if ``send_swap`` had returned it."""
        client = self.client
        outcomes = [(c, client.receipt_outcome(c.tx_hash)) for c in calls]
        mined = [(c, o) for c, o in outcomes if o is not None]
        if not mined:  # dropped by a reorg since the scan: it may be mined again, so never "not sent"
            self.finder.forget()
            order = self._recovered_order(cloid, calls[0], None)
            return OrderResult(order, OrderStatus.UNKNOWN, venue_order_id=calls[0].tx_hash,
                               error=f"{order.symbol}: swap {calls[0].tx_hash} has no receipt (reorganised?)")  # fmt: skip
        call, outcome = next(((c, o) for c, o in mined if o.success), mined[-1])
        symbol_in, symbol_out = self._symbol_of(call.token_in), self._symbol_of(call.token_out)
        approval_cost = self.finder.approval_gas(call, self.config.swap_router)
        if not outcome.success:
            order = self._recovered_order(cloid, call, None)
            prepared = PreparedSwap(order, symbol_in, symbol_out, call.fee, call.amount_in, 0, call.amount_out_minimum)
            error = f"{order.symbol}: swap reverted on chain in tx {call.tx_hash}"
            execution = SwapExecution(prepared, OrderStatus.REJECTED, call.tx_hash, gas_cost_wei=outcome.gas_cost_wei,
                                      approval_gas_cost_wei=approval_cost, error=error)  # fmt: skip
            return self._record(order, execution,
                                OrderResult(order, OrderStatus.REJECTED, error=error, venue_order_id=call.tx_hash))  # fmt: skip
        fill = client.swap_fill(outcome, call.token_in, call.token_out)
        order = self._recovered_order(cloid, call, fill)
        prepared = PreparedSwap(order, symbol_in, symbol_out, call.fee, call.amount_in, 0, call.amount_out_minimum)
        execution = SwapExecution(
            prepared, OrderStatus.FILLED, call.tx_hash, fill.amount_in, fill.amount_out,
            0, outcome.gas_used, outcome.gas_cost_wei, approval_cost,
        )  # fmt: skip
        return self._record(order, execution, self._filled_result(order, fill))

    def gas_cost_wei(self, client_order_ids: list[str] | None = None) -> int:
        """Total gas paid (swaps and approvals, wei of the native coin) for the given orders, or all."""
        ids = client_order_ids if client_order_ids is not None else list(self.executions)
        return sum(self.executions[i].gas_cost_wei + self.executions[i].approval_gas_cost_wei
                   for i in ids if i in self.executions)  # fmt: skip


def _output_at_mid(sqrt_price_x96: int, zero_for_one: bool, amount_in: int, fee: int) -> Fraction:
    """What ``amount_in`` (raw units) would buy at the pool's current price after its ``fee`` (pips), with no price
    impact: the reference a quote's price impact is measured against (raw units of the output token, exact)."""
    price = Fraction(sqrt_price_x96 * sqrt_price_x96, 1 << 192)  # token1 per token0, raw units
    out = amount_in * price if zero_for_one else amount_in / price
    return out * Fraction(1_000_000 - fee, 1_000_000)
