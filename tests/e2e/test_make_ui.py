"""`make ui` brings the whole local orchestration up on 127.0.0.1 and waits for each part (server and its
/api/health, the work pool, prefect.yaml's deployments, a worker); a second `make ui` reuses what runs;
`make ui-stop` ends exactly the processes it started (flows/orchestration/local_ui.py).

The test never touches ~/.prefect: PREFECT_HOME is a temporary folder (the pid files and logs live
under it) and the server gets a free port.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from flows.orchestration.local_ui import running
from tests.conftest import ROOT
from tests.prefect_server import free_port, wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

DEPLOYMENTS = [("route53-lake-nightly", "nightly"), ("route53-lake-backfill", "backfill"), ("route53-lake-day", "day")]


def make(target: str, env: dict[str, str], *variables: str) -> subprocess.CompletedProcess:
    """A make target of the repository, with this test's interpreter as the venv (-o: never reinstall)."""
    command = ["make", "--no-print-directory", "-o", ".venv/.installed", f"BIN={Path(sys.executable).parent}", target, *variables]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)


def test_make_ui_twice_then_make_ui_stop(tmp_path):
    port = free_port()
    home = tmp_path / "prefect_home"
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_") and key != "PROJECT_DIR"}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1")
    state = home / "route53-lake-ui"
    pids: dict[str, int] = {}
    try:
        first = make("ui", env, f"UI_PORT={port}")
        assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-4000:]
        assert f"Prefect UI: http://127.0.0.1:{port}" in first.stdout
        pids = {name: int((state / f"{name}.pid").read_text()) for name in ("server", "worker")}
        assert all(running(pid) for pid in pids.values())

        second = make("ui", env, f"UI_PORT={port}")
        assert second.returncode == 0, second.stdout[-4000:] + second.stderr[-4000:]
        assert "server: already answering" in second.stdout and "work pool local-process: exists" in second.stdout
        assert f"worker: already running (pid {pids['worker']})" in second.stdout
        assert {name: int((state / f"{name}.pid").read_text()) for name in pids} == pids

        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30) as api:
            for flow, name in DEPLOYMENTS:
                deployment = api.get(f"/deployments/name/{flow}/{name}")
                assert deployment.status_code == 200 and deployment.json()["work_pool_name"] == "local-process", (flow, name)
            workers = api.post("/work_pools/local-process/workers/filter", json={}).json()
            assert any(worker["status"] == "ONLINE" for worker in workers)
            nightly = api.get("/deployments/name/route53-lake-nightly/nightly").json()
            assert nightly["schedules"]
            scheduled = api.post("/flow_runs/filter", json={"flow_runs": {"deployment_id": {"any_": [nightly["id"]]},
                                                                           "state": {"type": {"any_": ["SCHEDULED"]}}}}).json()
            assert scheduled and all(re.fullmatch(r"nightly-\d{4}-\d{2}-\d{2}", run["name"]) for run in scheduled), \
                [run["name"] for run in scheduled]  # named when deployed, not random until they start
    finally:
        stopped = make("ui-stop", env)
    assert stopped.returncode == 0, stopped.stderr
    assert "worker: stopped" in stopped.stdout and "server: stopped" in stopped.stdout
    assert not any(running(pid) for pid in pids.values())
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=5)
    again = make("ui-stop", env)
    assert again.returncode == 0 and "stopped" not in again.stdout  # nothing left to stop, and no error


def test_the_manual_steps_run_when_pasted(tmp_path):
    """docs/operations.md's step-by-step block, pasted into one shell (stopping at the first failure), then
    step 2 again: the block waits for the server's health, and --overwrite makes a second pool creation pass. The liberties: a free port instead of
    4200 (PREFECT_SERVER_API_PORT, so the server listens there) and the logs in this test's folder."""
    block = re.search(r"By hand, on this machine.*?```sh\n(.*?)```", (ROOT / "docs" / "operations.md").read_text(), re.S)[1]
    port = free_port()
    script = block.replace("4200", str(port)).replace("/tmp/", f"{tmp_path}/")
    step_2 = next(line for line in script.splitlines() if "work-pool create" in line)
    env = {key: value for key, value in os.environ.items() if not key.startswith("PREFECT_") and key != "PROJECT_DIR"}
    env.update(PREFECT_HOME=str(tmp_path / "prefect_home"), PREFECT_SERVER_API_PORT=str(port), PREFECT_SERVER_API_HOST="127.0.0.1")
    shell = subprocess.Popen(["bash", "-c", f"set -e\n{script}\n{step_2}\nwait"], cwd=ROOT, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/api", timeout=30) as api:
            wait_until(lambda: api.get("/deployments/name/route53-lake-day/day").status_code == 200 and
                       any(w["status"] == "ONLINE" for w in api.post("/work_pools/local-process/workers/filter", json={}).json()),
                       600, "the deployments and an online worker")
            for flow, name in DEPLOYMENTS:
                assert api.get(f"/deployments/name/{flow}/{name}").status_code == 200
        assert shell.poll() is None, shell.stdout.read()[-4000:]  # the pasted steps did not fail: the shell waits on server and worker
        assert "Traceback" not in (tmp_path / "prefect-server.log").read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            shell.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)
        shell.wait()
