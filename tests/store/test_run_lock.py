"""One process per portfolio: the run lock refuses a second holder (naming the first), takes over only from a holder
that is provably gone or whose lease ran out, and tells a process that lost its lock before it trades. SQLite and
PostgreSQL alike."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from sqlalchemy import update

from defipm import Store
from defipm.core.errors import PortfolioLockedError
from defipm.store.lock import RunLock, lock_holder, machine_id, process_start
from defipm.store.models import RunLockRecord

LOCKS = RunLockRecord.__table__


def _rewrite(store: Store, run: str, **values: object) -> None:
    """Change the recorded holder as another process (or another host) would have written it."""
    with store.engine.begin() as conn:
        conn.execute(update(LOCKS).where(LOCKS.c.run == run).values(**values))


def test_a_second_holder_is_refused_with_the_first_named(store: Store):
    with RunLock(store, "alpha"):
        holder = lock_holder(store, "alpha")
        assert holder is not None and holder.pid == os.getpid() and 0 < holder.expires_in <= 60
        with pytest.raises(PortfolioLockedError) as refused:
            RunLock(store, "alpha").acquire()
        message = str(refused.value)
        assert f"pid {os.getpid()}" in message and repr(holder.host) in message and "alpha" in message
        with RunLock(store, "beta"):  # another portfolio in the same database is independent
            pass
    assert lock_holder(store, "alpha") is None  # released on exit
    RunLock(store, "alpha").acquire().release()


def test_an_expired_lease_is_taken_over_and_the_old_holder_learns_it_before_trading(store: Store):
    old = RunLock(store, "r", lease=0.4, heartbeat=False).acquire()
    with pytest.raises(PortfolioLockedError):
        RunLock(store, "r").acquire()  # alive (this very process) and its lease runs
    time.sleep(0.6)
    new = RunLock(store, "r").acquire()  # the lease ran out: taken over
    with pytest.raises(PortfolioLockedError, match=r"lost its lock.*now held by pid"):
        old.renew()
    new.renew()
    old.release()  # does not delete the new holder's row
    assert lock_holder(store, "r") is not None
    new.release()


def test_a_holder_that_renews_after_its_lease_ran_out_keeps_the_lock_if_nobody_took_it(store: Store):
    lock = RunLock(store, "r", lease=0.3, heartbeat=False).acquire()
    time.sleep(0.5)
    lock.renew()  # nobody took over meanwhile: nothing could have traded beside it
    with pytest.raises(PortfolioLockedError):
        RunLock(store, "r").acquire()
    lock.release()


def test_the_heartbeat_keeps_a_quiet_holder_alive_and_notices_a_take_over(store: Store):
    lock = RunLock(store, "r", lease=0.6).acquire()
    time.sleep(1.2)  # two lease lengths without a cycle
    with pytest.raises(PortfolioLockedError):
        RunLock(store, "r").acquire()
    _rewrite(store, "r", owner="f" * 32)  # another process took over (as after a long pause of this one)
    time.sleep(0.5)
    assert lock._lost
    with pytest.raises(PortfolioLockedError, match="lost its lock"):
        lock.renew()
    lock.release()
    assert lock_holder(store, "r") is not None  # the new holder's row stays


@pytest.mark.skipif(not machine_id(), reason="pid checks need Linux's /proc")
def test_a_dead_holder_on_this_machine_is_taken_over_at_once(store: Store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead_pid = int(dead.stdout)
    RunLock(store, "r", heartbeat=False).acquire()  # then "crashes": row left behind, lease running
    _rewrite(store, "r", pid=dead_pid, process_start="1")
    RunLock(store, "r").acquire().release()


@pytest.mark.skipif(not machine_id(), reason="pid checks need Linux's /proc")
def test_a_reused_pid_is_not_mistaken_for_the_holder(store: Store):
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        try:
            RunLock(store, "r", heartbeat=False).acquire()
            live = process_start(other.pid)
            assert live
            _rewrite(store, "r", pid=other.pid, process_start=live)  # the holder is that live process
            with pytest.raises(PortfolioLockedError, match=f"pid {other.pid}"):
                RunLock(store, "r").acquire()
            _rewrite(store, "r", process_start=str(int(live) - 1))  # the holder died; its pid went to `other`
            RunLock(store, "r").acquire().release()
        finally:
            other.kill()


@pytest.mark.skipif(not machine_id(), reason="pid checks need Linux's /proc")
def test_a_zombie_holder_is_gone():
    with subprocess.Popen([sys.executable, "-c", "pass"]) as child:
        deadline = time.monotonic() + 30
        while process_start(child.pid) is not None and time.monotonic() < deadline:
            time.sleep(0.02)  # exited but not reaped: a zombie
        assert process_start(child.pid) is None


def test_a_dead_pid_on_another_machine_is_not_judged_only_the_lease_counts(store: Store):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    RunLock(store, "r", lease=0.5, heartbeat=False).acquire()
    _rewrite(store, "r", pid=int(dead.stdout), machine="another-host/pid:[1]", host="elsewhere")
    with pytest.raises(PortfolioLockedError, match=r"pid .* on host 'elsewhere'"):
        RunLock(store, "r").acquire()  # that pid means nothing here
    time.sleep(0.7)
    RunLock(store, "r").acquire().release()


def test_release_is_idempotent_and_a_bad_lease_is_refused(store: Store):
    with pytest.raises(ValueError, match="lease"):
        RunLock(store, "r", lease=0)
    lock = RunLock(store, "r", heartbeat=False).acquire()
    assert repr(lock) == "RunLock(run='r', held=True)"
    lock.release()
    lock.release()  # idempotent
    with pytest.raises(PortfolioLockedError, match="does not hold"):
        lock.renew()
