"""Fixtures shared by the whole suite: stores on SQLite and on a real PostgreSQL server started for the session, and
a headless Chromium for the browser tests (the dashboard's and the backtest report's)."""

from __future__ import annotations

import dataclasses
import os
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from defipm.core.orders import Fill, Order, OrderResult
from defipm.store import Store
from defipm.testing.postgres import postgres_bindir, temporary_postgres

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SHARED_DATA = Path(os.environ.get("DEFIPM_DATA") or SHARED / "data")
"""Real market data: ``../shared/data`` beside the repository, or ``$DEFIPM_DATA`` (as the benchmarks read it)."""
T0 = datetime(2024, 1, 1, tzinfo=UTC)
VALUE_CLASSES = (Order, Fill, OrderResult)


def _guard_value_class(cls: type) -> None:
    """Make ``cls`` refuse any assignment to a field already set, for the whole test session.

    These values are not declared frozen (that makes them five times dearer to build on the backtest's hot path),
    so the suite enforces what ``frozen`` would: any code the tests run that mutates one fails loudly."""

    def __setattr__(self: object, name: str, value: object) -> None:
        try:
            getattr(self, name)
        except AttributeError:  # an unset slot: the first assignment, from __init__
            object.__setattr__(self, name, value)
            return
        raise dataclasses.FrozenInstanceError(f"cannot assign to field {name!r} of a {cls.__name__}: it is a value")

    def __delattr__(self: object, name: str) -> None:
        raise dataclasses.FrozenInstanceError(f"cannot delete field {name!r} of a {cls.__name__}: it is a value")

    cls.__setattr__ = __setattr__  # type: ignore[assignment,method-assign]
    cls.__delattr__ = __delattr__  # type: ignore[assignment,method-assign]


for _cls in VALUE_CLASSES:
    _guard_value_class(_cls)


@pytest.fixture(scope="session")
def shared_prices() -> Path:
    """The real price folders (``daily``, ``hourly``, ``daily_wide``); skips the test where they are absent."""
    folder = SHARED_DATA / "prices"
    if not folder.is_dir():
        pytest.skip(f"real price data not found at {folder} (set DEFIPM_DATA to the shared data folder)")
    return folder


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    if postgres_bindir() is None:
        message = "PostgreSQL server binaries not found: install postgresql (scripts/test does) to run these tests"
        if os.environ.get("DEFIPM_REQUIRE_POSTGRES"):
            pytest.fail(message)
        pytest.skip(message)
    with temporary_postgres() as url:
        yield url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'defipm.db'}"


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The same tests against SQLite and PostgreSQL (a fresh schema each time)."""
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'defipm.db'}")
    else:
        url = request.getfixturevalue("postgres_url")
        from sqlalchemy import create_engine, text

        name = f"t_{abs(hash(request.node.nodeid)) % 10**10}"
        admin = create_engine(url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP DATABASE IF EXISTS {name}"))
            conn.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        s = Store(url.rsplit("/", 1)[0] + f"/{name}")
    yield s
    s.close()


CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"


def _browser_missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")) or not (
        Path(DRIVER).exists() or shutil.which("chromedriver")
    ):
        return "Chromium or chromedriver not installed (apt-get install chromium chromium-driver; scripts/test does)"
    try:
        import selenium  # noqa: F401
    except ModuleNotFoundError:
        return "selenium is not installed (the dev extra)"
    return None


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium driven by Selenium (one per test module); skips when missing, fails under
    DEFIPM_REQUIRE_BROWSER."""
    missing = _browser_missing()
    if missing:
        if os.environ.get("DEFIPM_REQUIRE_BROWSER"):
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM if Path(CHROMIUM).exists() else str(shutil.which("chromium"))
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,2000"):  # fmt: skip
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(
        service=Service(DRIVER if Path(DRIVER).exists() else shutil.which("chromedriver")), options=options
    )
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()
