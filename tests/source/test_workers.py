"""--workers N: the process pool gives the very lake one process gives, and the Arrow files through
which each file's rows are handed over (the spool) do not outlive the run."""

from __future__ import annotations

import tempfile
from datetime import date

import polars as pl

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import DATA

DAYS = [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]


def lake_frames(lake) -> dict[str, pl.DataFrame]:
    frames = {}
    for table, key in (("events", ["event_id"]), ("record_changes", ["event_id", "change_index"]), ("quarantine", ["source_file", "record_index"])):
        frames[table] = pl.read_parquet(lake / table / "**" / "*.parquet", hive_partitioning=True).sort(key, nulls_last=True)
    return frames


def test_two_workers_write_the_lake_one_process_writes_and_leave_no_spool(tmp_path, monkeypatch):
    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    made = []
    mkdtemp = tempfile.mkdtemp
    monkeypatch.setattr(tempfile, "mkdtemp", lambda *a, **k: made.append(mkdtemp(*a, **k)) or made[-1])
    one = run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "one")), DAYS, workers=1)
    two = run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "two")), DAYS, workers=2)

    spools = [path for path in made if "-spool-" in path.rsplit("/", 1)[-1]]  # one per day folder, each run
    assert len(spools) == len(one.folders) + len(two.folders)
    assert [p.name for p in spool_root.iterdir() if not p.name.endswith(".alive")] == []  # every spool and staging folder removed (a live process keeps its .alive file)
    assert two.total("events_written") == one.total("events_written") > 0
    first, second = lake_frames(tmp_path / "one"), lake_frames(tmp_path / "two")
    for table in first:
        assert second[table].height > 0
        assert second[table].equals(first[table]), table


def test_the_command_line_with_two_workers_writes_the_lake_one_process_writes(tmp_path):
    """A fresh command-line process has no thread when its pool starts, so its workers are forked
    (in a pytest process, with servers' threads around, they are spawned, as above)."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    args = ["--source", str(DATA / "cloudtrail"), "--start", "2026-11-01", "--end", "2026-11-03", "--no-prefect"]
    for workers in ("1", "2"):
        subprocess.run([sys.executable, "-m", "flows.cli.main", *args, "--lake", str(tmp_path / workers), "--workers", workers],
                       cwd=ROOT, check=True, capture_output=True, timeout=300)
    first, second = lake_frames(tmp_path / "1"), lake_frames(tmp_path / "2")
    for table in first:
        assert second[table].height > 0 and second[table].equals(first[table]), table


def _what_a_worker_sees() -> dict:
    import os

    return {"mark": os.environ.get("ROUTE53_LAKE_TEST_MARK"), "parent": os.getppid()}


def test_beside_threads_workers_are_forked_from_the_fork_server_and_take_the_runs_environment(monkeypatch):
    """A flow run has threads, so its workers are forked from a fork server that has imported the
    reading code, not by the run itself. The server lives on from run to run (tests, a backfill's
    days), so a worker must see the environment of the run whose pool it serves (an S3 endpoint set
    for that run), not the server's."""
    import os
    import threading

    from flows.source.reading import fork_server, reading_pool

    fork_server()  # running before the variable below is set, as for a second run of a process
    monkeypatch.setenv("ROUTE53_LAKE_TEST_MARK", "this run")
    stop = threading.Event()
    beside = threading.Thread(target=stop.wait)  # as Prefect's threads are beside a flow run
    beside.start()
    try:
        pool = reading_pool(2)
        try:
            seen = [pool.submit(_what_a_worker_sees) for _ in range(4)]
            seen = [future.result(timeout=120) for future in seen]
        finally:
            pool.shutdown()
    finally:
        stop.set()
        beside.join()
    assert {s["mark"] for s in seen} == {"this run"}
    assert os.getpid() not in {s["parent"] for s in seen}  # their parent is the fork server


def test_a_folder_read_ahead_is_not_staged_when_the_run_stops_before_its_turn(tmp_path, monkeypatch):
    # --no-prefect reads the next folder while it stages the current one; a run that stops after
    # the first folder must leave the second unstaged and its spool removed
    from flows.lake.manifests import MANIFESTS
    from flows.pipeline import _loading_directly, list_day, list_trails
    from flows.source.reading import reading_pool

    spool_root = tmp_path / "tmp"
    spool_root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(spool_root))
    settings = LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "lake"))
    listings = [x for x in list_day(settings, list_trails(settings)[0], DAYS[0]) if x.objects]
    assert len(listings) >= 2
    pool = reading_pool(2)
    try:
        loading = _loading_directly(pool)(settings, listings, "run-1")
        first = next(loading)
        assert not isinstance(first, Exception) and first.summary.files_listed == len(listings[0].objects)
        loading.close()
    finally:
        pool.shutdown()
    manifests = list((tmp_path / "lake" / MANIFESTS).rglob("*.json"))
    assert len(manifests) == 1  # the first folder's; the folder read ahead was abandoned, not staged
    assert not [p for p in spool_root.iterdir() if "-spool-" in p.name]


def test_a_day_without_folders_between_days_with_folders_reads_nothing_and_fails_nothing(tmp_path):
    """With the pool reading ahead, a day that lists no folder (a gap in delivery) is a day like
    any other: 0 folders, no failure (it once yielded a phantom failure and stopped the run)."""
    days = [date(2026, 11, 2), date(2030, 1, 1), date(2026, 11, 3)]  # nothing is delivered on 2030-01-01
    run = run_without_prefect(LakeSettings(source=str(DATA / "cloudtrail"), lake=str(tmp_path / "lake")), days, workers=2)
    assert not run.failures and run.total("events_written") > 0
    assert sorted({f.delivery_date for f in run.folders}) == ["2026-11-02", "2026-11-03"]
