"""A command-line run's temporary Prefect server dies with the run and never holds its output
(repro_32): a SIGKILLed run (an OOM kill, a CI timeout) used to leave a ~210 MB server running for
good, holding the run's stdout and stderr open so that whoever waited for EOF hung."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time

import pytest

from tests.conftest import ROOT, a_record, gz, log_key, route53_record


def _descendants(pid: int) -> list[int]:
    found = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                for child in children.read().split():
                    found += [int(child), *_descendants(int(child))]
    except OSError:
        pass
    return found


def _command(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as cmdline:
            return cmdline.read().replace("\0", " ")
    except OSError:
        return ""


def _reaches_eof(fd: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if ready and os.read(fd, 1 << 16) == b"":
            return True
    return False


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_a_killed_runs_temporary_server_dies_with_it_and_never_held_its_output(tmp_path):
    source = tmp_path / "src"
    path = source / log_key("123456789012", "2026-11-02", "1000", unique="F1aaaaaaaaaaaaaa")
    path.parent.mkdir(parents=True)
    path.write_bytes(gz([route53_record("E1", "2026-11-02T09:00:00Z", a_record("e1.example.com.", "192.0.2.1"))]))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
    env.update(PYTHONPATH=str(ROOT), PREFECT_HOME=str(tmp_path / "prefect-home"))
    run = subprocess.Popen([sys.executable, "-m", "flows.route53_lake", "--source", str(source), "--lake", str(tmp_path / "lake"),
                            "--day", "2026-11-02"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    server, deadline = None, time.monotonic() + 120
    try:
        while server is None and run.poll() is None and time.monotonic() < deadline:
            server = next((p for p in _descendants(run.pid) if "uvicorn" in _command(p) and "prefect" in _command(p)), None)
            time.sleep(0.1)
        assert server is not None, run.communicate(timeout=60)
        for stream in (1, 2):  # not the run's pipes: /dev/null
            assert os.readlink(f"/proc/{server}/fd/{stream}") == "/dev/null"
        run.send_signal(signal.SIGKILL)
        run.wait()
        for _ in range(150):
            if "uvicorn" not in _command(server):
                break
            time.sleep(0.1)
        assert "uvicorn" not in _command(server)  # gone within 15 s, not orphaned
        assert _reaches_eof(run.stdout.fileno(), 10)  # nobody holds the run's output any more
    finally:
        if run.poll() is None:
            run.kill()
            run.wait()
        if server is not None and "uvicorn" in _command(server):
            os.kill(server, signal.SIGKILL)  # the one this test started, by its pid
