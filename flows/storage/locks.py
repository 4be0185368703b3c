"""Locks kept in the lake itself, so that runs take turns whatever started them: two command-line
runs, a CLI run beside a deployment, runs on two machines with two Prefect servers. The lake is
the arbiter, not an orchestrator's database.

- A local lake uses `flock` on a file under `_state/locks/`: the kernel releases it when the
  holder dies, however it dies (SIGKILL included), so a dead run never blocks the next one, and a
  paused one keeps it: no lease. The file must be a regular file; anything else planted there
  (a FIFO, a folder, a link) is refused with LockProblem naming it and saying what to do.
- An S3 lake uses a lock object with a lease and a fence (flows/storage/lease.py): held by a
  random owner id, renewed with retries while the holder runs, taken over when the lease has run
  out; a holder that cannot prove it still holds it gets LockLost at its next write.

Every write through the lake's Store on the holding thread passes the lock's fence first
(Store.fenced), so a run that lost its lock (paused past its lease, renewals refused) writes
nothing more: the flows in flows/lake/ need no call of their own.

A waiting run says so in its log at once and every 30 s: which lock, who holds it (pid and host;
on S3 until when its lease runs, when a dead holder loses it), and until when this run waits
before giving up. A lock is released however the `with` block is left: normally, by an
exception, or, under `terminate_releases_locks` (the command line's --no-prefect runs), by
SIGTERM, which it turns into an exception. Prefect's flow engine does the same with its own
SIGTERM handler (TerminationSignal) while a flow runs.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import stat
import sys
import threading
import time
from collections.abc import Iterator

from flows.storage.lease import Holder, LockLost, LockProblem, LockTimeout, S3Lease, me, wall_clock
from flows.storage.store import Store

__all__ = ["DEFAULT_LEASE_SECONDS", "DEFAULT_WAIT_SECONDS", "LOCKS", "Holder", "LockLost", "LockProblem", "LockTimeout",
           "lake_lock", "terminate_releases_locks"]

LOCKS = "_state/locks"
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_WAIT_SECONDS = 1800.0
_POLL_SECONDS = 0.2
_SAY_AGAIN_SECONDS = 30.0


class _LocalFence:
    """A local lock cannot be lost while its process lives (the kernel holds it), unless its file
    is removed or replaced under it: then another run can lock the new file."""

    def __init__(self, fd: int, path: str, name: str) -> None:
        self.fd, self.path, self.name = fd, path, name

    def check(self) -> None:
        held = os.fstat(self.fd)
        try:
            now = os.stat(self.path, follow_symlinks=False)
        except FileNotFoundError:
            now = None
        if now is None or (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino):
            raise LockLost(f"lost lake lock {self.name!r}: its file {self.path} was removed or replaced while this run "
                           "held it, so another run may hold the new one; this run writes nothing more under it")


@contextlib.contextmanager
def lake_lock(lake: Store, name: str, logger: logging.Logger | None = None, lease_seconds: float | None = None,
              wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[object]:
    """Hold the lake's lock `name` (e.g. 'unit-...' or 'partition-event_date=2026-11-02'). Yields its
    fence: `check()` raises LockLost once this run cannot prove it holds the lock. Every write
    through `lake` on this thread passes it (Store.fenced); leaving the block raises LockLost if
    the lock was lost meanwhile and the block did not raise."""
    log = logger or logging.getLogger("route53_lake")
    relative = f"{LOCKS}/{name}.lock"
    if lake.is_local:
        with _local_lock(lake, relative, name, log, wait_seconds) as fence, lake.fenced(fence):
            yield fence
        return
    lease = S3Lease(lake, relative, name, log, lease_seconds or DEFAULT_LEASE_SECONDS)
    _wait(lease.attempt, lease.holder_text, name, log, wait_seconds)
    lease.start()
    try:
        with lake.fenced(lease):
            yield lease
    finally:
        lease.release()
    if lease.lost:
        raise LockLost(lease.lost)


def _open_lock_file(lake: Store, relative: str) -> int:
    """The lock file's descriptor, or LockProblem naming it, what is wrong and what to do: never
    blocked by a FIFO, never through a link."""
    path = lake.path(relative)
    try:
        fd = lake.open_local_file(relative)
        kind = None if stat.S_ISREG(os.fstat(fd).st_mode) else os.fstat(fd).st_mode
    except OSError as error:
        fd, kind = None, error
    if kind is None:
        return fd
    if fd is not None:
        os.close(fd)
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        mode = 0
    what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a folder" if stat.S_ISDIR(mode)
            else "a symbolic link (links below the lake are never followed)" if stat.S_ISLNK(mode)
            else f"not a regular file ({kind})" if isinstance(kind, OSError) else "a special file")
    remove = "rm -r" if stat.S_ISDIR(mode) else "rm"
    raise LockProblem(f"lake lock {path} is {what}; route53-lake only ever makes a regular file there, and no run can "
                      f"hold this one. Make sure nothing of yours needs it, remove it ({remove} '{path}') and run again")


@contextlib.contextmanager
def _local_lock(lake: Store, relative: str, name: str, log: logging.Logger, wait_seconds: float) -> Iterator[_LocalFence]:
    fd = _open_lock_file(lake, relative)
    try:
        _wait(lambda: _try_flock(fd), lambda: _holder_text(fd), name, log, wait_seconds)
        os.ftruncate(fd, 0)
        os.pwrite(fd, me(expires=0).to_json(), 0)  # who holds it, for a waiter's log line
        try:
            yield _LocalFence(fd, lake.path(relative), name)
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _try_flock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        return True
    except BlockingIOError:
        return False


def _holder_text(fd: int) -> str:
    holder = Holder.from_json(os.pread(fd, 4096, 0))
    return holder.describe() if holder else "another run"


def _wait(attempt, holder_text, name: str, log: logging.Logger, wait_seconds: float) -> None:
    """Call attempt() until it succeeds, saying at once (and every 30 s) that we wait, for what,
    for whom and until when."""
    log = _run_logger(log)
    started = time.monotonic()
    deadline, said = started + wait_seconds, None
    give_up_at = wall_clock(time.time() + wait_seconds)
    while not attempt():
        now = time.monotonic()
        if now > deadline:
            raise LockTimeout(f"gave up after {wait_seconds:.0f} s waiting for lake lock {name!r}, held by {holder_text()}; "
                              "is another run stuck? It is released when that run ends")
        if said is None or now - said >= _SAY_AGAIN_SECONDS:
            log.warning("waiting for lake lock %r (another run is publishing the same data), held by %s; "
                        "waiting until %s at most, then this run gives up", name, holder_text(), give_up_at)
            said = now
        time.sleep(_POLL_SECONDS)
    if said is not None:
        log.info("got lake lock %r after waiting %.0f s", name, time.monotonic() - started)


def _run_logger(log: logging.Logger) -> logging.Logger | logging.LoggerAdapter:
    """Inside a Prefect flow or task run, its run logger, so that a wait shows in the run's log in
    the UI; elsewhere (--no-prefect) the logger given. Prefect is not imported for this."""
    if "prefect" not in sys.modules:
        return log
    from prefect.context import FlowRunContext, TaskRunContext
    from prefect.logging import get_run_logger

    return get_run_logger() if TaskRunContext.get() or FlowRunContext.get() else log


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that every lock held is released on the way out."""


@contextlib.contextmanager
def terminate_releases_locks() -> Iterator[None]:
    """Within the block, SIGTERM raises Terminated in the main thread (as Ctrl-C raises
    KeyboardInterrupt) instead of ending the process at once: `with` blocks, lake locks among
    them, are left as for any exception. Elsewhere than the main thread, nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    installer = os.getpid()

    def raise_terminated(signum: int, frame: object) -> None:
        if os.getpid() != installer:  # a process forked meanwhile (a reading worker) inherited this: it just ends
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)
            return
        raise Terminated("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
