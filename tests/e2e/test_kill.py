"""A process killed at random points of a run (reading, staging, rebuilding partitions): readers
never see a partial file, never an event twice, never an event or change the clean run would not
publish; the next run converges to the lake a clean run writes, byte for byte. (Every single write
as a crash point, in-process: tests/lake/test_exactly_once.py.)"""

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

from tests.conftest import DATA, ROOT, lake_files

pytestmark = pytest.mark.slow
ARGS = ["--source", str(DATA / "cloudtrail"), "--start", "2026-11-01", "--end", "2026-11-03", "--no-prefect", "--workers", "2"]


def run(lake: Path, kill_after: float | None = None) -> int | None:
    process = subprocess.Popen([sys.executable, "-m", "flows.cli.main", *ARGS, "--lake", str(lake)], cwd=ROOT,
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
    """Every file but hidden temporaries and `_state/` (locks, build records naming file times)."""
    return {name: data for name, data in lake_files(lake).items() if not name.rsplit("/", 1)[-1].startswith(".")}


def reader_sees(lake: Path) -> tuple[list, list]:
    """What an analyst's DuckDB sees: (event_id, source_file) and (event_id, change_index) of the visible tables."""
    con = duckdb.connect()
    out = []
    for table, columns in (("events", "event_id, source_file"), ("record_changes", "event_id, change_index")):
        files = sorted(str(p) for p in lake.glob(f"{table}/*/*.parquet"))
        out.append(con.sql(f"select {columns} from read_parquet({files}) order by all").fetchall() if files else [])
    return out[0], out[1]


def test_kills_at_random_points_never_expose_a_partial_file_and_the_next_run_converges(tmp_path):
    clean = tmp_path / "clean"
    started = time.monotonic()
    assert run(clean) == 0
    duration = time.monotonic() - started
    reference = visible(clean)
    clean_events, clean_changes = reader_sees(clean)

    lake, rng, since = tmp_path / "killed", random.Random(20261125), time.time() - 1
    for attempt in range(12):
        if attempt % 3 == 0:
            shutil.rmtree(lake, ignore_errors=True)  # killed while writing a fresh lake, not only a rerun
        run(lake, kill_after=rng.uniform(0.3, 1.0) * duration)  # staging and rebuilding fill the second half
        for path in lake.rglob("*.parquet"):
            pq.read_table(path)  # every file is whole
        events, changes = reader_sees(lake)
        assert len({e for e, _ in events}) == len(events) and len(set(changes)) == len(changes)  # each once
        assert set(events) <= set(clean_events) and set(changes) <= set(clean_changes)  # and each as the clean run has it

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
