"""Fencing (repro_20): a run paused past its lease at any write it makes under a lake lock loses the
lock to a second run that publishes a late file; when the first resumes, that write and every later
one fails with LockLost, and the lake is what one run over the final source makes.

The first run is a real process that stops itself (SIGSTOP, as a VM freeze or a stalled container
stops it, renewer thread included) just before its Nth write to the lake, for every N. The second
run is this test's, on the loopback S3 server, with leases of 6 s instead of 60 (a few pause
points side by side, each on a lake of its own: the cases are independent, and mostly wait). On a local lake the
lock is the kernel's: a paused holder keeps it, and the second run waits instead (no lease at all).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import ROOT, a_record, gz, lake_files, log_key, route53_record

ACCT, DAY = "123456789012", date(2026, 11, 2)
LEASE = 6.0  # renewed every 2 s; short leases are for tests (the default is 60 s)

PAUSED_RUN = textwrap.dedent("""
    import os, signal, sys
    from datetime import date
    from flows.pipeline import run_without_prefect
    from flows.settings import LakeSettings
    from flows.storage import locks, store

    locks.DEFAULT_LEASE_SECONDS = float(sys.argv[4])
    pause_at, writes = int(sys.argv[3]), []  # 0: never paused

    def pausing(method):
        original = getattr(store.Store, method)
        def write(self, relative, *args, **kwargs):
            path = args[0] if method == "commit_file" else relative  # commit_file(temporary, relative)
            writes.append(path)
            if len(writes) == pause_at:
                print("paused before", method, path, flush=True)
                os.kill(os.getpid(), signal.SIGSTOP)  # every thread stops, the lease renewer's too
            return original(self, relative, *args, **kwargs)
        setattr(store.Store, method, write)

    for method in ("write_bytes", "commit_file", "delete"):
        pausing(method)
    run_without_prefect(LakeSettings(source=sys.argv[1], lake=sys.argv[2]), [date(2026, 11, 2)])
    print("finished after", len(writes), "writes", flush=True)
""")


def record(eid: str, at: str) -> dict:
    return route53_record(eid, at, a_record(f"{eid}.example.com.", "192.0.2.1"))


def put(source: Path, stamp: str, unique: str, eid: str) -> None:
    path = source / log_key(ACCT, DAY.isoformat(), stamp, unique=unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz([record(eid, f"{DAY}T{stamp[:2]}:{stamp[2:]}:00Z")]))
    os.utime(path, (1_793_000_000, 1_793_000_000))  # the same file each time, as manifests see it


def fresh_source(source: Path) -> Path:
    """The source as the first run lists it: one file (one place for every run, as source_file names it)."""
    shutil.rmtree(source, ignore_errors=True)
    put(source, "0900", "F1aaaaaaaaaaaaaa", "E1")
    return source


def late_file(source: Path) -> None:
    put(source, "0930", "F2lateaaaaaaaaaa", "E2")


def start_paused_run(source: Path, lake: str, pause_at: int, lease: float = LEASE) -> tuple[subprocess.Popen, str]:
    """A run in its own process (the loopback S3 server shares this one's GIL: a run in here slows
    its answers, and a short lease with them), paused before its write number `pause_at`."""
    run = subprocess.Popen([sys.executable, "-c", PAUSED_RUN, str(source), lake, str(pause_at), str(lease)], cwd=ROOT,
                           env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return run, run.stdout.readline().strip()


def run_alone(source: Path, lake: str, lease: float = LEASE) -> float:
    """A whole run in its own process; its duration."""
    started = time.monotonic()
    run, said = start_paused_run(source, lake, 0, lease)
    out, err = run.communicate(timeout=180)
    assert run.returncode == 0 and said.startswith("finished"), f"{said}\n{out}\n{err[-2000:]}"
    return time.monotonic() - started


def contents(lake: Path) -> dict[str, object]:
    """Every file of a lake but its locks and build records (tests/conftest.py lake_files), Parquet
    files as their rows: a partition rebuilt twice keeps its rows, not every byte of its footer."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    return {name: pq.read_table(pa.BufferReader(data)).to_pylist() if data.startswith(b"PAR1") else data
            for name, data in lake_files(lake).items()}


def s3_contents(s3, lake: str, local: Path) -> dict[str, object]:
    s3.invalidate_cache()
    s3.get(lake.removeprefix("s3://") + "/", str(local), recursive=True)
    return contents(local)


AT_ONCE = 3  # pause points tried side by side, each on a lake of its own: most of a case is waiting out a lease
TAKER_LEASE = 60.0  # the default: only the paused run's lease must run out soon; the taker's, side by side with others, must not


def fenced_side_by_side(points: range, source: Path, lake_of, s3, expected: dict, tmp_path: Path) -> tuple[list[str], bool]:
    """A run paused before its write number N, for each N of `points`, each on its own lake; the late
    file comes once they are all paused (each listed the one-file source), then a second run per lake
    takes the lock when the paused run's lease runs out. Each paused run, resumed, fails with LockLost
    and its lake is what one run over the final source makes. Returns what each paused run said, and
    whether one of them finished instead (the runs had fewer writes than N: every write was tried)."""
    fresh_source(source)
    started = [(point, *start_paused_run(source, lake_of(point), point)) for point in points]
    paused = [(point, run, said) for point, run, said in started if not said.startswith("finished")]
    assert [point for point, _, _ in paused] == list(points)[:len(paused)]  # a run's writes are the same each time
    for _, run, _ in started[len(paused):]:
        run.communicate(timeout=60)
    try:
        for _, run, said in paused:
            assert said.startswith("paused before"), (said, run.stderr.read())
        late_file(source)  # only the second runs list it
        with ThreadPoolExecutor(AT_ONCE) as pool:
            took = list(pool.map(lambda point: run_alone(source, lake_of(point), TAKER_LEASE), [point for point, _, _ in paused]))
        assert all(seconds < 60 for seconds in took), took  # each waited for its paused run's lease, no longer
    finally:
        for _, run, _ in paused:
            os.kill(run.pid, signal.SIGCONT)
    for point, run, said in paused:
        out, err = run.communicate(timeout=120)
        assert run.returncode != 0 and "lost lake lock" in err, f"{said}: exit {run.returncode}\n{out}\n{err[-2000:]}"
        assert s3_contents(s3, lake_of(point), tmp_path / f"lake-{point}") == expected, said
    return [said for _, _, said in paused], len(paused) < len(points)


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_a_run_paused_past_its_lease_at_any_write_writes_nothing_more_after_another_took_the_lock(s3, bucket, tmp_path):
    source = tmp_path / "source"
    late_file(fresh_source(source))
    sequential = f"s3://{bucket}/sequential"
    run_alone(source, sequential)
    expected = s3_contents(s3, sequential, tmp_path / "expected")
    assert any(name.startswith("events/") for name in expected)

    fenced, first, every_write_tried = [], 1, False
    while not every_write_tried:
        said, every_write_tried = fenced_side_by_side(range(first, first + AT_ONCE), source, lambda n: f"s3://{bucket}/lake-{n}",
                                                      s3, expected, tmp_path)
        fenced += said
        first += AT_ONCE
    assert len(fenced) >= 6, fenced  # staged files, the manifest, the partitions' files and build records


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_on_a_local_lake_a_paused_holder_keeps_its_lock_and_the_other_run_waits(tmp_path):
    """The kernel's lock needs no lease: a run paused before any of its writes still holds its
    lock, the other waits, and the lake ends as the two runs one after the other make it."""
    source = tmp_path / "source"
    late_file(fresh_source(source))
    run_without_prefect(LakeSettings(source=str(source), lake=str(tmp_path / "sequential")), [DAY])
    expected = contents(tmp_path / "sequential")

    pause_at, paused = 0, []
    while True:
        pause_at += 1
        lake = tmp_path / f"lake-{pause_at}"
        first, said = start_paused_run(fresh_source(source), str(lake), pause_at)
        if said.startswith("finished"):
            first.communicate(timeout=60)
            break
        assert said.startswith("paused before"), said
        late_file(source)
        second = threading.Thread(target=run_without_prefect, args=(LakeSettings(source=str(source), lake=str(lake)), [DAY]))
        second.start()
        second.join(LEASE / 2)
        assert second.is_alive(), said  # waiting for the paused run's lock (no lease to run out)
        os.kill(first.pid, signal.SIGCONT)
        out, err = first.communicate(timeout=120)
        second.join(120)
        # The paused run finishes, or (paused in a partition's rebuild, whose staged files the other
        # run replaced meanwhile) fails that rebuild loudly, naming the partition; the other run rebuilds it.
        assert (first.returncode == 0 and "finished" in out) or "partition event_date=2026-11-02" in err, (said, err[-2000:])
        assert contents(lake) == expected, said
        paused.append(said)
    assert len(paused) >= 6, paused  # staged files, the manifest, the partitions' files and build records


@pytest.fixture(autouse=True)
def _no_stopped_children():
    """A failed assertion must not leave a stopped process behind."""
    yield
    for line in subprocess.run(["ps", "-o", "pid=,stat=", "--ppid", str(os.getpid())], capture_output=True, text=True).stdout.splitlines():
        pid, stat = line.split()
        if stat.startswith("T"):
            os.kill(int(pid), signal.SIGCONT)
            os.kill(int(pid), signal.SIGKILL)
