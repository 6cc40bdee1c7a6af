"""Whole-process start-up of the ``defipm`` command (issue 19): ``defipm --help`` and one ``defipm rebalance`` of
10 orders on the local Hyperliquid exchange, each a fresh interpreter, median and min of repeated runs.

Targets: ``--help`` under 0.3 s, the rebalance under 0.8 s (peer: cc-liquid 0.82 s on the same exchange). The
reference in the same run is a bare interpreter (``python -c pass``), the floor no command can go under; each
figure is also printed as a ratio to it. The runs are interleaved (help, rebalance, bare, help, ...), so a load
change on the machine touches all three alike. Each rebalance flips every sign of its 10 weights, so each sends
10 orders. Beside the wall time, each run's CPU time (user + system, from ``wait4``) is printed: it moves less
than the wall time when other processes share the cores.

Every run finds its modules compiled, as an installed package does (pip writes the ``.pyc`` files): the bytecode
cache is a folder of the run's own (``PYTHONPYCACHEPREFIX``), filled by the warm-up runs, so the worktree is not
written to and a ``PYTHONDONTWRITEBYTECODE`` in the environment does not turn every run into a compile of
defipm's sources. ``--no-bytecode-cache`` measures that case (``PYTHONDONTWRITEBYTECODE``: sources without a
``.pyc`` of their own, as a fresh checkout's are, compile in every run). The command runs the sources beside this
script (``src`` first on ``PYTHONPATH``), whichever checkout or worktree that is.

``--against DIR`` also runs the rebalance with another source tree (a checkout, or its ``src`` folder), e.g. the
main branch beside a change: its runs are interleaved with this tree's, which of the two goes first alternating,
and the ratio of the two medians is printed (under 1: this tree is faster). Every rebalance flips the signs the
previous one left, whichever tree ran it, so each sends 10 orders.

    .venv/bin/python benchmarks/bench_startup.py [--repeat 7] [--no-bytecode-cache] [--against DIR] [--quick] [--json]
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
import figures

from defipm.venues.hyperliquid.sim import LocalExchange

HELP_TARGET_S = 0.3
REBALANCE_TARGET_S = 0.8
ASSETS = 10


def timed(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one whole process; raises with its output if it fails."""
    with tempfile.TemporaryFile("w+") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, text=True)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            out.seek(0)
            raise SystemExit(f"{' '.join(args)} failed:\n{out.read()}")
    return elapsed, usage.ru_utime + usage.ru_stime


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


def report(name: str, runs: list[tuple[float, float]], floor: float, target: float | None) -> None:
    times = [wall for wall, _ in runs]
    median = statistics.median(times)
    cpu = statistics.median(c for _, c in runs)
    verdict = "" if target is None else f"  target < {target:.2f} s: {'met' if median < target else 'NOT met'}"
    print(
        f"{name:<28} median {median:6.3f} s  min {min(times):6.3f} s  cpu {cpu:6.3f} s  x{median / floor:5.1f} of "
        f"bare{verdict}"
    )


def source_tree(folder: Path) -> Path:
    """The ``src`` folder of a checkout given as itself or its ``src`` (``SystemExit`` if it holds no defipm)."""
    src = folder / "src" if (folder / "src" / "defipm").is_dir() else folder
    if not (src / "defipm" / "__init__.py").is_file():
        raise SystemExit(f"--against {folder}: no defipm package there (nor under its src)")
    return src.resolve()


def with_sources(env: dict[str, str], src: Path) -> dict[str, str]:
    return env | {"PYTHONPATH": f"{src}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--no-bytecode-cache", action="store_true", help="compile the sources in every run")
    parser.add_argument("--against", type=Path, help="also time the rebalance with this checkout's sources")
    parser.add_argument("--quick", action="store_true", help="3 interleaved runs each")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of the figures (run_all)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 3)
    wallet = eth_account.Account.create()
    src = Path(__file__).resolve().parents[1] / "src"
    other = source_tree(args.against) if args.against else None
    env = with_sources(os.environ | {"DEFIPM_HL_TESTNET_SECRET_KEY": wallet.key.hex(), "COLUMNS": "120"}, src)
    times: dict[str, list[tuple[float, float]]] = {"bare": [], "help": [], "rebalance": [], "against": []}
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalExchange(synthetic_assets=ASSETS, fixtures=None, accounts={wallet.address: 1_000_000}) as ex,
    ):
        if args.no_bytecode_cache:
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        configs = [config(Path(tmp), ex.url, 1), config(Path(tmp), ex.url, -1)]
        cli = [sys.executable, "-m", "defipm"]
        flips = 0

        def rebalance(run_env: dict[str, str]) -> tuple[float, float]:
            nonlocal flips
            flips += 1
            return timed([*cli, "rebalance", "--yes", "-c", str(configs[flips % 2])], run_env)

        other_env = with_sources(env, other) if other else None
        timed([sys.executable, "-c", "pass"], env)  # warm: the bytecode cache filled, the schema created
        timed([*cli, "--help"], env)
        rebalance(env)
        if other_env:
            rebalance(other_env)
        for i in range(args.repeat):
            times["bare"].append(timed([sys.executable, "-c", "pass"], env))
            times["help"].append(timed([*cli, "--help"], env))
            if other_env and i % 2:
                times["against"].append(rebalance(other_env))
            times["rebalance"].append(rebalance(env))
            if other_env and not i % 2:
                times["against"].append(rebalance(other_env))
    floor = statistics.median(wall for wall, _ in times["bare"])
    cache = "no bytecode cache" if args.no_bytecode_cache else "bytecode cached"
    print(f"whole-process start-up, {args.repeat} interleaved runs each, {cache}, load {os.getloadavg()[0]:.2f}")
    report("python -c pass (reference)", times["bare"], floor, None)
    report("defipm --help", times["help"], floor, HELP_TARGET_S)
    report(f"defipm rebalance ({ASSETS} orders)", times["rebalance"], floor, REBALANCE_TARGET_S)
    if other:
        report("  the same, --against sources", times["against"], floor, REBALANCE_TARGET_S)
        ratio = statistics.median(w for w, _ in times["rebalance"]) / statistics.median(w for w, _ in times["against"])
        print(f"  this tree / --against ({other}): x{ratio:.3f} of the median wall time")
    if args.json:
        medians = {k: statistics.median(w for w, _ in v) for k, v in times.items() if v}
        figures.report(
            "start-up",
            [
                figures.Figure("python -c pass (reference), median", medians["bare"], "s"),
                figures.Figure("defipm --help, median", medians["help"], "s", HELP_TARGET_S),
                figures.Figure(
                    f"defipm rebalance ({ASSETS} orders), median", medians["rebalance"], "s", REBALANCE_TARGET_S
                ),
            ],
            True,
        )


if __name__ == "__main__":
    main()
