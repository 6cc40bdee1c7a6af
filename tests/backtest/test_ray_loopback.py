"""A Ray cluster the project starts for a grid search listens on loopback only (its sockets, checked with psutil)."""

from __future__ import annotations

import ipaddress
import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("ray")
pytest.importorskip("psutil")

SCRIPT = textwrap.dedent(
    """
    import json, os
    import psutil, ray
    from defipm.backtest import BacktestConfig
    from defipm.backtest.search import search
    from defipm.data.synthetic import synthetic_panel
    from defipm.oracles.momentum import MomentumOracle

    panel = synthetic_panel(3, 60, seed=1)
    search(panel, MomentumOracle, {"lookback": [5]}, schedules=["24h"], config=BacktestConfig(benchmark=None),
           ray_address="local")
    family = [psutil.Process()] + psutil.Process().children(recursive=True)
    listening = set()
    for process in family:
        try:
            connections = process.net_connections(kind="inet")
        except psutil.Error:
            continue
        listening |= {c.laddr.ip for c in connections if c.status == psutil.CONN_LISTEN}
    ray.shutdown()
    print(json.dumps(sorted(listening)))
    """
)


def _loopback(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    mapped = getattr(ip, "ipv4_mapped", None)
    return (mapped or ip).is_loopback


@pytest.mark.slow
def test_a_local_ray_cluster_listens_on_loopback_only():
    out = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    addresses = json.loads(out.stdout.strip().splitlines()[-1])
    assert addresses, "the Ray cluster should have listening sockets to check"
    assert [a for a in addresses if not _loopback(a)] == []
