"""Reference check: the defipm backtest against vectorbt on a simulation both can express.

Daily rebalance to equal weight of the 14 real coins (from 2020-09-23, when all 14 have unbroken daily bars),
4.5 bps taker fee, no slippage, fills at the bar close. defipm runs its full loop (PortfolioManager ->
PaperVenue); vectorbt runs ``Portfolio.from_orders`` with ``size_type="targetpercent"``, ``cash_sharing=True``,
``group_by=True`` and ``call_seq="auto"`` (sells first). Final equities must agree to 1e-6 relative.

Settings that make the two the same simulation (and why):
- gross 0.99 (1% cash): with 100% invested, fees make the buys cost more than the cash, and vectorbt then fills
  its last buy partially while the perp paper venue borrows the shortfall (measured: 4.8e-5 apart at gross 1.0).
  With a cash buffer neither clips.
- ``PlannerConfig(reserve_fees=False)``: vectorbt sizes targets on the full portfolio value, not net of fees
  (with the default fee reserve: 3.6e-5 apart).
- The residual is the planner's size-step rounding (targets toward zero, reductions up): 1.1e-8 at the usual
  1e-8 step (used here), 1e-12 at a 1e-12 step.

Needs /work/shared/data (or DEFIPM_DATA) and vectorbt; skips with a message otherwise.
Run: .venv/bin/python benchmarks/bench_backtest_vs_vectorbt.py
"""

from __future__ import annotations

import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from defipm.backtest import BacktestConfig, CostModel, run_backtest
from defipm.core.planner import PlannerConfig
from defipm.data.cache import load_prices
from defipm.oracles.equal_weight import EqualWeightOracle

REPO = Path(__file__).resolve().parent.parent
DATA = Path(os.environ.get("DEFIPM_DATA", REPO.parent / "shared" / "data")) / "prices" / "daily"
FEE = 0.00045
GROSS = 0.99
START = datetime(2020, 9, 23, tzinfo=UTC)
TOLERANCE = 1e-6


def main() -> int:
    if not DATA.is_dir():
        print(f"SKIP: no daily price data at {DATA} (set DEFIPM_DATA to the shared data folder)")
        return 0
    try:
        import pandas as pd
        import vectorbt as vbt
    except ImportError as exc:
        print(f"SKIP: {exc} (pip install 'defipm[dev]')")
        return 0

    panel = load_prices(DATA, cache=False).between(start=START)
    config = BacktestConfig(
        initial_cash=10_000.0,
        mode="perp",
        max_leverage=3.0,
        costs=CostModel(taker_fee=FEE, size_step=1e-8),
        schedule="1bars",
        planner=PlannerConfig(reserve_fees=False),
        benchmark=None,
    )
    t0 = time.perf_counter()
    result = run_backtest(panel, EqualWeightOracle(gross=GROSS), config)
    t_defipm = time.perf_counter() - t0

    index = pd.DatetimeIndex(panel.timestamps)
    close = pd.DataFrame(np.asarray(panel.close), index=index, columns=list(panel.symbols))
    assert np.isfinite(close.to_numpy()).all(), "every coin must have a price on every bar of the comparison"
    size = pd.DataFrame(GROSS / close.shape[1], index=index, columns=close.columns)

    def run_vbt() -> float:
        pf = vbt.Portfolio.from_orders(
            close,
            size=size,
            size_type="targetpercent",
            fees=FEE,
            init_cash=10_000.0,
            cash_sharing=True,
            group_by=True,
            call_seq="auto",
            freq="1D",
        )
        return float(pf.value().iloc[-1])

    t0 = time.perf_counter()
    vbt_equity = run_vbt()
    t_vbt_cold = time.perf_counter() - t0
    t0 = time.perf_counter()
    run_vbt()
    t_vbt = time.perf_counter() - t0

    ours = float(result.equity[-1])
    rel = abs(ours - vbt_equity) / abs(vbt_equity)
    print(
        f"equal weight of {len(panel.symbols)} coins, daily rebalance, {len(panel)} bars "
        f"({panel.start:%Y-%m-%d} to {panel.end:%Y-%m-%d}), fee {FEE * 1e4:.1f} bps, no slippage"
    )
    print(
        f"  final equity  defipm {ours:,.6f}   vectorbt {vbt_equity:,.6f}   relative difference {rel:.2e}  "
        f"(tolerance {TOLERANCE:.0e}: {'PASS' if rel <= TOLERANCE else 'FAIL'})"
    )
    print(
        f"  run time      defipm {t_defipm:.3f} s   vectorbt {t_vbt:.3f} s (first call incl. numba compile "
        f"{t_vbt_cold:.3f} s)   ratio defipm/vectorbt {t_defipm / t_vbt:.1f}x"
    )
    return 0 if rel <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
