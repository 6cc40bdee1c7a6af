"""Whole-process start-up of the ``defipm`` command (issue 19): ``defipm --help`` and one ``defipm rebalance`` of
10 orders on the local Hyperliquid exchange, each a fresh interpreter, median and min of repeated runs.

Targets: ``--help`` under 0.3 s, the rebalance under 0.8 s (peer: cc-liquid 0.82 s on the same exchange). The
reference in the same run is a bare interpreter (``python -c pass``), the floor no command can go under; each
figure is also printed as a ratio to it. The runs are interleaved (help, rebalance, bare, help, ...), so a load
change on the machine touches all three alike. Each rebalance flips every sign of its 10 weights, so each sends
10 orders.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 7]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import eth_account

from defipm.venues.hyperliquid.sim import LocalExchange

HELP_TARGET_S = 0.3
REBALANCE_TARGET_S = 0.8
ASSETS = 10


def timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds for one whole process; raises with its output if it fails."""
    start = time.perf_counter()
    proc = subprocess.run(args, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stdout}\n{proc.stderr}")
    return elapsed


def config(folder: Path, url: str, sign: int) -> Path:
    weights = ", ".join(f"SYN{i:03d} = {sign * (0.04 if i % 2 else -0.04)}" for i in range(ASSETS))
    path = folder / f"hl{sign}.toml"
    path.write_text(f"""
run = "bench"
database = "sqlite:///{folder / "bench.db"}"
[oracle]
kind = "static"
[oracle.params]
weights = {{ {weights} }}
[venue]
kind = "hyperliquid"
[venue.params]
base_url = "{url}"
""")
    return path


def report(name: str, times: list[float], floor: float, target: float | None) -> None:
    median = statistics.median(times)
    verdict = "" if target is None else f"  target < {target:.2f} s: {'met' if median < target else 'NOT met'}"
    print(f"{name:<28} median {median:6.3f} s  min {min(times):6.3f} s  x{median / floor:5.1f} of bare{verdict}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    wallet = eth_account.Account.create()
    src = Path(__file__).resolve().parents[1] / "src"
    env = os.environ | {"PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
                        "DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex(), "COLUMNS": "120"}  # fmt: skip
    times: dict[str, list[float]] = {"bare": [], "help": [], "rebalance": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalExchange(synthetic_assets=ASSETS, fixtures=None, accounts={wallet.address: 1_000_000}) as ex,
    ):
        configs = [config(Path(tmp), ex.url, 1), config(Path(tmp), ex.url, -1)]
        cli = [sys.executable, "-m", "defipm"]
        timed([*cli, "rebalance", "--yes", "-c", str(configs[1])], env)  # warm: schema created, files cached
        for i in range(args.repeat):
            times["bare"].append(timed([sys.executable, "-c", "pass"], env))
            times["help"].append(timed([*cli, "--help"], env))
            times["rebalance"].append(timed([*cli, "rebalance", "--yes", "-c", str(configs[i % 2])], env))
    floor = statistics.median(times["bare"])
    print(f"whole-process start-up, {args.repeat} interleaved runs each")
    report("python -c pass (reference)", times["bare"], floor, None)
    report("defipm --help", times["help"], floor, HELP_TARGET_S)
    report(f"defipm rebalance ({ASSETS} orders)", times["rebalance"], floor, REBALANCE_TARGET_S)


if __name__ == "__main__":
    main()
