"""The classification as a self-contained Plotly page: ranked return bars, daily dollar volume and trend.

Tokens are shown in return order (rank 1 left), coloured by verdict (kept, or the rule that excluded them), with
the candidates' mean return and the volume bar (threshold x mean volume) drawn across. plotly.js is embedded, so
the page opens without a network.
"""

from __future__ import annotations

import math
from pathlib import Path

from defipm.classify.config import RULES
from defipm.classify.result import Classification

COLOURS = {
    "kept": "#2ca02c", "history": "#c7c7c7", "category": "#9467bd", "return": "#d62728", "trend": "#ff7f0e",
    "volume": "#8c564b", "sortino": "#e377c2", "top_n": "#17becf",
}  # fmt: skip


def classification_figure(result: Classification) -> object:
    """A Plotly figure of the ranked tokens (those with a return)."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    ranked = result.table[result.table["rank"].notna()].sort_values("rank")
    verdict = ranked["reason"].where(ranked["reason"].notna(), "kept")
    fig = make_subplots(
        rows=3,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.05,
        row_heights=[0.45, 0.3, 0.25],
        subplot_titles=(
            f"{result.config.window_days}-day return",
            "mean daily dollar volume (log)",
            f"trend: {result.config.trend_short_days}-day MA / {result.config.trend_long_days}-day MA - 1",
        ),
    )
    for name in ("kept", *RULES):
        part = ranked[verdict == name]
        if part.empty:
            continue
        colour = COLOURS[name]
        label = name if name == "kept" else f"excluded: {name}"
        fig.add_trace(
            go.Bar(x=part["symbol"], y=part["return"], name=label, marker_color=colour, legendgroup=name), row=1, col=1
        )
        fig.add_trace(
            go.Bar(x=part["symbol"], y=part["volume"], marker_color=colour, legendgroup=name, showlegend=False),
            row=2,
            col=1,
        )
        fig.add_trace(
            go.Bar(x=part["symbol"], y=part["trend"], marker_color=colour, legendgroup=name, showlegend=False),
            row=3,
            col=1,
        )
    mean_return, mean_volume = result.means.get("return", math.nan), result.means.get("volume", math.nan)
    if math.isfinite(mean_return):
        fig.add_hline(y=mean_return, line_dash="dash", annotation_text="mean return (candidates)", row=1, col=1)
    if math.isfinite(mean_volume) and result.config.volume_threshold > 0:
        fig.add_hline(
            y=mean_volume * result.config.volume_threshold, line_dash="dash", annotation_text="volume bar", row=2, col=1
        )
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_yaxes(type="log", row=2, col=1)
    fig.update_yaxes(tickformat=".0%", row=3, col=1)
    fig.update_xaxes(categoryorder="array", categoryarray=list(ranked["symbol"]))
    fig.update_layout(
        barmode="overlay",
        height=950,
        title=f"defipm classify at {result.at:%Y-%m-%d %H:%M} UTC: {result.summary()}",
        hovermode="x unified",
    )
    return fig


def write_chart(result: Classification, path: str | Path) -> Path:
    """Write the chart as a self-contained HTML page; returns its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    figure = classification_figure(result)
    target.write_text(figure.to_html(full_html=True, include_plotlyjs=True), encoding="utf-8")  # type: ignore[attr-defined]
    return target
