"""A process killed at random points while publishing: readers never see a partial file, and the
next run converges to the lake a clean run writes, byte for byte."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from tests.conftest import DATA, ROOT

pytestmark = pytest.mark.slow
ARGS = ["--source", str(DATA / "cloudtrail"), "--start", "2026-11-01", "--end", "2026-11-03", "--no-prefect", "--workers", "2"]


def run(lake: Path, kill_after: float | None = None) -> int | None:
    process = subprocess.Popen([sys.executable, "-m", "flows.route53_lake", *ARGS, "--lake", str(lake)], cwd=ROOT,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if kill_after is None:
        return process.wait(timeout=120)
    time.sleep(kill_after)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    return None


def orphans(since: float, lake: Path) -> list[int]:
    """Worker processes of killed runs still alive. A spawned worker is adopted by init; a forked one
    carries its killed parent's command line, lake path included (the parent itself has been reaped)."""
    import psutil

    found = []
    for process in psutil.process_iter(["pid", "ppid", "cmdline", "create_time", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["create_time"] < since or process.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        if (process.info["ppid"] == 1 and "spawn_main" in cmdline) or str(lake) in cmdline:
            found.append(process.info["pid"])
    return found


def visible(lake: Path) -> dict[str, bytes]:
    """What a reader globbing *.parquet and the manifests sees."""
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*")) if p.is_file() and not p.name.startswith(".")}


def test_kills_at_random_points_never_expose_a_partial_file_and_the_next_run_converges(tmp_path):
    clean = tmp_path / "clean"
    started = time.monotonic()
    assert run(clean) == 0
    duration = time.monotonic() - started
    reference = visible(clean)

    lake, rng, since = tmp_path / "killed", random.Random(20261125), time.time() - 1
    for attempt in range(12):
        if attempt % 3 == 0:
            shutil.rmtree(lake, ignore_errors=True)  # killed while writing a fresh lake, not only a rerun
        run(lake, kill_after=rng.uniform(0.5, 1.0) * duration)  # publishing happens in the second half of a run
        for path in lake.rglob("*.parquet"):
            pq.read_table(path)  # every visible file is whole
        if any(lake.rglob("*.parquet")):
            duckdb.sql(f"select count(*) from read_parquet('{lake}/events/*/*.parquet', hive_partitioning = true)").fetchall()
        for name, data in visible(lake).items():
            if name.endswith(".parquet"):  # a file that exists is exactly what a clean run writes
                assert data == reference[name], name

    deadline = time.monotonic() + 10
    while orphans(since, lake) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not orphans(since, lake)  # no worker outlives its killed run

    old = time.time() - 7200
    for leftover in lake.rglob(".*.tmp"):
        os.utime(leftover, (old, old))  # as if the killed writer had died long ago
    assert run(lake) == 0
    assert visible(lake) == reference
    assert not list(lake.rglob(".*.tmp"))  # the next run swept what killed writers left
