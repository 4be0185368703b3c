"""Deduplication and partitioning of flattened tables."""

from __future__ import annotations

from datetime import date

from schemas.tables import EVENTS, RECORD_CHANGES
from tests.conftest import a_record, route53_record
from transforms.lake import concat, drop_duplicate_events, split_by_event_date
from transforms.route53.reference import flatten_records


def flat(records, source_file):
    return flatten_records(records, source_file=source_file, delivery_date=date(2026, 11, 2))


def test_duplicate_event_keeps_one_copy_with_exactly_its_changes_whatever_the_read_order():
    record = route53_record("dup", "2026-11-02T00:01:00Z", a_record("a.example.com.", "192.0.2.1"), a_record("b.example.com.", "192.0.2.2"))
    files = [flat([record], "s3://t/b.json.gz"), flat([record, record], "s3://t/a.json.gz")]
    for ordering in (files, files[::-1]):
        events, changes, dropped = drop_duplicate_events(concat(EVENTS, (f.events for f in ordering)),
                                                         concat(RECORD_CHANGES, (f.record_changes for f in ordering)))
        assert (events.num_rows, changes.num_rows, dropped) == (1, 2, 2)
        assert events["source_file"].to_pylist() == ["s3://t/a.json.gz"] and events["record_index"].to_pylist() == [0]
        assert set(zip(changes["source_file"].to_pylist(), changes["record_index"].to_pylist(), strict=True)) == {("s3://t/a.json.gz", 0)}


def test_same_event_id_with_different_batches_still_reconciles():
    one = route53_record("same", "2026-11-02T00:01:00Z", a_record("a.example.com.", "192.0.2.1"))
    three = route53_record("same", "2026-11-02T00:01:00Z", *(a_record(f"{n}.example.com.", "192.0.2.1") for n in "abc"))
    f = flat([three, one], "s3://t/a.json.gz")
    events, changes, _ = drop_duplicate_events(f.events, f.record_changes)
    assert events["change_count"].to_pylist() == [3] and changes.num_rows == 3


def test_event_after_midnight_goes_to_its_own_date():
    f = flat([route53_record("late", "2026-11-01T23:59:59Z"), route53_record("on-time", "2026-11-02T00:00:00Z")], "s3://t/x.json.gz")
    parts = split_by_event_date(f.events, EVENTS)
    assert {d.isoformat(): t["event_id"].to_pylist() for d, t in parts.items()} == {"2026-11-01": ["late"], "2026-11-02": ["on-time"]}


def test_interleaved_dates_each_get_exactly_their_rows():
    stamps = ["2026-11-03T00:00:00Z", "2026-11-01T12:00:00Z", "2026-11-02T23:59:59Z", "2026-11-01T00:00:00Z", "2026-11-03T10:00:00Z"]
    f = flat([route53_record(f"e{i}", t) for i, t in enumerate(stamps)], "s3://t/x.json.gz")
    parts = split_by_event_date(f.events, EVENTS)
    assert {d.isoformat(): t["event_id"].to_pylist() for d, t in parts.items()} == {
        "2026-11-01": ["e3", "e1"], "2026-11-02": ["e2"], "2026-11-03": ["e0", "e4"]}


def test_partitions_are_sorted_by_event_time():
    records = [route53_record(f"e{i}", f"2026-11-02T0{9 - i}:00:00Z") for i in range(5)]
    (part,) = split_by_event_date(flat(records, "s3://t/x.json.gz").events, EVENTS).values()
    times = part["event_time"].to_pylist()
    assert times == sorted(times)


def test_no_rows_means_no_partitions():
    assert split_by_event_date(EVENTS.schema.empty_table(), EVENTS) == {}
