"""The HTML report, parsed: every panel is there with the values of a small seeded backtest (worked out here from
the prices and the equity, not read back from the report's own helpers), and whatever names, reasons and settings
hold is escaped."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import replace
from datetime import UTC
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.backtest.analysis import closes_for, top_weights
from defipm.backtest.engine import BacktestResult, BarEvent
from defipm.backtest.figures import TOP_WEIGHTS
from defipm.backtest.report import EVENTS_LISTED, report_panels, write_html
from defipm.core.metrics import max_drawdown, returns_from_equity, sharpe
from defipm.core.risk import RiskLimits
from defipm.data.panel import PricePanel
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.base import Rotation
from defipm.oracles.momentum import MomentumOracle

bs4 = pytest.importorskip("bs4")

HOSTILE = "<script>alert('x')</script>&"
LIMITS = RiskLimits(max_weight=0.15, max_drawdown=0.2, on_breach="freeze")


def _run(panel: PricePanel, benchmark: str | None) -> BacktestResult:
    return run_backtest(panel, lambda v: MomentumOracle(v, lookback=10, n_long=4, n_short=2),
                        BacktestConfig(benchmark=benchmark, risk=LIMITS))  # fmt: skip


@pytest.fixture(scope="module")
def panel() -> PricePanel:
    return synthetic_panel(12, 500, seed=3)


@pytest.fixture(scope="module")
def result(panel: PricePanel) -> BacktestResult:
    return _run(panel, "SYN000")


@pytest.fixture(scope="module")
def page(result: BacktestResult, panel: PricePanel, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("report") / "report.html"
    return bs4.BeautifulSoup(write_html(result, path, closes_for(result, panel)).read_text(), "html.parser")


def tables(page: Any) -> dict[str, list[list[str]]]:
    """Title (without its count) -> rows of cell texts (the header row first) of every table panel."""
    out = {}
    for h3 in page.find_all("h3"):
        table = h3.find_next_sibling()
        if table is not None and table.name == "table":
            out[re.sub(r" \(\d+\)$", "", h3.text)] = [
                [c.text for c in tr.find_all(["th", "td"])] for tr in table.find_all("tr")
            ]
    return out


def test_run_health_and_notes_are_shown(result: BacktestResult, page: Any) -> None:
    assert result.halted_cycles > 0 and any(e.kind == "breach" for e in result.events)  # the run did hit limits
    health = dict(tables(page)["Run health"][1:])  # type: ignore[arg-type]
    assert health["halted cycles"] == f"{result.halted_cycles} of {int(result.rebalanced.sum())}"
    assert health["risk limit breaches"] == str(sum(e.kind == "breach" for e in result.events))
    table = page.find("h3", string="Run health").find_next_sibling("table")
    assert table["class"] == ["warning"]
    notes = [row[0] for row in tables(page)["Notes"][1:]]
    assert notes == result.notes and any("momentum" in n for n in notes)


def test_metrics_table_has_units_and_the_benchmark(result: BacktestResult, panel: PricePanel, page: Any) -> None:
    rows = {row[0]: row[1:] for row in tables(page)["Metrics"]}
    assert rows["metric"] == ["unit", result.oracle, "benchmark (SYN000)"]
    ours = returns_from_equity(np.concatenate(([10_000.0], result.equity)))
    assert rows["sharpe"] == ["ratio, annualised", f"{sharpe(ours, 365.0):,.3f}", rows["sharpe"][2]]
    btc = panel.close[:, 0]
    assert rows["total return"][0] == "%" and rows["total return"][2] == f"{btc[-1] / btc[0] - 1:.2%}"
    assert rows["max drawdown"][2] == f"{float(np.min(btc / np.maximum.accumulate(btc) - 1)):.2%}"
    assert rows["alpha"][2] == ""  # a figure that does not describe a benchmark held is left blank
    cells = page.find("h3", string="Metrics").find_next_sibling("table").find_all("td", class_="neg")
    assert all(c.text.startswith("-") for c in cells) and cells  # negatives styled


def test_yearly_returns_and_worst_drawdowns(result: BacktestResult, page: Any) -> None:
    curve = np.concatenate(([10_000.0], result.equity))
    last_2020 = int(np.searchsorted(result.timestamps, np.datetime64("2021-01-01T00:00"), side="right"))
    yearly = tables(page)["Yearly returns"]  # the run starts at the close of 2020-01-01 00:00: no 2019 of its own
    assert result.timestamps[0] == np.datetime64("2020-01-01T00:00")
    assert [row[:2] for row in yearly[1:]] == [
        ["2020", f"{curve[last_2020] / curve[0] - 1:.2%}"],
        ["2021", f"{curve[-1] / curve[last_2020] - 1:.2%}"],
    ]
    drawdowns = tables(page)["Worst drawdowns"]
    assert drawdowns[0] == ["peak", "trough", "recovery", "depth", "under water"]
    assert drawdowns[1][3] == f"{max_drawdown(returns_from_equity(curve)):.2%}"
    metrics = {row[0]: row[2] for row in tables(page)["Metrics"]}
    assert drawdowns[1][4].removesuffix(" so far") == metrics["max drawdown duration"]  # one definition, one figure
    assert 1 < len(drawdowns) <= 6


def test_pnl_by_asset_adds_up_and_trades_match_the_traded_notional(result: BacktestResult, page: Any) -> None:
    pnl = {row[0]: float(row[1].replace(",", "")) for row in tables(page)["P&L by asset"][1:]}
    total = pnl.pop("total (final equity - initial cash)")
    assert total == pytest.approx(result.equity[-1] - 10_000.0, abs=0.006)
    assert pnl["fees"] == pytest.approx(-result.fees.sum(), abs=0.006)
    assert any(e.kind == "liquidation" for e in result.events)  # this run's book is liquidated once
    # a liquidation's closing fills pay their fee in the bar's fees like any other, so nothing is left unexplained
    assert abs(pnl["residual (liquidations, rounding)"]) < 0.01
    assert sum(pnl.values()) == pytest.approx(total, abs=0.1)
    trades = tables(page)["Trades"]
    title = page.find("h3", string=re.compile("^Trades")).text
    count = int(title.split("(")[1].rstrip(")"))
    assert len(trades) - 1 == min(count, 500) and trades[0][:3] == ["UTC", "symbol", "side"]
    assert trades[0] == ["UTC", "symbol", "side", "quantity", "fill price", "close", "fill notional", "fee", "slippage"]
    assert any(r[2].endswith("(liquidation)") for r in trades[1:])  # the liquidation's closes are listed as fills
    notional = sum(float(r[6].replace(",", "")) for r in trades[1:])
    fees = sum(float(r[7].replace(",", "")) for r in trades[1:])
    assert count <= 500 and notional == pytest.approx(result.traded_notional.sum(), rel=1e-6)  # the fills traded
    assert fees == pytest.approx(result.fees.sum(), abs=1e-4 * count)  # each fee shown to 4 decimals


def test_figures_log_switch_marks_and_rolling(result: BacktestResult, page: Any) -> None:
    html = str(page)
    assert '"updatemenus"' in html and '"label":"log"' in html and '"yaxis.type":"log"' in html
    names = set(re.findall(r'"name":"([^"]*)"', html))
    assert {"halt", "breach", "drawdown", "turnover", "Sharpe", "volatility", "beta vs SYN000"} <= names
    assert "Distribution of per-bar returns" in html and "Yearly returns" in html and "Monthly returns" in html
    groups = set(re.findall(r'"legendgroup":"w:([^"]*)"', html))
    assert len(groups) == TOP_WEIGHTS + 1 and "other" in groups  # 12 symbols held: the top 10 and "other"


def test_top_weights_keep_the_largest_and_sum_the_rest() -> None:
    w = np.array([[0.5, -0.1, 0.02, 0.0], [0.3, -0.3, 0.04, 0.0]])
    shown = top_weights(w, ("A", "B", "C", "D"), 1)
    assert [n for n, _ in shown] == ["A", "other"]
    np.testing.assert_allclose(shown[1][1], [-0.08, -0.26])  # B and C; D never held
    assert [n for n, _ in top_weights(w, ("A", "B", "C", "D"), 5)] == ["A", "B", "C"]


def _hostile(result: BacktestResult, events: int = 3) -> BacktestResult:
    stamp = result.timestamps[10].astype("datetime64[ms]").astype(object).replace(tzinfo=UTC)
    rotation = Rotation(stamp, (HOSTILE,), (HOSTILE,), ("BTC",), f"why: {HOSTILE}")
    marks = [BarEvent(i % len(result.timestamps), "failed", f"{HOSTILE} #{i}") for i in range(events)]
    return replace(result, oracle=HOSTILE, source=HOSTILE, rotations=(rotation,), events=marks, notes=[HOSTILE])


def test_every_name_reason_symbol_and_setting_is_escaped(panel: PricePanel, tmp_path: Path) -> None:
    symbols = tuple(f"<img src=x onerror=alert({j})>" for j in range(len(panel.symbols)))
    hostile_panel = dataclasses.replace(panel, symbols=symbols)
    run = _hostile(_run(hostile_panel, symbols[0]))
    html = write_html(run, tmp_path / "report.html", closes_for(run, hostile_panel)).read_text()
    assert "<script>alert" not in html and "<img src=x" not in html  # never a live tag, in text or Plotly's JSON
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" in html  # the header, tables and the data source
    assert '"name":"rotations"' in html and '"name":"failed"' in html  # rotations and events marked on the equity
    page = bs4.BeautifulSoup(html, "html.parser")
    found = tables(page)
    assert any(row[1] == symbols[1] for row in found["Trades"][1:])  # shown as text, escaped in the source
    assert symbols[0] in {row[0] for row in found["P&L by asset"]} and found["Notes"][1] == [HOSTILE]
    for section in ("Rotations", "Metrics", "Events", "Run health", "Yearly returns", "Worst drawdowns"):
        assert section in found


def test_sections_in_order_and_long_event_lists_cut(result: BacktestResult) -> None:
    titles = [getattr(p, "title", "") or p.kind for p in report_panels(_hostile(result, events=EVENTS_LISTED + 5))]
    assert titles == ["Run health", "Notes (1)", "figure", "Metrics", "figure", "Yearly returns", "figure", "figure",
                      "figure", "Worst drawdowns", f"Trades ({len(result.fills)})", "Rotations (1)", "Events",
                      "Settings"]  # fmt: skip
    events = report_panels(_hostile(result, events=EVENTS_LISTED + 5))[-2]
    assert len(events.rows) == EVENTS_LISTED and events.note == "... and 5 more"  # type: ignore[union-attr]
    quiet = report_panels(replace(result, events=[], rotations=(), notes=[], halted_cycles=0))
    assert [getattr(p, "title", "") for p in quiet][-2:] == ["Events", "Settings"]
    assert quiet[0].style == "metrics" and quiet[-2].rows == [] and "no halt" in quiet[-2].empty  # type: ignore[union-attr]
