"""Property: real CloudTrail files, damaged every way we know, are read without an exception; the
counts reconcile; every record that is still plainly valid is published; every quarantine row
names a specific kind; and where the reference reading can read the file too, both agree row for row.

Seeds: every file of the real corpus (tests/corpus/real) and every log file of the sample bucket
(data/cloudtrail). Damage: a value injected into one record at a field that matters (lone
surrogates, bytes that are not UTF-8, numbers no double holds, deep nesting, times in odd or
impossible spellings, values of the wrong type), a flipped byte, a truncation, of the JSON or of
the gzip bytes."""

from __future__ import annotations

import copy
import gzip
import json
import zlib
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import CORPUS, DATA, corpus_records
from tests.transforms.test_fast_path import assert_same
from transforms.cloudtrail.container import decompress, read_log_file_reference
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS
from transforms.route53.fast import flatten_file
from transforms.route53.reference import flatten_records
from transforms.route53.rows import Flattened
from transforms.times import TimeWindow
from transforms.values import loads_lenient

SOURCES = frozenset({"route53.amazonaws.com", "route53domains.amazonaws.com", "route53resolver.amazonaws.com"})
WINDOW = TimeWindow.until(datetime(2026, 12, 1, tzinfo=UTC))
DAY = date(2026, 11, 2)
FILE_KINDS = {ErrorKind.EMPTY_FILE, ErrorKind.NOT_GZIP, ErrorKind.TRUNCATED_GZIP, ErrorKind.CORRUPT_GZIP, ErrorKind.UTF8_BOM,
              ErrorKind.NOT_UTF8, ErrorKind.NDJSON, ErrorKind.TRAILING_DATA, ErrorKind.NOT_JSON, ErrorKind.EVENTBRIDGE_ENVELOPE,
              ErrorKind.NOT_A_LOG_FILE, ErrorKind.FILE_TOO_LARGE, ErrorKind.COMPRESSION_RATIO, ErrorKind.TOO_MANY_RECORDS,
              ErrorKind.TOO_DEEP}
RECORD_KINDS = {ErrorKind.RECORD_NOT_OBJECT, ErrorKind.MISSING_FIELD, ErrorKind.BAD_FIELD_TYPE, ErrorKind.BAD_TIMESTAMP,
                ErrorKind.BAD_CHANGE_BATCH, ErrorKind.IMPLAUSIBLE_TIME, ErrorKind.INVALID_UNICODE, ErrorKind.RECORD_TOO_LARGE,
                ErrorKind.TOO_DEEP}


def _seeds() -> dict[str, bytes]:
    """name -> decompressed JSON text of the file."""
    seeds = {}
    for path in sorted(CORPUS.glob("*.json")):
        document = json.loads(path.read_text())
        body = document if isinstance(document, dict) and "Records" not in document and "logFiles" in document else {"Records": corpus_records(path.name)}
        seeds[f"corpus/{path.name}"] = json.dumps(body).encode()
    for path in sorted((DATA / "cloudtrail").rglob("*_CloudTrail_*.json.gz")):
        try:
            seeds[f"sample/{path.name}"] = gzip.decompress(path.read_bytes())
        except EOFError:
            continue  # the sample's truncated file: damaged already (gzip mutations below reach that case)
    return seeds


SEEDS = _seeds()
ORIGINALS: dict[str, tuple[list, set[int]]] = {}  # name -> (records, indices published as events)


def original(name: str) -> tuple[list, set[int]]:
    if name not in ORIGINALS:
        text = SEEDS[name]
        document = json.loads(text)
        records = document.get("Records") if isinstance(document, dict) else None
        flat = read(gzip.compress(text, mtime=0)) if isinstance(records, list) else None
        ORIGINALS[name] = (records or [], set(flat.events["record_index"].to_pylist()) if isinstance(flat, Flattened) else set())
    return ORIGINALS[name]


def read(data: bytes) -> Flattened | Rejected:
    """What read_and_flatten does with the bytes of one object (the pipeline's bounds and window)."""
    try:
        return flatten_file(decompress(data, limits=DEFAULT_LIMITS), source_file="s3://t/f.json.gz", delivery_date=DAY,
                            event_sources=SOURCES, window=WINDOW, limits=DEFAULT_LIMITS)
    except Rejected as rejected:
        return rejected


# Where one record is damaged, and with what (raw JSON text, so it can be what json.dumps never writes).
FIELDS = ["eventTime", "eventName", "eventSource", "eventID", "userAgent", "readOnly", "recipientAccountId", "userIdentity",
          "userIdentity.sessionContext.attributes.creationDate", "responseElements.changeInfo.submittedAt",
          "requestParameters.changeBatch.changes.0.resourceRecordSet.tTL", "requestParameters.changeBatch.changes.0.action",
          "requestParameters.changeBatch", "tlsDetails", "addendum", "requestParameters", "additionalEventData", "aNewField"]
HARD = {"eventTime", "eventName", "eventSource", "requestParameters.changeBatch"}  # they identify or place a record
VALUES = [
    b'"\\ud800"', b'"aws-cli \\udfff"', b'"\\udc00\\ud800"',  # lone surrogate escapes
    b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"caf\xc3"',  # bytes that are not UTF-8 (an encoded surrogate, a cut sequence)
    b"1e400", b"-1e400", b"1e-400", b"1" * 5000, b"18446744073709551616",  # numbers no column holds
    b"[" * 70 + b"]" * 70, b'{"a":' * 300 + b"1" + b"}" * 300, b"[" * 3000 + b"]" * 3000,  # beyond max_json_depth, beyond the stacks
    b'"May 1, 2024, 12:06:12 AM"', b'"May 1, 2024 12:06:12\xe2\x80\xafPM"', b'"May 1, 2024, 12:06:12\xc2\xa0AM"',
    b"1714521972", b"1714521972123", b'"1714521972"', b'"2024-05-01T00:06:12.123456789+05:30"', b'"20240501T000612Z"',
    b'"2026-11-02T10:00:00+99:99"', b'"0001-01-01T00:00:00+01:00"', b'"9999-12-31T23:59:59-01:00"', b'"2099-01-01T00:00:00Z"',
    b'"2026-13-01T00:00:00Z"', b'"soon"', b'""',
    b"{}", b"[]", b"true", b"null", b"42", b'"x"', b'[{"value": 1}]',
]
_MARK = "__injected_value__"


def inject(text: bytes, index: int, field: str, value: bytes) -> bytes:
    """The file with record `index`'s field (a dotted path; missing objects on the way are made,
    a missing list element is not: the value then goes to the top level under the last key)."""
    document = json.loads(text)
    record = copy.deepcopy(document["Records"][index])
    *path, last = field.split(".")
    target = record
    for key, following in zip(path, [*path[1:], last], strict=False):
        if isinstance(target, list):
            child = target[int(key)] if key.isdigit() and int(key) < len(target) else None
        else:
            child = target.get(key)
            if child is None and not following.isdigit():
                child = target[key] = {}
        if not isinstance(child, (dict, list)):
            target = None
            break
        target = child
    (target if isinstance(target, dict) else record)[last] = _MARK
    document["Records"][index] = record
    return json.dumps(document).encode().replace(json.dumps(_MARK).encode(), value, 1)


# orjson reads integers beyond 64 bits as doubles, the reference's json exactly: the one known
# difference between the readings (CloudTrail writes none; see test_fast_path).
_READ_DIFFERENTLY = {b"18446744073709551616"}


def check_invariants(flat: Flattened) -> None:
    events, quarantine = flat.events["record_index"].to_pylist(), flat.quarantine["record_index"].to_pylist()
    assert flat.selected == len(events) + len(quarantine)
    assert len(set(events + quarantine)) == len(events) + len(quarantine)  # no record in two places
    assert None not in quarantine and all(0 <= i < flat.records_read for i in events + quarantine)
    assert flat.record_changes.num_rows == sum(n or 0 for n in flat.events["change_count"].to_pylist())
    assert set(flat.record_changes["record_index"].to_pylist()) <= set(events)
    for row in flat.quarantine.to_pylist():
        assert ErrorKind(row["error_kind"]) in RECORD_KINDS and len(row["error_message"]) > 10, row


def agree_with_reference(data: bytes, flat: Flattened) -> None:
    """Where the reference (standard library, recursive) reads the file, its tables are the same."""
    try:
        records = read_log_file_reference(data)
    except Rejected:
        assert not flat.parsed  # damage in a file that holds no selected record is not looked for
        return
    reference = flatten_records(records, source_file="s3://t/f.json.gz", delivery_date=DAY,
                                event_sources=SOURCES, window=WINDOW, limits=DEFAULT_LIMITS)
    assert_same(reference, flat)


record_files = st.sampled_from(sorted(name for name in SEEDS if original(name)[0]))


@pytest.mark.slow  # a few seconds: make check leaves it to make test
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(record_files, st.data(), st.sampled_from(FIELDS), st.sampled_from(VALUES))
def test_a_value_injected_into_one_record_costs_at_most_that_record(name, data, field, value):
    records, published = original(name)
    index = data.draw(st.integers(0, len(records) - 1), label="record")
    if not isinstance(records[index], dict):
        return
    text = inject(SEEDS[name], index, field, value)
    flat = read(gzip.compress(text, mtime=0))
    assert isinstance(flat, Flattened), f"the file was rejected: {flat}"
    check_invariants(flat)
    assert flat.records_read == (len(records) if flat.parsed else None)
    events = set(flat.events["record_index"].to_pylist())
    assert published - {index} <= events  # every other record that was published still is
    if index in published and field not in HARD and not value.startswith((b"[[[", b'{"a":')):
        assert index in events, flat.quarantine.to_pylist()  # a field that neither identifies nor places it
    if index in published and index not in events and field != "eventSource":  # another source is skipped
        (row,) = [r for r in flat.quarantine.to_pylist() if r["record_index"] == index]
        assert ErrorKind(row["error_kind"]) in RECORD_KINDS
    if b"[" * 3000 not in value and value not in _READ_DIFFERENTLY:  # the reference's json recursion cannot read 3,000 levels
        agree_with_reference(gzip.compress(text, mtime=0), flat)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.sampled_from(sorted(SEEDS)), st.data(), st.sampled_from(["flip", "truncate", "flip-gzip", "truncate-gzip"]))
def test_a_damaged_file_is_read_or_rejected_by_kind_and_its_intact_records_are_published(name, data, how):
    text = SEEDS[name]
    compressed = gzip.compress(text, mtime=0)
    target = compressed if how.endswith("gzip") else text
    position = data.draw(st.integers(0, len(target) - 1), label="position")
    if how.startswith("flip"):
        damaged = bytearray(target)
        damaged[position] ^= data.draw(st.integers(1, 255), label="xor")
        damaged = bytes(damaged)
    else:
        damaged = target[:position]
    raw = damaged if how.endswith("gzip") else gzip.compress(damaged, mtime=0)
    flat = read(raw)
    if isinstance(flat, Rejected):
        assert flat.kind in FILE_KINDS, flat
    # The oracle: the damaged file as the standard library and RFC 8259 (leniently) read it. If it
    # still is a log file, it must be read, and every record equal to the original that was
    # published is published.
    try:
        document = loads_lenient(gzip.decompress(raw))
    except (ValueError, EOFError, gzip.BadGzipFile, zlib.error):
        return
    records, published = original(name)
    if not (isinstance(document, dict) and isinstance(document.get("Records"), list) and len(document["Records"]) == len(records)):
        return
    assert isinstance(flat, Flattened), f"a damaged file that is still a log file was rejected: {flat}"
    check_invariants(flat)
    intact = {i for i in published if document["Records"][i] == records[i]}
    assert intact <= set(flat.events["record_index"].to_pylist())
    agree_with_reference(raw, flat)


@pytest.mark.parametrize("name", sorted(SEEDS))
def test_every_seed_is_read_the_same_as_the_reference_reads_it(name):
    data = gzip.compress(SEEDS[name], mtime=0)
    flat = read(data)
    if isinstance(flat, Rejected):
        with pytest.raises(Rejected):
            read_log_file_reference(data)
        return
    check_invariants(flat)
    agree_with_reference(data, flat)


def test_the_seeds_cover_the_corpus_and_the_sample():
    assert sum(n.startswith("corpus/") for n in SEEDS) == len(list(CORPUS.glob("*.json")))
    assert sum(n.startswith("sample/") for n in SEEDS) == len(list(Path(DATA / "cloudtrail").rglob("*_CloudTrail_*.json.gz"))) - 1
    assert sum(len(original(n)[1]) for n in SEEDS) > 100  # published records to protect
