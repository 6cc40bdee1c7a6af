"""The Uniswap venue through SwapRouter02 (the router of Base and most newer chains) on the local chain: the router's
kind is read from the contract, swaps go out as ``multicall(deadline, [exactInputSingle])`` with the order's tag,
a restarted venue finds them, and the deadline holds."""

from __future__ import annotations

from dataclasses import replace

import pytest
from web3 import Web3

from defipm.chain.errors import TransactionRevertedError
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import GasPolicy
from defipm.core.errors import ConfigError
from defipm.core.orders import OrderStatus
from defipm.venues.uniswap import UniswapConfig, UniswapVenue
from defipm.venues.uniswap.client import Swap, UniswapClient
from defipm.venues.uniswap.reconcile import SWAP_TAG_BYTES, cloid_tag

pytestmark = pytest.mark.chain

TRADER = 9
MULTICALL_DEADLINE_SELECTOR = Web3.keccak(text="multicall(uint256,bytes[])")[:4]


def _venue(world: LocalUniswap, **overrides: object) -> UniswapVenue:
    values = {"swap_router": world.deployment.swap_router02, "tick_word_radius": 1, **overrides}
    config = UniswapConfig.from_deployment(world.deployment, world.url, **values)
    venue = UniswapVenue(config, wallet=world.wallets[TRADER], w3=world.w3)
    venue.connect()
    return venue


def test_the_router_kind_is_read_from_the_contract(world: LocalUniswap) -> None:
    dep = world.deployment
    wallet = world.wallets[TRADER]
    kinds = {
        address: UniswapClient(world.w3, wallet, GasPolicy(), dep.v3_factory, address).router_kind
        for address in (dep.swap_router, dep.swap_router02)
    }
    assert kinds == {dep.swap_router: "SwapRouter", dep.swap_router02: "SwapRouter02"}
    assert _venue(world).client.router_kind == "SwapRouter02"
    # a configured kind is taken as is (no read)
    assert _venue(world, swap_router_kind="SwapRouter02").client.router_kind == "SwapRouter02"

    # no router at the address: the factory (a contract of another interface) and an account without code
    for wrong in (dep.v3_factory, wallet.address):
        with pytest.raises(ConfigError, match=rf"swap_router {wrong}: no Uniswap SwapRouter or SwapRouter02") as exc:
            _venue(world, swap_router=wrong)
        assert "set swap_router to the chain's Uniswap V3 router address" in str(exc.value)


def test_a_contract_that_answers_factory_but_swaps_nothing_is_no_router(world: LocalUniswap) -> None:
    """Uniswap's position manager, quoter and V2 router all answer ``factory()``: none was taken for a SwapRouter
    (whose swaps then reverted after the tokens were approved to it)."""
    dep = world.deployment
    wallet = world.wallets[TRADER]
    nonce = world.w3.eth.get_transaction_count(wallet.address)
    for wrong in (dep.position_manager, dep.quoter_v2, dep.v2_router):
        with pytest.raises(ConfigError, match=rf"swap_router {wrong}: no Uniswap SwapRouter or SwapRouter02"):
            _venue(world, swap_router=wrong)
    # a router of another V3 factory than the configured one
    with pytest.raises(ConfigError, match=rf"swap_router {dep.swap_router}: a SwapRouter of the V3 factory"):
        UniswapClient(world.w3, wallet, GasPolicy(), dep.v2_factory, dep.swap_router)
    assert world.w3.eth.get_transaction_count(wallet.address) == nonce  # nothing approved or sent


def test_a_rebalance_through_swap_router02_and_a_fresh_venue_finds_each_swap(world: LocalUniswap) -> None:
    world.fund(world.wallets[TRADER], weth=10 * 10**18)
    venue = _venue(world, slippage_bps=100)
    target = {"USDC": 0.4, "UNI": 0.3, "WBTC": 0.2}
    report = venue.set_portfolio_weights(target)
    assert report.ok, [r.error for r in report.failures]
    weights = venue.snapshot().weights()
    assert all(abs(weights.get(s, 0.0) - w) < 0.01 for s, w in target.items()), weights

    router = world.deployment.swap_router02.lower()
    for result in report.results:
        cloid = result.order.client_order_id or ""
        execution = venue.executions[cloid]
        assert execution.amount_out >= execution.prepared.amount_out_minimum > 0
        sent = world.w3.eth.get_transaction(execution.tx_hash or "")
        data = bytes(sent["input"])
        assert sent["to"].lower() == router
        assert data[:4] == MULTICALL_DEADLINE_SELECTOR and data[-SWAP_TAG_BYTES:] == cloid_tag(cloid)

        # a restarted process (nothing in memory) finds it on chain, with the same fills and gas
        fresh = _venue(world, tick_word_radius=0)
        found = fresh.lookup_order(cloid)
        assert found is not None and found.status is OrderStatus.FILLED
        assert replace(found, order=result.order) == result
        again = fresh.executions[cloid]
        assert (again.amount_in, again.amount_out, again.gas_cost_wei) == (
            execution.amount_in,
            execution.amount_out,
            execution.gas_cost_wei,
        )
    assert report.network_fees > 0


def test_swap_router02_refuses_a_swap_past_its_deadline(world: LocalUniswap) -> None:
    world.fund(world.wallets[TRADER], weth=2 * 10**18)
    venue = _venue(world)
    client, dep = venue.client, world.deployment
    amount = 10**17
    client.approve(dep.weth.address, dep.swap_router02, amount)
    late = client.deadline(0) - 1  # a second before the latest block's time
    swap = Swap(dep.weth.address, dep.token("UNI").address, 3000, amount, 1, late, cloid_tag("0x1"))
    before = client.balances({"WETH": dep.weth.address}, client.address)
    with pytest.raises(TransactionRevertedError, match="Transaction too old"):
        client.exact_input_single(swap)
    assert client.balances({"WETH": dep.weth.address}, client.address) == before

    in_time = replace(swap, deadline=client.deadline(600))
    fill = client.exact_input_single(in_time)
    assert fill.amount_in == amount and fill.amount_out > 0
