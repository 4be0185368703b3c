"""Lake locks: a waiting run says at once what it waits for, who holds it and until when; a holder
releases its lock when it ends normally, by an exception, and when it is sent SIGTERM (a real
subprocess, on a local lake and on an S3 lake served by moto on loopback)."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from flows.storage import locks
from flows.storage.store import Store, open_store
from tests.conftest import ROOT

HOLDER = textwrap.dedent("""
    import sys, time
    from flows.storage.locks import lake_lock, terminate_releases_locks
    from flows.storage.store import open_store
    with terminate_releases_locks():
        try:
            with lake_lock(open_store(sys.argv[1]), "folder-x", lease_seconds=600):
                print("held", flush=True)
                time.sleep(300)
        finally:
            print("left", flush=True)
""")


def _holder(lake: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, lake], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held", holder.stderr.read()
    return holder


def _terminate(holder: subprocess.Popen) -> tuple[str, str]:
    holder.send_signal(signal.SIGTERM)
    out, err = holder.communicate(timeout=60)
    assert "left" in out and "Terminated" in err, err  # the with blocks were left, by the exception SIGTERM raised
    assert holder.returncode != 0
    return out, err


def test_a_waiter_says_what_it_waits_for_who_holds_it_and_until_when(tmp_path, caplog):
    holder = _holder(str(tmp_path))
    try:
        with caplog.at_level(logging.INFO, logger="route53_lake"), pytest.raises(locks.LockTimeout, match=f"pid {holder.pid}"), \
                locks.lake_lock(Store(str(tmp_path)), "folder-x", wait_seconds=0.5):
            pass
    finally:
        _terminate(holder)
    (line,) = [r.getMessage() for r in caplog.records if "waiting for lake lock" in r.getMessage()]
    assert "'folder-x'" in line and f"pid {holder.pid} on " in line and "waiting until " in line and " UTC at most" in line


def test_sigterm_releases_a_local_lock_and_its_holder_note(tmp_path):
    holder = _holder(str(tmp_path))
    lock_file = tmp_path / locks.LOCKS / "folder-x.lock"
    assert f'"pid": {holder.pid}' in lock_file.read_text()
    _terminate(holder)
    assert lock_file.read_text() == ""  # the holder's own release ran (the kernel would free the flock, not this note)
    with locks.lake_lock(Store(str(tmp_path)), "folder-x", wait_seconds=0.5):
        pass


def test_sigterm_releases_an_s3_lock_before_its_lease_ends(s3, bucket):
    lake = f"s3://{bucket}/lake"
    lock_object = f"{bucket}/lake/{locks.LOCKS}/folder-x.lock"
    holder = _holder(lake)
    assert s3.exists(lock_object)
    _terminate(holder)
    s3.invalidate_cache()
    assert not s3.exists(lock_object)  # deleted by the holder: the next run need not wait for the 600 s lease
    with locks.lake_lock(open_store(lake), "folder-x", wait_seconds=0.5):
        pass


def test_a_lock_is_released_when_its_block_raises(tmp_path):
    with pytest.raises(ValueError), locks.lake_lock(Store(str(tmp_path)), "folder-y"):
        raise ValueError("boom")
    with locks.lake_lock(Store(str(tmp_path)), "folder-y", wait_seconds=0.5):
        pass


def test_the_command_lines_no_prefect_run_turns_sigterm_into_an_interrupt(monkeypatch, tmp_path):
    from flows.cli import main as command

    seen, before = [], signal.getsignal(signal.SIGTERM)
    monkeypatch.setattr("flows.pipeline.run_without_prefect", lambda *a: seen.append(signal.getsignal(signal.SIGTERM)) or
                        os.kill(os.getpid(), signal.SIGTERM))
    assert command.main(["--no-prefect", "--lake", str(tmp_path / "lake"), "--start", "2026-11-01"]) == command.INTERRUPTED
    assert seen and seen[0] not in (signal.SIG_DFL, signal.SIG_IGN)
    assert signal.getsignal(signal.SIGTERM) is before  # restored after the run


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_inside_a_prefect_task_the_wait_is_in_the_runs_log(prefect_server, tmp_path):
    from prefect import flow, task
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId

    holder = _holder(str(tmp_path))

    @task
    def wait_for_lock() -> None:
        with pytest.raises(locks.LockTimeout), locks.lake_lock(Store(str(tmp_path)), "folder-x", wait_seconds=0.5):
            pass

    @flow
    def waiting():
        wait_for_lock()
        from prefect.runtime import flow_run
        return flow_run.id

    try:
        run_id = waiting()
    finally:
        _terminate(holder)
    import time

    with get_client(sync_client=True) as client:
        for _ in range(50):  # logs reach the server in batches
            lines = [entry.message for entry in client.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[run_id])))]
            if any("waiting for lake lock 'folder-x'" in line for line in lines):
                break
            time.sleep(0.2)
    assert any("waiting for lake lock 'folder-x'" in line and f"pid {holder.pid}" in line for line in lines), lines


def test_a_process_forked_under_the_sigterm_handler_still_ends_on_sigterm():
    """Reading workers are forked from the run after the handler is installed: one whose parent is
    killed gets SIGTERM (PR_SET_PDEATHSIG) and must end, not raise inside its pool's loop."""
    with locks.terminate_releases_locks():
        ready_read, ready_write = os.pipe()
        child = os.fork()
        if child == 0:
            import time

            os.write(ready_write, b"1")  # a signal that arrives during fork itself is dropped by Python: wait for the child
            time.sleep(60)
            os._exit(0)
        os.read(ready_read, 1)
        os.kill(child, signal.SIGTERM)
        _, status = os.waitpid(child, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGTERM
