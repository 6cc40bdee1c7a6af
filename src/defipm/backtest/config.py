"""What a backtest is configured with: costs, account, schedule, dates and benchmark (frozen values).

Every field says its unit. Costs are applied by the paper venue (fees, slippage, spot/perp rules) and by the
engine (funding), never re-implemented beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.schedule import EveryKBars, Schedule, parse_schedule
from defipm.core.errors import ConfigError
from defipm.core.planner import PlannerConfig
from defipm.core.risk import RiskLimits


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Trading costs.

    taker_fee: fee as a fraction of traded notional (0.00045 = 4.5 bps), charged on every fill.
    slippage_bps: fixed adverse move of every fill from the bar close, in basis points.
    impact: square-root impact coefficient: a fill of notional N moves ``impact x sqrt(N / bar volume)``.
    volume_floor: smallest bar volume (quote currency) used for impact; hourly sources often report 0.
    funding_rate: constant funding per day as a fraction of position notional (longs pay, shorts receive;
      0.0001 = 1 bp a day), charged every bar pro rata. Perp mode only.
    funding_series: per-bar funding rates (bars x symbols of the panel, NaN = none), instead of or on top of
      ``funding_rate``.
    min_notional: smallest order value in quote currency; smaller trades are skipped (and reported).
    size_step: order size increment in base units (1e-8 by default, like most crypto venues).
    """

    taker_fee: float = 0.00045
    slippage_bps: float = 0.0
    impact: float = 0.0
    volume_floor: float = 1.0
    funding_rate: float = 0.0
    funding_series: NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    min_notional: float = 0.0
    size_step: float = 1e-8

    def __post_init__(self) -> None:
        for name in ("taker_fee", "slippage_bps", "impact", "min_notional"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"costs.{name} must be a finite number >= 0, got {value}")
        if not self.volume_floor > 0:
            raise ConfigError(f"costs.volume_floor must be > 0, got {self.volume_floor}")
        if not self.size_step > 0:
            raise ConfigError(f"costs.size_step must be > 0, got {self.size_step}")
        if not math.isfinite(self.funding_rate):
            raise ConfigError(f"costs.funding_rate must be finite, got {self.funding_rate}")

    @property
    def has_funding(self) -> bool:
        return self.funding_rate != 0 or self.funding_series is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """One backtest.

    initial_cash: starting equity in quote currency.
    mode: "perp" (long/short with margin) or "spot" (long only: shorting weights are rejected).
    max_leverage: perp margin cap, gross notional <= equity x max_leverage.
    schedule: when to rebalance (a ``Schedule`` or its spelling: "1bars", "24h", "daily@00:00", ...).
    start / end: replay bounds (UTC, inclusive); history before ``start`` is still visible to the oracle.
    benchmark: symbol of the data, or a path to an OHLCV file, or None (no CAPM figures).
    benchmark_bar_label: what a benchmark file's times mean, "open" (Yahoo's daily dates: shifted one bar to the
        close, like the data) or "close".
    planner: how weights become orders (no-trade band, fee reserve).
    risk: operator risk limits applied by the manager.
    """

    initial_cash: float = 10_000.0
    mode: Literal["perp", "spot"] = "perp"
    max_leverage: float = 3.0
    costs: CostModel = field(default_factory=CostModel)
    schedule: Schedule | str | int = field(default_factory=lambda: EveryKBars(1))
    start: datetime | None = None
    end: datetime | None = None
    benchmark: str | None = "BTC"
    benchmark_bar_label: Literal["open", "close"] = "open"
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    risk: RiskLimits | None = None

    def __post_init__(self) -> None:
        if not (math.isfinite(self.initial_cash) and self.initial_cash > 0):
            raise ConfigError(f"initial_cash must be a positive amount, got {self.initial_cash}")
        if self.mode not in ("perp", "spot"):
            raise ConfigError(f"mode must be 'perp' or 'spot', got {self.mode!r}")
        if not self.max_leverage > 0:
            raise ConfigError(f"max_leverage must be > 0, got {self.max_leverage}")
        if self.benchmark_bar_label not in ("open", "close"):
            raise ConfigError(f"benchmark_bar_label must be 'open' or 'close', got {self.benchmark_bar_label!r}")
        object.__setattr__(self, "schedule", parse_schedule(self.schedule))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ConfigError(f"end {self.end} is before start {self.start}")

    @property
    def rebalance_schedule(self) -> Schedule:
        assert not isinstance(self.schedule, str | int)
        return self.schedule
