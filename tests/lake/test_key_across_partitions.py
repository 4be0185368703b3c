"""The key of `events` holds across event_date partitions (repro_25): one eventID delivered twice
with eventTimes on two UTC dates (23:59:59 and 00:00:01) is one `events` row and one set of
`record_changes`: the earliest delivered copy, in the partition of its own eventTime, whatever the
files, folders, delivery days, trails, run order and runs at once that staged the copies. Copies
days or weeks apart are compared too (flows/lake/neighbours.py).

Everything is read back as analysts read it: DuckDB over `<lake>/<table>/*/*.parquet`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from flows.lake.layout import VISIBLE
from flows.pipeline import run_without_prefect
from flows.results import RunFailed
from flows.storage import locks
from flows.storage.store import Store
from tests.conftest import a_record, lake_files, route53_record
from tests.lake.test_exactly_once import ORG, cli, keys_hold, put, rows, settings_for

D1, D2, D3 = date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)
EID = "5d0c3a2e-0000-4000-8000-000000000001"
BEFORE, AFTER = "2026-11-01T23:59:59Z", "2026-11-02T00:00:01Z"  # two UTC dates, two seconds apart


def copy(at: str, name: str) -> dict:
    """A copy of the one event: its content (and eventTime) differs, its eventID does not."""
    return route53_record(EID, at, a_record(name, "192.0.2.1"))


def kept(lake: Path) -> list[tuple]:
    """(event_date, the record name of the copy kept) for every events row of the event, and its
    record_changes rows, which must be that copy's."""
    events = rows(lake, f"select event_date::varchar, source_file from events where event_id = '{EID}' order by all")
    changes = rows(lake, f"select record_name, source_file from record_changes where event_id = '{EID}' order by all")
    assert [c[1] for c in changes] == [e[1] for e in events]  # the changes of the copy kept, and only those
    return [(e[0], c[0]) for e, c in zip(events, changes, strict=True)]


def published(lake: Path) -> dict[str, bytes]:
    """The lake without manifests (they name the run that staged a folder, and its file times)."""
    return {k: v for k, v in lake_files(lake).items() if not k.startswith("_manifests/")}


def partitions(lake: Path, table: str = "events") -> list[str]:
    return sorted(p.parent.name for p in (lake / table).glob(f"*/{VISIBLE}"))


# --- one folder ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("first", "second"), [(BEFORE, AFTER), (AFTER, BEFORE)])
def test_copies_on_two_event_dates_in_one_folder_keep_the_earliest_delivered_in_its_own_partition(tmp_path, first, second):
    """repro_25, both ways round: the copy delivered at 00:05 is kept, in the partition of its own
    eventTime, whichever date that is; the run's counts are the lake's."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "0005", "Firstaaaaaaaaaaa", [copy(first, "first.example.com.")])
    put(source, D2, "0105", "Secondaaaaaaaaaa", [copy(second, "second.example.com.")])
    run = run_without_prefect(settings_for(source, lake), [D2])
    assert kept(lake) == [(first[:10], "first.example.com.")]
    assert partitions(lake) == partitions(lake, "record_changes") == [f"event_date={first[:10]}"]
    assert (run.total("events_written"), run.total("duplicates_dropped")) == (1, 1)
    assert rows(lake, "select count(*) from events") == [(run.total("events_written"),)]
    assert rows(lake, "select count(*) from record_changes") == [(run.total("record_changes_written"),)]
    keys_hold(lake)
    again = published(lake)
    assert run_without_prefect(settings_for(source, lake), [D2]).partitions_rebuilt == 0  # a rerun changes nothing
    assert published(lake) == again


# --- folders, delivery days, trails, run orders -------------------------------------------------------

@pytest.mark.slow  # over ~3 s: make check leaves it to make test
@pytest.mark.parametrize(("early", "late"), [(BEFORE, AFTER), (AFTER, BEFORE)])
def test_copies_delivered_on_two_days_give_one_lake_whatever_the_run_order(tmp_path, early, late):
    """The copy in the folder of 2026-11-02 (delivered first) is kept; the copy delivered on
    2026-11-03 is dropped, wherever its eventTime put it. Every order of runs and reruns leaves the
    lake one run over both days leaves."""
    source = tmp_path / "src"
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy(early, "early.example.com.")])
    put(source, D3, "0005", "Lateaaaaaaaaaaaa", [copy(late, "late.example.com.")])
    reference = tmp_path / "reference"
    run_without_prefect(settings_for(source, reference), [D2, D3])
    assert kept(reference) == [(early[:10], "early.example.com.")]
    keys_hold(reference)
    for n, orders in enumerate(([[D3], [D2]], [[D3, D2]], [[D2], [D3]], [[D3], [D2], [D3], [D2, D3]])):
        lake = tmp_path / f"order-{n}"
        for days in orders:
            run_without_prefect(settings_for(source, lake), days)
            keys_hold(lake)
        assert published(lake) == published(reference), orders


def test_copies_in_two_trails_keep_the_earliest_delivered_whichever_trail_is_read_first(tmp_path):
    """The account's own trail delivers at 00:10 with 00:00:01; the organization trail at 00:05
    with 23:59:59 of the day before: the organization trail's copy is kept, in 2026-11-01."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "0010", "OwnTrail00000001", [copy(AFTER, "own.example.com.")])
    put(source, D2, "0005", "OrgTrail00000001", [copy(BEFORE, "org.example.com.")], org=ORG)
    run = run_without_prefect(settings_for(source, lake), [D2])
    assert kept(lake) == [("2026-11-01", "org.example.com.")]
    assert partitions(lake) == ["event_date=2026-11-01"]  # 2026-11-02 had only the copy dropped
    # each folder counts its own copies; the lake drops the second trail's copy
    assert run.total("events_written") - rows(lake, "select count(*) from events")[0][0] == 1
    keys_hold(lake)


def test_a_copy_staged_later_takes_the_event_from_a_neighbour_partition_already_published(tmp_path):
    """Another source (a second trail bucket) read later holds an earlier delivered copy on the
    day before: the partition that published the event loses it, though that run never staged
    into it; a partition sharing no event with it is checked but not rebuilt."""
    first, second, lake = tmp_path / "first", tmp_path / "second", tmp_path / "lake"
    put(first, D2, "0105", "Laterdelivered01", [copy(AFTER, "later.example.com."), route53_record("other", "2026-10-31T09:00:00Z")])
    put(second, D2, "0005", "Earlierdeliverd1", [copy(BEFORE, "earlier.example.com.")])
    run_without_prefect(settings_for(first, lake), [D2])
    assert kept(lake) == [("2026-11-02", "later.example.com.")]
    untouched = (lake / "events" / "event_date=2026-10-31" / VISIBLE).stat().st_mtime_ns
    run = run_without_prefect(settings_for(second, lake), [D2])
    assert kept(lake) == [("2026-11-01", "earlier.example.com.")]
    assert partitions(lake) == ["event_date=2026-10-31", "event_date=2026-11-01"]
    assert (lake / "events" / "event_date=2026-10-31" / VISIBLE).stat().st_mtime_ns == untouched  # checked, not rebuilt
    state = json.loads((lake / "_state" / "partitions" / "event_date=2026-11-02.json").read_text())
    assert state["lost_to_neighbours"][0] == 1  # the build record says what it gave up
    assert run.partitions_rebuilt == 3  # the new copy's partition, the one that lost it, and the delivery day's
    keys_hold(lake)


@pytest.mark.parametrize(("first", "second"), [("2026-10-31T23:59:59Z", "2026-11-02T00:00:01Z"),
                                               ("2026-11-02T00:00:01Z", "2026-09-15T12:00:00Z")])
def test_copies_days_apart_in_one_folder_are_one_event(tmp_path, first, second):
    """The key holds across the whole table: copies whose eventTimes are days apart are compared too."""
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "0005", "Firstaaaaaaaaaaa", [copy(first, "first.example.com.")])
    put(source, D2, "0105", "Secondaaaaaaaaaa", [copy(second, "second.example.com.")])
    run = run_without_prefect(settings_for(source, lake), [D2])
    assert kept(lake) == [(first[:10], "first.example.com.")]
    assert partitions(lake) == [f"event_date={first[:10]}"]
    assert (run.total("events_written"), run.total("duplicates_dropped")) == (1, 1)
    keys_hold(lake)


@pytest.mark.parametrize("order", ["early first", "late first"])
def test_copies_weeks_apart_delivered_on_days_weeks_apart_are_one_event_whatever_the_run_order(tmp_path, order):
    """A copy delivered on 2026-11-02 with an eventTime of that day, another delivered on 2026-11-30
    with an eventTime of 2026-11-29 (content that differs): one event, the earliest delivered, in its
    own partition; the other partition is empty of it; and a rerun of either day changes nothing."""
    late_day = date(2026, 11, 30)
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy("2026-11-02T00:00:01Z", "early.example.com."),
                                                  route53_record("other", "2026-11-02T09:00:00Z")])
    put(source, late_day, "0005", "Lateaaaaaaaaaaaa", [copy("2026-11-29T10:00:00Z", "late.example.com.")])
    days = [D2, late_day] if order == "early first" else [late_day, D2]
    for day in days:
        run_without_prefect(settings_for(source, lake), [day])
    assert kept(lake) == [("2026-11-02", "early.example.com.")]
    assert rows(lake, "select count(*) from events where event_date = '2026-11-29'") == [(0,)]
    keys_hold(lake)
    again = published(lake)
    for day in days:
        assert run_without_prefect(settings_for(source, lake), [day]).partitions_rebuilt == 0
    assert published(lake) == again


def test_a_copy_that_leaves_a_partition_gives_the_event_back_to_the_other(tmp_path):
    """The copy that took the event from a partition weeks away is removed (its file replaced by one
    without it): the event is back in the partition of the other copy."""
    late_day = date(2026, 11, 30)
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, late_day, "0005", "Lateaaaaaaaaaaaa", [copy("2026-11-29T10:00:00Z", "late.example.com.")])
    early = put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy("2026-11-02T00:00:01Z", "early.example.com."),
                                                          route53_record("other", "2026-11-02T09:00:00Z")])
    for day in (late_day, D2):
        run_without_prefect(settings_for(source, lake), [day])
    assert kept(lake) == [("2026-11-02", "early.example.com.")]
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [route53_record("other", "2026-11-02T09:00:00Z")])
    assert early.exists()
    run_without_prefect(settings_for(source, lake), [D2])
    assert kept(lake) == [("2026-11-29", "late.example.com.")]
    keys_hold(lake)


# --- runs at once ------------------------------------------------------------------------------------

def staged_units(lake: Path) -> set[str]:
    return {p.name for p in (lake / "_staging" / "events").glob("*/*.parquet")}


@pytest.mark.slow  # two command-line runs: over ~4 s
@pytest.mark.parametrize("held", [True, False])
@pytest.mark.parametrize("late_time", [AFTER, "2026-11-20T10:00:00Z"])
def test_two_runs_staging_the_two_copies_at_once_leave_the_lake_of_one_sequential_run(tmp_path, held, late_time):
    """Two command-line runs, two trail buckets, one copy each, on either side of midnight or weeks
    apart. held: the test holds every partition lock they need until both have staged, so both have
    committed their copy before either rebuilds anything (each must see both); otherwise they race freely."""
    early, late, lake = tmp_path / "early", tmp_path / "late", tmp_path / "lake"
    put(early, D2, "0005", "Earlyaaaaaaaaaaa", [copy(BEFORE, "early.example.com.")])
    put(late, D2, "0105", "Lateaaaaaaaaaaaa", [copy(late_time, "late.example.com.")])
    sequential = tmp_path / "sequential"
    for source in (late, early):
        run_without_prefect(settings_for(source, sequential), [D2])
    names = [f"partition-event_date={d}" for d in ("2026-11-01", late_time[:10])]
    with contextlib.ExitStack() as holding:
        for name in names if held else []:
            holding.enter_context(locks.lake_lock(Store(str(lake)), name))
        runs = [cli("--no-prefect", "--source", str(source), "--lake", str(lake), "--day", D2.isoformat()) for source in (early, late)]
        deadline = time.monotonic() + 120
        while held and len(staged_units(lake)) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not held or len(staged_units(lake)) == 2
        assert not held or not (lake / "events").exists()  # nothing rebuilt yet: both copies staged first
    for run in runs:
        assert run.wait(timeout=240) == 0, run.stderr.read()[-2000:]
    assert kept(lake) == [("2026-11-01", "early.example.com.")]
    keys_hold(lake)
    assert published(lake) == published(sequential)


# --- S3 ------------------------------------------------------------------------------------------------

@pytest.mark.slow  # a lake on the loopback S3 server: over ~4 s
def test_on_s3_a_neighbour_s_copies_are_read_by_their_key_columns_not_downloaded(tmp_path, s3, bucket, monkeypatch):
    """The same lake on S3 as on a local folder; a rebuild fetches its neighbour's staged events
    file in ranges (its key and rank columns), and downloads whole only its own."""
    source = tmp_path / "src"
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy(BEFORE, "early.example.com.")])
    put(source, D3, "0005", "Lateaaaaaaaaaaaa", [copy(AFTER, "late.example.com.")])
    lake = f"s3://{bucket}/lake"
    run_without_prefect(settings_for(source, lake), [D3])
    downloads, ranged = [], []
    download, open_ranged = Store.download, Store.open_ranged
    monkeypatch.setattr(Store, "download", lambda self, rel, local: downloads.append(rel) or download(self, rel, local))
    monkeypatch.setattr(Store, "open_ranged", lambda self, rel: ranged.append(rel) or open_ranged(self, rel))
    run_without_prefect(settings_for(source, lake), [D2])
    late_copy = [p for p in ranged if p.startswith("_staging/events/event_date=2026-11-02/")]
    assert late_copy and [p for p in downloads if p in late_copy] == late_copy[:1]  # its own rebuild only
    local = tmp_path / "local"
    run_without_prefect(settings_for(source, local), [D3, D2])
    fetched = tmp_path / "fetched"
    s3.get(f"{bucket}/lake/", str(fetched), recursive=True)
    for table in ("events", "record_changes"):
        assert partitions(fetched, table) == partitions(local, table) == ["event_date=2026-11-01"]
        assert (fetched / table / "event_date=2026-11-01" / VISIBLE).read_bytes() == (local / table / "event_date=2026-11-01" / VISIBLE).read_bytes()


@pytest.mark.slow  # a lake on the loopback S3 server: over ~4 s
def test_on_s3_copies_weeks_apart_are_one_event_as_on_a_local_lake(tmp_path, s3, bucket):
    """The id files on S3: written, listed and cached by ETag as on a local lake, the same lake."""
    late_day = date(2026, 11, 30)
    source = tmp_path / "src"
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy("2026-11-02T00:00:01Z", "early.example.com.")])
    put(source, late_day, "0005", "Lateaaaaaaaaaaaa", [copy("2026-11-29T10:00:00Z", "late.example.com.")])
    lake, local = f"s3://{bucket}/lake", tmp_path / "local"
    for day in (late_day, D2):
        run_without_prefect(settings_for(source, lake), [day])
        run_without_prefect(settings_for(source, local), [day])
    fetched = tmp_path / "fetched"
    s3.get(f"{bucket}/lake/", str(fetched), recursive=True)
    assert kept(fetched) == kept(local) == [("2026-11-02", "early.example.com.")]
    assert sorted(p.name for p in (fetched / "_state" / "event_ids").iterdir()) == ["event_date=2026-11-02.ids", "event_date=2026-11-29.ids"]
    assert published(fetched) == published(local)


# --- crashes -------------------------------------------------------------------------------------------

class Crash(BaseException):
    """Stands for SIGKILL at one exact point (a BaseException: nothing catches it on the way out)."""


@pytest.mark.slow  # a run per write of the run: over ~4 s
def test_a_crash_at_any_write_of_a_run_that_moves_the_kept_copy_converges_on_the_next_run(tmp_path, monkeypatch):
    """A copy delivered earlier arrives in a later run on the date before: the event moves from
    2026-11-02 to 2026-11-01, two partitions swapped one after the other. Killed at any write, the
    lake's files are whole, no other event is touched, the event is shown at most twice (between
    the two swaps: docs/architecture.md), and the next run gives the lake an uninterrupted run gives."""
    first, second, lake = tmp_path / "first", tmp_path / "second", tmp_path / "lake"
    put(first, D2, "0105", "Laterdelivered01", [copy(AFTER, "later.example.com."), route53_record("other", "2026-11-02T09:00:00Z")])
    put(second, D2, "0005", "Earlierdeliverd1", [copy(BEFORE, "earlier.example.com.")])
    run_without_prefect(settings_for(first, lake), [D2])
    reference = tmp_path / "reference"
    shutil.copytree(lake, reference)
    run_without_prefect(settings_for(second, reference), [D2])
    writes, crash_at = [], [0]
    for name in ("write_bytes", "commit_file", "delete"):
        original = getattr(Store, name)

        def counting(self, *args, _original=original, **kwargs):
            writes.append(args)
            if len(writes) == crash_at[0]:
                raise Crash(args[0])
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(Store, name, counting)
    probe = tmp_path / "probe"
    shutil.copytree(lake, probe)
    writes.clear()
    run_without_prefect(settings_for(second, probe), [D2])
    for point in range(1, len(writes) + 1):
        crashed = tmp_path / f"crash-{point}"
        shutil.copytree(lake, crashed)
        writes.clear()
        crash_at[0] = point
        with pytest.raises(Crash):
            run_without_prefect(settings_for(second, crashed), [D2])
        crash_at[0] = 0
        for path in crashed.glob("*/*/*.parquet"):
            pq.read_table(path)  # whole
        assert rows(crashed, f"select count(*) filter (where event_id = '{EID}') <= 2, count(*) filter (where event_id <> '{EID}') from events") == [(True, 1)], point
        run_without_prefect(settings_for(second, crashed), [D2])
        keys_hold(crashed)
        assert published(crashed) == published(reference), point


# --- the id files --------------------------------------------------------------------------------------

@pytest.mark.parametrize("damage", [b"", b"not parquet", "other columns", "directory"])
def test_a_damaged_event_id_file_costs_nothing_and_is_rewritten(tmp_path, caplog, damage):
    """An id file truncated, overwritten, of other columns, or a folder in its place: the day is
    published all the same, the partition is compared by its staged files, and the file is rewritten."""
    import pyarrow as pa

    late_day = date(2026, 11, 30)
    source, lake = tmp_path / "src", tmp_path / "lake"
    put(source, D2, "0005", "Earlyaaaaaaaaaaa", [copy("2026-11-02T00:00:01Z", "early.example.com.")])
    put(source, late_day, "0005", "Lateaaaaaaaaaaaa", [copy("2026-11-29T10:00:00Z", "late.example.com.")])
    run_without_prefect(settings_for(source, lake), [D2])
    ids = lake / "_state" / "event_ids" / "event_date=2026-11-02.ids"
    good = ids.read_bytes()
    if damage == "directory":
        ids.unlink()
        ids.mkdir()
    elif damage == "other columns":
        pq.write_table(pa.table({"event_id": [EID]}), ids)
    else:
        ids.write_bytes(damage)
    with caplog.at_level(logging.WARNING, logger="route53_lake"):
        if damage == "directory":  # the partition it belongs to says what to do; the others are published
            with pytest.raises(RunFailed, match="event_date=2026-11-02.ids is a folder where the lake keeps a file"):
                run_without_prefect(settings_for(source, lake), [late_day])
        else:
            run_without_prefect(settings_for(source, lake), [late_day])
    assert kept(lake) == [("2026-11-02", "early.example.com.")]
    keys_hold(lake)
    if damage != "directory":
        assert any("event_date=2026-11-02.ids) is damaged" in r.getMessage() for r in caplog.records)
        assert ids.read_bytes() == good  # rewritten by the partition's own refresh
