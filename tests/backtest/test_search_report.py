"""The grid search's HTML report: in-sample and out-of-sample heatmaps side by side hold every grid point's figure,
the choice stays the training part's, and hostile grid values are escaped."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from defipm.backtest import BacktestConfig
from defipm.backtest.search import search
from defipm.backtest.search_report import grid_dimensions, heatmap, write_search_html
from defipm.data.panel import PricePanel
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.momentum import MomentumOracle

CFG = BacktestConfig(benchmark=None)


@pytest.fixture(scope="module")
def panel() -> PricePanel:
    return synthetic_panel(4, 160, seed=5)


def test_every_point_is_tested_and_the_choice_is_still_in_sample(panel: PricePanel) -> None:
    space = {"lookback": [3, 8], "n_long": [1, 2]}
    full = search(panel, MomentumOracle, space, schedules=["24h", "48h"], config=CFG, workers=1,
                  test_every_point=True)  # fmt: skip
    plain = search(panel, MomentumOracle, space, schedules=["24h", "48h"], config=CFG, workers=1)
    fold, base = full.folds[0], plain.folds[0]
    assert fold.chosen == base.chosen and fold.in_sample == base.in_sample  # testing every point changes no choice
    assert len(fold.test_table) == 8 and not base.test_table
    chosen = [row for row in fold.test_table if row["params"] == fold.chosen.params
              and row["schedule"] == fold.chosen.schedule]  # fmt: skip
    assert chosen[0]["sharpe"] == base.out_of_sample["sharpe"] == fold.out_of_sample["sharpe"]
    assert full.to_dict()["folds"][0]["test_grid"] == fold.test_table


def test_heatmap_cells_are_the_grid_best_over_the_other_dimension() -> None:
    table = [{"params": {"a": a, "b": b}, "schedule": s, "sharpe": a * 10 + b + (0.5 if s == "48h" else 0.0)}
             for a in (1, 2) for b in (3, 4, 5) for s in ("24h", "48h")]  # fmt: skip
    table.append({"params": {"a": 3, "b": 3}, "schedule": "24h", "error": "ValueError: boom"})
    assert grid_dimensions(table) == ["a", "b", "schedule"]
    xs, ys, z = heatmap(table, "sharpe", "a", "b")
    assert xs == ["1", "2", "3"] and ys == ["3", "4", "5"]
    assert z == [[13.5, 23.5, None], [14.5, 24.5, None], [15.5, 25.5, None]]  # best schedule; the error is a gap
    _, _, z_low = heatmap([{**r, "annual_volatility": r.get("sharpe")} for r in table], "annual_volatility", "a", "b")
    assert z_low[0][:2] == [13.0, 23.0]  # lower is better: the 24h schedule's
    assert heatmap(table, "sharpe", "a", None)[1] == [""]  # one dimension: one row


def test_search_html_has_both_heatmaps_and_escapes_values(panel: PricePanel, tmp_path: Path) -> None:
    hostile = "<img src=x onerror=alert(1)>"
    result = search(panel, MomentumOracle, {"lookback": [3, 8]}, schedules=["24h", "48h"], config=CFG, workers=1,
                    walk_forward=2, test_every_point=True)  # fmt: skip
    html = write_search_html(result, tmp_path / "search.html", title=hostile).read_text()
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    data, layout = plotly_figures(html)[0]
    maps = [t for t in data if t["type"] == "heatmap"]
    assert len(maps) == 4  # two folds, in- and out-of-sample each
    titles = [a["text"].split(" ")[:3] for a in layout["annotations"] if a["text"].startswith("fold")]
    assert titles == [["fold", "1", "in-sample"], ["fold", "1", "out-of-sample"], ["fold", "2", "in-sample"],
                      ["fold", "2", "out-of-sample"]]  # fmt: skip
    for k, fold in enumerate(result.folds):
        for trace, table in ((maps[2 * k], fold.table), (maps[2 * k + 1], fold.test_table)):
            assert trace["x"] == ["3", "8"] and trace["y"] == ["24h", "48h"]  # lookback across, schedule down
            cells = {(r["params"]["lookback"], r["schedule"]): r["sharpe"] for r in table}
            assert trace["z"] == [[cells[(3, s)], cells[(8, s)]] for s in ("24h", "48h")]


def plotly_figures(html: str) -> list[tuple[list[dict], dict]]:
    """(traces, layout) of every ``Plotly.newPlot`` call in a page."""
    decoder, out = json.JSONDecoder(), []
    for match in re.finditer(r'Plotly\.newPlot\(\s*"[^"]+",\s*', html):
        data, end = decoder.raw_decode(html, match.end())
        layout, _ = decoder.raw_decode(html, end + len(html[end:]) - len(html[end:].lstrip(", \n")))
        out.append((data, layout))
    return out
