"""The evaluation report: the policy beside the baselines on the test part, as a rich table, a JSON file and a
self-contained Plotly HTML page (equity curves and the figures table; plotly.js embedded, no network needed).

Kept apart from the backtest's report (``defipm.backtest.report``): this one compares several runs of the
environment over one period, where the backtest's describes one replay in depth.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

from rich.table import Table

from defipm.backtest.report import finite_json
from defipm.data.panel import to_datetime
from defipm.rl.evaluation import Evaluation

COLUMNS = (
    ("total_return", "return", "pct"),
    ("cagr", "CAGR", "pct"),
    ("annual_volatility", "volatility", "pct"),
    ("sharpe", "Sharpe", "num"),
    ("sortino", "Sortino", "num"),
    ("max_drawdown", "max DD", "pct"),
    ("beta", "beta", "num"),
    ("alpha", "alpha", "pct"),
    ("capm_expected_return", "CAPM E[r]", "pct"),
    ("fees_paid", "fees", "money"),
    ("annual_turnover", "turnover/yr", "num"),
)
"""Figures shown, in order: (``PerformanceSummary`` key, heading, format)."""


def cell(value: Any, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    if kind == "pct":
        return f"{value:+.2%}"
    if kind == "money":
        return f"{value:,.2f}"
    return f"{value:.3f}"


def title(evaluation: Evaluation) -> str:
    from defipm.core.schedule import spell_duration

    m, span, card = evaluation.market, evaluation.span, evaluation.card
    bench = evaluation.benchmark or "none"
    every = spell_duration(card.interval * card.env.rebalance_every)
    return (
        f"{card.ref}: test part {m.time(span.start):%Y-%m-%d %H:%M} to {m.time(span.stop):%Y-%m-%d %H:%M}, "
        f"every {every} ({card.env.rebalance_every} bar(s)); benchmark {bench}, risk-free {evaluation.risk_free:.2%}/yr"
    )


def evaluation_table(evaluation: Evaluation) -> Table:
    """Every contender's figures, one row each."""
    table = Table(title=title(evaluation))
    table.add_column("")
    for _, heading, _ in COLUMNS:
        table.add_column(heading, justify="right", overflow="fold")  # a narrow terminal folds a number, never cuts it
    for c in evaluation.contenders:
        figures = c.figures.to_dict()
        table.add_row(c.label, *(cell(figures.get(key), kind) for key, _, kind in COLUMNS))
    if evaluation.notes:
        table.caption = "; ".join(evaluation.notes)
    return table


def evaluation_dict(evaluation: Evaluation) -> dict[str, Any]:
    """JSON-ready: the card, the period, and every contender's figures and equity curve."""
    m = evaluation.market
    return finite_json(
        {
            "model": json.loads(evaluation.card.model_dump_json()),
            "period": [m.time(evaluation.span.start).isoformat(), m.time(evaluation.span.stop).isoformat()],
            "benchmark": evaluation.benchmark,
            "risk_free": evaluation.risk_free,
            "notes": list(evaluation.notes),
            "contenders": [
                {
                    "label": c.label,
                    "figures": c.figures.to_dict(),
                    "times": [to_datetime(m.timestamps[b]).isoformat() for b in c.episode.bars],
                    "equity": c.episode.equity.tolist(),
                }
                for c in evaluation.contenders
            ],
        }
    )


def write_evaluation_json(evaluation: Evaluation, target: Path) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(evaluation_dict(evaluation), indent=2, allow_nan=False))
    return target


def write_evaluation_html(evaluation: Evaluation, target: Path) -> Path:
    """The equity curves of every contender and the figures table, one page."""
    import plotly.graph_objects as go

    m = evaluation.market
    figure = go.Figure()
    for c in evaluation.contenders:
        times = [to_datetime(m.timestamps[b]) for b in c.episode.bars]
        figure.add_trace(go.Scatter(x=times, y=c.episode.equity, mode="lines", name=c.label))
    figure.update_layout(title=title(evaluation), yaxis_title="equity", legend={"orientation": "h"})
    rows = "".join(
        "<tr><td>{}</td>{}</tr>".format(
            html.escape(c.label),
            "".join(f"<td>{cell(c.figures.to_dict().get(k), kind)}</td>" for k, _, kind in COLUMNS),
        )
        for c in evaluation.contenders
    )
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in COLUMNS)
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in evaluation.notes)
    page = figure.to_html(full_html=True, include_plotlyjs=True)
    table = f"<table border='1' cellpadding='4'><tr><th></th>{head}</tr>{rows}</table>{notes}"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page.replace("</body>", f"{table}</body>"), encoding="utf-8")
    return target
