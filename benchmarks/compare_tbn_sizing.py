"""TB-N on one signal through the backtester: a comparison table of the sizing schemes and the tranche counts.

The signal has CrowdCent's Hyperliquid-ranking schema (``id``, ``release_date``, ``pred_10d``, ``pred_30d``; its real
history cannot be downloaded here without a key), generated with a small, known edge over the next 10 days
(``--skill``). Prices are the real daily bars in ``../shared/data/prices/daily`` when present (else a synthetic
panel); funding is the recorded mainnet BTC funding history (``fixtures/hyperliquid``, May to July 2023) for BTC
and a constant rate for the other coins, charged per bar by the perpetual backtest. Every run is the same
``PortfolioManager`` and paper venue as live trading, daily, each rebalance a TB-N book of ``--n`` longs and
shorts at gross 1, net 0.

    .venv/bin/python benchmarks/compare_tbn_sizing.py [--n 3] [--skill 0.2] [--tranches 1,3,5]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.data.cache import load_prices
from defipm.data.panel import PricePanel
from defipm.data.signals import CROWDCENT_COLUMNS
from defipm.data.synthetic import synthetic_panel, write_synthetic_csv
from defipm.oracles.tbn import TBNOracle, market_returns
from defipm.oracles.tranches import TranchedOracle
from defipm.testing.crowdcent import synthetic_crowdcent_meta_model
from defipm.venues.hyperliquid.history import funding_frame
from defipm.venues.hyperliquid.sim.seed import recorded_funding

PRICES = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "prices" / "daily"
SHARED_PRICES = Path("/work/shared/data/prices/daily")
DEFAULT_FIXTURES_DIR = Path("/work/shared/fixtures/hyperliquid")
COINS = ["ADA", "AVAX", "BNB", "BTC", "DOGE", "DOT", "ETH", "LINK", "LTC", "MATIC", "SOL", "XRP"]
SCHEMES = ["equal", "rank", "inverse_volatility", "min_variance", "hrp"]
START, END = datetime(2023, 5, 13, tzinfo=UTC), datetime(2023, 7, 17, tzinfo=UTC)
OTHER_FUNDING_PER_DAY = 0.0001


def data_folder(root: Path) -> tuple[Path, str]:
    """A price folder (real daily bars, else synthetic) with ``funding/BTC.csv`` from the recorded history."""
    folder = root / "prices"
    folder.mkdir()
    source = next((p for p in (PRICES, SHARED_PRICES) if p.is_dir()), None)
    if source is not None:
        for coin in COINS:
            shutil.copy(source / f"{coin}.csv", folder / f"{coin}.csv")
        label = f"real daily prices ({source})"
    else:
        panel = synthetic_panel(len(COINS), 400, seed=3, start=START - timedelta(days=300), symbols=COINS)
        write_synthetic_csv(folder, panel)
        label = "synthetic prices (the real ones were not found)"
    funding = recorded_funding(DEFAULT_FIXTURES_DIR)
    for coin, rows in funding.items():
        (folder / "funding").mkdir(exist_ok=True)
        funding_frame(rows).to_csv(folder / "funding" / f"{coin}.csv", index=False)
    return folder, label + (f"; recorded funding: {', '.join(sorted(funding))}" if funding else "; no recorded funding")


def signal(panel: PricePanel, skill: float, root: Path) -> Path:
    """The CrowdCent-schema meta-model over the replay window, written as Parquet."""
    first = panel.index_at_or_before(START - timedelta(days=90))
    days = len(panel) - first
    closes = panel.close[first:]
    frame = synthetic_crowdcent_meta_model(
        panel.symbols, panel.datetime_at(first) - timedelta(days=1), days, seed=7, closes=closes, skill=skill
    )
    path = root / "meta_model.parquet"
    frame.to_parquet(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=3)
    parser.add_argument("--skill", type=float, default=0.2)
    parser.add_argument("--tranches", default="1,3,5")
    parser.add_argument("--schemes", default=",".join(SCHEMES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder, label = data_folder(root)
        panel = load_prices(folder, bar_label="open", cache=False)
        from defipm.data.signals import read_signal_file

        history = read_signal_file(signal(panel, args.skill, root), CROWDCENT_COLUMNS)
        config = BacktestConfig(
            initial_cash=100_000.0, schedule="1bars", start=START, end=END, benchmark="BTC",
            costs=CostModel(taker_fee=0.00045, slippage_bps=2.0, funding_rate=OTHER_FUNDING_PER_DAY),
        )  # fmt: skip
        print(f"TB-N {args.n}+{args.n}, gross 1, net 0, daily, {START:%Y-%m-%d} to {END:%Y-%m-%d}: {label}")
        print(f"signal: CrowdCent schema (pred_10d), synthetic with skill {args.skill}; other coins' funding "
              f"{OTHER_FUNDING_PER_DAY:.4%}/day")  # fmt: skip
        header = f"{'scheme':<20}{'tranches':>9}{'return':>9}{'sharpe':>8}{'max dd':>8}{'turnover/y':>11}" \
                 f"{'fees':>9}{'funding':>9}{'secs':>6}"  # fmt: skip
        print(header)
        print("-" * len(header))
        for scheme in args.schemes.split(","):
            for k in (int(x) for x in args.tranches.split(",")):

                def factory(view, scheme=scheme, k=k):  # type: ignore[no-untyped-def]
                    inner = TBNOracle(args.n, history=history, weighting=scheme, returns=market_returns(view),
                                      symbol_map=None, max_staleness=None)  # fmt: skip
                    return TranchedOracle(inner, k) if k > 1 else inner

                t0 = time.perf_counter()
                result = run_backtest(panel, factory, config)
                s = result.summary()
                print(f"{scheme:<20}{k:>9}{s.total_return:>9.2%}{s.sharpe:>8.2f}{s.max_drawdown:>8.2%}"
                      f"{s.annual_turnover:>11.1f}{s.fees_paid:>9.0f}{s.funding_paid:>9.0f}"
                      f"{time.perf_counter() - t0:>6.1f}")  # fmt: skip
        print(f"funding from the data: {result.funding_from_data}; fallbacks noted: "
              f"{sum('falls back' in n or 'instead' in n for n in result.notes)}")  # fmt: skip
        assert np.isfinite(result.equity).all()


if __name__ == "__main__":
    main()
