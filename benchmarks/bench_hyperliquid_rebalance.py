"""100-asset rebalance against the local Hyperliquid exchange (real SDK signing, HTTP on loopback).

Times the client side (planning + rounding + building and signing every order) separately from HTTP, against a
50 ms target for the client side, and prints the time per order.

    .venv/bin/python benchmarks/bench_hyperliquid_rebalance.py [--assets 100]
"""

from __future__ import annotations

import argparse
import time

import eth_account

from defipm.core.journal import MemoryJournal
from defipm.core.weights import Weights
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials
from defipm.venues.hyperliquid.sim import LocalExchange
from defipm.venues.hyperliquid.venue import HyperliquidVenue

TARGET_MS = 50.0


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=100)
    args = parser.parse_args()
    wallet = eth_account.Account.create()
    with LocalExchange(synthetic_assets=args.assets, fixtures=None, accounts={wallet.address: 10_000_000}) as ex:
        coins = [f"SYN{i:03d}" for i in range(args.assets)]
        venue = HyperliquidVenue(
            HyperliquidConfig(base_url=ex.url),
            credentials=Credentials(secret_key=wallet.key.hex(), account_address=wallet.address),
        )
        venue.connect()
        weights = Weights({c: (1 if i % 3 else -1) * 0.9 / args.assets for i, c in enumerate(coins)})

        t0 = time.perf_counter()
        _, plan = venue.plan(weights)
        t_plan = time.perf_counter() - t0
        t0 = time.perf_counter()
        for o in plan.orders:  # the rounding the venue does per order before signing
            venue.aggressive_price(o.symbol, o.side, o.reference_price)
        t_round = time.perf_counter() - t0

        venue.client.timing.sign_secs = venue.client.timing.http_secs = 0.0
        venue.client.timing.actions = 0
        t0 = time.perf_counter()
        results, _ = venue.execute_orders(plan.orders, MemoryJournal())
        t_exec = time.perf_counter() - t0
        timing = venue.client.timing
        filled = sum(1 for r in results if r.status.value == "filled")

    n = len(plan.orders)
    client_ms = (t_plan + t_round + timing.sign_secs) * 1000
    print(f"hyperliquid rebalance: {args.assets} assets, {n} orders planned, {filled} filled")
    print(f"  planning                {t_plan * 1000:8.2f} ms")
    print(f"  rounding                {t_round * 1000:8.2f} ms")
    print(
        f"  build + sign (SDK)      {timing.sign_secs * 1000:8.2f} ms   ({timing.sign_secs * 1000 / max(n, 1):.3f} ms/order)"
    )
    print(
        f"  client side total       {client_ms:8.2f} ms   target < {TARGET_MS:.0f} ms: {'OK' if client_ms < TARGET_MS else 'MISSED'}"
    )
    print(
        f"  HTTP (loopback)         {timing.http_secs * 1000:8.2f} ms   ({timing.http_secs * 1000 / max(n, 1):.3f} ms/order)"
    )
    print(f"  end to end execution    {t_exec * 1000:8.2f} ms   ({t_exec * 1000 / max(n, 1):.3f} ms/order)")
    print(f"  client per order        {client_ms / max(n, 1):8.3f} ms")


if __name__ == "__main__":
    main()
