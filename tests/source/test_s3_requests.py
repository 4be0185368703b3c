"""Requests per log object from S3, counted by a loopback proxy in front of the S3 server: one GET
per log file read and no HEAD (the listing gave each file's size); a window of GETs in flight,
never more than the setting; and the lake is the one a local-disk run of the same tree writes."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import polars as pl
import pytest

from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from flows.storage.fetch import read_many
from flows.storage.store import Store
from tests.conftest import a_record, gz, log_key, other_record, route53_record
from tests.fault_proxy import FaultProxy

ACCOUNTS = ("123456789012", "210987654321", "111122223333")
DAY = "2026-11-01"
LOG_FILE = re.compile(r"/CloudTrail/[^?]*\.json\.gz$")


def tree() -> dict[str, bytes]:
    """3 accounts x 5 files; Route 53 in some files, a duplicate across two files, an unreadable file."""
    files = {}
    for a, account in enumerate(ACCOUNTS):
        for f in range(5):
            stamp, n = f"{f + 1:02d}05", a * 10 + f
            records = [other_record(n, f"{DAY}T{f + 1:02d}:00:00Z")]
            if f % 2 == 0:
                records.append(route53_record(f"e{n}", f"{DAY}T{f + 1:02d}:01:00Z", a_record(f"h{n}.example.com.", f"192.0.2.{n + 1}")))
            if f == 3:
                records.append(route53_record(f"e{n - 1}", f"{DAY}T{f:02d}:01:00Z", a_record(f"h{n - 1}.example.com.", f"192.0.2.{n}")))
            files[log_key(account, DAY, stamp, unique=f"U{n:03d}abcdefghijkl")] = gz(records)[: 30 if (a, f) == (2, 4) else None]
    return files


@pytest.fixture
def counted(s3_endpoint, monkeypatch):
    """The S3 client goes through a proxy that counts requests and adds 20 ms before each answer."""
    proxy = FaultProxy(s3_endpoint, latency_ms=20, record=True)
    monkeypatch.setenv("AWS_ENDPOINT_URL", proxy.start())
    yield proxy
    proxy.stop()


@pytest.fixture
def source(s3, bucket, tmp_path) -> tuple[str, Path]:
    """The same tree on S3 (under a prefix) and on local disk."""
    local = tmp_path / "local-source"
    for key, data in tree().items():
        s3.pipe(f"{bucket}/ct/{key}", data)
        (local / key).parent.mkdir(parents=True, exist_ok=True)
        (local / key).write_bytes(data)
    return f"s3://{bucket}/ct", local


def lake_tables(lake: Path) -> dict[str, pl.DataFrame]:
    """The lake's rows, with source_file as the key below the source root (local and S3 spell it differently)."""
    out = {}
    for table, key in (("events", ["event_id"]), ("record_changes", ["event_id", "change_index"]), ("quarantine", ["source_file", "record_index"])):
        frame = pl.read_parquet(lake / table / "**" / "*.parquet", hive_partitioning=True)
        frame = frame.with_columns(pl.col("source_file").str.replace(r"^.*?/AWSLogs/", "AWSLogs/"))
        out[table] = frame.sort(key, nulls_last=True)
    return out


@pytest.mark.parametrize("workers", [1, 2])
def test_one_get_and_no_head_per_log_file_and_the_lake_of_a_local_run(counted, source, tmp_path, workers):
    uri, local = source
    day = date.fromisoformat(DAY)
    settings = LakeSettings(source=uri, lake=str(tmp_path / "s3-lake"), s3_requests_in_flight=4)
    counted.reset_counts()
    run = run_without_prefect(settings, [day], workers=workers)
    log_gets = [path for kind, path in counted.requests if kind == "GET" and LOG_FILE.search(path)]
    assert len(log_gets) == len(tree()) == 15 and len(set(log_gets)) == 15  # each log file read once
    assert counted.counts["HEAD"] == 0
    assert counted.counts["GET"] == 15  # nothing else read: no digests in this tree
    assert counted.most_in_flight <= workers * 4  # memory bounded by the window: s3_requests_in_flight per reading process
    assert run.total("files_rejected") == 1 and run.total("events_written") > 0

    run_without_prefect(LakeSettings(source=str(local), lake=str(tmp_path / "local-lake")), [day], workers=1)
    s3_lake, local_lake = lake_tables(tmp_path / "s3-lake"), lake_tables(tmp_path / "local-lake")
    for table in s3_lake:
        assert s3_lake[table].height > 0
        assert s3_lake[table].equals(local_lake[table]), table


def test_a_day_of_folders_is_listed_at_once(counted, source, tmp_path):
    """Each account's CloudTrail/ folder (the regions it delivers), its day folder and its two digest
    folders: twelve LISTs, all in flight together; nine when the regions are given."""
    from flows.pipeline import list_day, list_trails

    for regions, lists in ((None, 12), (["us-east-1"], 9)):
        settings = LakeSettings(source=source[0], lake=str(tmp_path / "lake"), s3_requests_in_flight=16, regions=regions)
        trails, _ = list_trails(settings)
        counted.reset_counts()
        listings = list_day(settings, trails, date.fromisoformat(DAY))
        assert sum(len(x.objects) for x in listings) == 15
        assert counted.counts["LIST"] == lists and sum(counted.counts.values()) == lists, regions
        assert counted.most_in_flight >= 3  # the three accounts' folders, then the day folders, then the six digest folders, each round at once


def test_reading_keeps_a_bounded_window_of_gets_in_flight(counted, source):
    store = Store(source[0])
    paths = sorted(tree())
    sizes = [len(tree()[p]) for p in paths]
    counted.reset_counts()
    contents = list(read_many(store, paths, sizes, in_flight=4))
    assert contents == [tree()[p] for p in paths]
    assert counted.counts == {"GET": 15}
    assert 1 < counted.most_in_flight <= 4


def test_read_bytes_is_one_get(counted, source):
    store = Store(source[0])
    path = sorted(tree())[0]
    counted.reset_counts()
    assert store.read_bytes(path) == tree()[path]
    assert store.read_bytes(path, size=len(tree()[path])) == tree()[path]
    assert counted.counts == {"GET": 2}


def test_a_file_that_cannot_be_read_fails_when_its_turn_comes(counted, source):
    store = Store(source[0])
    paths = sorted(tree())
    missing = paths[:2] + ["AWSLogs/123456789012/CloudTrail/us-east-1/2026/11/01/gone.json.gz"] + paths[2:]
    contents = read_many(store, missing, [None] * len(missing), in_flight=4)
    assert [next(contents), next(contents)] == [tree()[p] for p in paths[:2]]
    with pytest.raises(FileNotFoundError):
        next(contents)


@pytest.mark.parametrize("where", ["in the task's process (a Dask worker)", "on a reading pool (the flow's threads, a backfill's day)"])
def test_a_flow_tasks_folder_costs_one_get_and_no_head_per_log_file(counted, source, tmp_path, where):
    """What the flow's read-and-stage-folder task runs (pipeline.load_folder): on Dask without a
    pool, in the worker itself; on the flow's threads, as in every day of a fanned-out backfill, on
    the run's reading processes. Either way a log file costs its one GET."""
    from flows.pipeline import list_day, list_trails, load_folder
    from flows.source.reading import reading_pool

    uri, _ = source
    settings = LakeSettings(source=uri, lake=str(tmp_path / "lake"), s3_requests_in_flight=4)
    listings = list_day(settings, list_trails(settings)[0], date.fromisoformat(DAY))
    assert len(listings) == len(ACCOUNTS)
    pool = reading_pool(2) if where.startswith("on a reading pool") else None
    counted.reset_counts()
    try:
        staged = [load_folder(settings, listing, "run-1", pool) for listing in listings]
    finally:
        if pool:
            pool.shutdown()
    log_gets = [path for kind, path in counted.requests if kind == "GET" and LOG_FILE.search(path)]
    assert sorted(log_gets) == sorted(set(log_gets)) and len(log_gets) == len(tree())  # each log file read once
    assert counted.counts["HEAD"] == 0
    assert counted.most_in_flight <= (2 if pool else 1) * 4  # s3_requests_in_flight per reading process
    assert sum(s.summary.files_listed for s in staged) == len(tree()) and sum(s.summary.events_written for s in staged) > 0
