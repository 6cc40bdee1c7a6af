"""Speed of one point-in-time classification of the real wide universe (329 tokens, 5 years of daily bars).

Target (issue: token classifier): under 100 ms with a warm cache, i.e. with the bars already in DuckDB (the
oracle loads them once and appends as the clock moves). Prints the first (cold) call, which also copies the bars
into DuckDB, then the warm median over classifications at ``--times`` different dates, each paired with a
reference on the same connection: a bare ``count(*)`` over the bars closed by t, DuckDB's floor for one query
from Python. Prices load through the market-data cache (``DEFIPM_CACHE_DIR``; the first run builds it).

Needs ../shared/data/prices/daily_wide (or DEFIPM_DATA); skips with a message otherwise.
Run: .venv/bin/python benchmarks/bench_classify.py [--times 30] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import warnings
from pathlib import Path

from figures import Figure, report

REPO = Path(__file__).resolve().parents[1]
DATA = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices" / "daily_wide"
TARGET_MS = 100.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--times", type=int, default=30, help="dates classified (warm)")
    parser.add_argument("--repeat", type=int, default=3, help="classifications per date")
    parser.add_argument("--quick", action="store_true", help="10 dates, 2 classifications each")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.times, args.repeat = min(args.times, 10), min(args.repeat, 2)
    if not DATA.is_dir():
        print(f"SKIP: no wide panel at {DATA} (set DEFIPM_DATA to the shared data folder)")
        if args.json:
            report("classifier", [], True)
        return
    from defipm.classify import Classifier, ScreenConfig
    from defipm.data.cache import load_prices
    from defipm.data.contracts import read_contracts
    from defipm.data.view import MarketView

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCH's listing-day Open/Low of 0, reported by the loader
        t0 = time.perf_counter()
        panel = load_prices(DATA)
        load_s = time.perf_counter() - t0
    print(f"wide panel: {len(panel.symbols)} tokens x {len(panel)} daily bars, loaded in {load_s:.2f} s")
    view = MarketView(panel, len(panel) - 1)
    classifier = Classifier(view, ScreenConfig(top_n=30), contracts=read_contracts(DATA))
    t0 = time.perf_counter()
    first = classifier.classify()
    cold_ms = (time.perf_counter() - t0) * 1e3
    print(f"  cold (copies {int(panel.has_bar.sum()):,} bars into DuckDB, then screens): {cold_ms:.1f} ms")
    print(f"  answer at {first.at:%Y-%m-%d}: {first.summary()}")

    step = max(1, (len(panel) - 400) // args.times)
    dates = [panel.datetime_at(i) for i in range(400, len(panel), step)][: args.times]
    screen, floor = [], []
    con = classifier._con  # the reference runs on the same connection and data
    for at in dates:
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            classifier.classify(at)
            screen.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            con.execute("SELECT count(*) FROM bars WHERE ts <= $now", {"now": at.replace(tzinfo=None)}).fetchall()
            floor.append(time.perf_counter() - t0)
    warm_ms, floor_ms = statistics.median(screen) * 1e3, statistics.median(floor) * 1e3
    verdict = "PASS" if warm_ms < TARGET_MS else "MISS"
    print(
        f"  warm, {len(dates)} dates x {args.repeat}: median {warm_ms:.1f} ms a classification "
        f"(min {min(screen) * 1e3:.1f}, max {max(screen) * 1e3:.1f})  target < {TARGET_MS:.0f} ms: {verdict}"
    )
    print(
        f"  reference, one bare DuckDB query on the same table: median {floor_ms:.2f} ms; ratio {warm_ms / floor_ms:.1f}x"
    )
    classifier.close()
    if args.json:
        report(
            "classifier",
            [
                Figure("screen of the wide panel, warm, median", warm_ms, "ms", TARGET_MS),
                Figure("one bare DuckDB query on the same table (reference)", floor_ms, "ms"),
            ],
            True,
        )


if __name__ == "__main__":
    main()
