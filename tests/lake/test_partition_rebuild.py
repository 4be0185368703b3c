"""Deduplication and partitioning as the lake does them: day folders' rows staged by the real
staging writer (flows/lake/staging.py), each partition rebuilt by the real rebuild
(flows/lake/partitions.py, the one rule of which copy of an event is kept), read back."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from flows.lake.layout import VISIBLE, partition_of
from flows.lake.partitions import refresh
from flows.lake.staging import StagedFiles, commit_staged
from flows.storage.store import Store
from schemas.tables import EVENTS, RECORD_CHANGES
from tests.conftest import a_record, route53_record
from transforms.route53.reference import flatten_records


def flat(records, source_file):
    return flatten_records(records, source_file=source_file, delivery_date=date(2026, 11, 2))


def rebuilt(lake_dir: Path, folders: dict[str, list]) -> dict[str, dict[str, pa.Table]]:
    """Stage each day folder's files (name -> its files' rows, in that order), rebuild every
    partition they touch; table name -> event_date -> the partition's visible rows."""
    lake, touched = Store(str(lake_dir)), set()
    for name, files in folders.items():
        staged = StagedFiles(name)
        try:
            for f in files:
                staged.add(EVENTS, f.events)
                staged.add(RECORD_CHANGES, f.record_changes)
            for path, built in staged.close().items():
                commit_staged(lake, built, path, {})
                touched.add(partition_of(path))
        finally:
            staged.discard()
    for partition in sorted(touched):
        refresh(lake, partition, {})
    return {t.name: {p.parent.name.removeprefix("event_date="): pq.read_table(p) for p in sorted((lake_dir / t.name).glob(f"*/{VISIBLE}"))}
            for t in (EVENTS, RECORD_CHANGES)}


def test_duplicate_event_keeps_one_copy_with_exactly_its_changes_whatever_the_read_order(tmp_path):
    record = route53_record("dup", "2026-11-02T00:01:00Z", a_record("a.example.com.", "192.0.2.1"), a_record("b.example.com.", "192.0.2.2"))
    files = [flat([record], "s3://t/b.json.gz"), flat([record, record], "s3://t/a.json.gz")]
    layouts = {"one folder": {"f": files}, "one folder, read the other way": {"f": files[::-1]},
               "two folders": {"x": files[:1], "y": files[1:]}, "two folders, named the other way": {"y": files[:1], "x": files[1:]}}
    for n, (layout, folders) in enumerate(layouts.items()):
        lake = rebuilt(tmp_path / str(n), folders)
        events, changes = lake["events"]["2026-11-02"], lake["record_changes"]["2026-11-02"]
        assert (events.num_rows, changes.num_rows) == (1, 2), layout
        assert events["source_file"].to_pylist() == ["s3://t/a.json.gz"] and events["record_index"].to_pylist() == [0], layout
        assert set(zip(changes["source_file"].to_pylist(), changes["record_index"].to_pylist(), strict=True)) == {("s3://t/a.json.gz", 0)}


def test_the_earliest_delivered_copy_is_kept_before_the_smaller_file_name(tmp_path):
    record = route53_record("dup", "2026-11-02T00:01:00Z", a_record("a.example.com.", "192.0.2.1"))
    late = "s3://t/AWSLogs/1/CloudTrail/us-east-1/2026/11/02/1_CloudTrail_us-east-1_20261102T0905Z_aaaa.json.gz"
    early = "s3://t/AWSLogs/1/CloudTrail/us-east-1/2026/11/02/1_CloudTrail_us-east-1_20261102T0100Z_zzzz.json.gz"
    events = rebuilt(tmp_path, {"f": [flat([record], late), flat([record], early)]})["events"]["2026-11-02"]
    assert events["source_file"].to_pylist() == [early]


def test_same_event_id_with_different_batches_still_reconciles(tmp_path):
    one = route53_record("same", "2026-11-02T00:01:00Z", a_record("a.example.com.", "192.0.2.1"))
    three = route53_record("same", "2026-11-02T00:01:00Z", *(a_record(f"{n}.example.com.", "192.0.2.1") for n in "abc"))
    lake = rebuilt(tmp_path, {"f": [flat([three, one], "s3://t/a.json.gz")]})
    assert lake["events"]["2026-11-02"]["change_count"].to_pylist() == [3] and lake["record_changes"]["2026-11-02"].num_rows == 3


def test_event_after_midnight_goes_to_its_own_date(tmp_path):
    f = flat([route53_record("late", "2026-11-01T23:59:59Z"), route53_record("on-time", "2026-11-02T00:00:00Z")], "s3://t/x.json.gz")
    events = rebuilt(tmp_path, {"f": [f]})["events"]
    assert {d: t["event_id"].to_pylist() for d, t in events.items()} == {"2026-11-01": ["late"], "2026-11-02": ["on-time"]}


def test_interleaved_dates_each_get_exactly_their_rows_sorted_by_event_time(tmp_path):
    stamps = ["2026-11-03T00:00:00Z", "2026-11-01T12:00:00Z", "2026-11-02T23:59:59Z", "2026-11-01T00:00:00Z", "2026-11-03T10:00:00Z"]
    f = flat([route53_record(f"e{i}", t) for i, t in enumerate(stamps)], "s3://t/x.json.gz")
    events = rebuilt(tmp_path, {"f": [f]})["events"]
    assert {d: t["event_id"].to_pylist() for d, t in events.items()} == {
        "2026-11-01": ["e3", "e1"], "2026-11-02": ["e2"], "2026-11-03": ["e0", "e4"]}


def test_no_rows_means_no_partitions(tmp_path):
    assert rebuilt(tmp_path, {"f": [flat([], "s3://t/x.json.gz")]}) == {"events": {}, "record_changes": {}}
