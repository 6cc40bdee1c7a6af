"""Edges of on-chain swapping found in review: the mainnet guard is an allowlist of test chains, amountOutMinimum
rounds up, USDT-like tokens keep trading after a failed swap, a swap mined during a restart's lookup is found, and
the exact V3 maths stops at an initialized tick whose liquidityNet is 0 (as the pool does).

``contracts/TetherLike.sol`` (compiled with the npm ``solc``, optimizer 200 runs, paris) is an ERC-20 whose
``approve`` refuses to change one non-zero allowance into another, as USDT does."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from web3 import Web3

from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import contract
from defipm.chain.errors import MainnetSigningRefusedError
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import deadline_in
from defipm.chain.v3_reader import read_pool_state
from defipm.chain.wallet import Wallet
from defipm.core.journal import new_client_order_id
from defipm.core.orders import Order, OrderStatus, Side
from defipm.testing.chain import ScriptedNode
from defipm.venues.uniswap import UniswapConfig, UniswapVenue
from defipm.venues.uniswap.client import Swap
from defipm.venues.uniswap.reconcile import cloid_tag

HERE = Path(__file__).parent / "contracts"


def _venue(world: LocalUniswap, wallet_index: int, w3: Web3 | None = None, **overrides: object) -> UniswapVenue:
    config = UniswapConfig.from_deployment(world.deployment, world.url, **{"tick_word_radius": 2, **overrides})
    venue = UniswapVenue(config, wallet=world.wallets[wallet_index], w3=w3 or world.w3)
    venue.connect()
    return venue


# -- the mainnet guard: any chain but a known test chain needs the opt-in (Uniswap V3 lives on many) -----------


@pytest.mark.parametrize("chain_id,name", [(7777777, "Zora"), (480, "World Chain"), (143, "Monad")])
def test_signing_on_uniswap_v3_mainnets_needs_opt_in(chain_id: int, name: str) -> None:
    wallet = Wallet("0x" + "11" * 32)  # allow_mainnet defaults to False
    with pytest.raises(MainnetSigningRefusedError):
        wallet.check_chain(chain_id)


# -- amountOutMinimum rounds up: never more slippage than slippage_bps -------------------------------------------


def test_amount_out_minimum_never_allows_more_slippage_than_configured(world: LocalUniswap) -> None:
    trader = world.wallets[4]
    world.fund(trader, weth=2 * 10**18)
    venue = _venue(world, 4, slippage_bps=50)
    price = venue.get_prices()["USDC"]
    prepared = venue.prepare_swap(Order("USDC", Side.BUY, Decimal(1234), reference_price=price, client_order_id="0xa"))
    # the minimum must be >= quote x (1 - 0.5%) exactly (ceil), else a fill below the configured bound is accepted
    assert prepared.amount_out_minimum * 10_000 >= prepared.quoted_out * (10_000 - 50), (
        prepared.quoted_out,
        prepared.amount_out_minimum,
    )


# -- USDT-like tokens (non-zero -> non-zero approve reverts): a left-over allowance is reset to zero first ----


def _make_usdc_tether_like(world: LocalUniswap) -> None:
    """Replace the test USDC's code by the same ERC-20 whose approve() requires the allowance be 0 first (USDT);
    storage layout and decimals (6) unchanged, so balances are kept."""
    artifact = json.loads((HERE / "TetherLike.json").read_text())
    sender = world.sender(world.wallets[0])
    factory = world.w3.eth.contract(abi=artifact["abi"], bytecode=artifact["bytecode"])
    outcome = sender.send(factory.constructor("T", "T", 6, 1))
    runtime = world.w3.eth.get_code(outcome.receipt["contractAddress"])
    world.node.rpc("anvil_setCode", world.deployment.token("USDC").address, "0x" + bytes(runtime).hex())


def test_tether_like_token_keeps_trading_after_a_failed_swap(world: LocalUniswap) -> None:
    _make_usdc_tether_like(world)
    trader, attacker = world.wallets[4], world.wallets[6]
    dep = world.deployment
    world.fund(trader, tokens={"USDC": 10_000 * 10**6})
    venue = _venue(world, 4, slippage_bps=50)
    price = venue.get_prices()["USDC"]

    # 1st sell: approval mined, then the price moves before the swap and the swap is refused (Too little received)
    first = venue.prepare_swap(Order("USDC", Side.SELL, Decimal(1000), reference_price=price, client_order_id="0xb1"))
    world.fund(attacker, tokens={"USDC": 200_000 * 10**6})
    world.approve_all(attacker, dep.swap_router)
    router = world.w3.eth.contract(address=to_checksum(dep.swap_router), abi=abi_of("SwapRouter"))
    params = (dep.token("USDC").address, dep.weth.address, first.fee, attacker.address,
              deadline_in(world.w3, 600), 100_000 * 10**6, 0, 0)  # fmt: skip
    world.sender(attacker).send(router.functions.exactInputSingle(params))
    rejected = venue.send_swap(first)
    assert rejected.status is OrderStatus.REJECTED and "Too little received" in (rejected.error or "")

    # 2nd sell, larger (the next rebalance): the venue must still be able to approve and trade
    price = venue.get_prices()["USDC"]
    second = venue.submit_order(Order("USDC", Side.SELL, Decimal(2000), reference_price=price, client_order_id="0xb2"))
    assert second.status is OrderStatus.FILLED, second.error


# -- lookup_order: a swap mined between the mined-block scan and the mempool check is still found -----------


def test_lookup_does_not_miss_a_swap_mined_during_the_lookup(world: LocalUniswap) -> None:
    trader = world.wallets[4]
    dep = world.deployment
    world.fund(trader, weth=3 * 10**18)
    world.approve_all(trader, dep.swap_router)
    venue = _venue(world, 4)
    price = venue.get_prices()["UNI"]
    cloid = new_client_order_id()
    prepared = venue.prepare_swap(Order("UNI", Side.BUY, Decimal(50), reference_price=price, client_order_id=cloid))

    # the process sends the tagged swap and crashes before the receipt: the swap sits in the mempool
    world.node.rpc("evm_setAutomine", False)
    client = venue.client
    tx, _estimate = client.build_swap(Swap(dep.weth.address, dep.token("UNI").address, prepared.fee, prepared.amount_in,
                                           prepared.amount_out_minimum, client.deadline(600), cloid_tag(cloid)))  # fmt: skip
    tx["nonce"] = client.sender.next_nonce()
    tx_hash = world.w3.eth.send_raw_transaction(trader.sign_transaction(tx, chain_id=client.chain_id))

    # restart: the new process looks the order up; the block is produced after it scanned the mined blocks, just
    # before it asks for the wallet's pending transactions
    node = ScriptedNode(world.w3.provider)
    node.before(
        "eth_getTransactionCount", lambda: world.node.rpc("evm_mine"), when=lambda params: params[1] == "pending"
    )
    fresh = _venue(world, 4, tick_word_radius=0, w3=Web3(node))
    try:
        found = fresh.lookup_order(cloid)
    finally:
        world.node.rpc("evm_setAutomine", True)
    receipt = world.w3.eth.get_transaction_receipt(tx_hash)
    assert receipt["status"] == 1  # the tagged swap is mined and filled
    # None tells the manager the swap was never sent, so it would send the same intent a second time
    assert found is not None


# -- exact V3 maths: an initialized tick whose liquidityNet is 0 still ends a swap step, as in the pool ------


def test_quote_matches_quoter_across_an_initialized_tick_with_zero_net(world: LocalUniswap) -> None:
    w3, dep = world.w3, world.deployment
    deployer = world.sender(world.wallets[0])
    npm = contract(deployer, "NonfungiblePositionManager", dep.position_manager)
    pool_address = dep.v3_pools[("UNI", 3000)]
    pool = w3.eth.contract(address=to_checksum(pool_address), abi=abi_of("UniswapV3Pool"))
    token0, token1 = pool.functions.token0().call(), pool.functions.token1().call()
    spacing = 60
    tick = pool.functions.slot0().call()[1]
    c = tick // spacing * spacing
    boundary = c + 4 * spacing  # not used by the deployed positions
    deadline = deadline_in(w3, 3600)
    ids = []
    for lower, upper in [(c + 1 * spacing, boundary), (boundary, c + 7 * spacing)]:  # above the price: token0 only
        deployer.send(npm.functions.mint((token0, token1, 3000, lower, upper, 10**18, 0, 0, 0,
                                          deployer.address, deadline)))  # fmt: skip
        ids.append(npm.functions.totalSupply().call())
    liq = [npm.functions.positions(i).call()[7] for i in ids]
    big = ids[0] if liq[0] > liq[1] else ids[1]
    deployer.send(npm.functions.decreaseLiquidity((big, abs(liq[0] - liq[1]), 0, 0, deadline)))
    gross, net, *_rest, initialized = pool.functions.ticks(boundary).call()
    assert initialized and net == 0 and gross > 0  # the pool will stop a swap step at this tick

    state = read_pool_state(w3, pool_address)
    assert state.ticks[boundary] == 0
    quoter = w3.eth.contract(address=to_checksum(dep.quoter_v2), abi=abi_of("QuoterV2"))
    import random

    rng = random.Random(1)
    mismatches, compared = [], 0
    for _ in range(200):
        amount = rng.randrange(10**21, 25 * 10**21)  # UNI (token1) in: the price rises through the zero-net tick
        result = state.simulate(False, amount)
        if result.state_after.tick < boundary:
            continue
        q_out, q_sqrt, _crossed, _gas = quoter.functions.quoteExactInputSingle((token1, token0, amount, 3000, 0)).call()
        compared += 1
        if (q_out, q_sqrt) != (result.amount_out, result.state_after.sqrt_price_x96):
            mismatches.append((amount, q_out - result.amount_out, q_sqrt - result.state_after.sqrt_price_x96))
    assert compared
    assert not mismatches, (len(mismatches), compared, mismatches[:5])


# -- config: gas is read as base units only when the base is the wrapped native coin; RPC keys are never shown ---


def test_a_usdc_based_book_never_reads_gas_as_usdc_and_the_rpc_key_stays_hidden() -> None:
    address = "0x" + "11" * 20
    common = {"factory": address, "swap_router": address, "tokens": {"USDC": address, "WETH": address}}
    url = "https://eth-mainnet.example.com/v2/SECRET-API-KEY"
    usdc = UniswapConfig(rpc_url=url, base_token="USDC", **common)  # type: ignore[arg-type]
    weth = UniswapConfig(rpc_url=url, base_token="WETH", **common)  # type: ignore[arg-type]
    assert usdc.base_is_native is False and weth.base_is_native is True
    assert UniswapConfig(rpc_url=url, base_token="USDC", base_is_native=True, **common).base_is_native  # type: ignore[arg-type]
    for shown in (repr(usdc), str(usdc), usdc.rpc_display):
        assert "SECRET-API-KEY" not in shown
    assert usdc.rpc_display == "https://eth-mainnet.example.com"  # scheme, host and port only
