"""500 random V3 swaps on the local chain: the off-chain quote equals QuoterV2 and the executed swap, to the wei."""

from __future__ import annotations

import random
from collections import Counter
from fractions import Fraction

import pytest
from web3.exceptions import ContractLogicError

from defipm.amm.v3_pool import V3PoolState
from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import MAX_UINT256, WorldSpec
from defipm.chain.local import LocalUniswap
from defipm.chain.transactions import GasPolicy, TransactionSender, deadline_in
from defipm.chain.v3_reader import read_pool_state

pytestmark = pytest.mark.chain

N_SWAPS = 500


def test_random_swaps_match_quoter_and_execution(isolated_world: LocalUniswap) -> None:
    world = isolated_world
    w3, dep = world.w3, world.deployment
    trader = world.wallets[9]
    prices = {t.symbol: Fraction(t.price_weth) for t in WorldSpec().tokens}
    world.fund(
        trader, weth=5_000 * 10**18, tokens={s: int(3_000 / p * 10 ** dep.token(s).decimals) for s, p in prices.items()}
    )
    world.approve_all(trader, dep.swap_router)
    sender = TransactionSender(w3, trader, GasPolicy(fixed_gas_limit=2_000_000))
    router = w3.eth.contract(address=to_checksum(dep.swap_router), abi=abi_of("SwapRouter"))
    quoter = w3.eth.contract(address=to_checksum(dep.quoter_v2), abi=abi_of("QuoterV2"))
    states: dict[tuple[str, int], V3PoolState] = {k: read_pool_state(w3, a) for k, a in dep.v3_pools.items()}
    keys = sorted(states)
    deadline = deadline_in(w3, 10**6)
    rng = random.Random(20240601)
    crossings: list[int] = []

    for i in range(N_SWAPS):
        symbol, fee = key = keys[rng.randrange(len(keys))]
        token, weth = dep.token(symbol), dep.weth
        buy_token = rng.random() < 0.5  # WETH -> token
        token_in, token_out = (weth, token) if buy_token else (token, weth)
        zero_for_one = int(token_in.address, 16) < int(token_out.address, 16)
        value_weth = Fraction(10 ** rng.uniform(-2, 1.6))  # 0.01 .. 40 WETH of value
        exact_input = rng.random() < 0.75
        unit_price = 1 if (token_in is weth) == exact_input else prices[symbol]
        decimals = token_in.decimals if exact_input else token_out.decimals
        amount = max(1, int(value_weth / unit_price * 10**decimals))
        state = states[key]
        before_in = world.balance_of(token_in.symbol, trader.address)
        before_out = world.balance_of(token_out.symbol, trader.address)

        if exact_input:
            result = state.simulate(zero_for_one, amount)
            assert result.amount_in == amount
            q_out, q_sqrt, _q_crossed, _gas = quoter.functions.quoteExactInputSingle(
                (token_in.address, token_out.address, amount, fee, 0)
            ).call()
            assert q_out == result.amount_out, f"swap {i} {key} exact-in {amount}"
            assert state.quote_exact_input(zero_for_one, amount) == q_out, "the quote's own loop differs"
            params = (token_in.address, token_out.address, fee, trader.address, deadline, amount, q_out, 0)
            sender.send(router.functions.exactInputSingle(params))
        else:
            result = state.simulate(zero_for_one, -amount)
            if result.amount_out < amount:  # the pool cannot deliver it: QuoterV2 must refuse too
                with pytest.raises(ContractLogicError):
                    quoter.functions.quoteExactOutputSingle(
                        (token_in.address, token_out.address, amount, fee, 0)
                    ).call()
                continue
            q_in, q_sqrt, _q_crossed, _gas = quoter.functions.quoteExactOutputSingle(
                (token_in.address, token_out.address, amount, fee, 0)
            ).call()
            assert q_in == result.amount_in, f"swap {i} {key} exact-out {amount}"
            params = (token_in.address, token_out.address, fee, trader.address, deadline, amount, MAX_UINT256, 0)
            sender.send(router.functions.exactOutputSingle(params))

        assert q_sqrt == result.state_after.sqrt_price_x96
        assert before_in - world.balance_of(token_in.symbol, trader.address) == result.amount_in
        assert world.balance_of(token_out.symbol, trader.address) - before_out == result.amount_out
        states[key] = result.state_after
        crossings.append(result.ticks_crossed)
        if i % 100 == 99:  # the simulated state must track the chain's
            for k, s in states.items():
                assert read_pool_state(w3, dep.v3_pools[k], word_radius=2) == s.with_liquidity_net(
                    read_pool_state(w3, dep.v3_pools[k], word_radius=2).ticks
                )

    print("ticks crossed per swap:", sorted(Counter(crossings).items()))
    assert sum(c >= 2 for c in crossings) >= N_SWAPS // 10, "too few swaps crossed several ticks"
    assert max(crossings) >= 5
