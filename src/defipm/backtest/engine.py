"""The replay engine: step through history one bar at a time and run the live ``PortfolioManager`` on it.

At each bar the engine moves the ``MarketView`` clock, feeds the bar's closes (and volumes) to a ``PaperVenue``
with ``update_market``, charges funding, and, on the schedule's rebalance bars, calls
``PortfolioManager.manage_portfolio(bar close time)``: the same call paper and live trading make. Fills happen at
the bar close moved by the venue's slippage model. Between rebalances positions drift with prices (the venue is
marked every bar). There is no second implementation of planning, fills or fees here: the engine only replays
and records.

Per-bar work is O(symbols): the clock is an index into numpy arrays, never a growing DataFrame.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.benchmark import benchmark_prices
from defipm.backtest.config import BacktestConfig
from defipm.core.errors import DataError, InvalidWeightsError, LookAheadError
from defipm.core.instruments import InstrumentRules
from defipm.core.metrics import PerformanceSummary, summarize
from defipm.core.reports import CycleStatus
from defipm.data.panel import PricePanel, to_datetime, to_datetime64
from defipm.data.view import MarketView, ReplayClock
from defipm.manager import PortfolioManager
from defipm.oracles.base import Oracle, Rotation
from defipm.venues.paper import PaperVenue

OracleFactory = Callable[[MarketView], Oracle]
ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class BarEvent:
    """Something the report marks on a bar: a halt, a risk limit that acted, a liquidation, a failed cycle."""

    bar: int
    """Index into ``BacktestResult.timestamps``."""
    kind: str
    """"halt" (the breaker tripped, or trading stayed halted), "breach" (a risk limit scaled or clipped the
    target), "liquidation" (the venue closed the book below its maintenance margin) or "failed" (a cycle failed)."""
    detail: str


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
            "events": {k: sum(e.kind == k for e in self.events) for k in ("halt", "breach", "liquidation", "failed")},
            "first_events": [
                {"time": str(self.timestamps[e.bar]), "kind": e.kind, "detail": e.detail} for e in self.events[:50]
            ],
            "notes": self.notes[:50],
        }


def _funding_series(cfg: BacktestConfig, panel: PricePanel) -> NDArray[np.float64] | None:
    """Per-bar funding rates beyond the constant one: the data's (``panel.funding``) plus ``costs.funding_series``."""
    extra = cfg.costs.funding_series
    if extra is not None and extra.shape != panel.close.shape:
        raise DataError(f"costs.funding_series has shape {extra.shape}, the prices {panel.close.shape}")
    if panel.funding is None:
        return extra
    return panel.funding if extra is None else panel.funding + np.nan_to_num(extra)


def _first_listed_index(panel: PricePanel) -> int:
    first = int(panel.first_index.min()) if len(panel.symbols) else 0
    return min(first, len(panel) - 1)


def make_venue(config: BacktestConfig) -> PaperVenue:
    """The paper venue configured with the backtest's costs (fills at the close + slippage)."""
    c = config.costs
    rules = InstrumentRules(size_step=Decimal(repr(c.size_step)), min_notional=Decimal(repr(c.min_notional)))
    return PaperVenue(
        initial_cash=Decimal(repr(config.initial_cash)),
        mode=config.mode,
        taker_fee=Decimal(repr(c.taker_fee)),
        slippage=c.slippage_model(),
        rules=lambda _s: rules,
        max_leverage=Decimal(repr(config.max_leverage)),
    )


YOUNG_GC_THRESHOLD = 50_000
"""Allocations between two collections of the youngest generation during a replay (CPython's default is 700)."""


@contextmanager
def _replay_gc() -> Iterator[None]:
    """Garbage-collector settings for a replay, restored afterwards.

    A replay builds millions of short-lived, acyclic objects (orders, fills, results) that reference counting
    frees. With the default settings the cycle collector still walks every object alive when it runs: the
    orders in flight every 700 allocations, and, in its full passes, everything the process held before the
    replay (pandas, SQLAlchemy, the data). Freezing the old objects and collecting the young generation every
    ``YOUNG_GC_THRESHOLD`` allocations cuts that to almost nothing (about 10% of a 100-asset daily backtest);
    cyclic garbage made during the replay is still collected."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(max(threshold[0], YOUNG_GC_THRESHOLD), *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _check_point_in_time(view: MarketView, clock: ReplayClock, index: int, oracle: str) -> None:
    """Fail the run when the oracle looked ahead (even if it swallowed the error) or moved the replay clock."""
    if view.violations:
        raise LookAheadError(f"oracle {oracle!r}: {view.violations[0]}")
    if clock.index != index:
        raise LookAheadError(
            f"oracle {oracle!r} moved the replay clock from bar {index} to bar {clock.index}: an oracle may only read "
            "its MarketView"
        )


def run_backtest(
    panel: PricePanel,
    oracle: Oracle | OracleFactory,
    config: BacktestConfig | None = None,
    *,
    params: dict[str, Any] | None = None,
    progress: ProgressCallback | None = None,
) -> BacktestResult:
    """Replay ``panel`` through ``oracle`` with a paper venue and the ``PortfolioManager``.

    ``oracle`` is an ``Oracle`` or a factory ``f(view) -> Oracle`` for oracles that read prices (the view they
    get is point-in-time). A look-ahead attempt raises ``LookAheadError`` even when the oracle swallowed it.
    ``progress(done, total)`` is called every bar.
    """
    cfg = config or BacktestConfig()
    if len(panel) < 2:
        raise DataError(f"a backtest needs at least 2 bars, the data has {len(panel)}")
    clock = ReplayClock(panel, 0)
    view = clock.view()
    the_oracle = oracle if isinstance(oracle, Oracle) else oracle(view)
    venue = make_venue(cfg)
    manager = PortfolioManager(the_oracle, venue, planner=cfg.planner, risk=cfg.risk)

    lo = _first_listed_index(panel)
    if cfg.start is not None:
        lo = max(lo, int(np.searchsorted(panel.timestamps, to_datetime64(cfg.start), side="left")))
    hi = panel.index_at_or_before(cfg.end) + 1 if cfg.end is not None else len(panel)
    if hi - lo < 1:
        raise DataError(f"no bars to replay between {cfg.start} and {cfg.end} (data: {panel.start} to {panel.end})")
    n = hi - lo
    times = panel.timestamps[lo:hi]
    due = cfg.rebalance_schedule.due(times)
    bench_sym, bench_px = benchmark_prices(cfg.benchmark, panel, lo, hi, cfg.benchmark_bar_label)

    symbols = panel.symbols
    col = {s: j for j, s in enumerate(symbols)}
    close, volume = panel.close, panel.volume
    use_volume = cfg.costs.uses_volume
    per_bar_funding = cfg.costs.funding_rate * panel.interval.total_seconds() / 86_400.0
    funding_series = _funding_series(cfg, panel)
    charge_funding = cfg.mode == "perp" and (cfg.costs.funding_rate != 0 or funding_series is not None)

    equity = np.empty(n)
    cash = np.empty(n)
    weights = np.zeros((n, len(symbols)))
    traded = np.zeros(n)
    fees = np.zeros(n)
    funding = np.zeros(n)
    slippage = np.zeros(n)
    pos = np.zeros(len(symbols))
    notes: list[str] = list(panel.notes)
    if panel.funding is not None and cfg.mode != "perp":
        notes.append(f"the data's funding rates are not charged: mode {cfg.mode!r} (funding is for perpetuals)")
    seen_notes: set[str] = set()
    failed = halted = 0
    events: list[BarEvent] = []
    was_halted = False
    liquidations_seen = 0
    listed_key: bytes | None = None
    listed_syms: list[str] = []
    listed_cols = np.zeros(0, dtype=np.int64)

    with _replay_gc():
        for k in range(n):
            i = lo + k
            clock.advance(i)
            ts = to_datetime(times[k])
            mask = panel.listed(i)
            key = mask.tobytes()
            if key != listed_key:
                listed_key = key
                listed_cols = np.nonzero(mask)[0]
                listed_syms = [symbols[j] for j in listed_cols]
            row = close[i]
            prices = dict(zip(listed_syms, row[listed_cols].tolist(), strict=True))
            vols = dict(zip(listed_syms, volume[i, listed_cols].tolist(), strict=True)) if use_volume else None
            venue.update_market(ts, prices, vols)
            if len(venue.liquidations) > liquidations_seen:  # the book was closed at this bar's marks
                events.extend(
                    BarEvent(k, "liquidation", liq.describe()) for liq in venue.liquidations[liquidations_seen:]
                )
                liquidations_seen = len(venue.liquidations)
                pos[:] = 0.0

            if charge_funding and venue.positions:
                rates: dict[str, float] = {}
                for s in venue.positions:
                    r = per_bar_funding
                    if funding_series is not None:
                        extra = funding_series[i, col[s]]
                        if extra == extra:  # not NaN
                            r += float(extra)
                    if r:
                        rates[s] = r
                if rates:
                    funding[k] = float(venue.apply_funding(rates))

            if due[k]:
                try:
                    report = manager.manage_portfolio(ts)
                except InvalidWeightsError as exc:
                    raise InvalidWeightsError([f"at {ts.isoformat()}: {p}" for p in exc.problems]) from exc
                except LookAheadError as exc:
                    raise LookAheadError(f"oracle {the_oracle.name!r}: {exc}") from exc
                _check_point_in_time(view, clock, i, the_oracle.name)
                for note in report.notes:
                    if note not in seen_notes:
                        seen_notes.add(note)
                        notes.append(f"{ts:%Y-%m-%d %H:%M}: {note}")
                if report.status is CycleStatus.HALTED:
                    halted += 1
                    if not was_halted:
                        events.append(BarEvent(k, "halt", report.error or "halted"))
                elif report.status is CycleStatus.FAILED:
                    events.append(BarEvent(k, "failed", report.error or "failed"))
                was_halted = report.status is CycleStatus.HALTED
                events.extend(BarEvent(k, "breach", f"{b.limit}: {b.detail} ({b.action})") for b in report.breaches)
                rb = report.rebalance
                if rb is not None:
                    fees[k] = float(rb.fees)
                    traded[k] = float(rb.traded_notional)
                    slippage[k] = float(rb.slippage_cost)
                    failed += len(rb.failures)
                pos[:] = 0.0
                for s, q in venue.positions.items():
                    pos[col[s]] = float(q)
            else:
                _check_point_in_time(view, clock, i, the_oracle.name)

            c = float(venue.cash)
            value = pos * np.nan_to_num(row)
            eq = c + float(value.sum())
            cash[k] = c
            equity[k] = eq
            if eq > 0:
                weights[k] = value / eq
            if progress is not None:
                progress(k + 1, n)

    if (equity <= 0).any():
        k = int(np.argmax(equity <= 0))
        notes.append(
            f"{to_datetime(times[k]):%Y-%m-%d %H:%M}: equity fell to {equity[k]:,.2f}, at or below zero: the account "
            "is wiped out and the figures after it do not describe a tradable book"
        )
    bench_equity = None
    if bench_px is not None:
        bench_equity = cfg.initial_cash * bench_px / bench_px[0]
    return BacktestResult(
        timestamps=times.copy(),
        symbols=symbols,
        equity=equity,
        cash=cash,
        weights=weights,
        traded_notional=traded,
        fees=fees,
        funding=funding,
        slippage=slippage,
        rebalanced=due,
        periods_per_year=panel.periods_per_year,
        config=cfg,
        oracle=the_oracle.name,
        params=dict(params or {}),
        benchmark=bench_sym,
        benchmark_equity=bench_equity,
        synthetic=panel.synthetic,
        source=panel.source,
        notes=notes,
        failed_orders=failed,
        halted_cycles=halted,
        funding_from_data=panel.funding is not None and charge_funding,
        rotations=tuple(the_oracle.rotations()),
        events=events,
    )
