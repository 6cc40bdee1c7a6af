"""Backtest reports: a self-contained Plotly HTML page, a JSON summary, exports, and a one-screen rich table.

The HTML embeds plotly.js (no network needed to open it). It opens with the run's health (halted cycles, risk
limits that acted, liquidations, failures, framed in red when any happened) and its notes, then shows equity
against the benchmark (linear or log scale, rotations and events marked), drawdown, the largest weights stacked,
turnover, the metrics with units beside the benchmark's, yearly and monthly returns, rolling Sharpe, volatility and
beta, the return distribution, the worst drawdowns, given the prices replayed P&L by asset, and the trade list
(the run's fills: ``analysis``); then rotations, events and settings. Synthetic data is labelled as such in the title. Every
figure comes from ``core.metrics``; the charts are built in ``figures``. ``write_report`` also writes the exports
and, on request, quantstats' tearsheet (``exports``).

The page is a Jinja2 template (``templates/report.html``) with autoescaping on: every name, reason or setting
(an oracle's, a symbol's, an event's detail) is escaped, whatever it holds. It renders a list of panels
(``report_panels``: figures, tables, text), each by the template of its kind in ``templates/panels/``, so a new
section is one more panel.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup
from numpy.typing import NDArray

from defipm.backtest import figures
from defipm.backtest.analysis import Attribution, attribution, trades
from defipm.backtest.figures import strategy_returns
from defipm.backtest.result import BacktestResult
from defipm.core.metrics import drawdown_periods, returns_by_period, summarize
from defipm.data.panel import PricePanel, to_datetime

PERCENT = {
    "total_return", "cagr", "annual_volatility", "max_drawdown", "hit_rate", "alpha",
    "capm_expected_return", "benchmark_total_return", "benchmark_cagr",
}  # fmt: skip


def monthly_returns(result: BacktestResult) -> dict[int, dict[int, float]]:
    """Year -> month (1..12) -> compounded return of the strategy over that calendar month.

    A bar counts in the month it trades in: timestamps are bar closes, so the daily bar of January 31st, which
    closes at February 1st 00:00, is January's (one nanosecond before its close is still inside it); the run's
    first close counts in its own month (``figures.return_periods``)."""
    months = figures.return_periods(result, "M")
    out: dict[int, dict[int, float]] = {}
    for m, r in returns_by_period(strategy_returns(result), months):
        out.setdefault(int(str(m)[:4]), {})[int(str(m)[5:7])] = r
    return out


def _fmt(key: str, value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if key in PERCENT:
        return f"{value:.2%}"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def _fmt_metric(key: str, value: Any, periods_per_year: float) -> str:
    """``_fmt``, with the drawdown duration also told in days (or hours) from the bar interval."""
    if key == "max_drawdown_duration" and isinstance(value, int) and periods_per_year > 0:
        days = value * 365.0 / periods_per_year
        span = f"{days:,.0f} days" if days >= 2 else f"{days * 24:,.0f} hours"
        return f"{value} bar{'' if value == 1 else 's'} ({span})"
    return _fmt(key, value)


def finite_json(value: Any) -> Any:
    """``value`` made strict-JSON-ready: NaN and infinities (Python or numpy) become None (``null``), numpy
    scalars plain numbers, anything else unknown its ``str``. ``json.dumps(..., allow_nan=False)`` accepts it."""
    if isinstance(value, dict):
        return {str(k): finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    if isinstance(value, bool | None | str | int) and not isinstance(value, np.integer):
        return value
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return str(value)


EVENTS_LISTED = 200
"""Events listed in the report's table (the first ones); the rest are counted."""

TRADES_LISTED = 500
"""Trades listed in the report's table (the first ones); all of them are in ``trades.csv``."""

NOTES_LISTED = 200
"""Notes listed in the report (the first ones); the rest are counted."""

WORST_DRAWDOWNS = 5
"""Drawdowns in the worst-drawdowns table."""


@dataclass(frozen=True, slots=True)
class FigurePanel:
    """A Plotly figure: its HTML (Plotly escapes the data inside it) under an optional title."""

    html: Markup
    title: str = ""
    kind: str = "figure"


@dataclass(frozen=True, slots=True)
class TablePanel:
    """A table: title, column headers, rows of cells; ``empty`` is shown when there are no rows, ``note`` after.
    ``style`` is the table's CSS class ("metrics": numbers right-aligned, negatives red; "warning": a red frame)."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    empty: str = ""
    note: str = ""
    style: str = ""
    kind: str = "table"


@dataclass(frozen=True, slots=True)
class TextPanel:
    """Preformatted text under a title."""

    title: str
    text: str
    kind: str = "text"


Panel = FigurePanel | TablePanel | TextPanel
"""One section of the HTML report, rendered by ``templates/panels/<kind>.html`` (every value escaped there)."""


def write_json(result: BacktestResult, path: str | Path) -> Path:
    """Write ``summary.json``: strict JSON (a figure that is NaN or infinite, e.g. a ratio without risk, is null)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(finite_json(result.to_dict()), indent=2, allow_nan=False))
    return target


def write_html(result: BacktestResult, path: str | Path, closes: NDArray[np.float64] | None = None) -> Path:
    """Write the self-contained HTML report (``templates/report.html``, autoescaped); returns its path.
    ``closes`` (``analysis.closes_for``) adds the P&L by asset."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result, closes), encoding="utf-8")
    return target


def write_report(
    result: BacktestResult, folder: str | Path, panel: PricePanel | None = None, tearsheet: bool = False
) -> list[Path]:
    """Write everything about a run into ``folder``: ``report.html``, ``summary.json``, the exports (CSV, and
    Parquet with pyarrow: ``exports.write_exports``) and, with ``tearsheet``, quantstats' ``tearsheet.html``.
    ``panel`` (the prices replayed) adds the P&L by asset. Returns the paths written."""
    from defipm.backtest.analysis import closes_for
    from defipm.backtest.exports import write_exports, write_tearsheet

    target = Path(folder)
    closes = closes_for(result, panel) if panel is not None else None
    paths = [write_html(result, target / "report.html", closes), write_json(result, target / "summary.json")]
    paths += write_exports(result, target, closes)
    if tearsheet:
        paths.append(write_tearsheet(result, target / "tearsheet.html"))
    return paths


def render_html(result: BacktestResult, closes: NDArray[np.float64] | None = None) -> str:
    """The HTML report of ``result``: a header, then ``report_panels(result, closes)`` in order."""
    summary = result.to_dict()
    page = {k: summary[k] for k in ("start", "end", "bars", "schedule", "mode")}
    return render_page("report.html", **page, oracle=result.oracle, label=_synthetic_label(result),
                       source=result.source, panels=report_panels(result, closes))  # fmt: skip


def render_page(template: str, **values: Any) -> str:
    """Render ``templates/<template>`` with autoescaping on (every value escaped unless it is ``Markup``)."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("defipm.backtest", "templates"), autoescape=select_autoescape(default=True))
    return env.get_template(template).render(**values)


def figure_panel(figure: Any, first: bool = False, title: str = "") -> FigurePanel:
    """A Plotly figure as a panel; the first figure of a page carries plotly.js (the page works offline)."""
    return FigurePanel(Markup(figure.to_html(full_html=False, include_plotlyjs=first)), title)


def report_panels(result: BacktestResult, closes: NDArray[np.float64] | None = None) -> list[Panel]:
    """The report's sections in order: the run's health (halts, breaches, liquidations, failures) and notes, the
    main charts, the metrics beside the benchmark's, yearly and monthly returns, rolling figures, the return
    distribution, the worst drawdowns, P&L by asset (with ``closes``), the trades, rotations, events and
    settings. A new section is one more panel here (and a template under ``templates/panels/`` for a new kind)."""
    title = f"defipm backtest: {result.oracle} {result.params or ''}{_synthetic_label(result)}"
    panels: list[Panel] = [_health_panel(result)]
    if result.notes:
        more = len(result.notes) - NOTES_LISTED
        panels.append(TablePanel(f"Notes ({len(result.notes)})", ("note",), [(n,) for n in result.notes[:NOTES_LISTED]],
                                 note=f"... and {more} more" if more > 0 else ""))  # fmt: skip
    panels += [figure_panel(figures.main_figure(result, title), first=True), _metrics_panel(result),
               figure_panel(figures.yearly_figure(result)), _yearly_panel(result),
               figure_panel(figures.monthly_figure(monthly_returns(result))), figure_panel(figures.rolling_figure(result)),
               figure_panel(figures.distribution_figure(result)), _drawdowns_panel(result)]  # fmt: skip
    if closes is not None:
        parts = attribution(result, closes)
        panels += [figure_panel(figures.contribution_figure(parts)), _contribution_panel(parts)]
    panels.append(_trades_panel(result))
    if result.rotations:
        panels.append(_rotations_panel(result))
    panels.append(_events_panel(result))
    summary = result.to_dict()
    panels.append(TextPanel("Settings", json.dumps({k: summary[k] for k in ("params", "costs")}, indent=2)))
    return panels


def _synthetic_label(result: BacktestResult) -> str:
    return " — SYNTHETIC DATA" if result.synthetic else ""


def _health_panel(result: BacktestResult) -> TablePanel:
    """Rebalances, halted cycles, risk limits that acted, liquidations, failed cycles and orders: framed in red
    when any of them happened."""
    count = {k: sum(e.kind == k for e in result.events) for k in ("breach", "liquidation", "failed")}
    rebalances = int(result.rebalanced.sum())
    rows = [("rebalances", rebalances), ("halted cycles", f"{result.halted_cycles} of {rebalances}"),
            ("risk limit breaches", count["breach"]), ("liquidations", count["liquidation"]),
            ("failed cycles", count["failed"]), ("failed orders", result.failed_orders)]  # fmt: skip
    trouble = result.halted_cycles or result.failed_orders or any(count.values())
    return TablePanel("Run health", ("", "count"), rows, style="warning" if trouble else "metrics",
                      note="see Events below for when and why" if trouble else "")  # fmt: skip


METRIC_ROWS: tuple[tuple[str, str], ...] = (
    ("total_return", "%"), ("cagr", "% a year"), ("annual_volatility", "% a year"), ("sharpe", "ratio, annualised"),
    ("sortino", "ratio, annualised"), ("max_drawdown", "% from peak"), ("max_drawdown_duration", "bars"),
    ("calmar", "ratio"), ("hit_rate", "% of bars that moved"), ("turnover", "x mean equity"),
    ("annual_turnover", "x mean equity a year"), ("fees_paid", "quote"), ("funding_paid", "quote (paid > 0)"),
    ("gross_exposure", "x equity, mean"), ("net_exposure", "x equity, mean"), ("alpha", "% a year"),
    ("beta", "vs benchmark"), ("capm_expected_return", "% a year"), ("start_equity", "quote"),
    ("end_equity", "quote"),
)  # fmt: skip
"""The metrics table's rows: (``PerformanceSummary`` field, unit)."""

BENCHMARK_METRICS = {"total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown",
                     "max_drawdown_duration", "calmar", "hit_rate", "start_equity", "end_equity"}  # fmt: skip
"""The figures that also describe the benchmark bought and held."""


def _metrics_panel(result: BacktestResult) -> TablePanel:
    """The metrics with their units, the benchmark's beside them (``core.metrics.summarize`` for both)."""
    ppy = result.periods_per_year
    ours = result.summary().to_dict()
    theirs: dict[str, Any] = {}
    if result.benchmark_equity is not None:
        curve = np.concatenate(([result.benchmark_equity[0]], result.benchmark_equity))
        with np.errstate(divide="ignore", invalid="ignore"):
            theirs = summarize(curve, ppy).to_dict()
    name = f"benchmark ({result.benchmark})" if theirs else "benchmark (none)"
    rows = [(key.replace("_", " "), unit, _fmt_metric(key, ours.get(key), ppy),
             _fmt_metric(key, theirs.get(key), ppy) if key in BENCHMARK_METRICS and theirs else "")
            for key, unit in METRIC_ROWS]  # fmt: skip
    return TablePanel("Metrics", ("metric", "unit", result.oracle, name), rows, style="metrics")


def _yearly_panel(result: BacktestResult) -> TablePanel:
    rows = [(year, f"{own:.2%}", "" if bench is None else f"{bench:.2%}")
            for year, own, bench in figures.yearly_returns(result)]  # fmt: skip
    return TablePanel("Yearly returns", ("year", result.oracle, str(result.benchmark or "")), rows, style="metrics")


def _when(result: BacktestResult, index: int | None) -> str:
    """The time of point ``index`` of the equity curve (0 = the initial cash, before the first bar closes)."""
    if index is None:
        return "not recovered"
    return f"{to_datetime(result.timestamps[max(index - 1, 0)]):%Y-%m-%d %H:%M}"


def _drawdowns_panel(result: BacktestResult) -> TablePanel:
    """The deepest drawdowns: peak, trough, recovery times, depth and bars under water (with days), the figure
    the metrics' ``max_drawdown_duration`` gives for the deepest (both from ``core.metrics.drawdown_periods``)."""
    ppy = result.periods_per_year
    rows = [(_when(result, p.start), _when(result, p.trough), _when(result, p.recovery), f"{p.depth:.2%}",
             _fmt_metric("max_drawdown_duration", p.duration, ppy) + (" so far" if p.recovery is None else ""))
            for p in drawdown_periods(result.equity_curve, WORST_DRAWDOWNS)]  # fmt: skip
    return TablePanel("Worst drawdowns", ("peak", "trough", "recovery", "depth", "under water"), rows,
                      empty="never under water", style="metrics")  # fmt: skip


def _contribution_panel(parts: Attribution) -> TablePanel:
    """Each asset's price P&L (largest first), the costs and the residual, each with its share of the total."""

    def share(value: float) -> str:
        return f"{value / parts.total:.1%}" if parts.total else "n/a"

    items = sorted(parts.by_asset.items(), key=lambda kv: -kv[1])
    items += [("fees", -parts.fees), ("slippage", -parts.slippage), ("funding", -parts.funding),
              ("residual (liquidations, rounding)", parts.residual)]  # fmt: skip
    rows = [(name, f"{round(value, 2) + 0.0:,.2f}", share(value)) for name, value in items]  # never "-0.00"
    rows.append(("total (final equity - initial cash)", f"{parts.total:,.2f}", share(parts.total)))
    return TablePanel("P&L by asset", ("source", "P&L (quote)", "share of total"), rows, style="metrics")


def _trades_panel(result: BacktestResult) -> TablePanel:
    """The run's fills (the first ``TRADES_LISTED``): quantity, fill price, the close it was sized at, fill
    notional, fee and slippage, as ``trades.csv`` has them."""
    listed = trades(result)
    more = len(listed) - TRADES_LISTED
    rows = [(_when(result, t.bar + 1), t.symbol, t.side + (" (liquidation)" if t.liquidation else ""),
             f"{abs(t.quantity):,.8g}", f"{t.fill_price:,.6g}", f"{t.close:,.6g}", f"{t.notional:,.2f}",
             f"{t.fee:,.4f}", f"{t.slippage:,.4f}") for t in listed[:TRADES_LISTED]]  # fmt: skip
    return TablePanel(f"Trades ({len(listed)})", ("UTC", "symbol", "side", "quantity", "fill price", "close",
                      "fill notional", "fee", "slippage"), rows, empty="no trade", style="metrics",
                      note=f"... and {more} more (all in trades.csv)" if more > 0 else "")  # fmt: skip


def _rotations_panel(result: BacktestResult) -> TablePanel:
    rows = [(f"{r.timestamp:%Y-%m-%d %H:%M}", len(r.held), ", ".join(r.added), ", ".join(r.dropped), r.summary)
            for r in result.rotations]  # fmt: skip
    return TablePanel(f"Rotations ({len(result.rotations)})", ("UTC", "held", "added", "dropped", "why"), rows)


def _events_panel(result: BacktestResult) -> TablePanel:
    """The run's halts, liquidations, risk breaches and failed cycles (the first ``EVENTS_LISTED``)."""
    events = result.events
    more = len(events) - EVENTS_LISTED
    return TablePanel(
        "Events", ("time", "event", "detail"),
        [(_when(result, e.bar + 1), e.kind, e.detail) for e in events[:EVENTS_LISTED]],
        empty="no halt, liquidation, risk breach or failed cycle", note=f"... and {more} more" if more > 0 else "",
    )  # fmt: skip


SUMMARY_ROWS = (
    "total_return", "cagr", "annual_volatility", "sharpe", "sortino", "max_drawdown", "max_drawdown_duration",
    "calmar", "hit_rate", "annual_turnover", "fees_paid", "funding_paid", "gross_exposure", "net_exposure",
    "alpha", "beta", "capm_expected_return", "benchmark_total_return",
)  # fmt: skip


def summary_table(result: BacktestResult) -> Any:
    """A rich ``Table`` with the run's key figures (fits one screen)."""
    from rich.table import Table

    data = result.to_dict()
    synthetic = " [bold red](synthetic data)[/]" if result.synthetic else ""
    table = Table(
        title=f"{result.oracle} {result.params or ''}{synthetic}\n{data['start'][:10]} to {data['end'][:10]}, "
        f"{data['bars']} bars, {data['rebalances']} rebalances ({data['schedule']}), benchmark {result.benchmark}"
    )
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key in SUMMARY_ROWS:
        table.add_row(key.replace("_", " "), _fmt_metric(key, data["metrics"].get(key), result.periods_per_year))
    table.add_row("failed orders", str(result.failed_orders))
    rebalances = int(result.rebalanced.sum())
    halted = f"{result.halted_cycles} of {rebalances}" if result.halted_cycles else "0"
    table.add_row("halted cycles", f"[bold red]{halted}[/]" if result.halted_cycles else halted)
    liquidations = sum(e.kind == "liquidation" for e in result.events)
    table.add_row("liquidations", f"[bold red]{liquidations}[/]" if liquidations else "0")
    return table


def run_story(result: BacktestResult, limit: int = 10) -> list[str]:
    """What the summary table cannot say, as at most ``limit`` lines to print under it: the run's first events
    (the first halt, breach, liquidation and failure before any other, so the reason a run halted is never
    crowded out), then its first notes, in time order; the last line counts what was left out (all of it is in
    ``summary.json`` and the report). Empty when nothing happened."""
    firsts = sorted({e.kind: e for e in reversed(result.events)}.values(), key=lambda e: e.bar)
    picked = {id(e) for e in firsts}
    ranked = firsts + [e for e in result.events if id(e) not in picked]
    note_slots = min(len(result.notes), max((limit - 1) // 2, limit - 1 - len(ranked)))
    event_slots = min(len(ranked), limit - 1 - note_slots)
    if len(ranked) + len(result.notes) <= limit:
        note_slots, event_slots = len(result.notes), len(ranked)
    events = sorted(ranked[:event_slots], key=lambda e: e.bar)
    lines = [f"{_when(result, e.bar + 1)}  {e.kind}: {e.detail}" for e in events]
    lines += [f"note: {n}" for n in result.notes[:note_slots]]
    more_events, more_notes = len(ranked) - event_slots, len(result.notes) - note_slots
    if more_events or more_notes:
        lines.append(f"... and {more_events} more event(s), {more_notes} more note(s): see summary.json and the report")
    return lines
