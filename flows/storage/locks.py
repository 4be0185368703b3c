"""Locks kept in the lake itself, so that runs take turns whatever started them: two command-line
runs, a CLI run beside a deployment, runs on two machines with two Prefect servers. The lake is
the arbiter, not an orchestrator's database.

- A local lake uses `flock` on a file under `_state/locks/`: the kernel releases it when the
  holder dies, however it dies (SIGKILL included), so a dead run never blocks the next one.
- An S3 lake uses a small lock object created with a conditional PUT (`If-None-Match: *`) and
  renewed with `If-Match` on its ETag by a background thread. A holder that stops renewing
  (killed, machine gone) loses the lock when its lease ends; a holder on this machine whose
  process is gone loses it at once. Taking over a stale lock is itself a conditional PUT on the
  stale ETag, so two waiters cannot both win.

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
import json
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from flows.storage.scratch import process_alive
from flows.storage.store import Store

LOCKS = "_state/locks"
DEFAULT_LEASE_SECONDS = 60.0
DEFAULT_WAIT_SECONDS = 1800.0
_POLL_SECONDS = 0.2
_SAY_AGAIN_SECONDS = 30.0


class LockTimeout(RuntimeError):
    """Another run held a lake lock for longer than this run was willing to wait."""


@dataclass(frozen=True)
class Holder:
    owner: str
    host: str
    pid: int
    started: float  # the holder process's start time, so a reused pid is not taken for it
    expires: float

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Holder | None:
        try:
            return cls(**json.loads(data))
        except (ValueError, TypeError):
            return None  # a torn or foreign object: treated as stale

    def describe(self) -> str:
        if not self.expires:  # a local flock: the kernel releases it when that process ends
            return f"pid {self.pid} on {self.host} (until that process ends or releases it)"
        return f"pid {self.pid} on {self.host} (lease until {_clock(self.expires)}, renewed while it runs)"

    def is_stale(self, now: float) -> bool:
        if now > self.expires:
            return True
        return self.host == socket.gethostname() and not _alive(self.pid, self.started)


def _process_start(pid: int) -> float:
    """A process's start time in clock ticks since boot (Linux); 0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return float(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0.0


def _alive(pid: int, started: float) -> bool:
    """The process exists and is the one that took the lock (not another that reused its pid)."""
    return process_alive(pid) and (not started or _process_start(pid) in (0.0, started))


@contextlib.contextmanager
def lake_lock(lake: Store, name: str, logger: logging.Logger | None = None, lease_seconds: float = DEFAULT_LEASE_SECONDS,
              wait_seconds: float = DEFAULT_WAIT_SECONDS) -> Iterator[None]:
    """Hold the lake's lock `name` (e.g. 'unit-...' or 'partition-event_date=2026-11-02')."""
    log = logger or logging.getLogger("route53_lake")
    relative = f"{LOCKS}/{name}.lock"
    if lake.is_local:
        with _local_lock(lake.open_local_file(relative), name, log, wait_seconds):
            yield
    else:
        with _s3_lock(lake, relative, name, log, lease_seconds, wait_seconds):
            yield


@contextlib.contextmanager
def _local_lock(fd: int, name: str, log: logging.Logger, wait_seconds: float) -> Iterator[None]:
    try:
        _wait(lambda: _try_flock(fd), lambda: _holder_text(fd), name, log, wait_seconds)
        os.ftruncate(fd, 0)
        os.pwrite(fd, _me(expires=0).to_json(), 0)  # who holds it, for a waiter's log line
        try:
            yield
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


def _clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _wait(attempt, holder_text, name: str, log: logging.Logger, wait_seconds: float) -> None:
    """Call attempt() until it succeeds, saying at once (and every 30 s) that we wait, for what,
    for whom and until when."""
    log = _run_logger(log)
    started = time.monotonic()
    deadline, said = started + wait_seconds, None
    give_up_at = _clock(time.time() + wait_seconds)
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


def _me(expires: float) -> Holder:
    return Holder(owner=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), started=_process_start(os.getpid()),
                  expires=expires)


@contextlib.contextmanager
def _s3_lock(lake: Store, relative: str, name: str, log: logging.Logger, lease_seconds: float, wait_seconds: float) -> Iterator[None]:
    target = lake.path(relative)
    state: dict = {}

    def attempt() -> bool:
        holder = _me(time.time() + lease_seconds)
        try:
            lake.fs.pipe_file(target, holder.to_json(), IfNoneMatch="*")
        except (FileExistsError, OSError) as error:
            if not _precondition_failed(error):
                raise
            return _take_over_if_stale(lake, target, holder, state)
        state.update(holder=holder, etag=lake.fs.info(target, refresh=True)["ETag"])
        return True

    def holder_text() -> str:
        with contextlib.suppress(OSError):
            current = Holder.from_json(lake.fs.cat_file(target))
            if current:
                return current.describe()
        return "another run"

    _wait(attempt, holder_text, name, log, wait_seconds)
    stop = threading.Event()
    renewer = threading.Thread(target=_renew, args=(lake, target, state, lease_seconds, stop, log), daemon=True)
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join()
        with contextlib.suppress(OSError):
            if lake.fs.info(target, refresh=True)["ETag"] == state["etag"]:
                lake.fs.rm(target)


def _precondition_failed(error: OSError) -> bool:
    return isinstance(error, FileExistsError) or "pre-condition" in str(error).lower() or "precondition" in str(error).lower()


def _take_over_if_stale(lake: Store, target: str, holder: Holder, state: dict) -> bool:
    try:
        info = lake.fs.info(target, refresh=True)
        current = Holder.from_json(lake.fs.cat_file(target))
    except FileNotFoundError:
        return False  # released in between: the next attempt creates it
    if current is not None and not current.is_stale(time.time()):
        return False
    try:
        lake.fs.pipe_file(target, holder.to_json(), IfMatch=info["ETag"])
    except OSError as error:
        if _precondition_failed(error):
            return False  # another waiter took it first
        raise
    state.update(holder=holder, etag=lake.fs.info(target, refresh=True)["ETag"])
    return True


def _renew(lake: Store, target: str, state: dict, lease_seconds: float, stop: threading.Event, log: logging.Logger) -> None:
    while not stop.wait(lease_seconds / 3):
        holder = _me(time.time() + lease_seconds)
        try:
            lake.fs.pipe_file(target, holder.to_json(), IfMatch=state["etag"])
            state.update(holder=holder, etag=lake.fs.info(target, refresh=True)["ETag"])
        except OSError as error:  # lost it (lease ended while we were stalled): say so loudly
            log.error("lost lake lock %s: %s", target, error)
            return
