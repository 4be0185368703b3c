"""Scratch folders in the system temp folder (worker spools, partition rebuilds, S3 uploads), and
helper processes (reading workers, a temporary Prefect server) that must not outlive their run.

They can hold Route 53 rows (ARNs, IP addresses), so they are private (0700) and never outlive
a run for long: each is named for the process that made it, and every run first removes the
ones whose process is gone (a run killed with SIGKILL cannot clean up after itself).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import shutil
import signal
import sys
import tempfile

PREFIX = "route53-lake-"
_OWNED = re.compile(re.escape(PREFIX) + r"(?P<pid>\d+)-")


def scratch_dir(kind: str) -> str:
    """A new private folder for this process."""
    return tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}-{kind}-")


def sweep() -> int:
    """Remove scratch folders and files left by processes that no longer exist; returns how many."""
    removed = 0
    root = tempfile.gettempdir()
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            match = _OWNED.match(entry.name)
            if not match or process_alive(int(match["pid"])):
                continue
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.remove(entry.path)
                removed += 1
    return removed


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def die_with_parent(parent: int | None = None) -> None:
    """Run in a child (a pool's initializer, a subprocess's preexec_fn): the kernel sends it SIGTERM
    when the thread that started it ends, and so when its run is killed, however (PR_SET_PDEATHSIG,
    Linux). Start helpers from a thread that lives as long as the run: the main thread.
    parent: the starting process's pid, to catch a parent that died before the call took effect."""
    if sys.platform.startswith("linux"):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() == 1 or (parent is not None and os.getppid() != parent):
        os._exit(1)
