"""Exactly once for the lake as a whole: every Route 53 event once in `events` and its changes once
in `record_changes`, whatever mix of trails, folders, delivery days, source spellings, reruns,
runs at once and crashes delivered it; and no run loses what was published.

Everything is read back as analysts read it: DuckDB and polars over `<lake>/<table>/*/*.parquet`.
Copies of an event on two event dates (one partition each): tests/lake/test_key_across_partitions.py.
"""

from __future__ import annotations

import dataclasses
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from flows.lake.layout import VISIBLE
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from flows.storage import lease, locks
from flows.storage.store import Store, open_store
from tests.conftest import ROOT, a_record, gz, lake_files, log_key, other_record, route53_record

ACCT, ORG = "123456789012", "o-a1b2c3d4e5"
D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)


def put(source: Path, day: date, stamp: str, unique: str, records: list, org: str | None = None) -> Path:
    path = source / log_key(ACCT, day.isoformat(), stamp, unique=unique, org=org)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gz(records))
    return path


def change(eid: str, at: str, name: str | None = None) -> dict:
    return route53_record(eid, at, a_record(name or f"{eid}.example.com.", "192.0.2.1"), a_record(f"{eid}-b.example.com.", "192.0.2.2"))


def rows(lake: Path, sql: str) -> list[tuple]:
    """What an analyst's DuckDB says, on the lake's visible files only."""
    con = duckdb.connect()
    for table in ("events", "record_changes", "quarantine"):
        files = sorted(lake.glob(f"{table}/*/*.parquet"))
        if files:
            con.execute(f"create view {table} as select * from read_parquet({[str(f) for f in files]}, hive_partitioning = true)")
    return con.sql(sql).fetchall()


def keys_hold(lake: Path, across_tables: bool = True) -> None:
    """The keys of the visible tables, across every partition of the lake; changes belong to kept
    events (across_tables: not checked right after a crash between a partition's two files)."""
    assert rows(lake, "select count(*) - count(distinct event_id) from events") == [(0,)]
    assert rows(lake, "select count(*) - count(distinct (event_id, change_index)) from record_changes") == [(0,)]
    if not across_tables:
        return
    orphans = "select count(*) from record_changes c anti join events e using (event_id, source_file, record_index)"
    assert rows(lake, orphans) == [(0,)]
    assert rows(lake, "select coalesce(sum(change_count), 0) from events")[0][0] == rows(lake, "select count(*) from record_changes")[0][0]


def settings_for(source: Path, lake: Path, **extra) -> LakeSettings:
    return LakeSettings(source=str(source), lake=str(lake), **extra)


# --- trails, folders, delivery days ---------------------------------------------------------------

def test_an_account_under_its_own_trail_and_an_organization_trail_is_read_from_both_and_kept_once(tmp_path):
    """The normal state of an account that joined an organization and kept its trail: the same
    bucket holds AWSLogs/ACCOUNT/... and AWSLogs/o-ORG/ACCOUNT/..., with overlapping events."""
    source = tmp_path / "src"
    put(source, D1, "1000", "OwnTrail00000001", [change("both", "2026-11-01T09:00:00Z"), change("own-only", "2026-11-01T09:05:00Z")])
    put(source, D1, "0955", "OrgTrail00000001", [change("both", "2026-11-01T09:00:00Z"), change("org-only", "2026-11-01T09:06:00Z")], org=ORG)
    run = run_without_prefect(settings_for(source, tmp_path / "lake"), [D1])
    assert sorted((f.org_id or "", f.account) for f in run.folders) == [("", ACCT), (ORG, ACCT)]
    lake = tmp_path / "lake"
    assert rows(lake, "select event_id from events order by 1") == [("both",), ("org-only",), ("own-only",)]
    keys_hold(lake)
    # the copy kept is the earliest delivered: the organization trail's file, delivered at 09:55
    kept = rows(lake, "select distinct source_file from record_changes where event_id = 'both'")
    assert len(kept) == 1 and f"/{ORG}/" in kept[0][0] and "T0955Z" in kept[0][0]


def test_the_same_event_delivered_on_three_days_is_kept_once_from_the_earliest_day(tmp_path):
    source, lake = tmp_path / "src", tmp_path / "lake"
    for n, day in enumerate((D3, D1, D2)):  # read in every order below
        put(source, day, "0100", f"Again{n}AbCdEfGhIj", [change("dup", "2026-10-31T23:59:00Z"), other_record(n, f"{day}T00:00:00Z")])
    for days in ([D1, D2, D3], [D3], [D2], [D1], [D3, D2]):  # runs in every order, reruns included
        run_without_prefect(settings_for(source, lake), days)
        keys_hold(lake)
    assert rows(lake, "select event_id, delivery_date::varchar from events") == [("dup", "2026-11-01")]
    assert rows(lake, "select count(*) from record_changes") == [(2,)]
    assert [p.name for p in (lake / "events").iterdir()] == ["event_date=2026-10-31"]


@pytest.mark.parametrize("spelling", ["{root}/./src", "{root}//src", "relative", "symlink"])
def test_the_source_spelt_another_way_replaces_the_same_rows(tmp_path, spelling, monkeypatch):
    """repro_01: the source's identity is its real path, however it is written."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "1205", "AbCdEfGhIjKlMnOp", [change("e1", "2026-11-02T10:00:00Z"), change("e2", "2026-11-02T11:00:00Z")])
    run_without_prefect(settings_for(source, lake), [D2])
    first = lake_files(lake)
    if spelling == "relative":
        monkeypatch.chdir(tmp_path / "src" / "AWSLogs")
        other = os.path.relpath(source)
    elif spelling == "symlink":
        (tmp_path / "mount").symlink_to(source)
        other = str(tmp_path / "mount")
    else:
        other = spelling.format(root=tmp_path)
    run_without_prefect(LakeSettings(source=other, lake=str(lake)), [D2])
    assert rows(lake, "select count(*), count(distinct event_id) from events") == [(2, 2)]
    assert lake_files(lake) == first


def test_a_trail_bucket_migrated_to_another_location_does_not_double_the_lake(tmp_path):
    """The same log files under another source (a bucket copied elsewhere) are another day folder,
    but their events are the same events: the partition keeps one copy of each."""
    old, new, lake = tmp_path / "old", tmp_path / "new", tmp_path / "lake"
    put(old, D2, "1205", "AbCdEfGhIjKlMnOp", [change("e1", "2026-11-02T10:00:00Z")])
    put(new, D2, "1205", "AbCdEfGhIjKlMnOp", [change("e1", "2026-11-02T10:00:00Z")])
    put(new, D2, "1305", "NewOnly000000001", [change("e2", "2026-11-02T13:00:00Z")])
    run_without_prefect(settings_for(old, lake), [D2])
    run_without_prefect(settings_for(new, lake), [D2])
    assert rows(lake, "select event_id from events order by 1") == [("e1",), ("e2",)]
    keys_hold(lake)


# --- nothing lost -----------------------------------------------------------------------------------

def test_a_rerun_after_the_source_expired_keeps_the_published_day(tmp_path):
    """repro_16: retention removes a day's files; rerunning that day (even with other settings)
    keeps its events, and the manifest says the files are gone. Dropping them is explicit."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    old = put(source, D1, "1000", "OldFile000000001", [change("old1", "2026-11-01T10:00:00Z")])
    put(source, D2, "1000", "NewFile000000001", [change("new1", "2026-11-02T10:00:00Z")])
    run_without_prefect(settings_for(source, lake), [D1, D2])
    old.unlink()
    wider = settings_for(source, lake, event_sources=["route53.amazonaws.com", "route53domains.amazonaws.com"])
    run = run_without_prefect(wider, [D1, D2])
    assert rows(lake, "select event_id from events order by 1") == [("new1",), ("old1",)]
    assert (run.total("files_missing"), run.total("events_from_missing_files")) == (1, 1)
    run_without_prefect(wider, [D1, D2])  # and again: still kept
    assert rows(lake, "select count(*) from record_changes where event_id = 'old1'") == [(2,)]
    run_without_prefect(settings_for(source, lake, drop_missing_files=True), [D1, D2])
    assert rows(lake, "select event_id from events order by 1") == [("new1",)]
    keys_hold(lake)


def test_the_recheck_notices_a_local_file_replaced_by_other_content_of_the_same_size(tmp_path):
    """repro_17: same size, same second: the hash tells (the file was written too close to the run
    for its modification time to prove anything)."""
    from flows.lake.manifests import folder_changed
    from flows.pipeline import lake_target, list_day, list_trails
    from flows.storage.store import open_store

    source, lake = tmp_path / "src", tmp_path / "lake"
    path = put(source, D2, "1205", "AbCdEfGhIjKlMnOp", [route53_record("e1", "2026-11-02T10:00:00Z")])
    settings = settings_for(source, lake)
    run_without_prefect(settings, [D2])
    stat = path.stat()
    path.write_bytes(gz([route53_record("e2", "2026-11-02T10:00:00Z")]))
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))  # even the time put back
    assert path.stat().st_size == stat.st_size
    (listing,) = list_day(settings, list_trails(settings)[0], D2)
    assert folder_changed(lake_target(settings), open_store(settings.source), listing)
    old = time.time() - 7200  # a file long older than its manifest is judged by size and time: no read
    os.utime(path, (old, old))
    run_without_prefect(settings, [D2])
    (listing,) = list_day(settings, list_trails(settings)[0], D2)
    reads = []
    original = Store.read_bytes
    Store.read_bytes = lambda self, rel: reads.append(rel) or original(self, rel)
    try:
        assert not folder_changed(lake_target(settings), open_store(settings.source), listing)
    finally:
        Store.read_bytes = original
    assert not [r for r in reads if "/CloudTrail/" in r]


# --- runs at once -----------------------------------------------------------------------------------

def cli(*args: str, **popen) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "flows.cli.main", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


@pytest.mark.slow
@pytest.mark.parametrize("second", ["--no-prefect", "prefect"])
def test_a_run_paused_between_listing_and_publishing_never_publishes_an_older_view(tmp_path, second):
    """repro_02 and repro_18: run A lists, is stopped while it reads, a late file arrives, run B
    (another CLI run, with or without its own Prefect server: they share nothing but the lake)
    publishes; then A resumes. The lake equals one sequential run's."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "1000", "F1aaaaaaaaaaaaaa", [change("E1", "2026-11-02T09:00:00Z")])
    slow = [route53_record(f"s{i}", "2026-11-02T23:00:00Z", name="GetChange") for i in range(150_000)]
    put(source, D2, "2300", "Slow000000000001", slow)
    args = ["--source", str(source), "--lake", str(lake), "--day", D2.isoformat()]
    a = cli("--no-prefect", "--workers", "1", *args)
    time.sleep(2.5)
    os.kill(a.pid, signal.SIGSTOP)  # A has listed the folder and is reading the slow file
    try:
        put(source, D2, "1100", "F2lateaaaaaaaaaa", [change("E2", "2026-11-02T09:30:00Z")])
        env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_API")}
        b = cli(*(["--no-prefect"] if second == "--no-prefect" else []), *args,
                env={**env, "PREFECT_HOME": str(tmp_path / "prefect_b")})
        assert b.wait(timeout=240) == 0, b.stderr.read()[-2000:]
    finally:
        os.kill(a.pid, signal.SIGCONT)
    assert a.wait(timeout=240) == 0, a.stderr.read()[-2000:]
    assert rows(lake, "select event_id from events where event_id like 'E%' order by 1") == [("E1",), ("E2",)]
    keys_hold(lake)
    sequential = tmp_path / "sequential"
    run_without_prefect(settings_for(source, sequential), [D2])
    assert lake_files(lake).keys() == lake_files(sequential).keys()
    for name, data in lake_files(sequential).items():
        if not name.startswith("_manifests"):
            assert lake_files(lake)[name] == data, name


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_s3_lock_takes_turns_and_takes_over_a_dead_holders_lock(s3, bucket):
    """The S3 lock is a conditional PUT: a second holder waits; a lock whose holder is gone (its
    process dead on this host, or its lease over) is taken over."""
    import threading

    lake = open_store(f"s3://{bucket}/lake")
    order, holding = [], threading.Event()

    def hold(tag: str, seconds: float) -> None:
        with locks.lake_lock(lake, "partition-x", lease_seconds=3):
            order.append(f"{tag}+")
            holding.set()
            time.sleep(seconds)  # longer than a lease: the holder renews it
            order.append(f"{tag}-")

    first = threading.Thread(target=hold, args=("a", 4))
    first.start()
    assert holding.wait(30)
    hold("b", 0)
    first.join()
    assert order == ["a+", "a-", "b+", "b-"]

    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True).stdout.strip()
    here = lease.me(expires=time.time() + 600, lease_seconds=600)  # this kernel, this PID namespace
    holder = dataclasses.replace(here, owner="x", pid=int(dead), started=0)
    s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/partition-y.lock", holder.to_json())
    started = time.monotonic()
    with locks.lake_lock(lake, "partition-y"):
        pass
    assert time.monotonic() - started < 5  # not the 600 s lease: its process is gone, and it was of our process table

    far = locks.Holder(owner="y", host="another-machine", pid=1, started=0, expires=time.time(), lease_seconds=1)
    s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/partition-z.lock", far.to_json())
    with locks.lake_lock(lake, "partition-z", wait_seconds=10):  # its 1 s lease ran out: taken over
        pass
    live = locks.Holder(owner="z", host="another-machine", pid=1, started=0, expires=time.time() + 600)
    s3.pipe_file(f"{bucket}/lake/{locks.LOCKS}/partition-w.lock", live.to_json())
    with pytest.raises(locks.LockTimeout, match="another-machine"), locks.lake_lock(lake, "partition-w", wait_seconds=1):
        pass


def test_a_local_lock_held_by_a_killed_process_is_free_at_once(tmp_path):
    code = ("import sys, time; from flows.storage.locks import lake_lock; from flows.storage.store import Store\n"
            f"with lake_lock(Store({str(tmp_path)!r}), 'folder-x'):\n    print('held', flush=True); time.sleep(60)")
    holder = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "held"
    with pytest.raises(locks.LockTimeout, match=f"pid {holder.pid}"), locks.lake_lock(Store(str(tmp_path)), "folder-x", wait_seconds=0.5):
        pass
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    with locks.lake_lock(Store(str(tmp_path)), "folder-x", wait_seconds=2):
        pass


# --- crashes at every step --------------------------------------------------------------------------

class Crash(BaseException):
    """Stands for SIGKILL at one exact point (a BaseException: nothing catches it on the way out)."""


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_a_crash_at_every_write_leaves_a_readable_consistent_lake_and_the_rerun_converges(tmp_path, monkeypatch):
    """Every lake mutation (a staged file, a manifest, a partition file, a deletion, a build record)
    is a point a run can die at. At each: every visible file is whole, keys hold, nothing that
    was published before is missing, and the next run converges to a clean run's lake."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D1, "1000", "Day1File00000001", [change("a", "2026-11-01T10:00:00Z")])
    put(source, D1, "1000", "Day1Org000000001", [change("a", "2026-11-01T10:00:00Z"), change("o", "2026-11-01T11:00:00Z")], org=ORG)
    put(source, D2, "0004", "Day2File00000001", [change("late", "2026-11-01T23:59:00Z"), change("b", "2026-11-02T00:03:00Z")])
    put(source, D2, "0900", "Day2Broken000001", []).write_bytes(b"\x1f\x8b\x08\x00broken")
    settings = settings_for(source, lake)
    run_without_prefect(settings, [D1, D2])
    published = set(rows(lake, "select event_id from events"))
    put(source, D2, "2300", "Day2Late00000001", [change("c", "2026-11-02T22:59:00Z")])  # what the rerun adds

    mutations = []
    for name in ("write_bytes", "commit_file", "delete"):
        original = getattr(Store, name)

        def counting(self, *args, _original=original, _name=name, **kwargs):
            mutations.append(args[1] if _name == "commit_file" else args[0])
            if len(mutations) == crash_at[0]:
                raise Crash(args[0])
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, counting)
    crash_at = [0]
    fresh = tmp_path / "fresh"
    run_without_prefect(settings_for(source, fresh), [D1, D2])
    probe = tmp_path / "probe"
    shutil.copytree(lake, probe)  # file times too: the partitions' build records stay true
    mutations.clear()
    run_without_prefect(settings_for(source, probe), [D1, D2])
    total = len(mutations)
    assert {m.split("/")[0] for m in mutations} >= {"_staging", "_manifests", "events", "record_changes", "_state"}, mutations
    for point in range(1, total + 1):
        crashed = tmp_path / f"crash-{point}"
        shutil.copytree(lake, crashed)
        mutations.clear()
        crash_at[0] = point
        with pytest.raises(Crash):
            run_without_prefect(settings_for(source, crashed), [D1, D2])
        crash_at[0] = 0
        for path in crashed.glob("*/*/*.parquet"):
            pq.read_table(path)  # whole
        keys_hold(crashed, across_tables=False)
        assert published <= set(rows(crashed, "select event_id from events")), point
        run_without_prefect(settings_for(source, crashed), [D1, D2])
        keys_hold(crashed)
        assert lake_files(crashed) == lake_files(fresh), point


# --- few files ---------------------------------------------------------------------------------------

@pytest.mark.slow  # over ~4 s: make check leaves it to make test
def test_many_accounts_and_days_give_one_sorted_file_per_partition(tmp_path):
    """300 accounts' folders would each have written a file per partition; now a partition is one
    file, its sort order declared in the Parquet metadata, descriptions once."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    rng = random.Random(11)
    for n in range(60):
        account = f"{100000000000 + n}"
        for day in (D1, D2):
            folder = source / log_key(account, day.isoformat(), "0004", unique=f"Many{n:04d}AbCdEfGh")
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.write_bytes(gz([change(f"{account}-{day}-{i}", f"{day}T{rng.randrange(24):02d}:00:00Z") for i in range(3)]
                                  + [change(f"{account}-{day}-late", "2026-10-31T23:59:59Z")]))
    run = run_without_prefect(settings_for(source, lake), [D1, D2])
    assert len(run.folders) == 120
    for table in ("events", "record_changes"):
        files = sorted((lake / table).glob("*/*"))
        assert [f.name for f in files] == [VISIBLE] * 3, files
        for path in files:
            meta = pq.ParquetFile(path).metadata
            names = [meta.schema.column(c.column_index).name for c in meta.row_group(0).sorting_columns]
            assert names[:2] == ["event_time", "event_id"]
            times = pq.read_table(path, columns=["event_time"])["event_time"].to_pylist()
            assert times == sorted(times)
    events = pl.scan_parquet(str(lake / "events"), hive_partitioning=True).collect()
    assert events.height == 60 * 2 * 4 == events["event_id"].n_unique()
    staged = next((lake / "_staging" / "events").rglob("*.parquet"))
    assert not pq.read_schema(staged).field("event_id").metadata  # no descriptions on staged files
    assert pq.read_schema(next((lake / "events").rglob("*.parquet"))).field("event_id").metadata[b"description"]


def test_a_lake_written_by_the_earlier_layout_is_adopted_without_loss_or_doubling(tmp_path):
    """Before 2026-12-01 every day folder wrote its own file into the visible partition. Those
    files are moved into staging by the first rebuild of their partition: no row lost or doubled."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "1205", "AbCdEfGhIjKlMnOp", [change("e1", "2026-11-02T10:00:00Z")])
    run_without_prefect(settings_for(source, tmp_path / "new"), [D2])
    for table in ("events", "record_changes"):
        (lake / table / "event_date=2026-11-02").mkdir(parents=True)
        data = (tmp_path / "new" / table / "event_date=2026-11-02" / VISIBLE).read_bytes()
        (lake / table / "event_date=2026-11-02" / "2026-11-02_123456789012_us-east-1_0ld1ayou.parquet").write_bytes(data)
    put(source, D2, "1305", "SecondFile000001", [change("e2", "2026-11-02T13:00:00Z")])
    run_without_prefect(settings_for(source, lake), [D2])
    assert sorted(p.name for p in (lake / "events" / "event_date=2026-11-02").iterdir()) == [VISIBLE]
    assert rows(lake, "select event_id from events order by 1") == [("e1",), ("e2",)]
    keys_hold(lake)


def test_a_run_sweeps_what_writers_killed_long_ago_left_in_manifests_and_state_but_not_young_ones(tmp_path):
    """A write is a hidden temporary renamed into place; a kill between the two leaves the temporary.
    The partition folders were swept; the manifests' and the partitions' state folders were not."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "1205", "AbCdEfGhIjKlMnOp", [route53_record("e1", "2026-11-02T10:00:00Z")])
    settings = settings_for(source, lake)
    run_without_prefect(settings, [D2])
    folders = [lake / "_manifests" / "delivery_date=2026-11-02", lake / "_state" / "partitions", lake / "_state" / "event_ids"]
    old, young = time.time() - 7200, []
    for n, folder in enumerate(folders):
        assert folder.is_dir(), folder
        (folder / f".left{n}.json.0123456789abcdef.tmp").write_bytes(b"{")
        os.utime(folder / f".left{n}.json.0123456789abcdef.tmp", (old, old))  # a writer killed two hours ago
        young.append(folder / f".live{n}.json.fedcba9876543210.tmp")
        young[-1].write_bytes(b"{")  # may be a live writer's
    put(source, D2, "1305", "QrStUvWxYzAbCdEf", [route53_record("e2", "2026-11-02T11:00:00Z")])  # something to stage and rebuild
    run_without_prefect(settings, [D2])
    assert sorted(p.name for f in folders for p in f.glob(".*.tmp")) == sorted(p.name for p in young)
