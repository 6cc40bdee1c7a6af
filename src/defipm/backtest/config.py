"""What a backtest is configured with: costs, account, schedule, dates and benchmark (frozen values).

Every field says its unit, and every field is checked when the value is built: a value of the wrong type, NaN, an
infinity or a number outside the field's bounds is a ``FieldError`` (a ``ConfigError``) naming the field and the
accepted range, so no run starts on a value that would end in a traceback or in NaN figures. The CLI maps each
field to its option. Costs are applied by the paper venue (fees, slippage, spot/perp rules) and by the engine
(funding), never re-implemented beside them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from defipm import config_schema
from defipm.core.errors import ConfigError
from defipm.core.orders import OrderType
from defipm.core.planner import PlannerConfig
from defipm.core.risk import RiskLimits
from defipm.core.schedule import EveryKBars, Schedule, parse_schedule
from defipm.core.triggers import RebalancePolicy
from defipm.data.funding import MAX_FUNDING_RATE
from defipm.venues.paper.fill_model import MAX_SLIPPAGE_BPS as MAX_FILL_SLIPPAGE_BPS
from defipm.venues.paper.fill_model import SlippageModel
from defipm.venues.paper.params import PaperMode

MAX_AMOUNT = float(config_schema.MAX_AMOUNT)
"""Largest amount in quote currency (initial cash, a volume floor, a minimum order value): the paper venue's."""
MAX_FEE = float(config_schema.MAX_FEE)
MAX_LEVERAGE = float(config_schema.MAX_LEVERAGE)
BPS_LIMIT = float(config_schema.BPS_LIMIT)
MAX_IMPACT = float(config_schema.MAX_IMPACT)
"""The bounds are the paper venue's (``defipm.config_schema``, one place), so a trading config that paper trading
accepts is never refused when a backtest replays it (``defipm backtest -c``)."""


class FieldError(ConfigError):
    """A backtest setting is out of bounds. ``field`` is its dotted name (``costs.funding_rate``)."""

    def __init__(self, field: str, message: str, *, named: bool = False) -> None:
        """``message`` follows the field's name, or is the whole message when it ``named`` the field already."""
        self.field = field
        super().__init__(message if named else f"{field} {message}")


def bounded(
    name: str, value: object, low: float, high: float, *, low_open: bool = False, high_open: bool = False
) -> float:
    """``value`` as a float within ``low .. high`` (ends open or closed); raises ``FieldError`` naming ``name``."""
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    span = f"a number in {left}{low:g}, {high:g}{right}"
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise FieldError(name, f"must be {span}, got {value!r}")
    number = float(value)
    ok = math.isfinite(number) and (number > low if low_open else number >= low)
    if not ok or not (number < high if high_open else number <= high):
        raise FieldError(name, f"must be {span}, got {value!r}")
    return number


def _check_funding_series(series: object) -> None:
    if not isinstance(series, np.ndarray) or series.ndim != 2:
        raise FieldError("costs.funding_series", f"must be a bars x symbols array, got {type(series).__name__}")
    values = np.asarray(series, dtype=np.float64)
    bad = ~np.isnan(values) & ~(np.abs(values) < MAX_FUNDING_RATE)
    if bad.any():
        i, j = (int(x) for x in np.argwhere(bad)[0])
        raise FieldError(
            "costs.funding_series",
            f"holds {values[i, j]} at bar {i}, symbol column {j}: rates per bar are NaN (none) or finite with "
            f"|rate| < {MAX_FUNDING_RATE}",
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Trading costs.

    taker_fee: fee as a fraction of traded notional (0.00045 = 4.5 bps), charged on every fill; at most ``MAX_FEE``.
    slippage_bps: fixed adverse move of every fill from the bar close, in basis points (below 10,000).
    impact: square-root impact coefficient: a fill of notional N moves ``impact x sqrt(N / bar volume)``.
    volume_floor: smallest bar volume (quote currency) used for impact; hourly sources often report 0.
    max_slippage_bps: cap on a fill's whole adverse move (fixed + impact), in basis points, below 10,000.
    max_participation: largest share of a bar's dollar volume one order may take (None: no cap); the rest does
      not fill (a partial fill).
    participation_floor: smallest bar dollar volume the participation cap assumes (quote currency; 0: a bar
      without volume fills nothing).
    funding_rate: constant funding per day as a fraction of position notional (longs pay, shorts receive;
      0.0001 = 1 bp a day), charged every bar pro rata, in (-1, 1). Perp mode only. Funding files in the data
      folder (``funding/``) are charged on top of it.
    funding_series: per-bar funding rates (bars x symbols of the panel, NaN = none), instead of or on top of
      ``funding_rate``.
    min_notional: smallest order value in quote currency; smaller trades are skipped (and reported).
    size_step: order size increment in base units (1e-8 by default, like most crypto venues).
    """

    taker_fee: float = 0.00045
    slippage_bps: float = 0.0
    impact: float = 0.0
    volume_floor: float = 1.0
    max_slippage_bps: float = MAX_FILL_SLIPPAGE_BPS
    max_participation: float | None = None
    participation_floor: float = 0.0
    funding_rate: float = 0.0
    funding_series: NDArray[np.float64] | None = field(default=None, compare=False, repr=False)
    min_notional: float = 0.0
    size_step: float = 1e-8

    def __post_init__(self) -> None:
        bounded("costs.taker_fee", self.taker_fee, 0, MAX_FEE)
        bounded("costs.slippage_bps", self.slippage_bps, 0, BPS_LIMIT, high_open=True)
        bounded("costs.impact", self.impact, 0, MAX_IMPACT)
        bounded("costs.volume_floor", self.volume_floor, 0, MAX_AMOUNT, low_open=True)
        bounded("costs.max_slippage_bps", self.max_slippage_bps, 0, BPS_LIMIT, low_open=True, high_open=True)
        if self.max_participation is not None:
            bounded("costs.max_participation", self.max_participation, 0, 1, low_open=True)
        bounded("costs.participation_floor", self.participation_floor, 0, MAX_AMOUNT)
        bounded("costs.funding_rate", self.funding_rate, -1, 1, low_open=True, high_open=True)
        bounded("costs.min_notional", self.min_notional, 0, MAX_AMOUNT)
        bounded("costs.size_step", self.size_step, 0, 1e6, low_open=True)
        if self.funding_series is not None:
            _check_funding_series(self.funding_series)

    @property
    def has_funding(self) -> bool:
        return self.funding_rate != 0 or self.funding_series is not None

    @property
    def uses_volume(self) -> bool:
        """Whether fills depend on the bar's volume (impact or the participation cap)."""
        return self.impact > 0 or self.max_participation is not None

    def slippage_model(self) -> SlippageModel:
        """The paper venue's fill model with these costs (``defipm.venues.paper.fill_model``)."""
        return SlippageModel(
            fixed_bps=self.slippage_bps,
            impact=self.impact,
            volume_floor=self.volume_floor,
            max_slippage_bps=self.max_slippage_bps,
            max_participation=self.max_participation,
            participation_floor=self.participation_floor,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BacktestConfig:
    """One backtest.

    initial_cash: starting equity in quote currency.
    mode: ``PaperMode`` (or its spelling): "perp" (long/short with margin) or "spot" (long only: shorting weights
        are rejected).
    max_leverage: perp margin cap, gross notional <= equity x max_leverage.
    schedule: when to rebalance (a ``Schedule`` or its spelling: "1bars", "24h", "daily@00:00", ...).
    start / end: replay bounds (UTC, inclusive); history before ``start`` is still visible to the oracle.
    benchmark: symbol of the data, or a path to an OHLCV file, or None (no CAPM figures).
    benchmark_bar_label: what a benchmark file's times mean, "open" (Yahoo's daily dates: shifted one bar to the
        close, like the data) or "close".
    planner: how weights become orders (no-trade band, fee reserve).
    risk: operator risk limits applied by the manager.
    rebalance: a trigger policy (``defipm.core.triggers``): the schedule's bars then only check, and a cycle
        trades when the policy says (its own period, a new signal publication, drift); None trades on every
        scheduled bar.
    """

    initial_cash: float = 10_000.0
    mode: PaperMode | str = PaperMode.PERP
    max_leverage: float = 3.0
    costs: CostModel = field(default_factory=CostModel)
    schedule: Schedule | str | int = field(default_factory=lambda: EveryKBars(1))
    start: datetime | None = None
    end: datetime | None = None
    benchmark: str | None = "BTC"
    benchmark_bar_label: Literal["open", "close"] = "open"
    planner: PlannerConfig = field(default_factory=PlannerConfig)
    risk: RiskLimits | None = None
    rebalance: RebalancePolicy | None = None

    def __post_init__(self) -> None:
        bounded("initial_cash", self.initial_cash, 0, MAX_AMOUNT, low_open=True)
        if self.mode not in tuple(PaperMode):
            raise FieldError("mode", f"must be 'perp' or 'spot', got {self.mode!r}")
        object.__setattr__(self, "mode", PaperMode(self.mode))
        bounded("max_leverage", self.max_leverage, 0, MAX_LEVERAGE, low_open=True)
        if not isinstance(self.costs, CostModel):
            raise FieldError("costs", f"must be a CostModel, got {self.costs!r}")
        if self.benchmark_bar_label not in ("open", "close"):
            raise FieldError("benchmark_bar_label", f"must be 'open' or 'close', got {self.benchmark_bar_label!r}")
        if self.benchmark is not None and (not isinstance(self.benchmark, str) or not self.benchmark.strip()):
            raise FieldError("benchmark", f"must be a symbol, an OHLCV file or None, got {self.benchmark!r}")
        try:
            object.__setattr__(self, "schedule", parse_schedule(self.schedule))
        except ConfigError as exc:
            raise FieldError("schedule", str(exc), named=True) from None
        for name in ("start", "end"):
            object.__setattr__(self, name, _utc(name, getattr(self, name)))
        if self.start is not None and self.end is not None and self.end < self.start:
            raise FieldError("end", f"{self.end} is before start {self.start}")
        _check_planner(self.planner)
        if self.risk is not None and not isinstance(self.risk, RiskLimits):
            raise FieldError("risk", f"must be RiskLimits or None, got {self.risk!r}")
        if self.rebalance is not None and not isinstance(self.rebalance, RebalancePolicy):
            raise FieldError("rebalance", f"must be a RebalancePolicy or None, got {self.rebalance!r}")

    @property
    def rebalance_schedule(self) -> Schedule:
        assert not isinstance(self.schedule, str | int)
        return self.schedule


def _utc(name: str, value: object) -> datetime | None:
    """A replay bound as an aware UTC datetime (naive ones are UTC)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise FieldError(name, f"must be a datetime or None, got {value!r}")
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _check_planner(planner: object) -> None:
    if not isinstance(planner, PlannerConfig):
        raise FieldError("planner", f"must be a PlannerConfig, got {planner!r}")
    bounded("planner.no_trade_band", planner.no_trade_band, 0, 1, high_open=True)
    bounded("planner.cost_reserve_bps", planner.cost_reserve_bps, 0, BPS_LIMIT, high_open=True)
    if not isinstance(planner.reserve_fees, bool):
        raise FieldError("planner.reserve_fees", f"must be true or false, got {planner.reserve_fees!r}")
    if not isinstance(planner.order_type, OrderType):
        raise FieldError("planner.order_type", f"must be one of {', '.join(OrderType)}, got {planner.order_type!r}")
    if planner.limit_slippage is not None:
        bounded("planner.limit_slippage", planner.limit_slippage, 0, 1, low_open=True, high_open=True)
