"""The Plotly figures of the backtest report, each built from a ``BacktestResult`` and ``core.metrics``.

``main_figure``: equity against the benchmark (rotations and risk events marked, a linear/log switch), drawdown,
weights (the ``TOP_WEIGHTS`` largest stacked, the rest as "other") and turnover. Then ``yearly_figure``,
``monthly_figure``, ``rolling_figure`` (Sharpe, volatility, beta), ``distribution_figure`` and
``contribution_figure``. Plotly JSON-escapes the names inside a figure, whatever they hold.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from defipm.backtest.analysis import Attribution, top_weights
from defipm.backtest.result import BacktestResult
from defipm.core.metrics import (
    returns_by_period,
    returns_from_equity,
    rolling_beta,
    rolling_sharpe,
    rolling_volatility,
)

EVENT_MARKERS = {"halt": "x", "liquidation": "diamond", "breach": "triangle-down", "failed": "circle-open"}
"""Marker of each kind of ``BarEvent`` on the equity chart."""

TOP_WEIGHTS = 10
"""Symbols drawn one by one in the weights chart; the others are summed as "other"."""

ROLLING_DAYS = 90
"""The rolling figures' window, in days of bars (shortened to a third of a short run)."""


def _times(result: BacktestResult) -> Any:
    return result.timestamps.astype("datetime64[ms]").astype(object)


def strategy_returns(result: BacktestResult) -> NDArray[np.float64]:
    """Per-bar returns of the strategy, the first against the initial cash (one per bar)."""
    return returns_from_equity(result.equity_curve)


def benchmark_returns(result: BacktestResult) -> NDArray[np.float64] | None:
    """Per-bar returns of the benchmark (0 on the first bar, when it is bought), or None without one."""
    if result.benchmark_equity is None:
        return None
    return returns_from_equity(np.concatenate(([result.benchmark_equity[0]], result.benchmark_equity)))


def rolling_window(result: BacktestResult) -> int:
    """Bars in the rolling figures' window: ``ROLLING_DAYS`` of bars, at most a third of the run, at least 2."""
    bars = round(ROLLING_DAYS * result.periods_per_year / 365.0)
    return max(2, min(bars, len(result.timestamps) // 3))


def main_figure(result: BacktestResult, title: str) -> Any:
    """Equity (benchmark, rotations, events; linear/log buttons), drawdown, weights and turnover per bar."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    times = _times(result)
    fig = make_subplots(rows=4, cols=1, shared_xaxes=True, vertical_spacing=0.04, row_heights=[0.4, 0.2, 0.25, 0.15],
                        subplot_titles=("Equity", "Drawdown", "Weights", "Turnover per bar"))  # fmt: skip
    fig.add_trace(go.Scatter(x=times, y=result.equity, name=f"{result.oracle} equity"), row=1, col=1)
    if result.benchmark_equity is not None:
        fig.add_trace(
            go.Scatter(x=times, y=result.benchmark_equity, name=f"{result.benchmark} (buy and hold)"), row=1, col=1
        )
    _mark_rotations(fig, result)
    _mark_events(fig, result, times)
    fig.add_trace(go.Scatter(x=times, y=result.drawdown, name="drawdown", fill="tozeroy"), row=2, col=1)
    _weights(fig, result, times)
    with np.errstate(divide="ignore", invalid="ignore"):
        prev = np.concatenate(([result.config.initial_cash], result.equity[:-1]))
        turnover = np.where(prev > 0, result.traded_notional / prev, 0.0)
    fig.add_trace(go.Bar(x=times, y=turnover, name="turnover"), row=4, col=1)
    scales = [{"label": scale, "method": "relayout", "args": [{"yaxis.type": scale}]} for scale in ("linear", "log")]
    fig.update_layout(height=1100, title=title, hovermode="x unified",
                      updatemenus=[{"type": "buttons", "direction": "right", "buttons": scales, "x": 0, "y": 1.06,
                                    "xanchor": "left", "showactive": True}])  # fmt: skip
    return fig


def _weights(fig: Any, result: BacktestResult, times: Any) -> None:
    """Stacked areas of the largest weights and "other": longs stacked up, shorts down (one legend entry each)."""
    import plotly.graph_objects as go

    for name, w in top_weights(result.weights, result.symbols, TOP_WEIGHTS):
        for side, part in (("long", np.maximum(w, 0.0)), ("short", np.minimum(w, 0.0))):
            if part.any():
                trace = go.Scatter(x=times, y=part, name=name, legendgroup=f"w:{name}", stackgroup=side, mode="lines",
                                   showlegend=side == "long" or not w.clip(min=0).any(), line={"width": 0.5})  # fmt: skip
                fig.add_trace(trace, row=3, col=1)


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
    fig.add_trace(go.Scatter(x=stamps.astype("datetime64[ms]").astype(object), y=result.equity[at], mode="markers",
                             marker={"symbol": "diamond", "size": 9}, name="rotations", text=hover,
                             hoverinfo="text"), row=1, col=1)  # fmt: skip


def return_periods(result: BacktestResult, unit: str) -> NDArray[np.datetime64]:
    """The calendar period (numpy unit ``"Y"`` or ``"M"``) of each of ``strategy_returns``, the one labelling the
    yearly and monthly figures share. A bar's return belongs to the period its bar trades in: its close minus 1 ns
    (timestamps are bar closes; the daily bar closing at January 1st 00:00 is the previous year's). The first
    return (the first close's trades against the initial cash) belongs to the period of that close itself: the
    run starts there, so the initial point never makes a year or month of its own."""
    labels = (result.timestamps - np.timedelta64(1, "ns")).astype(f"datetime64[{unit}]")
    if labels.size:
        labels[0] = result.timestamps[0].astype(f"datetime64[{unit}]")
    return labels


def yearly_returns(result: BacktestResult) -> list[tuple[int, float, float | None]]:
    """(year, strategy return, benchmark return or None) per calendar year the run trades in
    (``return_periods``: the year before a run that starts on January 1st is not one)."""
    years = return_periods(result, "Y")
    own = returns_by_period(strategy_returns(result), years)
    bench = benchmark_returns(result)
    theirs = dict(returns_by_period(bench, years)) if bench is not None else {}
    return [(int(str(y)[:4]), r, theirs.get(y)) for y, r in own]


def yearly_figure(result: BacktestResult) -> Any:
    """Bars of each calendar year's return, the strategy's beside the benchmark's."""
    import plotly.graph_objects as go

    rows = yearly_returns(result)
    fig = go.Figure(go.Bar(x=[str(y) for y, _, _ in rows], y=[r for _, r, _ in rows], name=result.oracle))
    if result.benchmark_equity is not None:
        fig.add_trace(go.Bar(x=[str(y) for y, _, _ in rows], y=[b for _, _, b in rows], name=str(result.benchmark)))
    fig.update_layout(title="Yearly returns", height=320, yaxis_tickformat=".0%", barmode="group",
                      margin={"t": 40, "b": 30})  # fmt: skip
    return fig


def monthly_figure(monthly: dict[int, dict[int, float]]) -> Any:
    """The monthly returns as a table (years down, months across)."""
    import plotly.graph_objects as go

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


def rolling_figure(result: BacktestResult) -> Any:
    """Rolling Sharpe, annualised volatility and (with a benchmark) beta over ``rolling_window`` bars."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    window, ppy, times = rolling_window(result), result.periods_per_year, _times(result)
    r, bench = strategy_returns(result), benchmark_returns(result)
    rows = [("Sharpe", rolling_sharpe(r, window, ppy)), ("volatility", rolling_volatility(r, window, ppy))]
    if bench is not None:
        rows.append((f"beta vs {result.benchmark}", rolling_beta(r, bench, window)))
    fig = make_subplots(rows=len(rows), cols=1, shared_xaxes=True, subplot_titles=[n for n, _ in rows])
    for k, (name, values) in enumerate(rows, 1):
        fig.add_trace(go.Scatter(x=times, y=values, name=name, mode="lines"), row=k, col=1)
    fig.update_yaxes(tickformat=".0%", row=2, col=1)
    days = window * 365.0 / ppy
    fig.update_layout(title=f"Rolling {window} bars ({days:,.0f} days)", height=200 + 180 * len(rows), showlegend=False)
    return fig


def distribution_figure(result: BacktestResult) -> Any:
    """Histogram of the per-bar returns (the benchmark's overlaid)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Histogram(x=strategy_returns(result), name=result.oracle, opacity=0.7, histnorm="percent"))
    bench = benchmark_returns(result)
    if bench is not None:
        fig.add_trace(go.Histogram(x=bench[1:], name=str(result.benchmark), opacity=0.5, histnorm="percent"))
    fig.update_layout(title="Distribution of per-bar returns", barmode="overlay", height=320, xaxis_tickformat=".1%",
                      yaxis_title="% of bars", margin={"t": 40, "b": 30})  # fmt: skip
    return fig


def contribution_figure(parts: Attribution) -> Any:
    """Horizontal bars of each asset's price P&L and the costs (quote currency), largest gain on top."""
    import plotly.graph_objects as go

    items = sorted(parts.by_asset.items(), key=lambda kv: kv[1])
    items = [("fees", -parts.fees), ("slippage", -parts.slippage), ("funding", -parts.funding), *items]
    fig = go.Figure(go.Bar(x=[v for _, v in items], y=[n for n, _ in items], orientation="h", name="P&L"))
    fig.update_layout(title="P&L contribution (quote currency)", height=120 + 22 * len(items), margin={"t": 40})
    return fig
