"""A backtest's series as files beside its report, and the optional quantstats tearsheet.

``write_exports`` writes ``equity``, ``returns``, ``weights`` and ``trades``, each as CSV and, when pyarrow is
installed, as Parquet with the same columns. Times are UTC bar closes (ISO 8601 in the CSV).

- equity: time, equity, cash, drawdown (``BacktestResult.drawdown``: from the running peak, the initial cash the
  first), benchmark_equity (empty without a benchmark), fees, slippage, funding, traded_notional (quote currency;
  traded_notional is fill notional, fill quantity x fill price).
- returns: time, return, benchmark_return (per bar, simple; the first bar's against the initial cash).
- weights: time, then one column per symbol (signed weights after the bar's trades).
- trades, one row per fill: time, symbol, side, quantity (signed), fill_price (what it filled at), close (the bar
  close it was sized at), fill_notional (|quantity| x fill_price), fee, slippage_cost (against the close, paid > 0),
  liquidation (true for a liquidation's closes). Per bar, fill_notional, fee and slippage_cost sum to equity's
  traded_notional, fees and slippage.

``write_tearsheet`` renders quantstats' HTML tearsheet of the returns, against the benchmark's returns from the
run itself: nothing is fetched from the network.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.analysis import trades
from defipm.backtest.figures import benchmark_returns, strategy_returns
from defipm.backtest.result import BacktestResult
from defipm.core.errors import ConfigError

EXPORTS = ("equity", "returns", "weights", "trades")


def has_parquet() -> bool:
    """Whether pyarrow is installed (Parquet exports are written only then)."""
    return importlib.util.find_spec("pyarrow") is not None


def export_frames(result: BacktestResult, closes: NDArray[np.float64] | None = None) -> dict[str, Any]:
    """The exported tables as pandas DataFrames by name; see the module doc. (``closes`` is not needed: the trades
    are the run's recorded fills; it is accepted for callers that pass it.)"""
    import pandas as pd

    time = pd.DatetimeIndex(result.timestamps, name="time").tz_localize("UTC")
    bench = result.benchmark_equity
    nan = np.full(len(time), np.nan)
    frames: dict[str, Any] = {
        "equity": pd.DataFrame(
            {
                "equity": result.equity,
                "cash": result.cash,
                "drawdown": result.drawdown,
                "benchmark_equity": nan if bench is None else bench,
                "fees": result.fees,
                "slippage": result.slippage,
                "funding": result.funding,
                "traded_notional": result.traded_notional,
            },
            index=time,
        ),
        "returns": pd.DataFrame(
            {"return": strategy_returns(result), "benchmark_return": _or_nan(benchmark_returns(result), nan)},
            index=time,
        ),
        "weights": pd.DataFrame(result.weights, columns=list(result.symbols), index=time),
    }
    listed = trades(result)
    frames["trades"] = pd.DataFrame(
        {
            "time": time[[t.bar for t in listed]],
            "symbol": [t.symbol for t in listed],
            "side": [t.side for t in listed],
            "quantity": [t.quantity for t in listed],
            "fill_price": [t.fill_price for t in listed],
            "close": [t.close for t in listed],
            "fill_notional": [t.notional for t in listed],
            "fee": [t.fee for t in listed],
            "slippage_cost": [t.slippage for t in listed],
            "liquidation": [t.liquidation for t in listed],
        }
    )
    return frames


def _or_nan(values: NDArray[np.float64] | None, nan: NDArray[np.float64]) -> NDArray[np.float64]:
    return nan if values is None else values


def write_exports(result: BacktestResult, folder: str | Path, closes: NDArray[np.float64] | None = None) -> list[Path]:
    """Write every export as ``<name>.csv`` (and ``<name>.parquet`` with pyarrow) into ``folder``; their paths."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    parquet = has_parquet()
    written: list[Path] = []
    for name, frame in export_frames(result, closes).items():
        keep_index = name != "trades"
        frame.to_csv(target / f"{name}.csv", index=keep_index)
        written.append(target / f"{name}.csv")
        if parquet:
            frame.to_parquet(target / f"{name}.parquet", index=keep_index)
            written.append(target / f"{name}.parquet")
    return written


def check_tearsheet() -> None:
    """Raise ``ConfigError`` naming the install command when quantstats is missing (checked before a run)."""
    if importlib.util.find_spec("quantstats") is None:
        raise ConfigError("--tearsheet needs quantstats: install the backtest extra (scripts/bootstrap backtest)")


def write_tearsheet(result: BacktestResult, path: str | Path) -> Path:
    """quantstats' HTML tearsheet of the strategy's returns against the run's own benchmark (none fetched).

    Raises ``ConfigError`` naming the install command when quantstats is missing."""
    check_tearsheet()
    import pandas as pd
    import quantstats as qs

    frames = export_frames(result)["returns"]
    index = frames.index.tz_localize(None)
    returns = pd.Series(frames["return"].to_numpy(), index=index, name=result.oracle)
    bench = frames["benchmark_return"]
    benchmark = None if bench.isna().all() else pd.Series(bench.to_numpy(), index=index, name=str(result.benchmark))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    title = f"defipm backtest: {result.oracle}{' (synthetic data)' if result.synthetic else ''}"
    fonts = logging.getLogger("matplotlib.font_manager")
    level = fonts.level
    fonts.setLevel(logging.ERROR)  # quantstats asks for fonts a minimal system lacks, once per figure
    try:
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            qs.reports.html(returns, benchmark=benchmark, output=str(target), title=title,
                            periods_per_year=round(result.periods_per_year))  # fmt: skip
    finally:
        fonts.setLevel(level)
    return target
