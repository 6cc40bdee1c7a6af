"""The dashboard in a real headless Chromium (Debian's chromium and chromium-driver, driven by Selenium): the
figures shown equal the store's, the kill switch works with the token and not without, and a cycle another process
writes appears live. A missing browser skips, or fails under DEFIPM_REQUIRE_BROWSER (CI): the ``browser`` fixture
is the suite's (``tests/conftest.py``)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from defipm.manager import KILL_SWITCH
from defipm.service.app import ServiceConfig, create_app
from defipm.store import Store

from .conftest import RUN, LiveServer, arb_demo, cycle_in_another_process, paper_config, run_cycles

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Store, Path, str]]:
    """One store with real paper cycles and a real arbitrage demo, served live."""
    folder = tmp_path_factory.mktemp("browser")
    url = f"sqlite:///{folder}/store.db"
    config = paper_config(folder, url)
    run_cycles(config, 3)
    arb_demo(url)
    app = create_app(ServiceConfig(url, folder / "token", folder / "reports", poll_interval=0.1))
    store = Store(url)
    with LiveServer(app) as server:
        yield server, store, config, (folder / "token").read_text().strip()
    store.close()


def _wait(driver: Any, test: Any, timeout: float = 15) -> Any:
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(driver, timeout, poll_frequency=0.05).until(test)


def _press(driver: Any, form: str, label: str, token: str | None) -> Any:
    from selenium.webdriver.common.by import By

    field = driver.find_element(By.CSS_SELECTOR, f"{form} input[name=token]")
    field.clear()
    if token:
        field.send_keys(token)
    result = driver.find_element(By.CSS_SELECTOR, f"{form} output")
    driver.execute_script("arguments[0].removeAttribute('data-status')", result)
    driver.find_element(By.XPATH, f"//form[@id='{form[1:]}']//button[text()='{label}']").click()
    return _wait(driver, lambda d: result.get_attribute("data-status"))


def test_run_page_shows_the_store_and_its_kill_switch_needs_the_token(browser: Any, world: Any) -> None:
    from selenium.webdriver.common.by import By

    server, store, _, token = world
    browser.get(f"{server.url}/runs/{RUN}")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#equity-chart .main-svg"))  # Plotly drew, CSP allowed it
    assert (
        Decimal(browser.find_element(By.ID, "equity").get_attribute("data-value")) == store.equity_history(RUN)[-1][1]
    )
    targets = store.targets_of(store.recent_cycles(RUN, 1)[0].id)
    for row in browser.find_elements(By.CSS_SELECTOR, "#positions tbody tr"):
        symbol = row.get_attribute("data-symbol")
        after_limits = row.find_elements(By.CSS_SELECTOR, "td")[6].get_attribute("data-value")
        assert float(after_limits) == targets[symbol][1]
    shown = [r.get_attribute("data-cycle") for r in browser.find_elements(By.CSS_SELECTOR, "#cycles tbody tr")]
    assert shown == [c.id for c in store.recent_cycles(RUN, 10)]
    assert _press(browser, "#kill-form", "Engage", None) == "401"
    assert store.get_setting(RUN, KILL_SWITCH) is None
    assert _press(browser, "#kill-form", "Engage", "not-the-token-" + "x" * 30) == "401"
    assert _press(browser, "#kill-form", "Engage", token) == "200"
    assert store.get_setting(RUN, KILL_SWITCH) == "engaged from the dashboard"
    assert browser.find_element(By.ID, "kill-state").text == "kill switch engaged"
    assert _press(browser, "#kill-form", "Release", token) == "200"
    assert store.get_setting(RUN, KILL_SWITCH) is None
    assert token not in browser.page_source
    errors = [e for e in browser.get_log("browser") if e["level"] == "SEVERE" and "(Unauthorized)" not in e["message"]]
    assert errors == []  # no script refused by the Content-Security-Policy, no script error, nothing failed to load


def test_a_cycle_from_another_process_appears_live(browser: Any, world: Any) -> None:
    from selenium.webdriver.common.by import By

    server, store, config, _ = world
    browser.get(f"{server.url}/runs/{RUN}")
    _wait(browser, lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-live") == "ready")
    done = cycle_in_another_process(config)
    assert done.returncode == 0, done.stderr
    latest = store.recent_cycles(RUN, 1)[0]
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, f"#cycles tr[data-cycle='{latest.id}']"), timeout=10)
    _wait(browser, lambda d: d.find_element(By.ID, "equity").get_attribute("data-value") == str(latest.equity))


def test_arbitrage_page_shows_profit_and_gas_and_pauses(browser: Any, world: Any) -> None:
    from selenium.webdriver.common.by import By

    server, store, _, token = world
    from sqlalchemy import select

    from defipm.arb.risk_state import StoredRiskState
    from defipm.store.arbitrage import ExecutionResultRecord

    with store.engine.connect() as conn:
        (result,) = conn.execute(select(ExecutionResultRecord)).all()
    browser.get(f"{server.url}/arb")
    _wait(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "#pnl-chart .main-svg"))
    row = browser.find_element(By.CSS_SELECTOR, "#strategies tbody tr")
    cells = row.find_elements(By.CSS_SELECTOR, "td")
    assert Decimal(cells[4].get_attribute("data-value")) == result.actual_profit_native
    assert int(cells[6].get_attribute("data-value")) == result.gas_used
    form = "form.pause-form"
    field = browser.find_element(By.CSS_SELECTOR, f"{form} input[name=token]")
    field.send_keys(token)
    browser.find_element(By.CSS_SELECTOR, f"{form} button[value=true]").click()
    _wait(browser, lambda d: d.find_element(By.CSS_SELECTOR, f"{form} output").get_attribute("data-status") == "200")
    assert StoredRiskState(store, "demo").paused() is True
    assert browser.find_element(By.CSS_SELECTOR, "#arb-runs td.paused").text == "paused"
