"""The Uniswap venue refuses a swap whose price impact (how far below the pool's current price, after its fee, the
quote pays) is above ``max_price_impact_bps``, sending nothing; smaller swaps trade, and the limit can be lifted."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from defipm.chain.local import LocalUniswap
from defipm.core.journal import MemoryJournal
from defipm.core.orders import Order, OrderStatus, Side
from defipm.venues.uniswap import UniswapConfig, UniswapVenue

pytestmark = pytest.mark.chain

TRADER = 3


def _venue(world: LocalUniswap, **overrides: object) -> UniswapVenue:
    config = UniswapConfig.from_deployment(world.deployment, world.url, **{"tick_word_radius": 1, **overrides})
    venue = UniswapVenue(config, wallet=world.wallets[TRADER], w3=world.w3)
    venue.connect()
    return venue


def _buy(venue: UniswapVenue, symbol: str, weth: Decimal, cloid: str) -> Order:
    price = venue.get_prices()[symbol]
    return Order(symbol, Side.BUY, weth / price, reference_price=price, client_order_id=cloid)


def test_a_swap_moving_the_pool_more_than_the_limit_is_refused_and_nothing_is_sent(world: LocalUniswap) -> None:
    world.fund(world.wallets[TRADER], weth=400 * 10**18)
    venue = _venue(world)
    assert venue.config.max_price_impact_bps == 300  # the default: 3%
    nonce = world.w3.eth.get_transaction_count(venue.address)
    before = venue._balances_wei()

    big = venue.execute_orders([_buy(venue, "UNI", Decimal(300), "0x1")], MemoryJournal())[0][0]
    assert big.status is OrderStatus.REJECTED  # a refusal, final: the rest of a rebalance goes on
    error = big.error or ""
    assert "UNI: not sent: price impact" in error and "above max_price_impact_bps 300 (3%)" in error
    assert "trade a smaller size" in error
    assert world.w3.eth.get_transaction_count(venue.address) == nonce  # no approval, no swap
    assert venue._balances_wei() == before

    small = venue.submit_order(_buy(venue, "UNI", Decimal("0.5"), "0x2"))
    assert small.status is OrderStatus.FILLED, small.error

    # the figure refused is the pool's own: the fill of a large swap, let through, is as far below the pool's price
    unlimited = _venue(world, max_price_impact_bps=None)
    order = _buy(unlimited, "UNI", Decimal(300), "0x3")
    prepared = unlimited.prepare_swap(order)
    view = next(v for v in unlimited._liquid_pools("UNI") if v.fee == prepared.fee)
    state = unlimited._live_state(view)
    weth_is_token0 = view.info.token0.lower() == world.deployment.weth.address.lower()
    price = Fraction(state.sqrt_price_x96**2, 1 << 192)  # token1 per token0, raw
    at_mid = prepared.amount_in * (price if weth_is_token0 else 1 / price) * Fraction(10**6 - prepared.fee, 10**6)
    result = unlimited.send_swap(prepared)
    assert result.status is OrderStatus.FILLED, result.error
    filled = unlimited.executions["0x3"].amount_out
    assert 1 - Fraction(filled) / at_mid > Fraction(3, 100)  # more than 3% under the pool's price: refused above
