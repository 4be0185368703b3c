"""A real Prefect server, work pool, deployments and worker as subprocesses on loopback, shared by the
end-to-end tests (tests/e2e/test_e2e_deployment.py, tests/e2e/test_ui_browser.py).

The server gets its own PREFECT_HOME (SQLite) and a free port through PREFECT_SERVER_API_HOST/PORT
(never `--port`: the UI would still point at 4200). Nothing phones home. Every process started here
is stopped by its id: worker first, then server; SIGTERM, 15 s, SIGKILL; then whatever is left of
its process group (flow-run subprocesses) is killed too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
POOL = "local-process"
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}
RETRYABLE = {429, 502, 503}
RETRY_DELAYS = (0.5, 1, 2, 4, 8, None)  # None: the last attempt


def _die_with_pytest() -> None:
    """In the child before exec (Linux): SIGKILL when the process that started it dies, so a pytest
    killed outright (CI timeout, ^C twice) leaves no server or worker behind."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            value = check()
            if value:
                return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f} s")
        time.sleep(interval)


class PrefectServer:
    """`prefect server start` in a subprocess, plus helpers for the CLI and the REST API."""

    def __init__(self, home: Path, *, ui: bool = False) -> None:
        home.mkdir(parents=True, exist_ok=True)
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_url = f"{self.url}/api"
        self.log_path = home / "prefect-processes.log"
        self.env = {
            **os.environ,
            "PREFECT_HOME": str(home / "prefect_home"),
            "PREFECT_API_URL": self.api_url,
            "PREFECT_SERVER_API_HOST": "127.0.0.1",
            "PREFECT_SERVER_API_PORT": str(self.port),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "DO_NOT_TRACK": "1",
            "PREFECT_SERVER_UI_ENABLED": "true" if ui else "false",
            "PREFECT_UI_API_URL": self.api_url,
            "PREFECT_SERVER_UI_SHOW_PROMOTIONAL_CONTENT": "false",
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_API_LOG_RETRYABLE_ERRORS": "true",  # a 503's cause (SQLite busy) shows in the log
            "PROJECT_DIR": str(ROOT),
        }
        self.processes: list[subprocess.Popen] = []
        self.http = httpx.Client(base_url=self.api_url, timeout=30)

    # processes ---------------------------------------------------------------------------------
    def _popen(self, *args: str, cwd: Path = ROOT) -> subprocess.Popen:
        with self.log_path.open("ab") as log:
            log.write(f"\n$ prefect {' '.join(args)}\n".encode())
            log.flush()
            process = subprocess.Popen([str(BIN / "prefect"), *args], env=self.env, cwd=cwd, stdin=subprocess.DEVNULL,
                                       stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                       preexec_fn=_die_with_pytest)
        self.processes.append(process)
        return process

    def start(self, timeout: float = 90) -> None:
        server = self._popen("server", "start")
        wait_until(lambda: server.poll() is not None or self.http.get("/health").status_code == 200,
                   timeout, "prefect server /api/health")
        if server.poll() is not None:
            raise RuntimeError(f"prefect server exited with {server.returncode}\n{self.tail()}")

    def cli(self, *args: str, cwd: Path = ROOT, timeout: float = 180) -> None:
        """A prefect CLI command to completion; its output goes to the log, a failure raises with the tail."""
        with self.log_path.open("ab") as log:
            log.write(f"\n$ prefect {' '.join(args)}\n".encode())
            log.flush()
            done = subprocess.run([str(BIN / "prefect"), *args], env=self.env, cwd=cwd, stdin=subprocess.DEVNULL,
                                  stdout=log, stderr=subprocess.STDOUT, timeout=timeout, check=False)
        if done.returncode:
            raise RuntimeError(f"prefect {' '.join(args)} exited with {done.returncode}\n{self.tail()}")

    def start_worker(self, pool: str = POOL) -> subprocess.Popen:
        worker = self._popen("worker", "start", "--pool", pool)
        wait_until(lambda: self._worker_online(pool) or worker.poll() is not None, 60, "worker polling the pool")
        if worker.poll() is not None:
            raise RuntimeError(f"worker exited with {worker.returncode}\n{self.tail()}")
        return worker

    def _worker_online(self, pool: str) -> bool:
        workers = self.http.post(f"/work_pools/{pool}/workers/filter", json={}).json()
        return any(w.get("status") == "ONLINE" for w in workers)

    def stop(self) -> None:
        """Worker(s) first, then the server: each by its id, SIGTERM, 15 s, SIGKILL; then its group."""
        self.http.close()
        for process in reversed(self.processes):
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=15)
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # its own session: flow runs or uvicorn left behind
        self.processes.clear()

    def tail(self, lines: int = 80) -> str:
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return f"--- last {lines} lines of {self.log_path} ---\n" + "\n".join(text[-lines:])

    @contextlib.contextmanager
    def explain_failure(self) -> Iterator[None]:
        """Print the tail of the server/worker log when the block fails (pytest shows it with the failure)."""
        try:
            yield
        except BaseException:
            print(self.tail(120))
            raise

    # REST --------------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict | None = None) -> Any:
        """One REST call, retried like Prefect's own client does: SQLite answers "busy" under load and
        the server turns that into 503 (also 502 and 429), so those are retried with backoff."""
        for delay in RETRY_DELAYS:
            response = self.http.request(method, path, json=body)
            if response.status_code not in RETRYABLE or delay is None:
                break
            time.sleep(delay)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> Any:
        return self._request("GET", path)

    def post(self, path: str, body: dict | None = None) -> Any:
        return self._request("POST", path, body or {})

    def deployment(self, flow_name: str, name: str) -> dict:
        return self.get(f"/deployments/name/{flow_name}/{name}")

    def flow_runs(self, **flow_run_filter: Any) -> list[dict]:
        return self.post("/flow_runs/filter", {"flow_runs": flow_run_filter, "limit": 200})

    def children(self, parent_ids: list[str]) -> list[dict]:
        """Flow runs whose parent task run belongs to one of these flow runs (subflow runs)."""
        if not parent_ids:
            return []
        return self.flow_runs(parent_flow_run_id={"any_": parent_ids})

    def wait_for_run(self, flow_run_id: str, timeout: float = 120) -> dict:
        def terminal():
            run = self.get(f"/flow_runs/{flow_run_id}")
            return run if run["state_type"] in TERMINAL else None

        return wait_until(terminal, timeout, f"flow run {flow_run_id} in a terminal state", interval=0.5)


@contextlib.contextmanager
def deployed_prefect(home: Path, *, ui: bool = False, prefect_file: Path | None = None) -> Iterator[PrefectServer]:
    """A server, the `local-process` pool, every deployment of prefect.yaml (deployed from the
    repository root with PROJECT_DIR set, as the README says) and a worker on the pool."""
    server = PrefectServer(home, ui=ui)
    try:
        server.start()
        server.cli("work-pool", "create", POOL, "--type", "process")
        extra = ["--prefect-file", str(prefect_file)] if prefect_file else []
        server.cli("--no-prompt", "deploy", "--all", *extra)
        server.start_worker()
        yield server
    except BaseException:
        print(server.tail(120))
        raise
    finally:
        server.stop()


# What the sample says a run of these delivery days must leave ------------------------------------
def expected_events_by_event_date(expected: dict, days: list[str], family: bool = False) -> dict[str, int]:
    """events rows per event_date partition that delivery `days` of data/cloudtrail produce (duplicates
    dropped), the oracle's numbers added up over days: route53.amazonaws.com in us-east-1, or with
    `family` what the default reads (every Route 53 source, every region)."""
    counts: dict[str, int] = {}
    for day in days:
        regions = expected["days"][day]["by_region"]
        for region in regions if family else ["us-east-1"]:
            for event_date, n in regions[region]["family_events_by_event_date" if family else "events_by_event_date"].items():
                counts[event_date] = counts.get(event_date, 0) + n
    return counts


def lake_events_by_event_date(lake: Path) -> dict[str, int]:
    """The lake's events, counted per event_date partition directory, read with DuckDB."""
    import duckdb

    files = sorted(lake.glob("events/event_date=*/*.parquet"))
    if not files:
        return {}
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    rows = con.execute("select event_date::varchar, count(*) from read_parquet(?, hive_partitioning = true) group by 1",
                       [[str(f) for f in files]]).fetchall()
    return dict(rows)


def partitions(lake: Path, table: str) -> list[str]:
    return sorted(p.name for p in (lake / table).glob("event_date=*") if p.is_dir())
