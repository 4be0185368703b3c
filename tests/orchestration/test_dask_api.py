"""The Dask path with no PREFECT_API_URL: one run, one API (the workers of the LocalCluster use the
temporary server the flow process started, repro_19), and a script that calls the flow without an
`if __name__ == "__main__":` guard runs the flow once, not once more per worker."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from flows.orchestration.dask_cluster import UNGUARDED, ExternalClusterNeedsAPI, external_cluster_api
from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow


def _tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                parent = int(Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(name))
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        found.append(p)
        todo += children.get(p, [])
    return found


def test_an_unguarded_script_on_a_local_cluster_runs_the_flow_once_against_one_temporary_server(tmp_path):
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent(f"""
        from datetime import date
        from flows.route53_lake import route53_lake_day
        from flows.settings import LakeSettings
        settings = LakeSettings(source={str(DATA / 'cloudtrail')!r}, lake={str(tmp_path / 'lake')!r}, task_runner="dask")
        print("SUMMARY", route53_lake_day(day=date(2026, 11, 2), settings=settings).describe())
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PREFECT_HOME=str(tmp_path / "prefect_home"), PREFECT_SERVER_ANALYTICS_ENABLED="false", DO_NOT_TRACK="1",
               PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120", PYTHONPATH=str(ROOT))
    run = subprocess.Popen([sys.executable, str(script)], cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    servers, stop = set(), threading.Event()

    def sample() -> None:
        while not stop.is_set():
            for pid in _tree(run.pid):
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if b"prefect.server.api.server:create_app" in command:
                    servers.add(pid)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        out, _ = run.communicate(timeout=400)
    finally:
        if run.poll() is None:
            for pid in reversed(_tree(run.pid)):
                with contextlib.suppress(OSError):
                    os.kill(pid, 9)
            run.communicate()
        stop.set()
        sampler.join()
    assert run.returncode == 0, out[-4000:]
    assert out.count("SUMMARY ") == 1 and "events written: 51" in out, out[-4000:]  # 48 of route53 in us-east-1, 3 of Resolver in eu-west-1
    assert out.count("for flow 'route53-lake-day'") == 1, out[-4000:]  # "Beginning flow run ... for flow": once
    assert UNGUARDED not in out
    assert len(servers) == 1, f"{len(servers)} temporary Prefect servers in the run's process tree"


def test_an_external_cluster_without_prefect_api_url_is_refused_with_the_fix(monkeypatch):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}), pytest.raises(ExternalClusterNeedsAPI) as refused:
        external_cluster_api()
    assert "PREFECT_API_URL" in str(refused.value)
    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:4200/api"}):
        assert external_cluster_api() == "http://127.0.0.1:4200/api"


def test_a_worker_that_imports_an_unguarded_script_again_refuses_to_run_the_flow(tmp_path):
    """What a LocalCluster worker restarted by its nanny meets (it is spawned with the caller's
    script again): the flow's first step refuses, naming the fix, instead of running a second flow."""
    script = tmp_path / "unguarded.py"
    script.write_text(textwrap.dedent("""
        import multiprocessing
        from flows.orchestration.dask_cluster import refuse_flow_in_worker
        refuse_flow_in_worker()  # what the flow does first; in the script's own process, nothing
        def child():
            pass
        if __name__ == "__main__":
            worker = multiprocessing.get_context("spawn").Process(target=child)
            worker.start()
            worker.join()
            print("worker exit", worker.exitcode)
    """))
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(ROOT)},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "worker exit 1" in result.stdout, result.stderr
    assert UNGUARDED in result.stderr
