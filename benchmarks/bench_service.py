"""The service at scale: a store of 1,000,000 fills and orders and 100,000 cycles, read over HTTP.

    .venv/bin/python benchmarks/bench_service.py [--scale 0.01] [--requests 200]

Builds the store with bulk inserts (SQLite, the migrated schema with its indexes), serves it with uvicorn on
loopback and measures, warm and repeated: the status endpoint and keyset pages (first page, a page deep in the
history, filtered by symbol and by time) with their p50/p99 against the raw SQL of the same page (the floor), the
server-side render of the dashboard's pages, and how long an event takes to arrive by Server-Sent Events after
another process commits a cycle. Targets: p99 under 50 ms for the endpoints, a page under 300 ms, an event within
1 s. ``--scale`` shrinks the store for a quick check.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

import figures
import httpx

from defipm.manager import RISK_LIMITS
from defipm.store import Store

RUN = "bench"
SYMBOLS = [f"SYN{i:03d}" for i in range(20)]
T0 = datetime(2020, 1, 1)


def _stamp(t: datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S.%f")  # how SQLAlchemy stores a UTC datetime in SQLite


def build(path: Path, cycles: int, fills_per_cycle: int) -> None:
    """Bulk-insert ``cycles`` cycles, each with its snapshot and ``fills_per_cycle`` orders and fills."""
    store = Store(f"sqlite:///{path}")
    store.set_setting(RUN, RISK_LIMITS, json.dumps({"max_weight": 0.35, "max_drawdown": 0.3}))
    raw = store.engine.raw_connection()
    cur = raw.cursor()
    started = time.perf_counter()
    for lo in range(0, cycles, 10_000):
        c_rows, s_rows, o_rows, f_rows = [], [], [], []
        for i in range(lo, min(cycles, lo + 10_000)):
            t = T0 + timedelta(minutes=i)
            ts, equity, cid = _stamp(t), f"{10_000 + (i % 997) * 1.25:.4f}", f"c{i:09d}"
            c_rows.append((cid, RUN, ts, "traded", equity, "0.5", 0.01, None, "[]", 1, ts))
            s_rows.append((RUN, ts, equity, "5000", 0.85, 0.45))
            for k in range(fills_per_cycle):
                oid, sym = f"0x{i:024x}{k:08x}", SYMBOLS[(i + k) % len(SYMBOLS)]
                o_rows.append(
                    (oid, RUN, cid, k, sym, "buy", "1.5", "market", "100", "filled", "1.5", "100", "0.01", ts, ts)
                )
                f_rows.append((RUN, oid, sym, "buy", "1.5", "100", "0.01", ts))
        cur.executemany(
            "INSERT INTO cycles (id, run, timestamp, status, equity, fees, turnover, error, notes, completed, recorded_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            c_rows,
        )
        cur.executemany(
            "INSERT INTO equity_snapshots (run, timestamp, equity, cash, gross, net) VALUES (?,?,?,?,?,?)", s_rows
        )
        cur.executemany(
            "INSERT INTO orders (client_order_id, run, cycle_id, seq, symbol, side, quantity, order_type, reference_price, status, filled_quantity, average_price, fee, created_at, updated_at, reduce_only) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,0)",
            o_rows,
        )
        cur.executemany(
            "INSERT INTO fills (run, client_order_id, symbol, side, quantity, price, fee, timestamp) VALUES (?,?,?,?,?,?,?,?)",
            f_rows,
        )
        raw.commit()
    last = _stamp(T0 + timedelta(minutes=cycles - 1))
    cur.execute(
        "INSERT INTO target_weights (cycle_id, symbol, target, executed) VALUES (?,?,?,?)",
        (f"c{cycles - 1:09d}", "SYN000", 0.4, 0.35),
    )
    cur.execute(
        "INSERT INTO paper_accounts (name, mode, cash, fill_count, updated_at) VALUES (?,?,?,?,?)",
        (RUN, "perp", "5000", 0, last),
    )
    cur.executemany(
        "INSERT INTO paper_positions (account, symbol, quantity, price) VALUES (?,?,?,?)",
        [(RUN, s, "2", "100") for s in SYMBOLS],
    )
    raw.commit()
    cur.execute("ANALYZE")
    raw.close()
    store.close()
    print(
        f"built {cycles:,} cycles, {cycles * fills_per_cycle:,} orders and fills in {time.perf_counter() - started:.1f} s"
    )


def timings(client: httpx.Client, url: str, n: int) -> list[float]:
    for _ in range(5):
        assert client.get(url).status_code == 200, url
    out = []
    for _ in range(n):
        t = time.perf_counter()
        client.get(url)
        out.append((time.perf_counter() - t) * 1000)
    return out


def raw_page(path: Path, sql: str, n: int) -> list[float]:
    import sqlite3

    conn = sqlite3.connect(path)
    out = []
    for _ in range(n + 5):
        t = time.perf_counter()
        conn.execute(sql).fetchall()
        out.append((time.perf_counter() - t) * 1000)
    conn.close()
    return out[5:]


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


ROWS: list[figures.Figure] = []
"""Every figure printed, for ``--json``."""


def report(name: str, values: list[float], limit: float, floor: list[float] | None = None) -> None:
    ROWS.append(figures.Figure(f"{name}, p99", p(values, 99), "ms", limit))
    ratio = f"  x{statistics.median(values) / statistics.median(floor):.1f} the raw SQL" if floor else ""
    verdict = "ok" if p(values, 99) < limit else "OVER"
    print(
        f"{name:<34} p50 {statistics.median(values):7.2f} ms  p99 {p(values, 99):7.2f} ms  (< {limit:.0f} ms: {verdict}){ratio}"
    )


WRITER = """
import sys, time, uuid
from datetime import UTC, datetime
from decimal import Decimal
from defipm.store import Store
store = Store(sys.argv[1])
for line in sys.stdin:
    cid = uuid.uuid4().hex
    store.record_cycle(run="bench", cycle_id=cid, timestamp=datetime.now(UTC), status="traded", equity=Decimal("1"),
                       fees=None, turnover=None, error=None, notes=[], targets={}, risk_events=[], snapshot=None)
    print(cid, time.time(), flush=True)
"""


def sse_latency(base: str, url: str, writes: int) -> list[float]:
    """Seconds from another process's commit of a cycle to its event's arrival."""
    arrived: dict[str, float] = {}
    ready = threading.Event()

    def listen() -> None:
        with httpx.Client(timeout=None) as c, c.stream("GET", f"{base}/api/events?kinds=cycle") as s:
            for line in s.iter_lines():
                if line.startswith("event: ready"):
                    ready.set()
                if line.startswith("data:") and '"id"' in line:
                    arrived[json.loads(line[5:])["id"]] = time.time()

    threading.Thread(target=listen, daemon=True).start()
    ready.wait(30)
    writer = subprocess.Popen(
        [sys.executable, "-c", WRITER, url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert writer.stdin is not None and writer.stdout is not None
    delays = []
    for _ in range(writes):
        writer.stdin.write("\n")
        writer.stdin.flush()
        cid, committed = writer.stdout.readline().split()
        deadline = time.time() + 5
        while cid not in arrived and time.time() < deadline:
            time.sleep(0.005)
        delays.append(arrived.get(cid, float("inf")) - float(committed))
        time.sleep(0.2)
    writer.stdin.close()
    writer.wait()
    return delays


def serve(url: str, folder: Path) -> tuple[str, object]:
    import uvicorn

    from defipm.service.app import ServiceConfig, create_app

    app = create_app(ServiceConfig(url, folder / "token", folder / "reports", poll_interval=0.25))
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    return f"http://127.0.0.1:{port}", server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of 100,000 cycles (10 fills each)")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint")
    parser.add_argument("--quick", action="store_true", help="5,000 cycles, 30 requests per endpoint")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.scale, args.requests = min(args.scale, 0.05), min(args.requests, 30)
    cycles = max(100, int(100_000 * args.scale))
    with tempfile.TemporaryDirectory(prefix="defipm-bench-service-") as tmp:
        folder = Path(tmp)
        path = folder / "store.db"
        build(path, cycles, 10)
        url = f"sqlite:///{path}"
        base, server = serve(url, folder)
        n = args.requests
        with httpx.Client(base_url=base, timeout=30) as client:
            middle = client.get(f"/api/runs/{RUN}/fills", params={"limit": 100}).json()
            deep_cursor = None
            page = client.get(f"/api/runs/{RUN}/fills", params={"limit": 1000}).json()
            for _ in range(min(100, cycles // 200)):  # walk ~half the history to a deep cursor
                page = client.get(
                    f"/api/runs/{RUN}/fills", params={"limit": 1000, "cursor": page["next_cursor"]}
                ).json()
            deep_cursor = page["next_cursor"] or middle["next_cursor"]
            since = quote((T0 + timedelta(minutes=cycles // 2)).replace(tzinfo=UTC).isoformat())
            floor = raw_page(path, f"SELECT * FROM fills WHERE run='{RUN}' ORDER BY id DESC LIMIT 101", n)
            print(f"\nendpoints ({n} requests each, warm, over HTTP on loopback)")
            report("status /api/runs/bench", timings(client, f"/api/runs/{RUN}", n), 50)
            report("fills, first page", timings(client, f"/api/runs/{RUN}/fills", n), 50, floor)
            report(
                "fills, deep page (cursor)",
                timings(client, f"/api/runs/{RUN}/fills?cursor={deep_cursor}", n),
                50,
                floor,
            )
            report("fills, symbol=SYN007", timings(client, f"/api/runs/{RUN}/fills?symbol=SYN007", n), 50, floor)
            report("fills, since the middle", timings(client, f"/api/runs/{RUN}/fills?since={since}", n), 50, floor)
            report("orders, first page", timings(client, f"/api/runs/{RUN}/orders", n), 50)
            report("orders, symbol=SYN007", timings(client, f"/api/runs/{RUN}/orders?symbol=SYN007", n), 50)
            report("cycles, first page", timings(client, f"/api/runs/{RUN}/cycles", n), 50)
            print("\npages (server-side render, over HTTP)")
            report("run page /runs/bench", timings(client, f"/runs/{RUN}", max(20, n // 5)), 300)
            report("overview /", timings(client, "/", max(20, n // 5)), 300)
            report("arbitrage /arb", timings(client, "/arb", max(20, n // 5)), 300)
            first = time.perf_counter()
            client.get("/metrics")
            print(f"\n/metrics: first scrape (tallies every fill) {(time.perf_counter() - first) * 1000:.0f} ms; "
                  f"then p50 {statistics.median(timings(client, '/metrics', 20)):.0f} ms")  # fmt: skip
        delays = sse_latency(base, url, 10)
        print(f"\nSSE: a cycle committed by another process arrives after p50 {statistics.median(delays) * 1000:.0f} ms, "
              f"max {max(delays) * 1000:.0f} ms (< 1000 ms: {'ok' if max(delays) < 1 else 'OVER'})")  # fmt: skip
        server.should_exit = True  # type: ignore[attr-defined]
    ROWS.append(figures.Figure("SSE: a cycle of another process arrives, max", max(delays) * 1000, "ms", 1000))
    if args.json:
        figures.report(f"service ({cycles:,} cycles)", ROWS, True)


if __name__ == "__main__":
    main()
