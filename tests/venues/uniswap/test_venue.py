"""UniswapVenue on the local chain: full rebalances from WETH, and a sandwich that trips amountOutMinimum."""

from __future__ import annotations

from decimal import Decimal

import pytest

from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import deadline_in
from defipm.core.errors import ConfigError
from defipm.core.orders import Order, OrderStatus, Side
from defipm.core.weights import Weights
from defipm.venues.uniswap import UniswapConfig, UniswapVenue

pytestmark = pytest.mark.chain

TOLERANCE = 0.01


def _venue(world: LocalUniswap, wallet_index: int, **overrides: object) -> UniswapVenue:
    config = UniswapConfig.from_deployment(world.deployment, world.url, **overrides)
    venue = UniswapVenue(config, wallet=world.wallets[wallet_index], w3=world.w3)
    venue.connect()
    return venue


def _assert_close(actual: Weights, target: dict[str, float]) -> None:
    for symbol in set(actual) | set(target):
        assert abs(actual.get(symbol, 0.0) - target.get(symbol, 0.0)) < TOLERANCE, (symbol, actual, target)


def test_rebalance_from_weth_to_targets_then_to_another(world: LocalUniswap) -> None:
    trader = world.wallets[5]
    world.fund(trader, weth=20 * 10**18)
    venue = _venue(world, 5, slippage_bps=100)
    assert venue.get_universe() == ["LINK", "STETH", "UNI", "USDC", "WBTC"]
    assert venue.get_positions() == {}
    equity0 = venue.get_equity()
    assert equity0 == Decimal(20)

    first = {"USDC": 0.3, "WBTC": 0.25, "UNI": 0.2, "LINK": 0.15}
    report = venue.set_portfolio_weights(first)
    assert report.ok, [r.error for r in report.failures]
    assert all(r.order.side is Side.BUY for r in report.results)
    _assert_close(venue.snapshot().weights(), first)

    second = {"USDC": 0.1, "WBTC": 0.35, "STETH": 0.3, "LINK": 0.15}
    report = venue.set_portfolio_weights(second)
    assert report.ok, [r.error for r in report.failures]
    sides = [r.order.side for r in report.results]
    assert sides == sorted(sides, key=lambda s: s is Side.BUY), "sells must come before buys"
    _assert_close(venue.snapshot().weights(), second)
    assert "UNI" not in venue.get_positions()
    assert venue.get_equity() > equity0 * Decimal("0.97")  # fees + price impact only

    executions = list(venue.executions.values())
    assert all(e.gas_used > 0 and e.gas_cost_wei == e.gas_used * (e.gas_cost_wei // e.gas_used) for e in executions)
    assert all(e.amount_out >= e.prepared.amount_out_minimum for e in executions)
    assert all(e.prepared.quoted_out == e.amount_out for e in executions)  # nobody else traded in between
    assert venue.gas_cost_wei() > 0
    # gas is also in the report, in base (WETH) units, order by order
    assert report.network_fees == sum(
        (Decimal(venue.executions[r.order.client_order_id].gas_cost_wei
                 + venue.executions[r.order.client_order_id].approval_gas_cost_wei).scaleb(-18)
         for r in report.results), Decimal(0)
    )  # fmt: skip
    assert report.network_fees > 0


def _move_price(world: LocalUniswap, symbol: str, fee: int, weth_amount: int) -> None:
    """Another account buys ``symbol`` with WETH in one pool (the front-run of a sandwich)."""
    attacker = world.wallets[6]
    dep = world.deployment
    world.fund(attacker, weth=weth_amount)
    world.approve_all(attacker, dep.swap_router)
    router = world.w3.eth.contract(address=to_checksum(dep.swap_router), abi=abi_of("SwapRouter"))
    params = (dep.weth.address, dep.token(symbol).address, fee, attacker.address,
              deadline_in(world.w3, 600), weth_amount, 0, 0)  # fmt: skip
    world.sender(attacker).send(router.functions.exactInputSingle(params))


@pytest.mark.parametrize("simulate_first", [True, False])
def test_price_move_between_quote_and_send_reverts_on_minimum(world: LocalUniswap, simulate_first: bool) -> None:
    trader = world.wallets[7]
    world.fund(trader, weth=10 * 10**18)
    venue = _venue(world, 7, slippage_bps=50, simulate_before_send=simulate_first)
    before = dict(venue._balances_wei())
    order = Order("UNI", Side.BUY, Decimal(500), reference_price=venue.get_prices()["UNI"], client_order_id="0x1")

    prepared = venue.prepare_swap(order)
    assert prepared.amount_out_minimum < prepared.quoted_out
    _move_price(world, "UNI", prepared.fee, 40 * 10**18)
    result = venue.send_swap(prepared)

    assert result.status is OrderStatus.REJECTED
    assert "Too little received" in (result.error or "")
    assert not result.fills
    execution = venue.executions["0x1"]
    assert execution.status is OrderStatus.REJECTED and execution.amount_out == 0
    if simulate_first:
        assert execution.tx_hash is None and execution.gas_cost_wei == 0
    else:
        assert execution.tx_hash is not None and execution.gas_cost_wei > 0
    assert venue._balances_wei() == before  # no token moved
    assert venue.lookup_order("0x1") == result

    # The venue's nonce and approvals are still consistent: a fresh quote at the new price goes through.
    retry = venue.submit_order(Order("UNI", Side.BUY, Decimal(100), reference_price=venue.get_prices()["UNI"],
                                     client_order_id="0x2"))  # fmt: skip
    assert retry.status is OrderStatus.FILLED, retry.error


@pytest.mark.parametrize("wrong", ["nothing", "a contract"])
def test_a_token_that_does_not_answer_is_refused_on_connect_naming_its_key(world: LocalUniswap, wrong: str) -> None:
    dep = world.deployment
    address = world.wallets[9].address if wrong == "nothing" else dep.quoter_v2  # no code / not an ERC-20
    tokens = {dep.weth.symbol: dep.weth.address, "USDC": address}
    config = UniswapConfig.from_deployment(dep, world.url, tokens=tokens)
    venue = UniswapVenue(config, wallet=world.wallets[5], w3=world.w3)
    with pytest.raises(ConfigError) as caught:
        venue.connect()
    message = str(caught.value)
    assert f"[venue.params] tokens.USDC = {address}" in message
    assert f"set tokens.USDC to the ERC-20 token's address on chain {dep.chain_id}" in message
    found = "no contract is at that address" if wrong == "nothing" else "the contract there does not answer it"
    assert found in message


def test_a_factory_that_does_not_answer_is_refused_on_connect_naming_its_key(world: LocalUniswap) -> None:
    dep = world.deployment
    wrong = dep.quoter_v2  # a contract, but no getPool()
    config = UniswapConfig.from_deployment(dep, world.url, factory=wrong, swap_router_kind="SwapRouter")
    venue = UniswapVenue(config, wallet=world.wallets[5], w3=world.w3)
    with pytest.raises(ConfigError) as caught:
        venue.connect()
    message = str(caught.value)
    assert f"[venue.params] factory = {wrong}" in message
    assert f"set factory to the UniswapV3Factory address of chain {dep.chain_id}" in message
