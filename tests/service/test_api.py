"""The JSON API against the real app, on SQLite and PostgreSQL, over stores written by real paper cycles: the
figures equal the store's, pages cover every row once, bad input is refused naming the problem."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from defipm.config import load_settings
from defipm.manager import RISK_LIMITS
from defipm.service.app import ServiceConfig, create_app
from defipm.store import Store
from defipm.store.models import FillRecord, OrderRecord, PaperPosition

from .conftest import RUN, paper_config, run_cycles

HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")


@pytest.fixture
def served(store: Store, tmp_path: Path) -> tuple[TestClient, Store, Path]:
    """A store with four real paper cycles, and a client of the app over it."""
    config = paper_config(tmp_path, store.url)
    run_cycles(config, 4)
    app = create_app(ServiceConfig(store.url, tmp_path / "token", tmp_path / "reports"))
    return TestClient(app), store, config


def test_status_equals_the_store(served: tuple[TestClient, Store, Path]) -> None:
    client, store, config = served
    status = client.get(f"/api/runs/{RUN}").json()
    (_, last_equity) = store.equity_history(RUN)[-1]
    assert Decimal(status["equity"]) == last_equity
    recent = store.recent_cycles(RUN, 10)
    assert [c["id"] for c in status["last_cycles"]] == [c.id for c in recent]
    assert status["last_cycles"][0]["notes"] == json.loads(recent[0].notes or "[]")
    targets = store.targets_of(recent[0].id)
    with store.engine.connect() as conn:
        book = {r.symbol: r for r in conn.execute(select(PaperPosition).where(PaperPosition.account == RUN))}
    by_symbol = {p["symbol"]: p for p in status["positions"]}
    for symbol, row in book.items():
        assert Decimal(by_symbol[symbol]["quantity"]) == row.quantity
        assert Decimal(by_symbol[symbol]["value"]) == row.quantity * row.price
        assert by_symbol[symbol]["target_after_limits"] == targets[symbol][1]
    assert Decimal(status["book_equity"]) == last_equity  # the book marks equal the closing snapshot
    limits = json.loads(store.get_setting(RUN, RISK_LIMITS) or "{}")
    assert status["risk"]["limits"] == limits and limits["max_weight"] == load_settings(config).risk.max_weight
    assert status["running"] is None and status["risk"]["kill_switch"] == {"engaged": False, "reason": None}
    assert client.get("/api/runs").json()["runs"][0]["run"] == RUN


def test_status_names_the_lock_holder_while_a_process_runs(served: tuple[TestClient, Store, Path]) -> None:
    import os

    from defipm.assembly import build_portfolio

    client, _, config = served
    with build_portfolio(load_settings(config)):
        running = client.get(f"/api/runs/{RUN}").json()["running"]
        assert running["pid"] == os.getpid() and running["live"]
    assert client.get(f"/api/runs/{RUN}").json()["running"] is None


def _all_pages(client: TestClient, url: str, limit: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    cursor = None
    while True:
        page = client.get(url, params={"limit": limit, **({"cursor": cursor} if cursor else {})}).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


@pytest.mark.parametrize("kind", ["fills", "orders", "cycles"])
def test_pages_cover_every_row_once_newest_first(served: tuple[TestClient, Store, Path], kind: str) -> None:
    client, store, _ = served
    items = _all_pages(client, f"/api/runs/{RUN}/{kind}", 3)
    with store.engine.connect() as conn:
        if kind == "fills":
            expected = list(
                conn.execute(
                    select(FillRecord.id).where(FillRecord.run == RUN).order_by(FillRecord.id.desc())
                ).scalars()
            )
            assert [i["id"] for i in items] == expected
        elif kind == "orders":
            rows = conn.execute(select(OrderRecord).where(OrderRecord.run == RUN)).all()
            expected_ids = [
                r.client_order_id for r in sorted(rows, key=lambda r: (r.created_at, r.client_order_id), reverse=True)
            ]
            assert [i["client_order_id"] for i in items] == expected_ids
        else:
            assert [i["id"] for i in items] == [c.id for c in store.recent_cycles(RUN, 1000)]
    assert len(items) > 3  # more than one page was read


def test_a_cursor_stays_right_while_rows_are_written(served: tuple[TestClient, Store, Path]) -> None:
    client, store, config = served
    first = client.get(f"/api/runs/{RUN}/fills", params={"limit": 4}).json()
    run_cycles(config, 2)  # new fills arrive between two page requests
    rest = _all_pages_from(client, f"/api/runs/{RUN}/fills", first["next_cursor"])
    seen = [i["id"] for i in first["items"] + rest]
    with store.engine.connect() as conn:
        before = [
            i for i in conn.execute(select(FillRecord.id).order_by(FillRecord.id.desc())).scalars() if i <= seen[0]
        ]
    assert seen == before  # no fill repeated, none skipped, none of the new ones mixed in


def _all_pages_from(client: TestClient, url: str, cursor: str | None) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    while cursor is not None:
        page = client.get(url, params={"limit": 5, "cursor": cursor}).json()
        items += page["items"]
        cursor = page["next_cursor"]
    return items


def test_filters_by_symbol_and_time(served: tuple[TestClient, Store, Path]) -> None:
    client, _, _ = served
    fills = _all_pages(client, f"/api/runs/{RUN}/fills", 100)
    middle = sorted(f["timestamp"] for f in fills)[len(fills) // 2]  # type: ignore[type-var]
    newer = client.get(f"/api/runs/{RUN}/fills", params={"since": middle, "limit": 1000}).json()["items"]
    assert newer and all(f["timestamp"] >= middle for f in newer)  # type: ignore[operator]
    assert len(newer) == sum(1 for f in fills if f["timestamp"] >= middle)  # type: ignore[operator]
    older = client.get(f"/api/runs/{RUN}/fills", params={"until": middle, "limit": 1000}).json()["items"]
    assert len(older) + len(newer) == len(fills)
    syn0 = client.get(f"/api/runs/{RUN}/orders", params={"symbol": "SYN000", "limit": 1000}).json()["items"]
    assert syn0 and {o["symbol"] for o in syn0} == {"SYN000"}
    assert len(syn0) == sum(1 for o in _all_pages(client, f"/api/runs/{RUN}/orders", 100) if o["symbol"] == "SYN000")


def test_equity_series_and_flows(served: tuple[TestClient, Store, Path]) -> None:
    client, store, _ = served
    points = client.get(f"/api/runs/{RUN}/equity").json()["points"]
    assert [Decimal(p["equity"]) for p in points] == [e for _, e in store.equity_history(RUN)]
    peak = Decimal(0)
    for p in points:
        peak = max(peak, Decimal(p["equity"]))
        assert p["drawdown"] == pytest.approx(float(Decimal(p["equity"]) / peak - 1), abs=1e-12)
    assert client.get(f"/api/runs/{RUN}/flows").json() == {"items": [], "next_cursor": None}


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/runs/{RUN}/fills?limit=0", "limit"),
        (f"/api/runs/{RUN}/fills?limit=ten", "limit"),
        (f"/api/runs/{RUN}/orders?since=2025-01-01T00:00:00", "since"),
        (f"/api/runs/{RUN}/orders?until=yesterday", "until"),
        (f"/api/runs/{RUN}/fills?cursor=bm90LWEtY3Vyc29y", "cursor"),
        (f"/api/runs/{RUN}/cycles?cursor=WyJub3QgYSB0aW1lIiwiaWQiXQ", "cursor"),
        (f"/api/runs/{RUN}/fills?symbol=a%20b", "symbol"),
        ("/api/events?kinds=cycle,trades", "kinds"),
        ("/api/reports/%2E%2E", "name"),
        ("/api/reports/a%2Fb", "name"),
        ("/api/reports/..%5Cwindows", "name"),
    ],
)
def test_malformed_input_is_a_422_naming_the_field(
    served: tuple[TestClient, Store, Path], url: str, field: str
) -> None:
    client, _, _ = served
    answer = client.get(url)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field and field in answer.json()["error"]
    assert all(h in answer.headers for h in HEADERS)


def test_unknown_run_is_a_404_naming_it(served: tuple[TestClient, Store, Path]) -> None:
    client, _, _ = served
    for url in ("/api/runs/nobody", "/api/runs/nobody/fills", "/api/runs/nobody/equity"):
        answer = client.get(url)
        assert answer.status_code == 404 and "'nobody'" in answer.json()["error"] and RUN in answer.json()["error"]
    page = client.get("/runs/nobody")
    assert page.status_code == 404 and "nobody" in page.text and page.headers["x-frame-options"] == "DENY"


def test_openapi_document_describes_reads_and_writes(served: tuple[TestClient, Store, Path]) -> None:
    client, _, _ = served
    document = client.get("/openapi.json").json()
    for path in ("/api/runs", "/api/runs/{run}", "/api/runs/{run}/fills", "/api/arb/opportunities", "/api/events"):
        assert "get" in document["paths"][path]
    body = document["paths"]["/api/runs/{run}/kill-switch"]["post"]["requestBody"]["content"]["application/json"]
    assert body["schema"]["required"] == ["engaged"]
    assert {"limit", "cursor", "since", "until", "symbol"} <= {
        p["name"] for p in document["paths"]["/api/runs/{run}/fills"]["get"]["parameters"]
    }
