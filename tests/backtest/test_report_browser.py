"""The backtest report in a real headless Chromium (the suite's ``browser`` fixture): it renders every figure
offline without a JavaScript error, and the log-scale button switches the equity axis."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from defipm.backtest import BacktestConfig, run_backtest
from defipm.backtest.report import write_report
from defipm.data.synthetic import synthetic_panel
from defipm.oracles.momentum import MomentumOracle

pytestmark = pytest.mark.browser


def test_report_renders_without_errors_and_switches_to_log(browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    panel = synthetic_panel(4, 120, seed=3)
    result = run_backtest(panel, lambda v: MomentumOracle(v, lookback=5, n_long=2, n_short=1),
                          BacktestConfig(benchmark="SYN000"))  # fmt: skip
    write_report(result, tmp_path, panel)
    browser.get_log("browser")  # drop what earlier pages logged
    browser.get((tmp_path / "report.html").as_uri())
    figures = "return document.querySelectorAll('.js-plotly-plot').length"
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(figures) >= 6)
    assert browser.execute_script(figures) == 6  # main, yearly, monthly, rolling, distribution, P&L by asset
    drawn = browser.find_elements(By.CSS_SELECTOR, ".js-plotly-plot .main-svg")
    assert len(drawn) >= 6
    assert browser.execute_script("return document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.type") in (
        "linear", "-", None)  # fmt: skip
    log_button = [b for b in browser.find_elements(By.CSS_SELECTOR, ".updatemenu-button") if b.text == "log"]
    assert log_button, "the log-scale button is drawn"
    log_button[0].click()
    axis = "return document.querySelectorAll('.js-plotly-plot')[0].layout.yaxis.type"
    WebDriverWait(browser, 10).until(lambda d: d.execute_script(axis) == "log")
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not errors, errors
