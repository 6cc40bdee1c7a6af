"""Stores filled by the real loops for the service's tests: paper cycles through ``build_portfolio`` (the
PortfolioManager on a PaperVenue, as ``defipm run`` builds it) and a real ``defipm arb demo`` on anvil."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from defipm.assembly import build_portfolio
from defipm.config import load_settings

RUN = "paper-a"
CONFIG = """\
run = "{run}"
database = "{url}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ SYN000 = 0.4, SYN001 = 0.3, SYN002 = -0.2 }}
[venue]
kind = "paper"
[venue.params]
initial_cash = 10000
mode = "perp"
[market]
source = "synthetic"
n_assets = 4
seed = 1
[risk]
max_weight = 0.35
max_drawdown = 0.3
"""


def paper_config(folder: Path, url: str, run: str = RUN) -> Path:
    path = folder / f"{run}.toml"
    path.write_text(CONFIG.format(run=run, url=url))
    return path


def run_cycles(config: Path, cycles: int) -> None:
    """``cycles`` real paper cycles in this process (the run's lock held meanwhile, released after)."""
    with build_portfolio(load_settings(config)) as portfolio:
        for _ in range(cycles):
            portfolio.manager.manage_portfolio()


def cycle_in_another_process(config: Path) -> subprocess.CompletedProcess[str]:
    """One cycle written by ``defipm run`` in a separate process."""
    return subprocess.run(
        [sys.executable, "-m", "defipm.cli", "run", "-c", str(config), "--every", "0.1s", "--max-cycles", "1"],
        capture_output=True, text=True, timeout=120, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip


def arb_demo(url: str) -> None:
    """A real ``defipm arb demo`` recording into ``url`` (skipped without anvil unless DEFIPM_REQUIRE_CHAIN)."""
    from defipm.chain.local import local_chain_missing

    missing = local_chain_missing()
    if missing:
        if os.environ.get("DEFIPM_REQUIRE_CHAIN"):
            pytest.fail(missing)
        pytest.skip(missing)
    done = subprocess.run(
        [sys.executable, "-m", "defipm.cli", "arb", "demo", "--scenario", "two-hop", "--db", url],
        capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    """The real app under uvicorn on a loopback port, in a thread of this process."""

    def __init__(self, app: object) -> None:
        import uvicorn

        self.port = free_port()
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))  # type: ignore[arg-type]
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture
def live_server() -> Iterator[type[LiveServer]]:
    yield LiveServer
