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
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.benchmark import benchmark_prices
from defipm.backtest.config import BacktestConfig
from defipm.backtest.result import BacktestResult, BarEvent, TradeFills
from defipm.core.errors import DataError, InvalidWeightsError, LookAheadError
from defipm.core.instruments import InstrumentRules
from defipm.core.orders import Fill, OrderResult, Side
from defipm.core.reports import CycleReport, CycleStatus
from defipm.data.panel import PricePanel, span_text, to_datetime, to_datetime64, to_datetimes
from defipm.data.view import MarketView, ReplayClock
from defipm.manager import PortfolioManager
from defipm.oracles.base import Oracle
from defipm.venues.paper import PaperVenue
from defipm.venues.paper.params import PaperMode

OracleFactory = Callable[[MarketView], Oracle]
ProgressCallback = Callable[[int, int], None]

__all__ = ["BacktestResult", "BarEvent", "make_venue", "run_backtest"]


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
    record_fills: bool = True,
) -> BacktestResult:
    """Replay ``panel`` through ``oracle`` with a paper venue and the ``PortfolioManager``.

    ``oracle`` is an ``Oracle`` or a factory ``f(view) -> Oracle`` for oracles that read prices (the view they
    get is point-in-time). A look-ahead attempt raises ``LookAheadError`` even when the oracle swallowed it.
    ``progress(done, total)`` is called every bar. ``record_fills=False`` leaves ``BacktestResult.fills`` empty
    (a run read only for its metrics, as a grid search's, saves the per-fill records).
    """
    cfg = config or BacktestConfig()
    if len(panel) < 2:
        raise DataError(f"a backtest needs at least 2 bars, the data has {len(panel)}")
    replay = _Replay(panel, oracle, cfg, *_replay_window(panel, cfg), record_fills=record_fills)
    with _replay_gc():
        replay.run(progress)
    return replay.result(params)


def _replay_window(panel: PricePanel, cfg: BacktestConfig) -> tuple[int, int]:
    """Bars ``lo:hi`` to replay: from the first listed bar (or ``start``) to ``end``, both inclusive."""
    lo = _first_listed_index(panel)
    if cfg.start is not None:
        lo = max(lo, int(np.searchsorted(panel.timestamps, to_datetime64(cfg.start), side="left")))
    hi = panel.index_at_or_before(cfg.end) + 1 if cfg.end is not None else len(panel)
    if hi - lo < 1:
        raise DataError(
            f"no bars to replay {span_text(cfg.start, cfg.end)} (the data covers "
            f"{span_text(panel.start, panel.end).removeprefix('between ')}): move start or end into it"
        )
    return lo, hi


class _BarQuotes:
    """The listed symbols' closes (and volumes) of one bar, as the paper venue's ``update_market`` takes them."""

    def __init__(self, panel: PricePanel, with_volume: bool) -> None:
        self._panel = panel
        self._with_volume = with_volume
        self._key: bytes | None = None
        self._symbols: list[str] = []
        self._cols = np.zeros(0, dtype=np.int64)

    def at(self, i: int) -> tuple[dict[str, float], dict[str, float] | None]:
        panel = self._panel
        mask = panel.listed(i)
        key = mask.tobytes()
        if key != self._key:  # the listed set changes rarely: keep its columns until it does
            self._key = key
            self._cols = np.nonzero(mask)[0]
            self._symbols = [panel.symbols[j] for j in self._cols]
        cols, symbols = self._cols, self._symbols
        prices = dict(zip(symbols, panel.close[i, cols].tolist(), strict=True))
        volumes = dict(zip(symbols, panel.volume[i, cols].tolist(), strict=True)) if self._with_volume else None
        return prices, volumes


class _Funding:
    """Funding charged per bar on perpetuals: the constant rate pro rata, plus the data's and the config's series."""

    def __init__(self, cfg: BacktestConfig, panel: PricePanel) -> None:
        self.per_bar = cfg.costs.funding_rate * panel.interval.total_seconds() / 86_400.0
        self.series = _funding_series(cfg, panel)
        self.active = cfg.mode is PaperMode.PERP and (cfg.costs.funding_rate != 0 or self.series is not None)
        self._col = {s: j for j, s in enumerate(panel.symbols)}

    def charge(self, venue: PaperVenue, i: int) -> float:
        """Charge bar ``i``'s funding on the venue's positions; the total paid (negative = received)."""
        rates: dict[str, float] = {}
        for s in venue.positions:
            r = self.per_bar
            if self.series is not None:
                extra = self.series[i, self._col[s]]
                if extra == extra:  # not NaN
                    r += float(extra)
            if r:
                rates[s] = r
        return float(venue.apply_funding(rates)) if rates else 0.0


class _FillLog:
    """Every fill of a replay with its bar, mark, fee and slippage, gathered column by column (plain lists of
    floats, one append per column) and returned as ``TradeFills``. Slippage is worked out in floats from the same
    fills and marks as the per-bar sums the engine records (which are exact), so they agree to float rounding. A
    run that reads only its metrics (a grid search) records none (``record_fills=False``)."""

    def __init__(self, symbols: tuple[str, ...], active: bool = True) -> None:
        self._col = {s: j for j, s in enumerate(symbols)}
        self.active = active
        self.bar: list[int] = []
        self.symbol: list[int] = []
        self.quantity: list[float] = []
        """Signed: positive bought."""
        self.price: list[float] = []
        self.mark: list[float] = []
        self.fee: list[float] = []
        self.liquidation: list[bool] = []

    def add_results(
        self,
        k: int,
        results: tuple[OrderResult, ...],
        marks: Mapping[str, Decimal],
        closes: Mapping[str, float],
    ) -> None:
        """The fills of a cycle's orders; slippage against each order's reference price (as ``RebalanceReport``'s
        ``slippage_cost``), none for an order without one (its mark is then the fill price).

        ``marks`` are the venue's marks at this bar and ``closes`` the floats they were converted from: a reference
        price (or a fill price at the mid) that is the very mark object is this bar's close, whose float is known
        (``float(Decimal(repr(x))) == x``), so only the other figures pay a ``Decimal`` to float conversion."""
        col, buy = self._col, Side.BUY
        bars, syms, qtys, prices = self.bar.append, self.symbol.append, self.quantity.append, self.price.append
        marks_out, fees, liqs = self.mark.append, self.fee.append, self.liquidation.append
        for r in results:
            ref = r.order.reference_price
            if ref is None:
                mark = None
            else:
                s = r.order.symbol
                mark = closes[s] if ref is marks.get(s) else float(ref)
            for f in r.fills:
                p = f.price
                price = mark if p is ref and mark is not None else float(p)
                bars(k)
                syms(col[f.symbol])
                qtys(float(f.quantity) if f.side is buy else -float(f.quantity))
                prices(price)
                marks_out(price if mark is None else mark)
                fees(float(f.fee))
                liqs(False)

    def add_liquidation(self, k: int, fills: tuple[Fill, ...], marks: dict[str, Decimal]) -> None:
        """A liquidation's closing fills, their slippage against the bar's marks (as the engine charges it)."""
        for f in fills:
            self.bar.append(k)
            self.symbol.append(self._col[f.symbol])
            self.quantity.append(float(f.quantity) if f.side is Side.BUY else -float(f.quantity))
            self.price.append(float(f.price))
            self.mark.append(float(marks[f.symbol]))
            self.fee.append(float(f.fee))
            self.liquidation.append(True)

    def fills(self) -> TradeFills:
        if not self.bar:
            return TradeFills.empty()
        qty, price, mark = np.array(self.quantity), np.array(self.price), np.array(self.mark)
        liq = np.array(self.liquidation, dtype=bool)
        # a buy pays (price - mark) per unit, a sell (mark - price); a liquidation is charged |price - mark|
        slip = np.where(liq, np.abs(qty) * np.abs(price - mark), (price - mark) * qty)
        return TradeFills(
            np.array(self.bar, dtype=np.int64), np.array(self.symbol, dtype=np.int64), qty, price, mark,
            np.array(self.fee), slip, liq,
        )  # fmt: skip


class _Replay:
    """One ``run_backtest``: the clock, the venue and the manager it drives, and the records of every bar."""

    def __init__(
        self,
        panel: PricePanel,
        oracle: Oracle | OracleFactory,
        cfg: BacktestConfig,
        lo: int,
        hi: int,
        *,
        record_fills: bool = True,
    ):
        self.panel, self.cfg, self.lo = panel, cfg, lo
        self.clock = ReplayClock(panel, 0)
        self.view = self.clock.view()
        self.oracle = oracle if isinstance(oracle, Oracle) else oracle(self.view)
        self.venue = make_venue(cfg)
        self.manager = PortfolioManager(
            self.oracle, self.venue, planner=cfg.planner, risk=cfg.risk, rebalance=cfg.rebalance
        )
        self.times = panel.timestamps[lo:hi]
        self.due = cfg.rebalance_schedule.due(self.times)
        self.traded_bars = self.due.copy()
        """The scheduled bars, less those on which a rebalance policy had nothing due (WAITING)."""
        self.benchmark = benchmark_prices(cfg.benchmark, panel, lo, hi, cfg.benchmark_bar_label)
        self.quotes = _BarQuotes(panel, with_volume=cfg.costs.uses_volume)
        self.funding_model = _Funding(cfg, panel)
        n, m = hi - lo, len(panel.symbols)
        self.equity, self.cash = np.empty(n), np.empty(n)
        self.weights = np.zeros((n, m))
        self.traded, self.fees, self.funding, self.slippage = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
        self.positions = np.zeros(m)
        """Float positions by symbol column, for marking between rebalances."""
        self._col = {s: j for j, s in enumerate(panel.symbols)}
        self.notes: list[str] = list(panel.notes)
        if panel.funding is not None and cfg.mode is not PaperMode.PERP:
            self.notes.append(
                f"the data's funding rates are not charged: mode {cfg.mode!r} (funding is for perpetuals)"
            )
        self._seen_notes: set[str] = set()
        self.events: list[BarEvent] = []
        self.failed = self.halted = 0
        self._was_halted = False
        self._liquidations_seen = 0
        self.fill_log = _FillLog(panel.symbols, active=record_fills)

    def run(self, progress: ProgressCallback | None) -> None:
        """The replay loop: every bar is priced, funded, rebalanced when due, checked and marked."""
        n, venue, due = len(self.times), self.venue, self.due
        stamps = to_datetimes(self.times)
        for k in range(n):
            i = self.lo + k
            self.clock.advance(i)
            ts = stamps[k]
            closes, volumes = self.quotes.at(i)
            venue.update_market(ts, closes, volumes)
            if self.funding_model.active and venue.positions:
                self.funding[k] = self.funding_model.charge(venue, i)
            if len(venue.liquidations) > self._liquidations_seen:  # closed at this bar's marks, or by its funding
                self._record_liquidations(k)
            if due[k]:
                self._record_cycle(k, ts, self._cycle(ts), closes)
            _check_point_in_time(self.view, self.clock, i, self.oracle.name)
            self._mark(k, i)
            if progress is not None:
                progress(k + 1, n)

    def _cycle(self, ts: datetime) -> CycleReport:
        """The manager's cycle at ``ts``; its weights' problems and look-aheads name the bar and the oracle."""
        try:
            return self.manager.manage_portfolio(ts)
        except InvalidWeightsError as exc:
            raise InvalidWeightsError(exc.problems, at=ts) from exc
        except LookAheadError as exc:
            raise LookAheadError(f"oracle {self.oracle.name!r}: {exc}") from exc

    def _record_liquidations(self, k: int) -> None:
        """The venue closed the book at this bar's marks (or its funding drained it): an event each, its fills' fees,
        notional and slippage in the bar's costs, and nothing held."""
        new = self.venue.liquidations[self._liquidations_seen :]
        marks = self.venue.get_prices()
        for liq in new:
            self.events.append(BarEvent(k, "liquidation", liq.describe()))
            for f in liq.fills:  # its closing fills pay fees and slippage like any other
                self.fees[k] += float(f.fee)
                self.traded[k] += float(f.quantity * f.price)
                self.slippage[k] += float(f.quantity * abs(f.price - marks[f.symbol]))
            if self.fill_log.active:
                self.fill_log.add_liquidation(k, liq.fills, marks)
        self._liquidations_seen = len(self.venue.liquidations)
        self.positions[:] = 0.0

    def _record_cycle(self, k: int, ts: datetime, report: CycleReport, closes: Mapping[str, float]) -> None:
        """A cycle's notes (each once), events, costs and the positions it left (``closes``: the bar's quotes)."""
        for note in report.notes:
            if note not in self._seen_notes:
                self._seen_notes.add(note)
                self.notes.append(f"{ts:%Y-%m-%d %H:%M}: {note}")
        if report.status is CycleStatus.HALTED:
            self.halted += 1
            if not self._was_halted:
                self.events.append(BarEvent(k, "halt", report.error or "halted"))
        elif report.status is CycleStatus.FAILED:
            self.events.append(BarEvent(k, "failed", report.error or "failed"))
        self._was_halted = report.status is CycleStatus.HALTED
        if report.status is CycleStatus.WAITING:
            self.traded_bars[k] = False
        self.events.extend(BarEvent(k, "breach", f"{b.limit}: {b.detail} ({b.action})") for b in report.breaches)
        rb = report.rebalance
        if rb is not None:
            self.fees[k] += float(rb.fees)
            self.traded[k] += float(rb.traded_notional)
            self.slippage[k] += float(rb.slippage_cost)
            self.failed += len(rb.failures)
            if rb.results and self.fill_log.active:
                self.fill_log.add_results(k, rb.results, self.venue.get_prices(), closes)
        self.positions[:] = 0.0
        held = self.venue.positions
        if held:
            col = self._col
            self.positions[[col[s] for s in held]] = list(map(float, held.values()))

    def _mark(self, k: int, i: int) -> None:
        """Cash, equity and weights after bar ``k``, the positions marked at its closes."""
        c = float(self.venue.cash)
        value = self.positions * self.panel.close[i]
        value[np.isnan(value)] = 0.0  # a symbol not listed yet has a NaN close (as ``nan_to_num``, without its cost)
        eq = c + float(value.sum())
        self.cash[k], self.equity[k] = c, eq
        if eq > 0:
            self.weights[k] = value / eq

    def result(self, params: dict[str, Any] | None) -> BacktestResult:
        cfg, panel = self.cfg, self.panel
        bench_sym, bench_px = self.benchmark
        return BacktestResult(
            timestamps=self.times.copy(),
            symbols=panel.symbols,
            equity=self.equity,
            cash=self.cash,
            weights=self.weights,
            traded_notional=self.traded,
            fees=self.fees,
            funding=self.funding,
            slippage=self.slippage,
            rebalanced=self.traded_bars,
            periods_per_year=panel.periods_per_year,
            config=cfg,
            oracle=self.oracle.name,
            params=dict(params or {}),
            benchmark=bench_sym,
            benchmark_equity=cfg.initial_cash * bench_px / bench_px[0] if bench_px is not None else None,
            synthetic=panel.synthetic,
            source=panel.source,
            notes=self.notes + self._wiped_out(),
            failed_orders=self.failed,
            halted_cycles=self.halted,
            funding_from_data=panel.funding is not None and self.funding_model.active,
            rotations=tuple(self.oracle.rotations()),
            events=self.events,
            fills=self.fill_log.fills(),
        )

    def _wiped_out(self) -> list[str]:
        """The note of the first bar whose equity is at or below zero, if any."""
        if not (self.equity <= 0).any():
            return []
        k = int(np.argmax(self.equity <= 0))
        return [
            f"{to_datetime(self.times[k]):%Y-%m-%d %H:%M}: equity fell to {self.equity[k]:,.2f}, at or below zero: the "
            "account is wiped out and the figures after it do not describe a tradable book"
        ]
