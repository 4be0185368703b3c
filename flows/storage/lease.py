"""An S3 lake's lock: a small object created with a conditional PUT (`If-None-Match: *`), kept by
a lease its holder renews with `If-Match` on its ETag, and a fence every write under it passes.

Who holds it is the random `owner` id written in the object: never a host name and a pid (a
container with host networking, or two machines of one name, share a host name and not a process
table). A waiter takes the lock when its lease has run out, judged by the object's own
LastModified (S3's clock, not the holder's) and by how long this waiter has seen the same version
unrenewed; at once only when the holder wrote it from this very kernel and PID namespace (same boot
id, same /proc/self/ns/pid) and its process is gone. An object that is not a lock this project
wrote (damaged, foreign, hostile JSON) is a stale lock taken over after a lease, said so in the log.

The fence (`check()`, run by the Store before each write under the lock, see Store.fenced): the
holder can prove it still holds the lock, i.e. its last confirmed renewal leaves at least a third of
the lease, and the lock object still names its owner id. The renewer retries a failed renewal with
backoff until the lease runs out; a 412 after a renewal whose answer was lost is accepted when the
object still names this owner. When the holder cannot prove it any more, `check()` raises LockLost
and so does every later write. What is left: a write whose check passed and whose PUT then stalls for
longer than the rest of the lease (a third of it at least: 20 s by default) can still land after
another run took the lock; S3 cannot make a PUT conditional on another object.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from flows.storage.lock_client import lock_client
from flows.storage.scratch import process_alive

if TYPE_CHECKING:  # a type only: the Store calls the lease's fence, and the lease writes through the Store it is given
    from flows.storage.store import Store

_MAX_LOCK_BYTES = 4096  # a lock object is ~250 bytes: anything much larger is not one
_MAX_LEASE_SECONDS = 3600.0


class LockTimeout(RuntimeError):
    """Another run held a lake lock for longer than this run was willing to wait."""


class LockLost(RuntimeError):
    """This run can no longer prove that it holds a lake lock (its lease ran out, or another run
    took the lock): nothing more is written under it."""


class LockProblem(RuntimeError):
    """A lake lock file that no run can hold (a FIFO, a folder, a link): a person must remove it."""


class DamagedLock(ValueError):
    """A lock object whose contents are not a holder this project writes."""


def clock() -> float:
    """Seconds that keep counting while the machine sleeps (CLOCK_BOOTTIME), unlike monotonic."""
    return time.clock_gettime(getattr(time, "CLOCK_BOOTTIME", time.CLOCK_MONOTONIC))


def _boot_id() -> str:
    with contextlib.suppress(OSError), open("/proc/sys/kernel/random/boot_id") as handle:
        return handle.read().strip()
    return ""


def _pid_namespace() -> str:
    with contextlib.suppress(OSError):
        return os.readlink("/proc/self/ns/pid")
    return ""


def _process_start(pid: int) -> float:
    """A process's start time in clock ticks since boot (Linux); 0 where unknown."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return float(stat.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return 0.0


_FIELDS = {"owner": str, "host": str, "pid": int, "started": float, "expires": float, "lease_seconds": float,
           "boot_id": str, "pid_namespace": str}


@dataclass(frozen=True)
class Holder:
    owner: str  # random, one per acquisition: the lock's identity, what the fence compares
    host: str  # host name and pid: for people reading a waiter's log line, never to judge
    pid: int
    started: float  # the holder process's start time, so a reused pid is not taken for it
    expires: float  # the holder's own clock; for the log line (a waiter judges by S3's LastModified)
    lease_seconds: float = 0.0
    boot_id: str = ""  # with pid_namespace: the process table `pid` belongs to
    pid_namespace: str = ""

    def to_json(self) -> bytes:
        return json.dumps(self.__dict__, sort_keys=True).encode()

    @classmethod
    def from_json(cls, data: bytes) -> Holder | None:
        try:
            return cls.parse(data)
        except DamagedLock:
            return None

    @classmethod
    def parse(cls, data: bytes) -> Holder:
        """The holder a lock's bytes name; DamagedLock saying what is wrong otherwise."""
        if len(data) > _MAX_LOCK_BYTES:
            raise DamagedLock(f"{len(data)} bytes, not a lock this project writes")
        try:
            document = json.loads(data)
        except (ValueError, RecursionError) as error:  # RecursionError: nested arrays, thousands deep
            raise DamagedLock(f"not JSON ({type(error).__name__})") from None
        if not isinstance(document, dict):
            raise DamagedLock(f"JSON {type(document).__name__}, not an object")
        values = {}
        for name, kind in _FIELDS.items():
            if name not in document:
                continue
            value = document[name]
            if kind is float and isinstance(value, int) and not isinstance(value, bool):
                value = float(value)
            if not isinstance(value, kind) or isinstance(value, bool) or (kind is float and not math.isfinite(value)):
                raise DamagedLock(f"{name!r} is {str(value)[:40]!r}")
            values[name] = value
        missing = [n for n in ("owner", "host", "pid", "expires") if n not in values]
        if missing:
            raise DamagedLock(f"no {', '.join(missing)}")
        if not 0 <= values["expires"] < 1e11 or not 0 <= values.get("lease_seconds", 0.0) <= _MAX_LEASE_SECONDS:
            raise DamagedLock(f"lease out of range (expires {values['expires']:.6g})")
        values.setdefault("started", 0.0)
        return cls(**values)

    def describe(self) -> str:
        if not self.expires:  # a local flock: the kernel releases it when that process ends
            return f"pid {self.pid} on {self.host} (until that process ends or releases it)"
        return f"pid {self.pid} on {self.host} (lease until {wall_clock(self.expires)}, renewed while it runs)"

    def is_dead_here(self) -> bool:
        """Its process is gone, and we can tell: it ran in this kernel and this PID namespace."""
        if not self.boot_id or self.boot_id != _boot_id() or self.pid_namespace != _pid_namespace():
            return False
        return not process_alive(self.pid) or (bool(self.started) and _process_start(self.pid) not in (0.0, self.started))


def me(expires: float, lease_seconds: float = 0.0) -> Holder:
    return Holder(owner=uuid.uuid4().hex, host=socket.gethostname(), pid=os.getpid(), started=_process_start(os.getpid()),
                  expires=expires, lease_seconds=lease_seconds, boot_id=_boot_id(), pid_namespace=_pid_namespace())


def wall_clock(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(epoch))


def _head(fs: object, target: str) -> bytes:
    """A lock object's bytes, no more than a lock's worth (a huge planted object is not read whole)."""
    try:
        return fs.cat_file(target, start=0, end=_MAX_LOCK_BYTES + 1)
    except OSError as error:
        if "range is not satisfiable" in str(error).lower():
            return b""  # an empty object has no first byte to ask for
        raise


def precondition_failed(error: OSError) -> bool:
    text = str(error).lower()
    return isinstance(error, FileExistsError) or "pre-condition" in text or "precondition" in text


class S3Lease:
    """One acquisition of an S3 lake lock: `attempt()` until it is won, `start()`, `check()` before
    each write, `release()`."""

    def __init__(self, lake: Store, relative: str, name: str, log: logging.Logger, lease_seconds: float) -> None:
        self.lake, self.target, self.name, self.log, self.lease = lake, lake.path(relative), name, log, lease_seconds
        self.fs = lake.fs  # taking it: the lake's client, with its retries
        self._quick = lock_client(lake.fs, lease_seconds)  # renewing and checking it: retried here
        self.holder: Holder | None = None
        self.etag = ""
        self.confirmed = 0.0  # clock() when the request behind the last confirmed renewal was sent
        self.lost: str | None = None
        self._seen: tuple[str, float] = ("", 0.0)  # a waiter's: the version it sees, since when
        self._told: set[str] = set()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    # ------------------------------------------------------------------ taking it

    def attempt(self) -> bool:
        holder, sent = me(time.time() + self.lease, self.lease), clock()
        try:
            response = self.fs.pipe_file(self.target, holder.to_json(), IfNoneMatch="*")
        except OSError as error:
            if not precondition_failed(error):
                raise
            return self._take_over_if_stale(holder)
        self._won(holder, sent, response)
        return True

    def _won(self, holder: Holder, sent: float, response: object) -> None:
        etag = response.get("ETag") if isinstance(response, dict) else None
        self.holder, self.confirmed = holder, sent
        self.etag = etag or self.fs.info(self.target, refresh=True)["ETag"]

    def _read(self, fs: object = None) -> tuple[dict, bytes]:
        fs = fs or self.fs
        info = fs.info(self.target, refresh=True)
        return info, _head(fs, self.target)

    def _take_over_if_stale(self, holder: Holder) -> bool:
        try:
            info, data = self._read()
        except FileNotFoundError:
            return False  # released in between: the next attempt creates it
        if not self._stale(info, data):
            return False
        sent = clock()
        try:
            response = self.fs.pipe_file(self.target, holder.to_json(), IfMatch=info["ETag"])
        except OSError as error:
            if precondition_failed(error):
                return False  # renewed, or another waiter took it first
            raise
        self.log.warning("took over lake lock %r (%s): %s", self.name, self.target, self._holder_text(data))
        self._won(holder, sent, response)
        return True

    def _stale(self, info: dict, data: bytes) -> bool:
        etag = info["ETag"]
        if self._seen[0] != etag:
            self._seen = (etag, clock())
        try:
            current = Holder.parse(data)
        except DamagedLock as damage:
            current = None
            if etag not in self._told:
                self._told.add(etag)
                self.log.warning("lake lock %r (%s) is damaged: %s. No run of route53-lake wrote it as it is; it is "
                                 "treated as a stale lock and taken over once unchanged for %.0f s (or delete it to go on at once)",
                                 self.name, self.target, damage, self.lease)
        if current is not None and current.is_dead_here():
            return True
        lease = current.lease_seconds if current is not None and current.lease_seconds > 0 else self.lease
        modified = info.get("LastModified")
        by_s3 = hasattr(modified, "timestamp") and time.time() > modified.timestamp() + lease + 1  # LastModified is in whole seconds
        return by_s3 or clock() - self._seen[1] > lease

    def holder_text(self) -> str:
        """Who holds it and until when its lease runs by S3's clock (a holder's own `expires` may be wrong)."""
        try:
            info, data = self._read()
        except OSError:
            return "another run"
        text, modified = self._holder_text(data), info.get("LastModified")
        current = Holder.from_json(data)
        lease = current.lease_seconds if current is not None and current.lease_seconds > 0 else self.lease
        if hasattr(modified, "timestamp"):
            text += f"; taken over if not renewed by {wall_clock(modified.timestamp() + lease + 1)} (S3's clock)"
        return text

    def _holder_text(self, data: bytes) -> str:
        try:
            return Holder.parse(data).describe()
        except DamagedLock as damage:
            return f"nobody this project knows (the lock object is damaged: {damage}; taken over after {self.lease:.0f} s unchanged)"

    # ------------------------------------------------------------------ holding it

    def start(self) -> None:
        self._renewer = threading.Thread(target=self._renew, name=f"renew-{self.name}", daemon=True)
        self._renewer.start()

    def check(self) -> None:
        """Raise LockLost unless this run can prove it still holds the lock (see the module's doc)."""
        current = self._read_owner()
        left = self.confirmed + self.lease - clock()
        if self.lost:
            pass
        elif left < self.lease / 3:
            self._lose(f"its last renewal was confirmed {self.lease - left:.0f} s ago, too close to the end of its "
                       f"{self.lease:.0f} s lease for another write (the process was paused, or S3 did not answer)")
        elif current is None or current.owner != self.holder.owner:
            self._lose(f"the lock object now names {current.describe() if current else 'nobody'}: another run took it")
        if self.lost:
            raise LockLost(self.lost)

    def _read_owner(self) -> Holder | None:
        """The holder the lock object names now (None: gone or damaged); a few quick tries."""
        for delay in (0.1, 0.4, 1.0, None):
            try:
                return Holder.from_json(_head(self._quick, self.target))
            except FileNotFoundError:
                return None
            except OSError:
                if delay is None or self.lost:
                    raise
                time.sleep(delay)
        return None

    def _lose(self, why: str) -> None:
        if self.lost is None:
            self.lost = f"lost lake lock {self.name!r} ({self.target}): {why}; this run writes nothing more under it"
            self.log.error("%s", self.lost)
        self._stop.set()

    def _renew(self) -> None:
        try:
            while not self._stop.wait(self.lease / 3) and self._renew_once():
                pass
        except Exception as error:  # noqa: BLE001 - a renewer that dies silently is what this replaces
            self._lose(f"its renewer failed: {type(error).__name__}: {str(error)[:200]}")

    def _renew_once(self) -> bool:
        """One renewal, retried with backoff until the lease runs out. False once the lock is lost."""
        first_sent, delay = clock(), min(1.0, self.lease / 30)
        while True:
            sent = clock()
            if sent > self.confirmed + self.lease:
                self._lose(f"no renewal got through before its {self.lease:.0f} s lease ran out")
                return False
            holder = replace(self.holder, expires=time.time() + self.lease)
            try:
                response = self._quick.pipe_file(self.target, holder.to_json(), IfMatch=self.etag)
                self.holder = holder
                self._won(holder, sent, response)
                return True
            except OSError as error:
                if precondition_failed(error):
                    return self._still_ours(first_sent)
                self.log.warning("renewing lake lock %r failed (%s); retrying in %.1f s, within its lease",
                                 self.name, str(error)[:200], delay)
            if self._stop.wait(delay):
                return False  # released meanwhile
            delay = min(delay * 2, self.lease / 6)

    def _still_ours(self, first_sent: float) -> bool:
        """A 412 on renewal: a retry of a renewal S3 applied (its answer lost) also gets one. The
        lock is still ours if the object names this owner; its renewal is then at least as recent
        as the first request of this round."""
        try:
            info, data = self._read(self._quick)
            current = Holder.from_json(data)
        except FileNotFoundError:
            current = None
        except OSError as error:  # S3 unreachable: the lease decides (the next round tries again)
            self.log.warning("renewing lake lock %r: could not read it back (%s)", self.name, str(error)[:200])
            return True
        if current is None or current.owner != self.holder.owner:
            self._lose(f"renewal refused: the lock object now names {current.describe() if current else 'nobody'}")
            return False
        self.holder, self.etag, self.confirmed = current, info["ETag"], first_sent
        return True

    def release(self) -> None:
        """Stop renewing, and delete the lock object if it is still ours."""
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join()
        if self.lost:
            return
        with contextlib.suppress(OSError):
            if self.fs.info(self.target, refresh=True)["ETag"] == self.etag:
                self.fs.rm(self.target)
