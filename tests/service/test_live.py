"""Live parts: Server-Sent Events of rows another process writes, Prometheus metrics equal to the store's, the loops'
own metrics port, the reports folder, and the tail's watermarks (property tests)."""

from __future__ import annotations

import json
import socket
import threading
import time
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select
from typer.testing import CliRunner

from defipm.service.app import ServiceConfig, create_app
from defipm.service.security import is_loopback
from defipm.service.watermark import IdWatermark
from defipm.store import Store
from defipm.store.arbitrage import ExecutionResultRecord
from defipm.store.models import Cycle, FillRecord

from .conftest import RUN, LiveServer, arb_demo, cycle_in_another_process, free_port, paper_config, run_cycles


def _events(url: str, found: list[dict[str, object]], ready: threading.Event, stop: threading.Event) -> None:
    with httpx.Client(timeout=60) as client, client.stream("GET", url) as stream:
        kind = None
        for line in stream.iter_lines():
            if line.startswith("event:"):
                kind = line.split(":", 1)[1].strip()
                if kind == "ready":
                    ready.set()
            elif line.startswith("data:") and kind not in (None, "ready"):
                found.append({"kind": kind, **json.loads(line.split(":", 1)[1])})
            if stop.is_set():
                return


def test_a_cycle_written_by_another_process_arrives_as_events(store: Store, tmp_path: Path) -> None:
    config = paper_config(tmp_path, store.url)
    run_cycles(config, 1)
    app = create_app(ServiceConfig(store.url, tmp_path / "t", poll_interval=0.1))
    found: list[dict[str, object]] = []
    ready, stop = threading.Event(), threading.Event()
    with LiveServer(app) as server:
        reader = threading.Thread(target=_events, args=(f"{server.url}/api/events?run={RUN}", found, ready, stop))
        reader.start()
        assert ready.wait(20)
        done = cycle_in_another_process(config)
        assert done.returncode == 0, done.stderr
        latest = store.recent_cycles(RUN, 1)[0]
        deadline = time.monotonic() + 20

        def final(e: dict[str, object]) -> bool:  # the cycle as completed (its row is first written "running")
            return e["kind"] == "cycle" and e["id"] == latest.id and e["status"] == latest.status

        while not any(map(final, found)) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        run_cycles(config, 1)  # wakes the reader so it sees the stop
        reader.join(20)
    cycles = [e for e in found if final(e)]
    assert cycles and Decimal(str(cycles[-1]["equity"])) == latest.equity
    with store.engine.connect() as conn:
        newest_fill = conn.execute(select(func.max(FillRecord.id))).scalar()
    assert any(e["kind"] == "fill" for e in found) and newest_fill is not None


def test_metrics_equal_the_store(store: Store, tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    config = paper_config(tmp_path, store.url)
    run_cycles(config, 3)
    client = TestClient(create_app(ServiceConfig(store.url, tmp_path / "t")))
    text = client.get("/metrics").text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    with store.engine.connect() as conn:
        by_status = dict(
            conn.execute(select(Cycle.status, func.count()).where(Cycle.run == RUN).group_by(Cycle.status)).all()
        )
        fees = sum((f for f in conn.execute(select(FillRecord.fee).where(FillRecord.run == RUN)).scalars()), Decimal(0))
        fills = conn.execute(select(func.count()).select_from(FillRecord)).scalar()
    cycles = {s.labels["status"]: s.value for s in families["defipm_cycles"].samples if s.name == "defipm_cycles_total"}
    assert cycles == {k: float(v) for k, v in by_status.items()}
    (fill_count,) = [s.value for s in families["defipm_fills"].samples if s.name == "defipm_fills_total"]
    (fee_total,) = [s.value for s in families["defipm_fees"].samples if s.name == "defipm_fees_total"]
    assert fill_count == fills and fee_total == pytest.approx(float(fees), rel=1e-12)
    (equity,) = families["defipm_equity"].samples
    assert equity.value == pytest.approx(float(store.equity_history(RUN)[-1][1]), rel=1e-12)
    run_cycles(config, 1)  # counted once more, incrementally
    again = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    (more,) = [s.value for s in again["defipm_fills"].samples if s.name == "defipm_fills_total"]
    with store.engine.connect() as conn:
        assert more == conn.execute(select(func.count()).select_from(FillRecord)).scalar()
    assert "defipm_arb_opportunities_found" in text  # the arbitrage metrics class, served


def test_arbitrage_records_through_the_api_and_metrics(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    url = f"sqlite:///{tmp_path}/arb.db"
    arb_demo(url)
    store = Store(url)
    client = TestClient(create_app(ServiceConfig(url, tmp_path / "t")))
    overview = client.get("/api/arb").json()
    with store.engine.connect() as conn:
        (row,) = conn.execute(select(ExecutionResultRecord)).all()
    (strategy,) = overview["strategies"]
    assert Decimal(strategy["profit_native"]) == row.actual_profit_native and strategy["gas_used"] == row.gas_used
    assert strategy["executions"] == strategy["successes"] == 1 and strategy["opportunities"] == 1
    journal = client.get("/api/arb/journal").json()["items"]
    detail = client.get(f"/api/arb/journal/{journal[0]['id']}").json()
    assert detail["status"] == "settled" and detail["transactions"] and overview["runs"][0]["run"] == "demo"
    opportunity = client.get("/api/arb/opportunities").json()["items"][0]
    assert opportunity["id"] == row.opportunity_id
    families = {f.name: f for f in text_string_to_metric_families(client.get("/metrics").text)}
    executed = [s for s in families["defipm_arb_executions"].samples if s.name == "defipm_arb_executions_total"]
    assert [(s.labels["outcome"], s.value) for s in executed] == [("success", 1.0)]
    assert client.get("/api/arb/journal/nope").status_code == 404
    store.close()


def test_run_metrics_port_serves_the_runs_figures(tmp_path: Path) -> None:
    from defipm.service.exporter import serve_run_metrics

    url = f"sqlite:///{tmp_path}/s.db"
    run_cycles(paper_config(tmp_path, url), 2)
    store = Store(url)
    port = free_port()
    with serve_run_metrics(port, store, RUN):
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert f'defipm_cycles_total{{run="{RUN}",status="traded"}} 2.0' in text
    store.close()


def test_reports_folder(tmp_path: Path) -> None:
    from fastapi.testclient import TestClient

    reports = tmp_path / "reports"
    (reports / "momentum-2024").mkdir(parents=True)
    (reports / "momentum-2024" / "summary.json").write_text(
        json.dumps({"oracle": "momentum", "metrics": {"sharpe": 1.5}})
    )
    (reports / "momentum-2024" / "report.html").write_text("<html><script>1</script></html>")
    (reports / "empty").mkdir()
    url = f"sqlite:///{tmp_path}/s.db"
    Store(url).close()
    client = TestClient(create_app(ServiceConfig(url, tmp_path / "t", reports)))
    listing = client.get("/api/reports").json()["reports"]
    assert [r["name"] for r in listing] == ["momentum-2024"] and listing[0]["metrics"] == {"sharpe": 1.5}
    page = client.get("/reports/momentum-2024/report.html")
    assert page.status_code == 200 and page.headers["content-security-policy"].startswith("sandbox")
    assert client.get("/api/reports/empty").status_code == 404
    assert "momentum-2024" in client.get("/reports").text


def test_serve_binds_loopback_unless_told() -> None:
    from defipm.cli import app

    refused = CliRunner().invoke(app, ["serve", "--host", "0.0.0.0", "--db", "sqlite://"])
    assert refused.exit_code == 2 and "--allow-remote" in refused.output
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.1.2.3")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.com")


@settings(max_examples=200, deadline=None)
@given(st.permutations(list(range(1, 41))), st.integers(1, 8))
def test_every_id_is_reported_once_whatever_the_commit_order(order: list[int], batch: int) -> None:
    """Ids committed out of order (PostgreSQL sequences): each poll sees what has committed so far."""
    mark = IdWatermark(0, gap_timeout=1e9)
    committed: set[int] = set()
    reported: list[int] = []
    for i in range(0, len(order), batch):
        committed.update(order[i : i + batch])
        visible = [c for c in committed if c > mark.top or c in mark.gaps]
        reported += mark.accept(visible)
    assert sorted(reported) == list(range(1, 41)) and len(reported) == len(set(reported))
    assert mark.gaps == []


def test_arb_metrics_port_serves_the_live_class_and_the_stored_state(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from defipm.arb.events import EventBus, ExecutionResult
    from defipm.arb.metrics import ArbMetrics
    from defipm.arb.risk import ArbRiskManager
    from defipm.arb.risk_state import StoredRiskState
    from defipm.service.exporter import serve_arb_metrics

    store = Store(f"sqlite:///{tmp_path}/s.db")
    ArbRiskManager(state=StoredRiskState(store, "arb-1")).pause("test")
    metrics, bus = ArbMetrics(), EventBus()
    metrics.attach(bus)
    metrics.observe_scan(0.003)  # only the arbitrage process itself sees scan latency
    bus.publish(ExecutionResult(datetime.now(UTC), "o1", "flash", True, "0x1", 5, 100_000, 1.0, 12.0))
    port = free_port()
    with serve_arb_metrics(port, store, metrics):
        text = httpx.get(f"http://127.0.0.1:{port}/metrics").text
    assert "defipm_arb_scan_seconds_count 1.0" in text
    assert 'defipm_arb_executions_total{engine="flash",outcome="success"} 1.0' in text
    assert 'defipm_arb_paused{run="arb-1"} 1.0' in text
    store.close()


def test_serve_warns_on_a_non_loopback_bind_and_names_the_token_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import uvicorn

    from defipm.cli import app

    calls: list[dict[str, object]] = []
    monkeypatch.setattr(uvicorn, "run", lambda _app, **kw: calls.append(kw))  # the network boundary
    url = f"sqlite:///{tmp_path}/s.db"
    port = free_port()
    args = ["serve", "--db", url, "--token-file", str(tmp_path / "tok"), "--host", "0.0.0.0", "--allow-remote",
            "--port", str(port)]  # fmt: skip
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    assert "warning" in done.output and "0.0.0.0" in done.output and str(tmp_path / "tok") in done.output
    assert calls == [{"host": "0.0.0.0", "port": port, "log_level": "info", "access_log": False}]
    assert (tmp_path / "tok").read_text().strip() not in done.output


def test_serve_on_a_port_in_use_is_refused_naming_it_with_exit_1(tmp_path: Path) -> None:
    """Uvicorn alone logged the bind error and exited 3, the code of a halted trading run."""
    from defipm.cli import app

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = [
            "serve",
            "--db",
            f"sqlite:///{tmp_path}/s.db",
            "--token-file",
            str(tmp_path / "tok"),
            "--port",
            str(port),
        ]
        refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1, refused.output
    assert f"cannot listen on 127.0.0.1:{port}" in refused.output and "--port" in refused.output
