"""Off-chain V3 quote (defipm.amm) vs QuoterV2 ``eth_call`` on a local anvil, for the same 500 swaps.

Run: .venv/bin/python benchmarks/bench_v3_quote.py   (needs `npm install` for anvil and the Uniswap artifacts)
Prints both times and the ratio (target: off-chain at least 100x faster); checks every quote agrees to the wei.
"""

from __future__ import annotations

import random
import time
from fractions import Fraction

from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import WorldSpec
from defipm.chain.local import LocalUniswap
from defipm.chain.v3_reader import read_pool_state

N = 500


def main() -> None:
    spec = WorldSpec()
    prices = {t.symbol: Fraction(t.price_weth) for t in spec.tokens}
    with LocalUniswap.start(spec) as world:
        w3, dep = world.w3, world.deployment
        quoter = w3.eth.contract(address=to_checksum(dep.quoter_v2), abi=abi_of("QuoterV2"))
        states = {k: read_pool_state(w3, a) for k, a in dep.v3_pools.items()}
        rng = random.Random(7)
        swaps = []
        for _ in range(N):
            symbol, fee = key = sorted(states)[rng.randrange(len(states))]
            token = dep.token(symbol)
            buy = rng.random() < 0.5
            token_in, token_out = (dep.weth, token) if buy else (token, dep.weth)
            value = Fraction(10 ** rng.uniform(-2, 1.6))
            amount = int(value * 10**token_in.decimals / (1 if buy else prices[symbol]))
            zero_for_one = int(token_in.address, 16) < int(token_out.address, 16)
            swaps.append((key, zero_for_one, amount, token_in.address, token_out.address, fee))

        start = time.perf_counter()
        off = [states[k].quote_exact_input(z, a) for k, z, a, *_ in swaps]
        off_s = time.perf_counter() - start

        start = time.perf_counter()
        on = [quoter.functions.quoteExactInputSingle((ti, to, a, f, 0)).call()[0] for _, _, a, ti, to, f in swaps]
        on_s = time.perf_counter() - start

    mismatches = sum(a != b for a, b in zip(off, on, strict=True))
    print(f"{N} exact-input quotes over {len(states)} pools")
    print(f"off-chain (defipm.amm.v3_pool): {off_s * 1e3:9.2f} ms  ({off_s / N * 1e6:7.1f} us/quote)")
    print(f"QuoterV2 eth_call (anvil):      {on_s * 1e3:9.2f} ms  ({on_s / N * 1e6:7.1f} us/quote)")
    print(f"ratio: off-chain is {on_s / off_s:.0f}x faster (target >= 100x); mismatches: {mismatches}")
    if mismatches:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
