"""What a replay recorded: per-bar arrays after each bar's trades, the events the report marks, the settings.

``BacktestResult`` is what ``run_backtest`` returns; ``summary()`` computes the performance figures and
``to_dict()`` the JSON summary (no per-bar arrays).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.config import BacktestConfig
from defipm.core.metrics import PerformanceSummary, drawdown, summarize
from defipm.data.panel import to_datetime
from defipm.oracles.base import Rotation

EVENT_KINDS = ("halt", "breach", "liquidation", "failed")


@dataclass(frozen=True, slots=True)
class BarEvent:
    """Something the report marks on a bar: a halt, a risk limit that acted, a liquidation, a failed cycle."""

    bar: int
    """Index into ``BacktestResult.timestamps``."""
    kind: str
    """"halt" (the breaker tripped, or trading stayed halted), "breach" (a risk limit scaled or clipped the
    target), "liquidation" (the venue closed the book below its maintenance margin) or "failed" (a cycle failed)."""
    detail: str


@dataclass(frozen=True, slots=True)
class TradeFills:
    """Every fill of a replay, one row per fill in the order they happened (columns of equal length): what each
    trade actually cost, the source of ``trades.csv`` and the report's trade list. Their per-bar sums are the
    result's ``traded_notional``, ``fees`` and ``slippage`` (up to float rounding)."""

    bar: NDArray[np.int64]
    """Index into ``BacktestResult.timestamps`` of the bar whose close it filled at."""
    symbol: NDArray[np.int64]
    """Index into ``BacktestResult.symbols``."""
    quantity: NDArray[np.float64]
    """Signed: positive bought, negative sold (base units)."""
    price: NDArray[np.float64]
    """The fill price (the close moved by the fill model's slippage)."""
    mark: NDArray[np.float64]
    """The price the fill's slippage is measured against: the order's reference price (the bar close the planner
    sized with), or the bar's mark for a liquidation."""
    fee: NDArray[np.float64]
    """Fee paid, quote currency."""
    slippage: NDArray[np.float64]
    """What the fill cost against ``mark``, quote currency (positive = paid)."""
    liquidation: NDArray[np.bool_]
    """True for the venue's liquidation fills, False for the rebalances' orders."""

    @classmethod
    def empty(cls) -> TradeFills:
        """No fill (a run that never traded)."""
        f, i = np.zeros(0), np.zeros(0, dtype=np.int64)
        return cls(i, i, f, f, f, f, f, np.zeros(0, dtype=bool))

    def __len__(self) -> int:
        return int(self.bar.size)


@dataclass(slots=True)
class BacktestResult:
    """Everything a replay recorded, one row per bar (after that bar's trades)."""

    timestamps: NDArray[np.datetime64]
    symbols: tuple[str, ...]
    equity: NDArray[np.float64]
    cash: NDArray[np.float64]
    weights: NDArray[np.float64]
    """Bars x symbols signed weights after each bar's trades (drifting between rebalances)."""
    traded_notional: NDArray[np.float64]
    fees: NDArray[np.float64]
    funding: NDArray[np.float64]
    """Funding paid per bar (negative = received)."""
    slippage: NDArray[np.float64]
    """What fills cost against the bar close, per bar (positive = paid)."""
    rebalanced: NDArray[np.bool_]
    periods_per_year: float
    config: BacktestConfig
    oracle: str
    params: dict[str, Any] = field(default_factory=dict)
    benchmark: str | None = None
    benchmark_equity: NDArray[np.float64] | None = None
    """The benchmark bought with ``initial_cash`` at the first bar's close and held."""
    synthetic: bool = False
    source: str = ""
    notes: list[str] = field(default_factory=list)
    failed_orders: int = 0
    halted_cycles: int = 0
    funding_from_data: bool = False
    """True when the data carried funding rates (a ``funding/`` folder) and the run charged them."""
    rotations: tuple[Rotation, ...] = ()
    """Changes of the oracle's held set (``Oracle.rotations``), for the report's marks."""
    events: list[BarEvent] = field(default_factory=list)
    """Halts, risk breaches, liquidations and failed cycles, by bar (a halt is listed on the bar it began)."""
    fills: TradeFills = field(default_factory=TradeFills.empty)
    """Every fill of the run (``TradeFills``)."""

    @property
    def start(self) -> datetime:
        return to_datetime(self.timestamps[0])

    @property
    def end(self) -> datetime:
        return to_datetime(self.timestamps[-1])

    @property
    def equity_curve(self) -> NDArray[np.float64]:
        """``initial_cash`` followed by the equity after each bar (so the first trade's costs count)."""
        return np.concatenate(([self.config.initial_cash], self.equity))

    @property
    def drawdown(self) -> NDArray[np.float64]:
        """Drawdown after each bar (one value per bar: 0 at a new high, -0.25 = 25% below the peak), against the
        running peak of ``equity_curve``: the initial cash is the first peak, as in ``max_drawdown`` and
        ``drawdown_periods``, so the first bar's costs count. The one drawdown the exports and the chart show."""
        return drawdown(self.equity_curve)[1:]

    def summary(self, risk_free: float = 0.0) -> PerformanceSummary:
        bench = None
        if self.benchmark_equity is not None:
            bench = np.concatenate(([self.benchmark_equity[0]], self.benchmark_equity))
        pad = np.zeros(1)
        with np.errstate(divide="ignore", invalid="ignore"):  # a wiped-out book's figures are NaN, not warnings
            return summarize(
                self.equity_curve,
                self.periods_per_year,
                benchmark_equity=bench,
                traded_notional=np.concatenate((pad, self.traded_notional)),
                fees=self.fees,
                funding=self.funding,
                weights=self.weights,
                risk_free=risk_free,
            )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready summary of the run: settings, figures and a few counts (no per-bar arrays)."""
        cfg = self.config
        costs = cfg.costs
        return {
            "oracle": self.oracle,
            "params": self.params,
            "data": {"source": self.source, "synthetic": self.synthetic, "symbols": list(self.symbols)},
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "bars": len(self.timestamps),
            "rebalances": int(self.rebalanced.sum()),
            "schedule": cfg.rebalance_schedule.describe(),
            "mode": cfg.mode,
            "initial_cash": cfg.initial_cash,
            "costs": {
                "taker_fee": costs.taker_fee,
                "slippage_bps": costs.slippage_bps,
                "impact": costs.impact,
                "volume_floor": costs.volume_floor,
                "max_slippage_bps": costs.max_slippage_bps,
                "max_participation": costs.max_participation,
                "participation_floor": costs.participation_floor,
                "funding_rate_per_day": costs.funding_rate,
                "funding_series": costs.funding_series is not None,
                "funding_from_data": self.funding_from_data,
                "min_notional": costs.min_notional,
            },
            "benchmark": self.benchmark,
            "metrics": self.summary().to_dict(),
            "slippage_paid": float(self.slippage.sum()),
            "failed_orders": self.failed_orders,
            "halted_cycles": self.halted_cycles,
            "rotations": [
                {
                    "timestamp": r.timestamp.isoformat(),
                    "held": list(r.held),
                    "added": list(r.added),
                    "dropped": list(r.dropped),
                    "summary": r.summary,
                }
                for r in self.rotations
            ],
            "events": {k: sum(e.kind == k for e in self.events) for k in EVENT_KINDS},
            "first_events": [
                {"time": str(self.timestamps[e.bar]), "kind": e.kind, "detail": e.detail} for e in self.events[:50]
            ],
            "notes": self.notes[:50],
        }
