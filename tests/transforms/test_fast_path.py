"""The fast reading (ISA-L, raw record slices, a byte prefilter) gives exactly the tables of the
straightforward reading (standard library gzip and json, every record parsed), on every corpus
file, every sample file and generated files."""

from __future__ import annotations

import gzip
import json
from datetime import date

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS, DATA, corpus_records
from tests.lake.test_reconciliation_property import records
from transforms.cloudtrail import envelope
from transforms.cloudtrail.container import decompress, read_log_file_reference
from transforms.cloudtrail.envelope import candidate_records
from transforms.cloudtrail.file_names import LOG_FILE_NAME
from transforms.errors import ErrorKind, Rejected
from transforms.route53.canonical import derive
from transforms.route53.fast import flatten_file
from transforms.route53.reference import flatten_records
from transforms.route53.strict import decode_one

SOURCES = frozenset({"route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com"})
DAY = date(2026, 11, 1)


def both_ways(data: bytes, sources=SOURCES):
    reference = flatten_records(read_log_file_reference(data), source_file="f", delivery_date=DAY, event_sources=sources)
    fast = flatten_file(decompress(data), source_file="f", delivery_date=DAY, event_sources=sources)
    return reference, fast


# What the reference quarantines in a file that holds no selected record: records whose source it
# cannot tell (not an object, an eventSource that is not text, too deep to read). The fast path
# does not parse such a file (transforms.cloudtrail.prefilter): its bytes spell no selected source.
CANNOT_TELL = {ErrorKind.RECORD_NOT_OBJECT, ErrorKind.BAD_FIELD_TYPE, ErrorKind.TOO_DEEP, ErrorKind.RECORD_TOO_LARGE}


def assert_same(reference, fast):
    if not fast.parsed:
        assert_nothing_selected(reference, fast)
        return
    assert fast.records_read == reference.records_read and fast.selected == reference.selected
    for name in ("events", "record_changes", "quarantine"):
        assert getattr(fast, name).equals(getattr(reference, name)), name


def assert_nothing_selected(reference, fast):
    """A file not parsed: nothing read from it, and the reference publishes no event from it either."""
    assert (fast.records_read, fast.selected, fast.events.num_rows, fast.record_changes.num_rows, fast.quarantine.num_rows) == (None, 0, 0, 0, 0)
    assert reference.events.num_rows == 0 and reference.record_changes.num_rows == 0
    for row in reference.quarantine.to_pylist():
        assert ErrorKind(row["error_kind"]) in CANNOT_TELL, row


@pytest.mark.parametrize("name", sorted(p.name for p in CORPUS.glob("*.json")))
@pytest.mark.parametrize("sources", [SOURCES, frozenset({"route53.amazonaws.com"})], ids=["all-route53", "route53"])
def test_corpus_file_reads_the_same_both_ways(name, sources):
    data = gzip.compress(json.dumps({"Records": corpus_records(name)}).encode())
    assert_same(*both_ways(data, sources))


@pytest.mark.parametrize("path", sorted((DATA / "cloudtrail").rglob("*_CloudTrail_*.json.gz")), ids=lambda p: p.name[-24:])
def test_sample_file_reads_the_same_both_ways(path):
    try:
        reference, fast = both_ways(path.read_bytes())
    except Rejected:
        with pytest.raises(Rejected):
            flatten_file(decompress(path.read_bytes()), source_file="f", delivery_date=DAY, event_sources=SOURCES)
        return
    assert_same(reference, fast)


def test_a_file_without_route53_is_counted_but_not_parsed():
    data = gzip.compress(json.dumps({"Records": [{"eventSource": "s3.amazonaws.com", "n": i} for i in range(50)]}).encode())
    count, candidates = candidate_records(decompress(data), SOURCES)
    assert (count, candidates) == (50, [])


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records(), st.booleans())
def test_generated_files_read_the_same_both_ways(batch, pretty):
    # The one known difference: integers beyond 64 bits, which orjson reads as floats. CloudTrail
    # has none (its numbers are ports, TTLs, counts).
    assume(not _has_huge_int(batch))
    data = gzip.compress(json.dumps({"Records": batch}, indent=2 if pretty else None, ensure_ascii=False).encode())
    try:
        read_log_file_reference(data)
    except Rejected as rejected:  # e.g. Infinity, which Python writes and JSON forbids
        try:
            fast = flatten_file(decompress(data), source_file="f", delivery_date=DAY, event_sources=SOURCES)
        except Rejected as refused:
            assert refused.kind == rejected.kind
        else:
            assert not fast.parsed  # damage in a file that holds no selected record is not looked for
        return
    assert_same(*both_ways(data))


def _has_huge_int(value) -> bool:
    if isinstance(value, dict):
        return any(_has_huge_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_huge_int(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63


@pytest.mark.parametrize("with_junk", [False, True], ids=["objects", "with-a-non-object"])
def test_only_records_carrying_the_event_source_are_parsed(with_junk):
    """Other services' calls made by DNS tools name route53 in their user agent; they must not be
    parsed (that was most of the cost), and the Route 53 records among them must all be found,
    however their eventSource is spelt. Records whose source cannot be told are kept for
    flatten_event to decide. A non-object record makes the first pass fail; the slower second
    one keeps exactly the same records, plus the junk (which is quarantined)."""
    agent = "ExternalDNS/v0.15.0 aws-sdk-go-v2/1.30.5 api/route53#1.44.0"
    batch = [{"eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithWebIdentity", "userAgent": agent, "n": i} for i in range(20)]
    batch[3] = {"EventSource": "route53.amazonaws.com", "eventName": "GetChange"}  # a fixture's spelling of the key
    batch[5] = {"eventSource": "ROUTE53.AMAZONAWS.COM", "eventName": "GetChange"}
    batch[7] = {"eventSource": "route53.amazonaws.com", "eventName": "ListHostedZones", "userAgent": agent}
    batch[9] = {"eventSource": "ESCAPED", "eventName": "GetChange"}
    batch[13] = {"eventSource": "Route53.amazonaws.com", "eventName": "GetChange", "userAgent": agent}
    if with_junk:
        batch[15] = "not an object"
    text = json.dumps({"Records": batch}).encode().replace(b"ESCAPED", b"route53.amazonaws.co\\u006d")
    count, candidates = candidate_records(text, frozenset({"route53.amazonaws.com"}))
    assert count == 20 and [i for i, _ in candidates] == [3, 5, 7, 9, 13] + ([15] if with_junk else [])
    assert_same(flatten_records(json.loads(text)["Records"], source_file="f", delivery_date=DAY),
                flatten_file(text, source_file="f", delivery_date=DAY))


REFUSED_VALUES = {
    "number-beyond-a-double": b"1e400",
    "negative-beyond-a-double": b"-1e400",
    "5000-digit-integer": b"1" * 5000,
    "lone-high-surrogate": b'"\\ud800"',
    "lone-low-surrogate": b'"x\\udc00"',
    "bytes-not-utf8": b'"\xff\xfe"',
}


@pytest.mark.parametrize("value", REFUSED_VALUES.values(), ids=REFUSED_VALUES.keys())
@pytest.mark.parametrize("spelling", [b'"id"', b'"ID"'], ids=["cloudtrail-spelling", "other-spelling"])
def test_a_value_orjson_refuses_costs_only_its_field_the_same_both_ways(value, spelling):
    """RFC 8259 allows what orjson and msgspec refuse: a number no double holds, a lone surrogate
    escape (and this reading takes bytes that are not UTF-8 inside a string the same way). Both
    readings read such a record leniently: it is published with that field set aside and named,
    the record beside it is untouched, and nothing is quarantined."""
    record = {"eventSource": "route53.amazonaws.com", "eventName": "GetChange", "eventID": "e1",
              "eventTime": "2026-11-01T10:00:00Z", "requestParameters": {"id": "C1"}}
    text = json.dumps({"Records": [record, {**record, "eventID": "e2"}]}).encode().replace(b'"id": "C1"', spelling + b": " + value, 1)
    reference, fast = both_ways(gzip.compress(text))
    assert_same(reference, fast)
    first, second = fast.events.to_pylist()
    assert fast.quarantine.num_rows == 0 and first["change_id"] is None and second["change_id"] == "C1"
    (warning,) = first["parse_warnings"]
    assert warning.startswith(f"requestParameters.{spelling.decode().strip(chr(34))}: "), warning
    assert second["parse_warnings"] is None


def test_a_lone_surrogate_in_another_services_record_costs_nothing(monkeypatch):
    """msgspec refuses a lone surrogate escape anywhere in a file, even in a record it skips; the
    masked second reading cuts the records from the original text, so the S3 record is counted and
    skipped and the Route 53 records beside it are read as usual (repro_06)."""
    good = {"eventSource": "route53.amazonaws.com", "eventName": "GetChange", "eventID": "e1", "eventTime": "2026-11-01T10:00:00Z"}
    s3 = b'{"eventSource":"s3.amazonaws.com","eventName":"GetObject","userAgent":"\\ud800"}'
    text = b'{"Records":[' + json.dumps(good).encode() + b"," + s3 + b"," + json.dumps({**good, "eventID": "e2"}).encode() + b"]}"
    monkeypatch.setattr(envelope, "_scanned", None)  # not the slow structural scan: the masked msgspec reading
    count, candidates = candidate_records(text, frozenset({"route53.amazonaws.com"}))
    assert (count, [i for i, _ in candidates]) == (3, [0, 2])
    reference, fast = both_ways(gzip.compress(text))
    assert_same(reference, fast)
    assert fast.events["event_id"].to_pylist() == ["e1", "e2"]


def test_generated_benchmark_day_reads_the_same_both_ways(tmp_path):
    """The benchmark generator's variety (aliases, weighted, failover, geolocation, many APIs and
    identities) through both readings, file by file; every Route 53 record of it takes the
    canonical path, so the benchmark measures that path."""
    from benchmarks.generate import generate

    generate(tmp_path, "dense", 3, seed=7, quiet=True)
    files = sorted(p for p in tmp_path.rglob("*.json.gz") if LOG_FILE_NAME.fullmatch(p.name))  # the day's digests aside
    assert len(files) >= 2
    records = []
    for path in files:
        assert_same(*both_ways(path.read_bytes()))
        records += read_log_file_reference(path.read_bytes())
    route53 = [r for r in records if r.get("eventSource") == "route53.amazonaws.com"]
    assert len(route53) > 100 and _canonical_count(route53) == len(route53)


def test_records_in_cloudtrail_spelling_take_the_canonical_path():
    """The equality tests above mean something only if the canonical path is really taken: every
    Route 53 record of the sample is in CloudTrail's own spelling."""
    records = []
    for path in sorted((DATA / "cloudtrail").rglob("*_CloudTrail_*.json.gz")):
        try:
            records += read_log_file_reference(path.read_bytes())
        except Rejected:
            continue
    route53 = [r for r in records if isinstance(r, dict) and r.get("eventSource") == "route53.amazonaws.com" and r.get("eventID")]
    assert len(route53) > 100 and _canonical_count(route53) == len(route53)


def test_other_spellings_leave_the_canonical_path():
    """Fixture spellings (TTL, ChangeBatch), values of other types and unknown keys are read by
    flatten_event, not guessed at."""
    base = {"eventSource": "route53.amazonaws.com", "eventName": "ChangeResourceRecordSets", "eventID": "e",
            "eventTime": "2026-11-01T10:00:00Z", "requestParameters": {"hostedZoneId": "Z1", "changeBatch": {"changes": [
                {"action": "CREATE", "resourceRecordSet": {"name": "a.", "type": "A", "tTL": 60}}]}}}
    assert _canonical_count([base]) == 1
    drifted = [
        json.loads(json.dumps(base).replace('"tTL"', '"TTL"')),
        json.loads(json.dumps(base).replace('"changeBatch"', '"ChangeBatch"')),
        json.loads(json.dumps(base).replace("60", '"60"')),
        {**base, "readOnly": "false"},
        {**base, "somethingNew": 1},
        {**base, "eventID": ""},
    ]
    assert _canonical_count(drifted) == 0


def _canonical_count(records) -> int:
    decoded = [decode_one(json.dumps(r).encode()) for r in records]
    return sum(r is not None and derive(r) is not None for r in decoded)
