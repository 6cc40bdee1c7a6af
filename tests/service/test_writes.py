"""Write actions: the kill switch and the arbitrage pause behind the bearer token, each request audited; refused
writes change nothing; the database's absence or lock is a 503 with the cause."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from defipm.arb.risk import ArbRiskManager
from defipm.arb.risk_state import StoredRiskState, set_paused
from defipm.assembly import build_portfolio
from defipm.config import load_settings
from defipm.core.errors import ConfigError
from defipm.core.reports import CycleStatus
from defipm.manager import KILL_SWITCH
from defipm.service.access_token import AccessToken
from defipm.service.app import ServiceConfig, create_app
from defipm.store import Store
from defipm.store.models import AuditRecord

from .conftest import RUN, paper_config, run_cycles


@pytest.fixture
def served(store: Store, tmp_path: Path) -> tuple[TestClient, Store, Path, str]:
    config = paper_config(tmp_path, store.url)
    run_cycles(config, 2)
    app = create_app(ServiceConfig(store.url, tmp_path / "secret" / "token", tmp_path / "reports"))
    token = (tmp_path / "secret" / "token").read_text().strip()
    return TestClient(app), store, config, token


def _audit(store: Store) -> list[AuditRecord]:
    with store.engine.connect() as conn:
        return list(conn.execute(select(AuditRecord).order_by(AuditRecord.id)).all())  # type: ignore[arg-type]


def test_token_file_is_private_and_the_token_never_shown(
    served: tuple[TestClient, Store, Path, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, _, _, token = served
    path = tmp_path / "secret" / "token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert len(token) >= 32
    again = AccessToken.load_or_create(path)  # a restart reads the same token
    assert again.matches(f"Bearer {token}") and not again.created
    caplog.set_level(logging.DEBUG)
    logging.getLogger("defipm.test").info("header was Bearer %s", token)
    assert token not in caplog.text
    shown = [client.get(u).text for u in ("/", f"/runs/{RUN}", "/arb", "/openapi.json", "/metrics", "/api/audit")]
    shown.append(
        client.post(
            f"/api/runs/{RUN}/kill-switch", json={"engaged": "yes"}, headers={"Authorization": f"Bearer {token}"}
        ).text
    )
    assert not any(token in text for text in shown)
    os.chmod(path, 0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        AccessToken.load_or_create(path)


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-token-of-enough-length-000000000", "Basic abc", "Bearer"]
)
def test_a_write_without_the_token_is_401_changes_nothing_and_is_audited(
    served: tuple[TestClient, Store, Path, str], authorization: str | None
) -> None:
    client, store, _, _ = served
    headers = {"Authorization": authorization} if authorization else {}
    answer = client.post(f"/api/runs/{RUN}/kill-switch", json={"engaged": True, "reason": "x"}, headers=headers)
    assert answer.status_code == 401 and answer.headers["www-authenticate"].startswith("Bearer")
    assert store.get_setting(RUN, KILL_SWITCH) is None
    (entry,) = _audit(store)
    assert entry.outcome == "unauthorized" and entry.status_code == 401 and entry.run == RUN
    assert entry.client.startswith("testclient") and "wrong" not in entry.detail.replace("wrong bearer", "")


def test_kill_switch_engages_halts_the_next_cycle_and_releases(served: tuple[TestClient, Store, Path, str]) -> None:
    client, store, config, token = served
    auth = {"Authorization": f"Bearer {token}"}
    engaged = client.post(f"/api/runs/{RUN}/kill-switch", json={"engaged": True, "reason": "maintenance"}, headers=auth)
    assert engaged.status_code == 200 and engaged.json()["kill_switch"] == {"engaged": True, "reason": "maintenance"}
    assert store.get_setting(RUN, KILL_SWITCH) == "maintenance"
    with build_portfolio(load_settings(config)) as portfolio:  # the loop obeys it: nothing is traded
        assert portfolio.manager.manage_portfolio().status is CycleStatus.HALTED
    assert client.get(f"/api/runs/{RUN}").json()["risk"]["kill_switch"]["engaged"]
    released = client.post(f"/api/runs/{RUN}/kill-switch", json={"engaged": False}, headers=auth)
    assert released.status_code == 200 and store.get_setting(RUN, KILL_SWITCH) is None
    assert [(e.action, e.outcome, e.detail) for e in _audit(store)] == [
        ("kill_switch.engage", "done", "maintenance"),
        ("kill_switch.release", "done", ""),
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [({"engaged": True}, "reason"), ({"engaged": "true", "reason": "x"}, "engaged"), ({"on": True}, "engaged"),
     ({"engaged": True, "reason": "x", "extra": 1}, "extra"), ("not json", "body")],
)  # fmt: skip
def test_a_malformed_write_is_422_naming_the_field_and_audited(
    served: tuple[TestClient, Store, Path, str], body: object, field: str
) -> None:
    client, store, _, token = served
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    raw = body if isinstance(body, str) else None
    answer = client.post(f"/api/runs/{RUN}/kill-switch", content=raw, json=None if raw else body, headers=auth)
    assert answer.status_code == 422 and answer.json()["field"] == field
    assert store.get_setting(RUN, KILL_SWITCH) is None
    assert [(e.outcome, e.status_code) for e in _audit(store)] == [("invalid", 422)]


@pytest.mark.parametrize(
    ("path", "raw", "found", "shape"),
    [
        (
            f"/api/runs/{RUN}/kill-switch",
            "{bad",
            "body: not valid JSON (Expecting",
            '{"engaged": true, "reason": "..."}',
        ),
        (f"/api/runs/{RUN}/kill-switch", "", "body: not valid JSON (Expecting value", '{"engaged": false}'),
        (f"/api/runs/{RUN}/kill-switch", "[true]", "body: expected a JSON object, got a list", '{"engaged": true'),
        ("/api/arb/arb-1/pause", '"pause"', "body: expected a JSON object, got a string", '{"paused": true}'),
        ("/api/arb/arb-1/pause", "null", "body: expected a JSON object, got null", '{"paused": false}'),
    ],
)
def test_a_body_that_is_not_a_json_object_says_so_with_the_shape_expected(
    served: tuple[TestClient, Store, Path, str], path: str, raw: str, found: str, shape: str
) -> None:
    client, store, _, token = served
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    answer = client.post(path, content=raw, headers=auth)
    detail = answer.json()
    assert answer.status_code == 422 and detail["field"] == "body", detail
    assert found in detail["error"] and shape in detail["error"], detail
    assert [(e.outcome, e.status_code, e.detail.startswith(found)) for e in _audit(store)] == [("invalid", 422, True)]


def test_a_write_to_an_unknown_run_is_404_and_audited(served: tuple[TestClient, Store, Path, str]) -> None:
    client, store, _, token = served
    auth = {"Authorization": f"Bearer {token}"}
    answer = client.post("/api/runs/ghost/kill-switch", json={"engaged": True, "reason": "x"}, headers=auth)
    assert answer.status_code == 404 and "'ghost'" in answer.json()["error"]
    assert store.get_setting("ghost", KILL_SWITCH) is None
    paused = client.post("/api/arb/ghost/pause", json={"paused": True}, headers=auth)
    assert paused.status_code == 404
    assert [(e.action, e.outcome) for e in _audit(store)] == [
        ("kill_switch.engage", "not_found"),
        ("arb.pause", "not_found"),
    ]


def test_pause_set_by_the_service_holds_in_a_running_arbitrage_loop(
    served: tuple[TestClient, Store, Path, str],
) -> None:
    from tests.arb.test_risk_events import _opp

    client, store, _, token = served
    other = Store(store.url)  # the arbitrage process, with its own connection
    risk = ArbRiskManager(state=StoredRiskState(other, "arb-1"))
    risk.record_execution(True, 5)  # its state is stored: the run exists
    auth = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/arb/arb-1/pause", json={"paused": "yes"}, headers=auth).status_code == 422
    answer = client.post("/api/arb/arb-1/pause", json={"paused": True, "reason": "node upgrade"}, headers=auth)
    assert answer.status_code == 200 and answer.json()["risk"]["paused"] is True
    same = lambda o: o  # noqa: E731
    assert risk.check(_opp(), same).reason == "emergency pause is on"  # the loop read the pause before checking
    risk.record_execution(True, 7)  # a later save of the loop keeps the pause
    assert StoredRiskState(store, "arb-1").paused() is True
    client.post("/api/arb/arb-1/pause", json={"paused": False}, headers=auth)
    assert risk.check(_opp(), same).approved
    assert [e.action for e in _audit(store) if e.outcome == "done"] == ["arb.pause", "arb.resume"]
    other.close()


def test_set_paused_keeps_the_rest_of_the_state(store: Store) -> None:
    risk = ArbRiskManager(state=StoredRiskState(store, "arb-2"))
    for _ in range(3):
        risk.record_execution(False, -10)
    saved = set_paused(store, "arb-2", True)
    assert saved["paused"] and saved["consecutive_failures"] == 3 and saved["breaker_open_until"]


def test_missing_database_is_503_with_the_cause(tmp_path: Path) -> None:
    client = TestClient(create_app(ServiceConfig(f"sqlite:///{tmp_path}/none.db", tmp_path / "t")))
    for url in ("/api/runs", f"/api/runs/{RUN}", "/metrics", "/api/events"):
        answer = client.get(url)
        assert answer.status_code == 503 and "none.db does not exist" in answer.json()["error"], url
    assert not (tmp_path / "none.db").exists()  # the service never creates an empty store
    down = TestClient(create_app(ServiceConfig("postgresql+psycopg://u:hunter2@127.0.0.1:1/x", tmp_path / "t")))
    answer = down.get("/api/runs")
    assert answer.status_code == 503 and "hunter2" not in answer.text and "127.0.0.1:1" in answer.text


def test_locked_database_is_503_and_a_refused_write_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    config = paper_config(tmp_path, url)
    run_cycles(config, 1)
    client = TestClient(create_app(ServiceConfig(url, tmp_path / "t")))
    token = (tmp_path / "t").read_text().strip()
    assert client.get(f"/api/runs/{RUN}").status_code == 200
    holder = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert client.get(f"/api/runs/{RUN}").status_code == 200  # reads go on beside a writer (WAL)
        answer = client.post(f"/api/runs/{RUN}/kill-switch", json={"engaged": True, "reason": "x"},
                             headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert answer.status_code == 503 and "locked" in answer.json()["error"]
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert Store(url).get_setting(RUN, KILL_SWITCH) is None
