"""Bad input never costs good records, never crashes a run, never exhausts memory (issue 12).

Each reported failure (repros 03, 04, 05, 06, 13 in the shared folder) is a case here, run through
the pipeline's own steps (run_without_prefect) on a CloudTrail tree in a temporary folder; the
memory cases run in a child process that measures its own peak."""

from __future__ import annotations

import functools
import gzip
import json
import os
import random
import subprocess
import sys
import zlib
from datetime import date
from pathlib import Path

import duckdb
import pytest

from flows.lake.manifests import MANIFESTS
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
from tests.conftest import ROOT, a_record, gz, log_key, route53_record
from transforms.cloudtrail import container as cloudtrail
from transforms.cloudtrail import envelope
from transforms.cloudtrail.container import decompress
from transforms.cloudtrail.envelope import candidate_records
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits
from transforms.route53.fast import flatten_file

ACCT = "123456789012"


def write(root: Path, key: str, data: bytes) -> None:
    path = root / "trail" / key
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def run(root: Path, *days: str):
    settings = LakeSettings(source=str(root / "trail"), lake=str(root / "lake"))
    return run_without_prefect(settings, [date.fromisoformat(d) for d in days])


def rows(root: Path, table: str, columns: str = "*") -> list[dict]:
    files = list((root / "lake" / table).rglob("*.parquet"))
    if not files:
        return []
    relation = duckdb.sql(f"select {columns} from read_parquet({[str(f) for f in files]}, hive_partitioning = true) order by all")
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def crrs(event_id: str, event_time: str, **extra) -> dict:
    return route53_record(event_id, event_time, a_record(f"{event_id}.example.com.", "192.0.2.1"), **extra)


# --- repro_03: an offset at the calendar's edge raised OverflowError and stopped the run ------------------

EDGE_CASES = {
    "eventTime-year-1": ("eventTime", "0001-01-01T00:00:00+01:00"),
    "eventTime-year-9999": ("eventTime", "9999-12-31T23:59:59-01:00"),
    "creationDate": ("creationDate", "0001-01-01T00:00:00+05:00"),
    "submittedAt": ("submittedAt", "9999-12-31T23:59:59-05:00"),
}


@pytest.mark.parametrize(("field", "value"), EDGE_CASES.values(), ids=EDGE_CASES.keys())
def test_a_time_at_the_calendars_edge_costs_at_most_its_record_and_later_days_are_published(tmp_path, field, value):
    bad = crrs("bad", "2026-11-01T10:00:00Z")
    if field == "eventTime":
        bad["eventTime"] = value
    elif field == "creationDate":
        bad["userIdentity"]["sessionContext"] = {"attributes": {"creationDate": value}}
    else:
        bad["responseElements"]["changeInfo"]["submittedAt"] = value
    write(tmp_path, log_key(ACCT, "2026-11-01", unique="Bad0000000000001"), gz([crrs("good", "2026-11-01T09:00:00Z"), bad]))
    write(tmp_path, log_key(ACCT, "2026-11-02", unique="Good000000000001"), gz([crrs("good2", "2026-11-02T09:00:00Z")]))
    summary = run(tmp_path, "2026-11-01", "2026-11-02")
    assert len(summary.folders) == 2 and len(list((tmp_path / "lake" / MANIFESTS).iterdir())) == 2
    events = {e["event_id"]: e for e in rows(tmp_path, "events", "event_id, parse_warnings")}
    if field == "eventTime":  # it places the record: quarantined, never in a partition
        assert sorted(events) == ["good", "good2"]
        assert [(q["error_kind"], q["event_id"]) for q in rows(tmp_path, "quarantine")] == [("implausible_time", "bad")]
    else:  # it neither identifies nor places it: published, the value set aside and named
        assert sorted(events) == ["bad", "good", "good2"] and rows(tmp_path, "quarantine") == []
        (warning,) = events["bad"]["parse_warnings"]
        assert field in warning and "outside the calendar" in warning


# --- repro_04: a record nested ~1,000 levels, even another service's, raised RecursionError -------------------

def test_a_deeply_nested_record_of_another_service_is_skipped_and_the_day_published(tmp_path):
    good = json.dumps(crrs("good", "2026-11-02T10:00:00Z")).encode()
    s3 = (b'{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"PutObject","eventTime":"2026-11-02T10:00:00Z",'
          b'"eventID":"s3-1","requestParameters":' + b"[" * 5000 + b"]" * 5000 + b"}")
    write(tmp_path, log_key(ACCT, "2026-11-02"), gzip.compress(b'{"Records":[' + good + b"," + s3 + b"]}"))
    (folder,) = run(tmp_path, "2026-11-02").folders
    assert (folder.records_read, folder.route53_records, folder.events_written, folder.records_quarantined) == (2, 1, 1, 0)
    assert [e["event_id"] for e in rows(tmp_path, "events", "event_id")] == ["good"]


def test_a_deeply_nested_route53_record_is_quarantined_unread(tmp_path):
    deep = (b'{"eventVersion":"1.08","eventSource":"route53.amazonaws.com","eventName":"ChangeResourceRecordSets",'
            b'"eventTime":"2026-11-02T10:00:00Z","eventID":"deep","requestParameters":{"x":' + b"[" * 5000 + b"]" * 5000 + b"}}")
    good = json.dumps(crrs("good", "2026-11-02T10:00:00Z")).encode()
    write(tmp_path, log_key(ACCT, "2026-11-02"), gzip.compress(b'{"Records":[' + deep + b"," + good + b"]}"))
    run(tmp_path, "2026-11-02")
    assert [e["event_id"] for e in rows(tmp_path, "events", "event_id")] == ["good"]
    (row,) = rows(tmp_path, "quarantine")
    assert (row["error_kind"], row["record_index"], row["event_id"], row["raw"]) == ("too_deep", 0, "deep", None)
    assert "max_json_depth" in row["error_message"]


# --- repro_06: one value the fast parser refuses quarantined the whole file ----------------------------------

def test_a_lone_surrogate_in_another_services_record_costs_nothing(tmp_path):
    s3 = b'{"eventVersion":"1.08","eventSource":"s3.amazonaws.com","eventName":"GetObject","eventTime":"2026-11-02T10:00:00Z","eventID":"s3-1","userAgent":"\\ud800"}'
    body = b'{"Records":[' + json.dumps(crrs("good", "2026-11-02T10:00:00Z")).encode() + b"," + s3 + b"]}"
    write(tmp_path, log_key(ACCT, "2026-11-02"), gzip.compress(body))
    (folder,) = run(tmp_path, "2026-11-02").folders
    assert (folder.records_read, folder.files_rejected, folder.records_quarantined) == (2, 0, 0)
    assert [e["event_id"] for e in rows(tmp_path, "events", "event_id")] == ["good"]


def test_a_ttl_no_double_holds_is_set_aside_and_both_records_published(tmp_path):
    bad = json.dumps(crrs("bad", "2026-11-02T11:00:00Z")).encode().replace(b'"tTL": 300', b'"tTL": 1e400')
    body = b'{"Records":[' + json.dumps(crrs("good", "2026-11-02T10:00:00Z")).encode() + b"," + bad + b"]}"
    write(tmp_path, log_key(ACCT, "2026-11-02"), gzip.compress(body))
    run(tmp_path, "2026-11-02")
    changes = rows(tmp_path, "record_changes", "event_id, ttl, parse_warnings, extra")
    assert [(c["event_id"], c["ttl"]) for c in changes] == [("bad", None), ("good", 300)]
    assert changes[0]["parse_warnings"] == ["requestParameters.changeBatch.changes[0].resourceRecordSet.tTL: expected 64-bit integer, found number 1e400"]
    assert changes[0]["extra"] == '{"tTL":1e400}'
    (bad_event,) = [e for e in rows(tmp_path, "events", "event_id, request_parameters, parse_warnings") if e["event_id"] == "bad"]
    assert b'"tTL":1e400' in bad_event["request_parameters"].encode() and bad_event["parse_warnings"] == changes[0]["parse_warnings"]


# --- repro_13: impossible times were published (+99:99 moved an event by 100 hours; years 1 and 9999) --------

def test_implausible_event_times_go_to_quarantine_never_into_a_partition(tmp_path):
    records = [crrs("offset", "2026-11-02T10:00:00+99:99"), crrs("year1", "0001-01-01T00:00:00Z"),
               crrs("year9999", "9999-12-31T23:59:59Z"), crrs("tomorrow+1", "2099-01-01T00:00:00Z")]
    write(tmp_path, log_key(ACCT, "2026-11-02"), gz(records))
    run(tmp_path, "2026-11-02")
    assert rows(tmp_path, "events") == [] and not (tmp_path / "lake" / "events").exists()
    quarantine = rows(tmp_path, "quarantine", "event_id, error_kind, error_message")
    assert {q["error_kind"] for q in quarantine} == {"implausible_time"} and len(quarantine) == 4
    assert any("+99:99" in q["error_message"] for q in quarantine)


# --- repro_05: a gzip bomb inflated whole; a million tiny records needed 2.3 GB ----------------------------------

CHILD = r"""
import json, resource, sys
from datetime import date
from flows.pipeline import run_without_prefect
from flows.settings import LakeSettings
limit = int(sys.argv[3])
if limit:
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))  # address space, as a container limit would cap memory
summary = run_without_prefect(LakeSettings(source=sys.argv[1], lake=sys.argv[2]), [date(2026, 11, 2)])
peak = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"peak": peak, "kinds": summary.folders[0].rejected_kinds, "events": summary.total("events_written")}))
"""


def run_child(root: Path, address_space: int = 0) -> dict:
    # glibc reserves 64 MB of address space per thread arena: under an address-space limit, a few threads
    # more or less would decide whether a thread can start at all ("cannot allocate memory for thread-local data")
    env = {**os.environ, "MALLOC_ARENA_MAX": "2"}
    done = subprocess.run([sys.executable, "-c", CHILD, str(root / "trail"), str(root / "lake"), str(address_space)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def bomb(inflated: int, *, honest_trailer: bool = True) -> bytes:
    """{"Records":[ <spaces> ]}: valid JSON, inflating ~1000x."""
    data = deflated_spaces(inflated)
    return data if honest_trailer else data[:-4] + b"\0\0\0\0"  # ISIZE lies: the size is found by inflating


@functools.cache
def deflated_spaces(inflated: int) -> bytes:
    """The bomb with its honest trailer, compressed once (~10 s of deflate) for both cases below."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"Records":[')]
    parts += [packer.compress(b" " * (16 << 20)) for _ in range(inflated >> 24)]
    return b"".join(parts) + packer.compress(b"]}") + packer.flush()


# pyarrow's allocator reserves ~1 GiB of address space at its first use, DuckDB and the threads more:
# 3.2 GB leaves a run its room, and not a 2 GiB bomb inflated whole
BOMB_ADDRESS_SPACE = 3_200_000_000


@pytest.fixture(scope="module")
def without_bomb(tmp_path_factory) -> dict:
    """The run of the good file alone, under the same limit: the peak a bomb's run is measured against
    (the same for both cases: the interpreter and libraries of this machine, no bomb)."""
    root = tmp_path_factory.mktemp("without_bomb")
    write(root, log_key(ACCT, "2026-11-02"), gz([crrs("good", "2026-11-02T10:00:00Z")]))
    return run_child(root, address_space=BOMB_ADDRESS_SPACE)


@pytest.mark.slow  # over ~4 s: make check leaves it to make test
@pytest.mark.parametrize("honest_trailer", [True, False], ids=["trailer-gives-the-size", "trailer-lies"])
def test_a_gzip_bomb_is_quarantined_without_inflating_it_under_a_memory_limit(tmp_path, honest_trailer, without_bomb):
    write(tmp_path, log_key(ACCT, "2026-11-02"), gz([crrs("good", "2026-11-02T10:00:00Z")]))
    bomb_bytes = bomb(2 << 30, honest_trailer=honest_trailer)
    write(tmp_path, log_key(ACCT, "2026-11-02", "1300", unique="Bomb000000000000"), bomb_bytes)
    facts = run_child(tmp_path, address_space=BOMB_ADDRESS_SPACE)
    assert facts["kinds"] == {"compression_ratio": 1} and facts["events"] == 1
    # measured against the same run without the bomb, so the interpreter and libraries of the machine do not count:
    # an honest trailer is counted in 8 MiB pieces; a lying one is inflated up to its budget, never beyond
    budget = 0 if honest_trailer else DEFAULT_LIMITS.inflate_budget(len(bomb_bytes))
    growth = facts["peak"] - without_bomb["peak"]
    assert growth < budget + (48 << 20), (growth >> 20, budget >> 20)


@pytest.mark.slow
def test_a_legitimate_file_of_a_million_tiny_records_is_read_in_a_few_hundred_mib(tmp_path):
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [packer.compress(b'{"Records":[')]
    for i in range(1_000_000):
        record = b'{"eventSource":"route53.amazonaws.com","eventName":"GetChange","eventTime":"2026-11-02T10:00:00Z","eventID":"%d"}' % i
        parts.append(packer.compress(b"," + record if i else record))
    data = b"".join(parts) + packer.compress(b"]}") + packer.flush()
    assert len(data) < 3 << 20  # 2.8 MB, 118 MB of JSON
    write(tmp_path, log_key(ACCT, "2026-11-02"), data)
    facts = run_child(tmp_path)
    assert facts["events"] == 1_000_000 and facts["kinds"] == {}
    # reading took 2.3 GB before (the whole run now ~1 GB, of which publishing, sorting and writing
    # Parquet ~400 MiB; the read itself ~600 MiB, 400 MB of it the events table)
    assert facts["peak"] < 1200 << 20, facts["peak"] >> 20


# --- the bounds, one by one (transform level) ------------------------------------------------------------------

SOURCES = frozenset({"route53.amazonaws.com"})


def flatten(text: bytes, limits: Limits = DEFAULT_LIMITS):
    return flatten_file(text, source_file="f", delivery_date=date(2026, 11, 2), limits=limits)


def body(*records: bytes) -> bytes:
    return b'{"Records":[' + b",".join(records) + b"]}"


GOOD = json.dumps(crrs("good", "2026-11-02T10:00:00Z")).encode()


def test_the_bounds_are_settings_with_descriptions_and_reach_the_transforms():
    fields = LakeSettings.model_fields
    for name in ("max_decompressed_bytes", "max_expansion_ratio", "max_records_per_file", "max_record_bytes", "max_json_depth"):
        assert len(fields[name].description) > 40 and fields[name].default == getattr(DEFAULT_LIMITS, name)
    assert LakeSettings(max_json_depth=20).limits() == Limits(max_json_depth=20)
    with pytest.raises(ValueError):
        LakeSettings(max_json_depth=5000)  # beyond what every parser's stack holds


@pytest.mark.parametrize(("limits", "kind"), [
    (Limits(max_decompressed_bytes=2 << 20), ErrorKind.FILE_TOO_LARGE),
    (Limits(max_expansion_ratio=10), ErrorKind.COMPRESSION_RATIO),
])
def test_inflating_stops_at_the_bound(limits, kind):
    data = gzip.compress(body(*[GOOD] * 10_000), compresslevel=1)  # 9 MB of JSON, ~100x
    with pytest.raises(Rejected) as refused:
        decompress(data, limits=limits)
    assert refused.value.kind is kind


def test_several_gzip_members_and_zero_padding_are_one_file_within_the_bound():
    text = body(GOOD, GOOD)
    data = gzip.compress(text[:10]) + gzip.compress(text[10:]) + b"\0" * 8
    assert decompress(data) == text
    noise = random.Random(0).randbytes(3 << 20)  # incompressible: the size bound, not the ratio, stops it
    with pytest.raises(Rejected) as refused:
        decompress(gzip.compress(noise) + gzip.compress(noise), limits=Limits(max_decompressed_bytes=5 << 20))
    assert refused.value.kind is ErrorKind.FILE_TOO_LARGE


def test_running_out_of_memory_quarantines_the_file_instead_of_crashing(monkeypatch):
    class Starved:
        def __init__(self, wbits: int) -> None:
            pass

        def decompress(self, data: bytes, max_length: int = 0) -> bytes:
            raise MemoryError

    monkeypatch.setattr(cloudtrail.isal_zlib, "decompressobj", Starved)
    with pytest.raises(Rejected) as refused:
        decompress(gzip.compress(body(GOOD)))
    assert refused.value.kind is ErrorKind.OUT_OF_MEMORY and "max_decompressed_bytes" in refused.value.message


def test_more_records_than_the_bound_is_refused_whichever_reading_counts_them():
    records = [b'{"eventSource":"s3.amazonaws.com","n":{"a":{}}}'] * 1_001
    for text in (body(*records), body(*records).replace(b"s3.amazon", b"\\ud800")):  # msgspec's count, the masked one
        with pytest.raises(Rejected) as refused:
            candidate_records(text, SOURCES, Limits(max_records_per_file=1_000))
        assert refused.value.kind is ErrorKind.TOO_MANY_RECORDS


def test_a_file_of_more_objects_than_the_first_pass_may_hold_is_scanned_and_reads_the_same(monkeypatch):
    """msgspec's first pass holds ~64 bytes a record; a file of more objects than twice the record
    bound is cut by the structural scan instead, which holds nothing per unselected record."""
    limits = Limits(max_records_per_file=1_000)
    records = [b'{"eventSource":"s3.amazonaws.com","n":{"a":{}}}'] * 900 + [GOOD]
    scans = []
    monkeypatch.setattr(envelope, "_scanned", lambda *args: scans.append(1) or real_scan(*args))
    flat = flatten(body(*records), limits)
    assert scans and (flat.records_read, flat.events["event_id"].to_pylist()) == (901, ["good"])
    with pytest.raises(Rejected) as refused:
        flatten(body(*records, *records), limits)
    assert refused.value.kind is ErrorKind.TOO_MANY_RECORDS


real_scan = envelope._scanned


@pytest.mark.parametrize("depth", [100, 5000], ids=["beyond-the-bound", "beyond-the-parsers-stacks"])
def test_a_selected_record_beyond_the_depth_bound_is_quarantined_and_another_services_skipped(depth):
    nested = b"[" * depth + b"]" * depth
    route53 = GOOD.replace(b'"eventID": "good"', b'"eventID": "deep"').replace(b'"requestParameters": {', b'"x": ' + nested + b', "requestParameters": {')
    s3 = b'{"eventSource":"s3.amazonaws.com","eventID":"s3","x":' + nested + b"}"
    flat = flatten(body(GOOD, route53, s3))
    assert flat.events["event_id"].to_pylist() == ["good"] and flat.records_read == 3
    (row,) = flat.quarantine.to_pylist()
    assert (row["record_index"], row["error_kind"], row["event_id"], row["event_source"], row["raw"]) == (
        1, "too_deep", "deep", "route53.amazonaws.com", None)


def test_a_selected_record_beyond_the_size_bound_is_quarantined_unread_and_another_services_skipped():
    big = GOOD.replace(b'"eventID": "good"', b'"eventID": "big", "userAgent": "' + b"x" * 100_000 + b'"')
    s3 = b'{"eventSource":"s3.amazonaws.com","key":"' + b"k" * 100_000 + b'"}'
    flat = flatten(body(GOOD, big, s3), Limits(max_record_bytes=64 * 1024))
    assert flat.events["event_id"].to_pylist() == ["good"]
    (row,) = flat.quarantine.to_pylist()
    assert (row["error_kind"], row["event_id"], row["raw"]) == ("record_too_large", "big", None)
    assert "max_record_bytes" in row["error_message"]


@pytest.mark.parametrize(("text", "kind"), [
    (body(GOOD, b'{"userAgent":"\\ud800"}') + b"\n" + body(GOOD), ErrorKind.NDJSON),
    (body(GOOD, b'{"userAgent":"\\ud800"}') + b" trailing", ErrorKind.TRAILING_DATA),
    (body(GOOD, b'{"userAgent":"\\ud800", "x": [1, 2}'), ErrorKind.NOT_JSON),
    (body(GOOD, b'{"userAgent":"\\ud800", "x": "unterminated}]}'), ErrorKind.NOT_JSON),
    (body(GOOD, b'{"userAgent":"\\ud800"}, \xff'), ErrorKind.NOT_UTF8),
    # (a file must name a selected source to be parsed at all: see the next test)
    (b'{"userAgent":"\\ud800", "eventSource": "route53.amazonaws.com", "Records": {}}', ErrorKind.NOT_A_LOG_FILE),
    (b'[{"userAgent":"\\ud800", "eventSource": "route53.amazonaws.com"}]', ErrorKind.NOT_A_LOG_FILE),
])
def test_the_lenient_readings_name_a_damaged_file_as_the_strict_one_does(text, kind):
    with pytest.raises(Rejected) as refused:
        flatten(text)
    assert refused.value.kind is kind, refused.value


@pytest.mark.parametrize("text", [b'{"userAgent":"\\ud800", "Records": {}}', b'{"Records": [{"eventSource": "s3"}, {"n": 1e999999}]}',
                                  b'{"Records": [{"eventSource": "s3.amazonaws.com"}, "not an object", {"eventSource": {}}]}'])
def test_a_file_that_cannot_spell_a_selected_source_is_not_parsed_so_not_judged(text):
    """The issue's decision: bytes that spell no selected eventSource hold no selected record, so
    they are not parsed, not counted and not checked as JSON beyond their first bytes; a file that
    does not decompress is still rejected (see test_prefilter), and so is one that is not a log file."""
    flat = flatten(text)
    assert (flat.parsed, flat.records_read, flat.selected, flat.quarantine.num_rows) == (False, None, 0, 0)


@pytest.mark.parametrize(("text", "kind", "words"), [
    (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code></Error>', ErrorKind.NOT_JSON, "invalid JSON"),
    (b"<html><body>503 Service Unavailable</body></html>", ErrorKind.NOT_JSON, "invalid JSON"),
    (b'{"message": "Internal error", "code": 500}', ErrorKind.NOT_A_LOG_FILE, "found an object with code, message"),
    (b'[{"eventSource": "s3.amazonaws.com"}]', ErrorKind.NOT_A_LOG_FILE, "found an array"),
    (b'[{"userAgent":"\\ud800"}]', ErrorKind.NOT_A_LOG_FILE, "found an array"),
    (b"{not json", ErrorKind.NOT_JSON, "invalid JSON"),
    (b'{"detail-type": "AWS API Call via CloudTrail", "detail": {}}', ErrorKind.EVENTBRIDGE_ENVELOPE, "EventBridge"),
    (b"", ErrorKind.NOT_JSON, "invalid JSON"),
])
def test_a_file_that_is_not_a_log_file_is_rejected_with_its_kind_as_the_reference_rejects_it(text, kind, words):
    """Issue 20, item 17: garbage in the trail prefix (an error page, JSON of another shape) is
    named, not passed over as a file without Route 53 records; the reference says the same."""
    with pytest.raises(Rejected) as fast:
        flatten(text)
    with pytest.raises(Rejected) as reference:
        cloudtrail.read_log_file_reference(gzip.compress(text))
    assert fast.value.kind is reference.value.kind is kind and words in fast.value.message


def test_a_large_log_file_without_a_selected_source_is_judged_by_its_first_bytes_only(monkeypatch):
    """The check costs a look at the opening, not a parse: a log file in CloudTrail's shape is never parsed."""
    text = body(*[json.dumps({"eventSource": "s3.amazonaws.com", "n": i}).encode() for i in range(20_000)])
    from transforms.route53 import fast

    monkeypatch.setattr(fast, "candidate_records", None)  # any parse would fail here
    monkeypatch.setattr(fast, "_flatten_file", None)
    flat = flatten(text)
    assert (flat.parsed, flat.records_read) == (False, None)


def test_deep_nesting_elsewhere_in_the_file_never_reaches_a_parser():
    text = b'{"Records":[' + GOOD + b'], "other": ' + b"[" * 5000 + b"]" * 5000 + b"}"
    with pytest.raises(Rejected) as refused:
        flatten(text)
    assert refused.value.kind is ErrorKind.TOO_DEEP
