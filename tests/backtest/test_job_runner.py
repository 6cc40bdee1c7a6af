"""The job runner's worker processes never inherit the state of this process's threads: a lock a thread holds
here is free in a worker (a fork of this process would copy it held, and a worker waiting on it hangs)."""

from __future__ import annotations

import threading

from defipm.backtest.search import run_jobs

HELD = threading.Lock()


def acquires_the_lock(shared: float, k: int) -> tuple[int, bool]:
    got = HELD.acquire(timeout=shared)
    if got:
        HELD.release()
    return k, got


def test_workers_do_not_inherit_a_lock_held_by_a_thread_of_the_parent() -> None:
    taken, done = threading.Event(), threading.Event()

    def hold() -> None:
        with HELD:
            taken.set()
            done.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(5)
    try:
        assert run_jobs(acquires_the_lock, 2.0, [(0,), (1,)], workers=2) == [(0, True), (1, True)]
        assert not HELD.acquire(blocking=False)  # held here all along: the workers' locks were their own
    finally:
        done.set()
        holder.join()
