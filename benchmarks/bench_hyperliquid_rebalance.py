"""A 100-asset rebalance against the local Hyperliquid exchange, end to end: planning, building and signing (the
SDK's wire format, the pinned fast signer), HTTP on loopback, reading every order's status and the exchange's
fill records, and the account read after it. Bulk (one signed action per phase of the plan) beside sequential
(one action per order), warm, paired (both from the same empty account in each round), repeated; medians.

    .venv/bin/python benchmarks/bench_hyperliquid_rebalance.py [--assets 100] [--repeats 7]

Target: the bulk rebalance under 60 ms.
"""

from __future__ import annotations

import argparse
import statistics
import time

import eth_account
import figures

from defipm.core.weights import Weights
from defipm.venues.hyperliquid.config import HyperliquidConfig
from defipm.venues.hyperliquid.credentials import Credentials
from defipm.venues.hyperliquid.sim import LocalExchange
from defipm.venues.hyperliquid.venue import HyperliquidVenue

TARGET_MS = 60.0
FUNDS = 10_000_000


def _venue(url: str, wallet: eth_account.signers.local.LocalAccount, bulk: bool) -> HyperliquidVenue:
    venue = HyperliquidVenue(
        HyperliquidConfig(base_url=url, bulk_orders=bulk),
        credentials=Credentials(secret_key=wallet.key.hex(), account_address=wallet.address),
    )
    venue.connect()
    return venue


def _one(ex: LocalExchange, venue: HyperliquidVenue, weights: Weights) -> tuple[float, float, float, int]:
    """(seconds end to end, seconds signing, seconds in HTTP, orders filled) of one rebalance from cash."""
    ex.engine.add_account(venue.address, FUNDS)  # the same empty account every round
    venue.refresh()
    timing = venue.client.timing
    timing.sign_secs = timing.http_secs = 0.0
    t0 = time.perf_counter()
    report = venue.set_portfolio_weights(weights)
    elapsed = time.perf_counter() - t0
    filled = sum(1 for r in report.results if r.status.value == "filled")
    return elapsed, timing.sign_secs, timing.http_secs, filled


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--quick", action="store_true", help="3 paired rounds after 1 warm-up")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.repeats, args.warmup = min(args.repeats, 3), min(args.warmup, 1)
    wallet = eth_account.Account.create()
    with LocalExchange(synthetic_assets=args.assets, fixtures=None, accounts={wallet.address: FUNDS}) as ex:
        coins = [f"SYN{i:03d}" for i in range(args.assets)]
        weights = Weights({c: (1 if i % 3 else -1) * 0.9 / args.assets for i, c in enumerate(coins)})
        venues = {"bulk": _venue(ex.url, wallet, True), "sequential": _venue(ex.url, wallet, False)}
        runs: dict[str, list[tuple[float, float, float, int]]] = {name: [] for name in venues}
        for round_ in range(args.warmup + args.repeats):
            for name, venue in venues.items():  # paired: both from the same empty account each round
                result = _one(ex, venue, weights)
                if round_ >= args.warmup:
                    runs[name].append(result)

    print(f"hyperliquid rebalance: {args.assets} assets from cash, local exchange on loopback, "
          f"median of {args.repeats} (after {args.warmup} warm-up rounds)")  # fmt: skip
    medians = {}
    for name, rows in runs.items():
        total, sign, http, filled = (statistics.median(col) for col in zip(*rows, strict=True))
        medians[name] = total
        print(
            f"  {name:<10} end to end {total * 1000:8.2f} ms   signing {sign * 1000:6.2f} ms   HTTP {http * 1000:7.2f} ms"
            f"   ({filled:.0f} orders filled)"
        )
    bulk = medians["bulk"] * 1000
    print(f"  bulk is {medians['sequential'] / medians['bulk']:.1f}x faster than sequential")
    print(f"  bulk {bulk:.2f} ms, target < {TARGET_MS:.0f} ms: {'OK' if bulk < TARGET_MS else 'MISSED'}")
    if args.json:
        figures.report(
            "Hyperliquid rebalance",
            [
                figures.Figure(f"rebalance of {args.assets} assets, bulk orders, median", bulk, "ms", TARGET_MS),
                figures.Figure("sequential orders, median", medians["sequential"] * 1000, "ms"),
            ],
            True,
        )


if __name__ == "__main__":
    main()
