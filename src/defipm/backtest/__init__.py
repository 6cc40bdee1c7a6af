"""Backtesting on the live loop: replay clock, engine, schedules, parameter search and reports."""

from defipm.backtest.config import BacktestConfig, CostModel
from defipm.backtest.engine import BacktestResult, run_backtest
from defipm.core.schedule import Daily, Every, EveryKBars, Weekly, parse_schedule

__all__ = [
    "BacktestConfig",
    "BacktestResult",
    "CostModel",
    "Daily",
    "Every",
    "EveryKBars",
    "Weekly",
    "parse_schedule",
    "run_backtest",
]
