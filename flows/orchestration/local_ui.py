"""`make ui` and `make ui-stop`: the whole local orchestration (Prefect server and UI, the work pool,
prefect.yaml's deployments, one worker) brought up on 127.0.0.1, waiting for each part, and stopped.

Idempotent: a server or worker already started here (pid file alive) or a server already answering on
the port is reused, the pool is created only when missing, and `prefect deploy --all` updates. What this
starts runs in its own session (it outlives `make ui`) and is recorded in $PREFECT_HOME/route53-lake-ui/
(pid and log files); `down` stops exactly those processes by their ids: worker, then server.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from flows.orchestration.deploy_steps import REPOSITORY

BIN = Path(sys.executable).parent
POOL = "local-process"
HOST = "127.0.0.1"


def state_dir() -> Path:
    home = Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()
    return home / "route53-lake-ui"


def prefect_env(port: int) -> dict[str, str]:
    api = f"http://{HOST}:{port}/api"
    return {**os.environ, "PREFECT_API_URL": api, "PREFECT_UI_API_URL": api, "PREFECT_SERVER_API_HOST": HOST,
            "PREFECT_SERVER_API_PORT": str(port), "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false"}


def api(port: int, path: str, body: dict | None = None) -> object:
    """One call to the server's REST API; HTTP and connection errors raise (URLError, OSError)."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"http://{HOST}:{port}/api{path}", data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def healthy(port: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return api(port, "/health") is True
    return False


def running(pid: int) -> bool:
    """The process exists and is not a zombie (one nobody has reaped yet has ended all the same)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def alive(pid_file: Path) -> int | None:
    """The recorded process id if that process still runs a prefect command (a reused id does not count)."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(pid_file.read_text())
        if running(pid) and b"prefect" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    return None


def wait_for(check, what: str, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:]) if log.exists() else ""
            raise SystemExit(f"make ui: {what} not ready within {timeout:.0f} s; last lines of {log}:\n{tail}")
        time.sleep(0.5)


def start(name: str, args: list[str], port: int) -> int:
    """A prefect command in its own session, its output in <state>/<name>.log, its id in <name>.pid."""
    state = state_dir()
    state.mkdir(parents=True, exist_ok=True)
    with (state / f"{name}.log").open("ab") as log:
        process = subprocess.Popen([str(BIN / "prefect"), *args], env=prefect_env(port), cwd=REPOSITORY,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (state / f"{name}.pid").write_text(str(process.pid))
    return process.pid


def ensure_server(port: int) -> None:
    if healthy(port):
        print(f"server: already answering on http://{HOST}:{port}")
        return
    pid = start("server", ["server", "start"], port)
    print(f"server: started (pid {pid}), waiting for http://{HOST}:{port}/api/health ...", flush=True)
    log = state_dir() / "server.log"
    wait_for(lambda: healthy(port) or alive(state_dir() / "server.pid") is None, "the Prefect server", log, 240)
    if not healthy(port):
        raise SystemExit(f"make ui: the Prefect server exited; see {log}")


def ensure_pool_and_deployments(port: int) -> None:
    try:
        api(port, f"/work_pools/{POOL}")
        print(f"work pool {POOL}: exists")
    except urllib.error.HTTPError as exc:
        if exc.code != 404:
            raise
        prefect(port, "work-pool", "create", POOL, "--type", "process", "--overwrite")
        print(f"work pool {POOL}: created")
    prefect(port, "--no-prompt", "deploy", "--all")
    print("deployments: nightly, backfill and day deployed from prefect.yaml")
    named = subprocess.run([sys.executable, "-m", "flows.orchestration.scheduled_names"], env=prefect_env(port), cwd=REPOSITORY,
                           capture_output=True, text=True)
    if named.returncode:
        raise SystemExit(f"make ui: naming the scheduled nightly runs failed:\n{named.stderr[-3000:]}")
    print(named.stdout.strip())


def prefect(port: int, *args: str) -> None:
    """A prefect command to completion from the repository; a failure ends `make ui` with its output."""
    done = subprocess.run([str(BIN / "prefect"), *args], env=prefect_env(port), cwd=REPOSITORY, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"make ui: prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def worker_online(port: int) -> bool:
    with contextlib.suppress(OSError, ValueError):
        return any(w.get("status") == "ONLINE" for w in api(port, f"/work_pools/{POOL}/workers/filter", {}))
    return False


def ensure_worker(port: int) -> None:
    pid_file = state_dir() / "worker.pid"
    if alive(pid_file):
        print(f"worker: already running (pid {alive(pid_file)})")
        return
    pid = start("worker", ["worker", "start", "--pool", POOL], port)
    print(f"worker: started (pid {pid}), waiting for it to poll {POOL} ...", flush=True)
    wait_for(lambda: worker_online(port) or alive(pid_file) is None, "the worker", state_dir() / "worker.log", 120)
    if not alive(pid_file):
        raise SystemExit(f"make ui: the worker exited; see {state_dir() / 'worker.log'}")


def up(port: int) -> None:
    ensure_server(port)
    ensure_pool_and_deployments(port)
    ensure_worker(port)
    print(f"\nPrefect UI: http://{HOST}:{port}   (stop it all: make ui-stop; logs: {state_dir()})")
    print(f"For the prefect and route53-lake commands: export PREFECT_API_URL=http://{HOST}:{port}/api")


def stop(pid: int) -> None:
    """SIGTERM to the process's session (flow runs, uvicorn), 15 s, then SIGKILL: a worker may ignore SIGTERM."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + 15
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def down() -> None:
    for name in ("worker", "server"):
        pid_file = state_dir() / f"{name}.pid"
        pid = alive(pid_file)
        if pid:
            stop(pid)
            print(f"{name}: stopped (pid {pid})")
        pid_file.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m flows.orchestration.local_ui", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["up", "down"])
    parser.add_argument("--port", type=int, default=4200)
    args = parser.parse_args(argv)
    up(args.port) if args.action == "up" else down()


if __name__ == "__main__":
    main()
