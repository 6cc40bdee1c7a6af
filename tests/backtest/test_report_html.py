"""The HTML report escapes whatever names, reasons and settings hold, and keeps every section."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.backtest.engine import BacktestResult, BarEvent
from defipm.backtest.report import EVENTS_LISTED, report_panels, write_html
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.base import Rotation
from defipm.oracles.momentum import MomentumOracle

HOSTILE = "<script>alert('x')</script>&"


@pytest.fixture(scope="module")
def result() -> BacktestResult:
    panel = synthetic_panel(4, 120, seed=3)
    return run_backtest(
        panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=0), BacktestConfig(benchmark=None)
    )


def _hostile(result: BacktestResult, events: int = 3) -> BacktestResult:
    stamp = result.timestamps[10].astype("datetime64[ms]").astype(object).replace(tzinfo=UTC)
    rotation = Rotation(stamp, (HOSTILE,), (HOSTILE,), ("BTC",), f"why: {HOSTILE}")
    marks = [BarEvent(i % len(result.timestamps), "failed", f"{HOSTILE} #{i}") for i in range(events)]
    return replace(result, oracle=HOSTILE, source=HOSTILE, rotations=(rotation,), events=marks)


def test_every_name_reason_and_setting_is_escaped(result: BacktestResult, tmp_path: Path) -> None:
    html = write_html(_hostile(result), tmp_path / "report.html").read_text()
    assert "<script>alert" not in html  # never a live tag, in text or inside Plotly's JSON
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;" in html  # the header, tables and the data source
    for section in ("<h3>Rotations (1)</h3>", "<h3>Figures</h3>", "<h3>Events</h3>", "<h3>Settings</h3>"):
        assert section in html
    assert (
        "Monthly returns" in html and "Drawdown" in html and '"name":"rotations"' in html and '"name":"failed"' in html
    )


def test_sections_in_order_and_long_event_lists_cut(result: BacktestResult) -> None:
    panels = report_panels(_hostile(result, events=EVENTS_LISTED + 5))
    assert [p.kind for p in panels] == ["figure", "figure", "table", "table", "table", "text"]
    assert [getattr(p, "title", "") for p in panels][2:] == ["Rotations (1)", "Figures", "Events", "Settings"]
    events = panels[4]
    assert len(events.rows) == EVENTS_LISTED and events.note == "... and 5 more"  # type: ignore[union-attr]
    quiet = report_panels(replace(result, events=[], rotations=()))
    assert [getattr(p, "title", "") for p in quiet][2:] == ["Figures", "Events", "Settings"]
    assert quiet[3].rows == [] and "no halt" in quiet[3].empty  # type: ignore[union-attr]
