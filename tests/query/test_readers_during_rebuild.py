"""Readers while runs rebuild partitions (docs/readers.md; repro_22, repro_23, repro_24).

The project's readers (flows.query.duckdb_lake.connect and the `sql` command) never fail and never
return wrong rows while partitions are replaced under them, on a local lake and on S3; a session
sees what each run publishes. An analyst's plain DuckDB glob may fail (an error it can retry) but
never returns wrong rows: a partition's count is always one it was published with, and no event
appears twice.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import time
from datetime import date

import duckdb
import pytest

from benchmarks.readers_during_rebuild import measure
from flows.cli.sql_shell import run
from flows.pipeline import run_without_prefect
from flows.query.duckdb_lake import connect
from flows.query.lake_connection import ATTEMPTS, is_replaced_object_error, retrying
from flows.settings import LakeSettings
from flows.storage.store import Store
from tests.conftest import ROOT, a_record, gz, log_key, route53_record

ACCT = "123456789012"
pytestmark = pytest.mark.slow


def assert_readers_right(report: dict, least: int) -> None:
    project, plain = report["readers"]["project"], report["readers"]["plain"]
    assert report["rebuilds"] >= 5 and project["queries"] >= least and plain["queries"] >= least, report
    assert (project["errors"], project["wrong"]) == (0, []), project  # the project's session: never
    assert plain["wrong"] == [], plain  # a plain glob: errors allowed (docs/readers.md), wrong rows never


def test_readers_during_rebuilds_local(tmp_path):
    assert_readers_right(measure(str(tmp_path / "lake"), seconds=20, pause=0.5), least=10)


def test_readers_during_rebuilds_s3(s3_endpoint, bucket):
    # A rebuild every few seconds: the retry covers a query that straddles one rebuild, and a run
    # rebuilds a partition once; a query slower than the time between two rebuilds of what it
    # reads can exhaust it (docs/readers.md).
    assert_readers_right(measure(f"s3://{bucket}/r53", seconds=30, pause=4.0), least=2)


# --- the `sql` command and a session while real runs republish ---------------------------------------

def events(prefix: str, n: int, day: str = "2026-11-02") -> bytes:
    return gz([route53_record(f"{prefix}-{i}", f"{day}T{i % 24:02d}:{i % 60:02d}:00Z", a_record(f"h{i}.example.com.", "192.0.2.1"))
               for i in range(n)])


class Trail:
    """A source folder, local or on S3, that late files arrive in."""

    def __init__(self, root: str) -> None:
        self.root, self.store = root, Store(root)

    def put(self, day: str, stamp: str, unique: str, data: bytes) -> None:
        self.store.write_bytes(log_key(ACCT, day, stamp, unique=unique), data)


def rerun(trail: Trail, lake: str, reruns: int, late: int, done: threading.Event) -> None:
    settings = LakeSettings(source=trail.root, lake=lake)
    try:
        for k in range(reruns):
            trail.put("2026-11-02", f"12{k:02d}", f"Late{k:04d}aaaaaaaa", events(f"late{k}", late))
            run_without_prefect(settings, [date(2026, 11, 2)])
    finally:
        done.set()


def sql_count(lake: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flows.cli.main", "sql", "--lake", lake, "--format", "csv", "-c",
                           "select count(*), count(distinct event_id) from events"],
                          cwd=ROOT, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=300)


def readers_during_reruns(trail: Trail, lake: str, base: int = 3000, late: int = 100, reruns: int = 6) -> None:
    trail.put("2026-11-02", "1000", "Baseaaaaaaaaaaaa", events("base", base))
    run_without_prefect(LakeSettings(source=trail.root, lake=lake), [date(2026, 11, 2)])
    valid = {(base + k * late,) * 2 for k in range(reruns + 1)}
    session = connect(lake)  # one analyst's session, held across every rerun
    done = threading.Event()
    runs = threading.Thread(target=rerun, args=(trail, lake, reruns, late, done))
    runs.start()
    answers, commands = [], []
    while not done.is_set():
        answers.append(session.execute("select count(*), count(distinct event_id) from events").fetchone())
        commands.append(sql_count(lake))
    runs.join()
    failed = [c.stderr[-300:] for c in commands if c.returncode]
    assert failed == [], failed
    counts = {tuple(int(x) for x in c.stdout.splitlines()[-1].split(",")) for c in commands}
    assert counts <= valid and set(answers) <= valid, (counts, set(answers), valid)
    final = (base + reruns * late,) * 2
    assert session.execute("select count(*), count(distinct event_id) from events").fetchone() == final
    assert commands and len(answers) >= len(commands)  # each started while a rerun was publishing


def test_sql_and_a_session_during_reruns_local(tmp_path):
    readers_during_reruns(Trail(str(tmp_path / "trail")), str(tmp_path / "lake"))


def test_sql_and_a_session_during_reruns_s3(s3_endpoint, bucket):
    readers_during_reruns(Trail(f"s3://{bucket}/trail"), f"s3://{bucket}/lake")


def test_an_s3_session_sees_what_a_run_publishes(s3_endpoint, bucket):
    """repro_24: a session opened before the nightly sees its late file and its new day, at once."""
    trail, lake = Trail(f"s3://{bucket}/trail"), f"s3://{bucket}/lake"
    trail.put("2026-11-02", "1000", "Firstaaaaaaaaaaa", events("E1", 1))
    run_without_prefect(LakeSettings(source=trail.root, lake=lake), [date(2026, 11, 2)])
    session = connect(lake)
    ids = "select string_agg(event_id, ',' order by event_id) from events"
    assert session.execute(ids).fetchone() == ("E1-0",)
    trail.put("2026-11-02", "1100", "Lateaaaaaaaaaaaa", events("E2", 1))
    trail.put("2026-11-03", "1000", "Nextaaaaaaaaaaaa", events("E3", 1, day="2026-11-03"))
    run_without_prefect(LakeSettings(source=trail.root, lake=lake), [date(2026, 11, 2), date(2026, 11, 3)])
    assert session.execute(ids).fetchone() == ("E1-0,E2-0,E3-0",)
    assert session.execute(ids).fetchone() == ("E1-0,E2-0,E3-0",)


# --- the retry itself -----------------------------------------------------------------------------------

def flaky(failures: list[Exception]):
    calls = []

    def attempt():
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "rows"
    return attempt, calls


def test_a_query_that_read_a_replaced_file_is_run_again():
    attempt, calls = flaky([duckdb.IOException("FileExpired: [Errno 16] ... and Etag \"x\" no longer exists"),
                            duckdb.InvalidInputException("TProtocolException: Invalid data")])
    assert retrying(attempt) == "rows" and len(calls) == 3


def test_the_retry_is_bounded():
    attempt, calls = flaky([duckdb.IOException("Could not read enough bytes")] * (ATTEMPTS + 1))
    with pytest.raises(duckdb.IOException):
        retrying(attempt)
    assert len(calls) == ATTEMPTS


def test_other_errors_are_not_retried():
    attempt, calls = flaky([duckdb.BinderException('Referenced column "nope" not found')])
    started = time.monotonic()
    with pytest.raises(duckdb.BinderException):
        retrying(attempt)
    assert len(calls) == 1 and time.monotonic() - started < 0.1
    assert not is_replaced_object_error(duckdb.ParserException("syntax error at or near \"selec\""))


class OnceReplaced:
    """A connection whose first statement reads a file a run replaced under it."""

    def __init__(self) -> None:
        self.con, self.replaced = duckdb.connect(), True

    def sql(self, query: str):
        if self.replaced:
            self.replaced = False
            raise duckdb.IOException('FileExpired: [Errno 16] ... part-0.parquet and Etag "x" no longer exists.')
        return self.con.sql(query)


def test_the_sql_command_prints_a_retried_statement_once():
    out = io.StringIO()
    run(OnceReplaced(), "select 42 as answer; select 'b' as second", "csv", out)
    assert out.getvalue() == "answer\n42\nsecond\nb\n"
