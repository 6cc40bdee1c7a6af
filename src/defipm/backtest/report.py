"""Backtest reports: a self-contained Plotly HTML page, a JSON summary, and a one-screen rich table.

The HTML embeds plotly.js (no network needed to open it) and shows equity against the benchmark, drawdown,
weights over time, turnover per bar and a monthly returns table. Synthetic data is labelled as such in the title.
Rotations of the held set (``BacktestResult.rotations``) are marked on the equity chart and listed below it;
halts, breaches, liquidations and failed cycles are marked on it and listed in the events table.

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

from defipm.backtest.engine import BacktestResult
from defipm.core.metrics import drawdown

PERCENT = {
    "total_return", "cagr", "annual_volatility", "max_drawdown", "hit_rate", "alpha",
    "capm_expected_return", "benchmark_total_return", "benchmark_cagr",
}  # fmt: skip


def monthly_returns(result: BacktestResult) -> dict[int, dict[int, float]]:
    """Year -> month (1..12) -> compounded return of the strategy over that calendar month.

    A bar counts in the month it trades in: timestamps are bar closes, so the daily bar of January 31st, which
    closes at February 1st 00:00, is January's (one nanosecond before its close is still inside it)."""
    curve = result.equity_curve
    months = (result.timestamps - np.timedelta64(1, "ns")).astype("datetime64[M]")
    out: dict[int, dict[int, float]] = {}
    start_value = curve[0]
    for m in np.unique(months):
        idx = np.nonzero(months == m)[0]
        end_value = curve[idx[-1] + 1]
        year, month = int(str(m)[:4]), int(str(m)[5:7])
        out.setdefault(year, {})[month] = float(end_value / start_value - 1.0)
        start_value = end_value
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


EVENT_MARKERS = {"halt": "x", "liquidation": "diamond", "breach": "triangle-down", "failed": "circle-open"}
"""Marker of each kind of ``BarEvent`` on the equity chart."""

EVENTS_LISTED = 200
"""Events listed in the report's table (the first ones); the rest are counted."""


@dataclass(frozen=True, slots=True)
class FigurePanel:
    """A Plotly figure: its HTML (Plotly escapes the data inside it) under an optional title."""

    html: Markup
    title: str = ""
    kind: str = "figure"


@dataclass(frozen=True, slots=True)
class TablePanel:
    """A table: title, column headers, rows of cells; ``empty`` is shown when there are no rows, ``note`` after."""

    title: str
    columns: tuple[str, ...]
    rows: list[tuple[Any, ...]]
    empty: str = ""
    note: str = ""
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


def write_html(result: BacktestResult, path: str | Path) -> Path:
    """Write the self-contained HTML report (``templates/report.html``, autoescaped); returns its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(result), encoding="utf-8")
    return target


def render_html(result: BacktestResult) -> str:
    """The HTML report of ``result``: a header, then ``report_panels(result)`` in order."""
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("defipm.backtest", "templates"), autoescape=select_autoescape(default=True))
    summary = result.to_dict()
    page = {k: summary[k] for k in ("start", "end", "bars", "schedule", "mode")}
    return env.get_template("report.html").render(
        **page, oracle=result.oracle, label=_synthetic_label(result), source=result.source, panels=report_panels(result)
    )


def report_panels(result: BacktestResult) -> list[Panel]:
    """The report's sections in order: the charts (equity with rotations and event marks, drawdown, weights,
    turnover), monthly returns, rotations (when there are any), figures, events and settings. A new section is one
    more panel here (and a template under ``templates/panels/`` for a new kind)."""
    summary = result.to_dict()
    ppy = result.periods_per_year
    panels: list[Panel] = [
        FigurePanel(Markup(_main_figure(result).to_html(full_html=False, include_plotlyjs=True))),
        FigurePanel(Markup(_monthly_figure(result).to_html(full_html=False, include_plotlyjs=False))),
    ]
    if result.rotations:
        panels.append(_rotations_panel(result))
    panels.append(TablePanel("Figures", ("figure", "value"),
                             [(k, _fmt_metric(k, v, ppy)) for k, v in summary["metrics"].items()]))  # fmt: skip
    panels.append(_events_panel(result))
    panels.append(TextPanel("Settings", json.dumps({k: summary[k] for k in ("params", "costs")}, indent=2)))
    return panels


def _synthetic_label(result: BacktestResult) -> str:
    return " — SYNTHETIC DATA" if result.synthetic else ""


def _main_figure(result: BacktestResult) -> Any:
    """Equity (against the benchmark, rotations and events marked), drawdown, weights and turnover per bar."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    times = result.timestamps.astype("datetime64[ms]").astype(object)
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.4, 0.2, 0.25, 0.15],
                        subplot_titles=("Equity", "Drawdown", "Weights", "Turnover per bar"))  # fmt: skip
    fig.add_trace(go.Scatter(x=times, y=result.equity, name=f"{result.oracle} equity"), row=1, col=1)
    if result.benchmark_equity is not None:
        fig.add_trace(
            go.Scatter(x=times, y=result.benchmark_equity, name=f"{result.benchmark} (buy and hold)"), row=1, col=1
        )
    _mark_rotations(fig, result)
    _mark_events(fig, result, times)
    fig.add_trace(go.Scatter(x=times, y=drawdown(result.equity), name="drawdown", fill="tozeroy"), row=2, col=1)
    for j in np.nonzero(np.abs(result.weights).max(axis=0) > 0)[0]:
        fig.add_trace(go.Scatter(x=times, y=result.weights[:, j], name=result.symbols[j], mode="lines"), row=3, col=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        prev = np.concatenate(([result.config.initial_cash], result.equity[:-1]))
        turnover = np.where(prev > 0, result.traded_notional / prev, 0.0)
    fig.add_trace(go.Bar(x=times, y=turnover, name="turnover"), row=4, col=1)
    title = f"defipm backtest: {result.oracle} {result.params or ''}{_synthetic_label(result)}"
    fig.update_layout(height=1100, title=title, hovermode="x unified")
    return fig


def _mark_events(fig: Any, result: BacktestResult, times: Any) -> None:
    """Halts, limits that acted, liquidations and failed cycles as markers on the equity chart."""
    import plotly.graph_objects as go

    for kind, marker in EVENT_MARKERS.items():
        marked = [e for e in result.events if e.kind == kind]
        if marked:
            trace = go.Scatter(x=[times[e.bar] for e in marked], y=[result.equity[e.bar] for e in marked],
                               text=[e.detail for e in marked], mode="markers", marker={"symbol": marker, "size": 11},
                               name=kind, hovertemplate="%{text}<extra></extra>")  # fmt: skip
            fig.add_trace(trace, row=1, col=1)


def _monthly_figure(result: BacktestResult) -> Any:
    """The monthly returns as a table (years down, months across)."""
    import plotly.graph_objects as go

    monthly = monthly_returns(result)
    years = sorted(monthly)
    cells = [[str(y) for y in years]] + [
        [f"{monthly[y][m]:.1%}" if m in monthly[y] else "" for y in years] for m in range(1, 13)
    ]
    table = go.Figure(
        go.Table(header={"values": ["year", *[f"{m:02d}" for m in range(1, 13)]]}, cells={"values": cells})
    )
    # explicit margins: with Plotly's defaults (100 px top, 80 px bottom) a short table shows only its header
    table.update_layout(
        title="Monthly returns", height=70 + 32 * (len(years) + 1), margin={"t": 40, "b": 10, "l": 10, "r": 10}
    )
    return table


def _mark_rotations(fig: Any, result: BacktestResult) -> None:
    """A dotted line on the equity chart at each rotation, and a marker whose hover lists what changed."""
    import plotly.graph_objects as go

    if not result.rotations:
        return
    stamps = np.array([np.datetime64(r.timestamp.replace(tzinfo=None), "ns") for r in result.rotations])
    at = np.clip(np.searchsorted(result.timestamps, stamps), 0, len(result.timestamps) - 1)
    for stamp in stamps:
        fig.add_vline(x=stamp.astype("datetime64[ms]").astype(object), line_dash="dot", line_width=1, row=1, col=1)
    hover = [
        f"rotation: {len(r.held)} held<br>+ {', '.join(r.added) or '-'}<br>- {', '.join(r.dropped) or '-'}"
        for r in result.rotations
    ]
    fig.add_trace(
        go.Scatter(
            x=stamps.astype("datetime64[ms]").astype(object),
            y=result.equity[at],
            mode="markers",
            marker={"symbol": "diamond", "size": 9},
            name="rotations",
            text=hover,
            hoverinfo="text",
        ),
        row=1,
        col=1,
    )


def _rotations_panel(result: BacktestResult) -> TablePanel:
    rows = [(f"{r.timestamp:%Y-%m-%d %H:%M}", len(r.held), ", ".join(r.added), ", ".join(r.dropped), r.summary)
            for r in result.rotations]  # fmt: skip
    return TablePanel(f"Rotations ({len(result.rotations)})", ("UTC", "held", "added", "dropped", "why"), rows)


def _events_panel(result: BacktestResult) -> TablePanel:
    """The run's halts, liquidations, risk breaches and failed cycles (the first ``EVENTS_LISTED``)."""
    events = result.events
    more = len(events) - EVENTS_LISTED
    return TablePanel(
        "Events", ("time", "event", "detail"), [(result.timestamps[e.bar], e.kind, e.detail) for e in events[:EVENTS_LISTED]],
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
