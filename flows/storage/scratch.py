"""Scratch folders in the system temp folder (worker spools, partition rebuilds, S3 uploads), and
helper processes (reading workers, a temporary Prefect server) that must not outlive their run.

They can hold Route 53 rows (ARNs, IP addresses), so they are private (0700) and never outlive
a run for long: each is named for the process that made it, and every run first removes the
ones whose process is gone (a run killed with SIGKILL cannot clean up after itself).

Whether a process is gone is asked of the kernel's file locks, not of its pid: each process holds
an exclusive `flock` on its own `<prefix><pid>-<token>.alive` file from its first scratch folder
until it ends (the kernel drops the lock however it ends). A pid says nothing across PID
namespaces (two containers sharing /tmp, a pod with hostNetwork): a live run's folders would look
orphaned to the other, and be removed under it. Names without a token (made by earlier versions)
are still judged by their pid.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import re
import secrets
import shutil
import signal
import sys
import tempfile
import threading

PREFIX = "route53-lake-"
ALIVE = ".alive"
_OWNED = re.compile(re.escape(PREFIX) + r"(?P<pid>\d+)-(?:(?P<token>[0-9a-f]{16})(?:-|\.alive$))?")
_owners: dict[tuple[int, str], str] = {}  # (pid, temp folder) -> token; its .alive file's descriptor stays open
_owner_lock = threading.Lock()


def _after_fork_in_child() -> None:
    global _owner_lock
    _owner_lock = threading.Lock()  # another thread may have held it at the fork


os.register_at_fork(after_in_child=_after_fork_in_child)


def scratch_dir(kind: str) -> str:
    """A new private folder for this process."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{owner_tag()}-{kind}-")


def scratch_file(kind: str, suffix: str = "") -> str:
    """A new private (0600) empty file for this process."""
    handle, path = tempfile.mkstemp(prefix=f"{PREFIX}{owner_tag()}-{kind}-", suffix=suffix)
    os.close(handle)
    return path


def owner_tag() -> str:
    """`<pid>-<token>` of this process; its .alive file, beside the scratch folders it names, is
    locked for as long as the process lives (a forked child makes its own on first use)."""
    pid, root = os.getpid(), tempfile.gettempdir()
    with _owner_lock:
        if (pid, root) not in _owners:
            token = secrets.token_hex(8)
            fd = os.open(os.path.join(root, f"{PREFIX}{pid}-{token}{ALIVE}"),
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # released by the kernel when the process ends, however it ends
            _owners[(pid, root)] = token
        return f"{pid}-{_owners[(pid, root)]}"


def sweep() -> int:
    """Remove scratch folders and files left by processes that no longer exist; returns how many."""
    removed = 0
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        entries = sorted(os.scandir(root), key=lambda e: e.name.endswith(ALIVE))  # a process's .alive file last
        for entry in entries:
            match = _OWNED.match(entry.name)
            if not match or _owner_alive(root, match):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.remove(entry.path)
                removed += 1
    return removed


def _owner_alive(root: str, match: re.Match) -> bool:
    if match["token"] is None:
        return process_alive(int(match["pid"]))
    try:
        fd = os.open(os.path.join(root, f"{PREFIX}{match['pid']}-{match['token']}{ALIVE}"), os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return False  # made before anything else of its process, removed only once that process was gone
    except OSError:
        return True  # not ours to judge (a link, no permission): leave it
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent(parent: int) -> None:
    """Run in a child (a pool's initializer, a subprocess's preexec_fn): the kernel sends it SIGTERM
    when the thread that started it ends, and so when its run is killed, however (PR_SET_PDEATHSIG,
    Linux). Start helpers from a thread that lives as long as the run: the main thread.
    parent: the starting process's pid, to catch a parent that died before the call took effect
    (its children then have another parent). Not "a parent of pid 1": in a container the run is
    often pid 1 itself."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)
