"""Ctrl-C during a grid search: it stops within about a second, says "interrupted", and keeps the finished trials."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    import typer
    from defipm.backtest import BacktestConfig
    from defipm.backtest.cli import _run_search
    from defipm.data.synthetic import synthetic_panel
    from defipm.oracles.momentum import MomentumOracle

    class SlowMomentum(MomentumOracle):
        def __init__(self, view, pause, **params):
            time.sleep(pause)
            super().__init__(view, **params)

    def progress_told(done, total):
        if done == 2:
            print("two done", flush=True)

    import defipm.backtest.search as search_module
    real_run_all = search_module._run_all
    search_module._run_all = lambda *a: real_run_all(*a[:-1], progress_told if a[-1] else None)
    if __name__ == "__main__":  # the workers start from a fresh server process and import this module
        opts = {"metric": "sharpe", "schedules": "24h", "train_fraction": 0.66, "walk_forward": None,
                "workers": int(sys.argv[2]), "ray_address": None}
        try:
            _run_search(synthetic_panel(3, 120, seed=1), SlowMomentum, {"pause": [0.0, 0.01, 60.0, 60.01]},
                        BacktestConfig(benchmark=None), opts, __import__("pathlib").Path(sys.argv[1]))
        except typer.Exit as exc:
            sys.exit(exc.exit_code)
    """
)


@pytest.mark.parametrize("workers", [2])  # the process pool: its shutdown used to wait for every trial
def test_ctrl_c_stops_a_search_at_once_and_keeps_the_finished_trials(tmp_path: Path, workers: int) -> None:
    script = tmp_path / "slow_search.py"
    script.write_text(SCRIPT)
    env = {**os.environ, "COLUMNS": "200"}
    with (tmp_path / "err.txt").open("w") as err_file:
        proc = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "out"), str(workers)],
            stdout=subprocess.PIPE,
            stderr=err_file,
            text=True,
            env=env,
        )
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "two done"  # the two quick trials finished, two slow ones run
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        while "finished" not in (tmp_path / "err.txt").read_text() and time.monotonic() - sent < 30:
            time.sleep(0.02)
        took = time.monotonic() - sent  # to the "interrupted" line (the interpreter's own exit comes after)
        proc.wait(timeout=30)
    out, err = proc.stdout.read(), (tmp_path / "err.txt").read_text()
    assert proc.returncode == 130, err
    assert took < 1.0, f"stopped {took:.1f}s after Ctrl-C"  # the slow trials would take a minute
    assert "interrupted" in err and "2 trial(s) had finished" in err
    assert "Traceback" not in err
    kept = json.loads((tmp_path / "out" / "search-interrupted.json").read_text())
    assert sorted(row["params"]["pause"] for row in kept) == [0.0, 0.01]
    assert all(row["part"] == "train" and "sharpe" in row for row in kept)
    assert "0.01" in out  # the finished trials are printed too
