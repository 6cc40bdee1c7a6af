"""Backtest reports: a self-contained Plotly HTML page, a JSON summary, and a one-screen rich table.

The HTML embeds plotly.js (no network needed to open it) and shows equity against the benchmark, drawdown,
weights over time, turnover per bar and a monthly returns table. Synthetic data is labelled as such in the title.
Rotations of the held set (``BacktestResult.rotations``) are marked on the equity chart and listed below it.
"""

from __future__ import annotations

import html as html_text
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

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


def _events_html(result: BacktestResult, limit: int = 200) -> str:
    """The run's halts, liquidations, risk breaches and failed cycles as a table (the first ``limit``)."""
    if not result.events:
        return "<h3>Events</h3><p>no halt, liquidation, risk breach or failed cycle</p>"
    rows = "".join(
        f"<tr><td>{result.timestamps[e.bar]}</td><td>{e.kind}</td><td>{html_text.escape(e.detail)}</td></tr>"
        for e in result.events[:limit]
    )
    more = f"<p>... and {len(result.events) - limit} more</p>" if len(result.events) > limit else ""
    return f"<h3>Events</h3><table><tr><th>time</th><th>event</th><th>detail</th></tr>{rows}</table>{more}"


def write_json(result: BacktestResult, path: str | Path) -> Path:
    """Write ``summary.json``: strict JSON (a figure that is NaN or infinite, e.g. a ratio without risk, is null)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(finite_json(result.to_dict()), indent=2, allow_nan=False))
    return target


def write_html(result: BacktestResult, path: str | Path) -> Path:
    """Write the self-contained HTML report; returns its path."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    times = result.timestamps.astype("datetime64[ms]").astype(object)
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.04,
        row_heights=[0.4, 0.2, 0.25, 0.15],
        subplot_titles=("Equity", "Drawdown", "Weights", "Turnover per bar"),
    )
    fig.add_trace(go.Scatter(x=times, y=result.equity, name=f"{result.oracle} equity"), row=1, col=1)
    if result.benchmark_equity is not None:
        fig.add_trace(
            go.Scatter(x=times, y=result.benchmark_equity, name=f"{result.benchmark} (buy and hold)"), row=1, col=1
        )
    _mark_rotations(fig, result)
    for kind, marker in EVENT_MARKERS.items():  # halts, limits that acted, liquidations, failed cycles
        marked = [e for e in result.events if e.kind == kind]
        if marked:
            fig.add_trace(
                go.Scatter(
                    x=[times[e.bar] for e in marked],
                    y=[result.equity[e.bar] for e in marked],
                    text=[e.detail for e in marked],
                    mode="markers",
                    marker={"symbol": marker, "size": 11},
                    name=kind,
                    hovertemplate="%{text}<extra></extra>",
                ),
                row=1,
                col=1,
            )
    fig.add_trace(go.Scatter(x=times, y=drawdown(result.equity), name="drawdown", fill="tozeroy"), row=2, col=1)
    held = np.nonzero(np.abs(result.weights).max(axis=0) > 0)[0]
    for j in held:
        fig.add_trace(
            go.Scatter(x=times, y=result.weights[:, j], name=result.symbols[j], stackgroup=None, mode="lines"),
            row=3,
            col=1,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        prev = np.concatenate(([result.config.initial_cash], result.equity[:-1]))
        turnover = np.where(prev > 0, result.traded_notional / prev, 0.0)
    fig.add_trace(go.Bar(x=times, y=turnover, name="turnover"), row=4, col=1)
    label = " — SYNTHETIC DATA" if result.synthetic else ""
    fig.update_layout(
        height=1100, title=f"defipm backtest: {result.oracle} {result.params or ''}{label}", hovermode="x unified"
    )
    monthly = monthly_returns(result)
    years = sorted(monthly)
    cells = [[str(y) for y in years]] + [
        [f"{monthly[y][m]:.1%}" if m in monthly[y] else "" for y in years] for m in range(1, 13)
    ]
    table = go.Figure(
        go.Table(
            header={"values": ["year", *[f"{m:02d}" for m in range(1, 13)]]},
            cells={"values": cells},
        )
    )
    # explicit margins: with Plotly's defaults (100 px top, 80 px bottom) a short table shows only its header
    table.update_layout(
        title="Monthly returns", height=70 + 32 * (len(years) + 1), margin={"t": 40, "b": 10, "l": 10, "r": 10}
    )
    summary = result.to_dict()
    ppy = result.periods_per_year
    rows = "".join(f"<tr><td>{k}</td><td>{_fmt_metric(k, v, ppy)}</td></tr>" for k, v in summary["metrics"].items())
    html = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>defipm backtest</title></head><body>"
        f"<h2>defipm backtest: {result.oracle}{label}</h2>"
        f"<p>{summary['start']} to {summary['end']}, {summary['bars']} bars, {summary['schedule']}, "
        f"mode {summary['mode']}, data: {result.source}</p>"
        + fig.to_html(full_html=False, include_plotlyjs=True)
        + table.to_html(full_html=False, include_plotlyjs=False)
        + _rotations_html(result)
        + f"<h3>Figures</h3><table>{rows}</table>"
        + _events_html(result)
        + f"<h3>Settings</h3><pre>{json.dumps({k: summary[k] for k in ('params', 'costs')}, indent=2)}</pre>"
        + "</body></html>"
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(html, encoding="utf-8")
    return target


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


def _rotations_html(result: BacktestResult) -> str:
    if not result.rotations:
        return ""
    rows = "".join(
        f"<tr><td>{r.timestamp:%Y-%m-%d %H:%M}</td><td>{len(r.held)}</td>"
        f"<td>{html_text.escape(', '.join(r.added))}</td><td>{html_text.escape(', '.join(r.dropped))}</td>"
        f"<td>{html_text.escape(r.summary)}</td></tr>"
        for r in result.rotations
    )
    return (
        f"<h3>Rotations ({len(result.rotations)})</h3><table><tr><th>UTC</th><th>held</th><th>added</th>"
        f"<th>dropped</th><th>why</th></tr>{rows}</table>"
    )


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
