"""The reports folder as the service lists it: a summary that cannot be read is marked unreadable in the list (JSON
and page), as on its own; a figure that is not a number shows as "-"."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from defipm.service.app import ServiceConfig, create_app
from defipm.service.reports import ReportFolder
from defipm.store import Store


@pytest.fixture
def reports(tmp_path: Path) -> Path:
    folder = tmp_path / "reports"
    for name, text in {
        "good": json.dumps({"oracle": "momentum", "metrics": {"sharpe": 1.5, "total_return": 0.25}}),
        "broken": "{bad",
        "listed": "[1, 2]",
        "flat": '{"oracle": "hold", "metrics": {"sharpe": NaN, "total_return": NaN, "max_drawdown": 0.0}}',
    }.items():
        (folder / name).mkdir(parents=True)
        (folder / name / "summary.json").write_text(text)
    return folder


@pytest.fixture
def client(tmp_path: Path, reports: Path) -> TestClient:
    url = f"sqlite:///{tmp_path}/s.db"
    Store(url).close()
    return TestClient(create_app(ServiceConfig(url, tmp_path / "token", reports)))


def test_the_listing_marks_each_unreadable_summary_as_its_own_answer_does(client: TestClient) -> None:
    listing = {r["name"]: r for r in client.get("/api/reports").json()["reports"]}
    assert listing["good"]["unreadable"] is None and listing["flat"]["unreadable"] is None
    assert listing["broken"]["unreadable"].startswith("summary.json: Expecting property name")
    assert listing["listed"]["unreadable"] == "summary.json: not a JSON object"
    for name in ("broken", "listed"):
        alone = client.get(f"/api/reports/{name}").json()["summary"]
        assert alone == {"unreadable": listing[name]["unreadable"]}


def _row(page: str, name: str) -> str:
    found = re.search(rf'<tr data-report="{name}">(.*?)</tr>', page, re.S)
    assert found is not None, name
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", found.group(1))).split())


def test_the_page_says_unreadable_and_shows_a_nan_figure_as_a_dash(client: TestClient) -> None:
    page = client.get("/reports").text
    assert _row(page, "broken").startswith("broken unreadable: summary.json: Expecting property name")
    assert _row(page, "listed").startswith("listed unreadable: summary.json: not a JSON object")
    flat = _row(page, "flat")
    assert flat.startswith("flat hold → - - +0.00%") and "nan" not in flat.lower()
    assert _row(page, "good").startswith("good momentum → +25.00% 1.50 -")


def test_a_readable_summary_is_served_as_written(reports: Path) -> None:
    folder = ReportFolder(reports)
    assert folder.summary("good")["summary"] == json.loads((reports / "good" / "summary.json").read_text())
    assert folder.names() == ["broken", "flat", "good", "listed"]
