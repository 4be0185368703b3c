"""What every benchmark run shares: where the repository and the results file are, the environment a
measured command runs in, how one command is measured (wall, CPU, the largest process's peak), the
machine it ran on, and how a section of the results file is replaced."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow

from benchmarks.proc_peak import run_and_watch

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"  # written only when asked (--results); the README's tables come from it


# Linux folds the forking process's RSS high-water mark into a child's ru_maxrss (the mm copied by
# fork is accounted at exec). So the measured command is forked by this small launcher, started
# with -S and no imports beyond os/sys/time, not by this (large) process.
LAUNCHER = """
import os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
_, status, u = os.wait4(pid, 0)
wall = time.perf_counter() - started
with open(sys.argv[1], "w") as f:
    f.write(f"{os.waitstatus_to_exitcode(status)} {wall} {u.ru_utime + u.ru_stime} {u.ru_maxrss}")
"""


def measure(argv: list[str], env: dict, log: Path) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS MiB of the largest process) of one subprocess and its
    descendants. The peak is each process's own VmHWM, sampled from /proc (benchmarks/proc_peak.py)."""
    usage_file = log.with_suffix(".usage")
    with open(log, "wb") as out:
        _, peaks = run_and_watch([sys.executable, "-S", "-c", LAUNCHER, str(usage_file), *argv], cwd=ROOT, env=env,
                                 stdout=out, stderr=subprocess.STDOUT)
    code, wall, cpu, _ = usage_file.read_text().split()
    if int(code) != 0:
        sys.exit(f"FAILED ({code}): {' '.join(argv)}\n{log.read_text()[-4000:]}")
    # rusage counts the children that were waited for; the flow's fork server (and the reading
    # workers it forks) never is, so the CPU sampled per process counts when it is larger
    return float(wall), max(float(cpu), peaks.cpu_seconds()), peaks.largest()[1]


def environment(work: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    home = work / "prefect-home"
    home.mkdir(exist_ok=True)
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
               PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""))
    return env


def machine() -> str:
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"nproc {os.cpu_count()}, CPU {model}, Python {platform.python_version()}, DuckDB {duckdb.__version__}, "
            f"pyarrow {pyarrow.__version__}, {platform.system()} {platform.release()}, "
            f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


def write_results(path: Path, label: str, text: str) -> None:
    start, end = f"<!-- bench:{label} -->", f"<!-- /bench:{label} -->"
    block = f"{start}\n{text.rstrip()}\n{end}\n"
    old = path.read_text() if path.exists() else "# Benchmark results\n\nWritten by `python -m benchmarks.run` (see `make bench`).\n\n"
    if start in old and end in old:
        new = old[: old.index(start)] + block + old[old.index(end) + len(end) + 1:]
    else:
        new = old.rstrip() + "\n\n" + block
    path.write_text(new)


def long_lived_server(work: Path, env: dict) -> tuple[subprocess.Popen, str]:
    """A Prefect server started once, as a deployment's runs find it; (process, its API URL)."""
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with open(work / "server.log", "wb") as log:  # the server keeps its own copy of the descriptor
        server = subprocess.Popen([sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
                                  env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/api"
    for _ in range(240):
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2):
                return server, url
        except OSError:
            time.sleep(0.5)
    server.kill()
    sys.exit(f"the Prefect server did not start: {(work / 'server.log').read_text()[-2000:]}")
