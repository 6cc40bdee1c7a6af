"""The grid search's HTML report: per fold, a heatmap of the metric over two grid dimensions, in-sample (where the
point was chosen) beside out-of-sample (how the same points did after), and a table of the choices.

The two dimensions drawn are the first two of the grid's parameters and ``schedule`` that take more than one
value; a cell over further dimensions shows the best value among them (the one a search would pick). Out-of-sample
cells need every point run on the test part (``search(..., test_every_point=True)``); without that only the chosen
point's cell is filled.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from defipm.backtest.report import Panel, TablePanel, figure_panel, finite_json, render_page
from defipm.backtest.search import LOWER_IS_BETTER, Fold, SearchResult


def grid_dimensions(table: list[dict[str, Any]]) -> list[str]:
    """The grid's dimensions (parameter names, then "schedule") that take more than one value, in order."""
    if not table:
        return []
    names = [*table[0]["params"], "schedule"]
    return [n for n in names if len({_label(_coordinate(row, n)) for row in table}) > 1]


def _coordinate(row: dict[str, Any], name: str) -> Any:
    return row["schedule"] if name == "schedule" else row["params"].get(name)


def _label(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(finite_json(value))


def heatmap(
    table: list[dict[str, Any]], metric: str, x: str | None, y: str | None
) -> tuple[list[str], list[str], list[list[float | None]]]:
    """(x labels, y labels, z[y][x]): ``metric`` over dimensions ``x`` and ``y`` (None: a single row or column),
    the best over any other dimension; None where no point there ran (an error) or the figure is undefined."""
    xs = _ordered([_label(_coordinate(r, x)) if x else "" for r in table])
    ys = _ordered([_label(_coordinate(r, y)) if y else "" for r in table])
    z: list[list[float | None]] = [[None] * len(xs) for _ in ys]
    sign = -1.0 if metric in LOWER_IS_BETTER else 1.0
    for row in table:
        value = row.get(metric)
        if not isinstance(value, int | float) or not math.isfinite(value):
            continue
        i = ys.index(_label(_coordinate(row, y)) if y else "")
        j = xs.index(_label(_coordinate(row, x)) if x else "")
        current = z[i][j]
        if current is None or sign * value > sign * current:
            z[i][j] = float(value)
    return xs, ys, z


def _ordered(labels: list[str]) -> list[str]:
    return list(dict.fromkeys(labels))


def search_figure(result: SearchResult) -> Any:
    """Heatmaps of every fold: in-sample on the left, out-of-sample on the right, on one colour scale."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    folds, metric = result.folds, result.metric
    dims = grid_dimensions(folds[0].table) if folds else []
    x, y = [*dims, None, None][:2]
    titles = [f"fold {k} {part}" for k, f in enumerate(folds, 1)
              for part in (f"in-sample {f.train[0]:%Y-%m-%d}..{f.train[1]:%Y-%m-%d}",
                           f"out-of-sample {f.test[0]:%Y-%m-%d}..{f.test[1]:%Y-%m-%d}")]  # fmt: skip
    fig = make_subplots(rows=len(folds), cols=2, subplot_titles=titles, horizontal_spacing=0.12)
    for k, fold in enumerate(folds, 1):
        for col, table in ((1, fold.table), (2, _test_table(fold))):
            xs, ys, z = heatmap(table, metric, x, y)
            fig.add_trace(go.Heatmap(x=xs, y=ys, z=z, coloraxis="coloraxis", texttemplate="%{z:.3g}",
                                     name=f"fold {k}"), row=k, col=col)  # fmt: skip
            chosen = fold.chosen
            cx = _label(chosen.schedule if x == "schedule" else chosen.params.get(x)) if x else ""
            cy = _label(chosen.schedule if y == "schedule" else chosen.params.get(y)) if y else ""
            fig.add_trace(go.Scatter(x=[cx], y=[cy], mode="markers", marker={"symbol": "x", "size": 14, "color": "black"},
                                     name="chosen", showlegend=k == 1 and col == 1), row=k, col=col)  # fmt: skip
        fig.update_xaxes(title_text=x or "", type="category", row=k)
        fig.update_yaxes(title_text=y or "", type="category", row=k)
    others = ", ".join(dims[2:])
    note = f" (best over {others})" if others else ""
    fig.update_layout(title=f"{metric} over the grid{note}; x marks the point chosen in-sample",
                      height=160 + 360 * max(len(folds), 1), coloraxis={"colorscale": "RdYlGn"})  # fmt: skip
    return fig


def _test_table(fold: Fold) -> list[dict[str, Any]]:
    """Every point's out-of-sample figures, or only the chosen point's when the others were not run."""
    if fold.test_table:
        return fold.test_table
    return [{"params": fold.chosen.params, "schedule": fold.chosen.schedule, **fold.out_of_sample}]


def search_panels(result: SearchResult) -> list[Panel]:
    """The heatmaps, then one row per fold: its parts, the chosen point, its in- and out-of-sample figures."""
    metric = result.metric
    rows = [(k, f"{f.train[0]:%Y-%m-%d}..{f.train[1]:%Y-%m-%d}", f"{f.test[0]:%Y-%m-%d}..{f.test[1]:%Y-%m-%d}",
             f.chosen.label(), _value(f.in_sample.get(metric)),
             _value(f.out_of_sample.get(metric, f.out_of_sample.get("error"))),
             _value(f.out_of_sample.get("total_return"), percent=True)) for k, f in enumerate(result.folds, 1)]  # fmt: skip
    columns = ("fold", "train", "test", "chosen", f"in-sample {metric}", f"out-of-sample {metric}", "OOS return")
    return [figure_panel(search_figure(result), first=True), TablePanel("Folds", columns, rows, style="metrics")]


def _value(value: Any, percent: bool = False) -> str:
    if isinstance(value, int | float) and math.isfinite(value):
        return f"{value:.2%}" if percent else f"{value:.4g}"
    return "n/a" if value is None or isinstance(value, float) else str(value)


def write_search_html(result: SearchResult, path: str | Path, title: str = "") -> Path:
    """Write the search's self-contained HTML report (autoescaped); returns its path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    html = render_page("search.html", title=title, metric=result.metric, folds=len(result.folds),
                       panels=search_panels(result))  # fmt: skip
    target.write_text(html, encoding="utf-8")
    return target
