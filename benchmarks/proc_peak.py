"""Peak RSS of every process of a run, from /proc: the run's process and all its descendants
(worker processes, a temporary Prefect server, Dask workers), sampled while it runs.

Each process's own high-water mark (VmHWM) is read, not ru_maxrss, which on Linux folds the
forking parent's RSS into a forked child's and reports one number for all waited-for children.
A process is sampled every `interval` seconds; VmHWM only grows, so the last sample before it exits
is its peak unless it grew in its last interval.

    python -m benchmarks.proc_peak -- python -m flows.cli ...   # prints the table to stderr
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class ProcessPeaks:
    peaks: dict[int, tuple[str, int]] = field(default_factory=dict)  # pid -> (command, VmHWM KiB)
    cpu: dict[int, float] = field(default_factory=dict)  # pid -> its own user + sys seconds, last sampled

    def cpu_seconds(self) -> float:
        """CPU of every process of the tree, whoever waited for it (a fork server is never waited
        for: its own and its workers' CPU is missing from the run's rusage). Each process's last
        interval is not seen."""
        return sum(self.cpu.values())

    def largest(self) -> tuple[str, float]:
        """(command, MiB) of the process with the largest peak."""
        if not self.peaks:
            return "", 0.0
        command, kib = max(self.peaks.values(), key=lambda item: item[1])
        return command, kib / 1024

    def by_kind(self) -> dict[str, float]:
        """Largest peak (MiB) per kind of process: the run itself, its workers, a Prefect server, others."""
        kinds: dict[str, float] = {}
        for command, kib in self.peaks.values():
            kind = kind_of(command)
            kinds[kind] = max(kinds.get(kind, 0.0), kib / 1024)
        return kinds


def kind_of(command: str) -> str:
    if "prefect" in command and ("server" in command or "uvicorn" in command):
        return "prefect server"
    if "multiprocessing" in command or "spawn_main" in command or "forkserver" in command:
        return "worker"
    if "distributed" in command or "dask" in command:
        return "dask worker"
    return "run"


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as handle:
            return [int(p) for p in handle.read().split()]
    except OSError:
        return []


def _hwm_kib(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/status") as handle:
            return next((int(line.split()[1]) for line in handle if line.startswith("VmHWM:")), None)
    except OSError:
        return None


def _cpu_seconds(pid: int) -> float | None:
    """utime + stime of the process itself (not of the children it waited for)."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()  # after "pid (command)"
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode(errors="replace").strip()
    except OSError:
        return ""


def sample_tree(root: int, peaks: ProcessPeaks, stop: threading.Event, interval: float = 0.05) -> None:
    """Sample the tree under `root` (root included) until `stop` is set."""
    while not stop.is_set():
        todo = [root]
        while todo:
            pid = todo.pop()
            todo += _children(pid)
            kib = _hwm_kib(pid)
            if kib is None:
                continue
            command, known = peaks.peaks.get(pid, (None, 0))
            peaks.peaks[pid] = (command or _command(pid), max(known, kib))
            if (cpu := _cpu_seconds(pid)) is not None:
                peaks.cpu[pid] = cpu
        stop.wait(interval)


def run_and_watch(argv: list[str], **popen) -> tuple[int, ProcessPeaks]:
    """Run argv to completion; (exit code, the peak of each of its processes)."""
    process = subprocess.Popen(argv, **popen)
    peaks, stop = ProcessPeaks(), threading.Event()
    watcher = threading.Thread(target=sample_tree, args=(process.pid, peaks, stop), daemon=True)
    watcher.start()
    code = process.wait()
    stop.set()
    watcher.join()
    return code, peaks


if __name__ == "__main__":
    argv = sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]
    started = time.perf_counter()
    code, peaks = run_and_watch(argv)
    print(f"exit {code}, {time.perf_counter() - started:.1f} s, {peaks.cpu_seconds():.1f} CPU s", file=sys.stderr)
    for pid, (command, kib) in sorted(peaks.peaks.items(), key=lambda item: -item[1][1]):
        print(f"{kib / 1024:8.0f} MiB  {pid:>7}  {kind_of(command):<15} {command[:110]}", file=sys.stderr)
    sys.exit(code)
