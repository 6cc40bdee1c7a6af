"""Off-chain V3 quote (defipm.amm) vs QuoterV2 ``eth_call`` on a local anvil, for the same swaps.

Baselines, each paired with the off-chain run in the same rounds (median of the per-round ratios):
- raw JSON-RPC: one ``eth_call`` per quote over a kept-alive HTTP connection, calldata encoded beforehand (so the
  node's side is timed without any encoding cost of ours: the ratio is the conservative one);
- batched JSON-RPC: every quote in one JSON-RPC batch request (the fastest a node can be asked);
- web3.py ``contract.functions...call()`` (full size only: its own overhead dominates).
Target (issue 19): off-chain at least 100x faster than raw JSON-RPC ``eth_call``. Every quote must agree to the wei.

Run: ``python benchmarks/bench_v3_quote.py [--quick] [--json]`` (needs anvil and the npm packages;
``DEFIPM_NODE_MODULES`` points at node_modules).
"""

from __future__ import annotations

import http.client
import json
import random
import sys
from fractions import Fraction
from typing import Any
from urllib.parse import urlparse

from eth_abi import encode
from eth_utils import keccak
from figures import Figure, arguments, paired, report

from defipm.chain.artifacts import abi_of, to_checksum
from defipm.chain.deploy import WorldSpec
from defipm.chain.local import LocalUniswap, local_chain_missing
from defipm.chain.v3_reader import read_pool_state

TARGET_RATIO = 100.0
SELECTOR = keccak(text="quoteExactInputSingle((address,address,uint256,uint24,uint160))")[:4]


class RawRpc:
    """A minimal JSON-RPC client over one kept-alive HTTP connection (no web3.py in the path)."""

    def __init__(self, url: str) -> None:
        u = urlparse(url)
        self.conn = http.client.HTTPConnection(u.hostname or "127.0.0.1", u.port or 80)
        self.path = u.path or "/"

    def post(self, payload: Any) -> Any:
        body = json.dumps(payload)
        self.conn.request("POST", self.path, body, {"Content-Type": "application/json"})
        return json.loads(self.conn.getresponse().read())

    def close(self) -> None:
        self.conn.close()


def _draw_swaps(dep: Any, states: dict[Any, Any], n: int) -> list[tuple[Any, bool, int, str, str, int]]:
    prices = {t.symbol: Fraction(t.price_weth) for t in WorldSpec().tokens}
    rng = random.Random(7)
    keys = sorted(states)
    swaps = []
    for _ in range(n):
        symbol, fee = key = keys[rng.randrange(len(keys))]
        token = dep.token(symbol)
        buy = rng.random() < 0.5
        token_in, token_out = (dep.weth, token) if buy else (token, dep.weth)
        value = Fraction(10 ** rng.uniform(-2, 1.6))
        amount = int(value * 10**token_in.decimals / (1 if buy else prices[symbol]))
        zero_for_one = int(token_in.address, 16) < int(token_out.address, 16)
        swaps.append((key, zero_for_one, amount, token_in.address, token_out.address, fee))
    return swaps


def _calls(quoter: str, swaps: list[tuple[Any, bool, int, str, str, int]]) -> list[dict[str, Any]]:
    calls = []
    for i, (_, _, amount, token_in, token_out, fee) in enumerate(swaps):
        args = encode(["(address,address,uint256,uint24,uint160)"], [(token_in, token_out, amount, fee, 0)])
        data = "0x" + (SELECTOR + args).hex()
        calls.append(
            {"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": [{"to": quoter, "data": data}, "latest"]}
        )
    return calls


def _amount_out(response: dict[str, Any]) -> int:
    return int(response["result"][2:66], 16)


def main() -> int:
    args = arguments(__doc__.splitlines()[0]).parse_args()
    missing = local_chain_missing()
    if missing:
        print(f"SKIP: {missing}")
        report("V3 quote", [], args.json)
        return 0
    n, repeats = (100, 3) if args.quick else (500, 5)
    with LocalUniswap.start(WorldSpec()) as world:
        w3, dep = world.w3, world.deployment
        quoter = w3.eth.contract(address=to_checksum(dep.quoter_v2), abi=abi_of("QuoterV2"))
        states = {k: read_pool_state(w3, a) for k, a in dep.v3_pools.items()}
        swaps = _draw_swaps(dep, states, n)
        calls = _calls(to_checksum(dep.quoter_v2), swaps)
        rpc = RawRpc(world.url)
        out: dict[str, list[int]] = {}

        def off_chain() -> None:
            out["off"] = [states[k].quote_exact_input(z, a) for k, z, a, *_ in swaps]

        def raw() -> None:
            out["raw"] = [_amount_out(rpc.post(c)) for c in calls]

        def batched() -> None:
            replies = sorted(rpc.post(calls), key=lambda r: r["id"])
            out["batch"] = [_amount_out(r) for r in replies]

        def web3py() -> None:
            out["web3"] = [
                quoter.functions.quoteExactInputSingle((ti, to, a, f, 0)).call()[0] for _, _, a, ti, to, f in swaps
            ]

        fns = [off_chain, raw, batched] + ([] if args.quick else [web3py])
        medians, ratios = paired(fns, repeats)
        rpc.close()

    mismatches = sum(sum(a != b for a, b in zip(out["off"], v, strict=True)) for v in out.values())
    figures = [
        Figure("off-chain quote", medians[0] / n * 1e6, "us/quote"),
        Figure("raw JSON-RPC eth_call", medians[1] / n * 1e6, "us/quote"),
        Figure("batched JSON-RPC eth_call", medians[2] / n * 1e6, "us/quote"),
        Figure("ratio raw eth_call / off-chain", ratios[1], "x", TARGET_RATIO, higher_is_better=True),
        Figure("ratio batched eth_call / off-chain", ratios[2], "x", higher_is_better=True),
        Figure("quotes differing from QuoterV2", mismatches, "quotes", 0),
    ]
    if not args.quick:
        figures.insert(3, Figure("web3.py eth_call", medians[3] / n * 1e6, "us/quote"))
        figures.append(Figure("ratio web3.py eth_call / off-chain", ratios[3], "x", higher_is_better=True))
    if not args.json:
        print(f"{n} exact-input quotes over {len(states)} pools, {repeats} paired rounds (medians)")
    report("V3 quote", figures, args.json)
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
