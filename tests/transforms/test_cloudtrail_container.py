"""Whole-file failures: each corrupt container gets its own error kind and a specific message."""

from __future__ import annotations

import gzip
import json

import pytest

from transforms.cloudtrail.container import read_log_file
from transforms.errors import ErrorKind, Rejected

GOOD = {"Records": [{"eventSource": "route53.amazonaws.com", "eventName": "ListHostedZones"}]}


def body(obj) -> bytes:
    return json.dumps(obj).encode()


def rejected(data: bytes) -> Rejected:
    with pytest.raises(Rejected) as info:
        read_log_file(data)
    return info.value


def test_good_file_gives_its_records():
    assert read_log_file(gzip.compress(body(GOOD))) == GOOD["Records"]


def test_multi_member_gzip_is_one_document():
    text = body(GOOD)
    data = gzip.compress(text[:10]) + gzip.compress(text[10:])
    assert read_log_file(data) == GOOD["Records"]


def test_empty_records_list_is_a_valid_file_with_no_records():
    assert read_log_file(gzip.compress(b'{"Records": []}')) == []


@pytest.mark.parametrize(
    ("data", "kind", "words"),
    [
        pytest.param(b"", ErrorKind.EMPTY_FILE, "zero bytes", id="zero-bytes"),
        pytest.param(body(GOOD), ErrorKind.NOT_GZIP, "plain JSON", id="plain-json-named-gz"),
        pytest.param(b"PK\x03\x04zipfile", ErrorKind.NOT_GZIP, "504b", id="zip-not-gzip"),
        pytest.param(gzip.compress(body(GOOD))[:25], ErrorKind.TRUNCATED_GZIP, "ends early", id="truncated"),
        pytest.param(gzip.compress(body(GOOD)) + b"garbage!", ErrorKind.CORRUPT_GZIP, "damaged", id="garbage-after-gzip"),
        pytest.param(gzip.compress(b"\xef\xbb\xbf" + body(GOOD)), ErrorKind.UTF8_BOM, "byte order mark", id="bom"),
        pytest.param(gzip.compress(b'{"Records": ["\xff\xfe"]}'), ErrorKind.NOT_UTF8, "UTF-8", id="latin1"),
        pytest.param(gzip.compress(b'{"eventName": "A"}\n{"eventName": "B"}\n'), ErrorKind.NDJSON, "one JSON object per line", id="ndjson"),
        pytest.param(gzip.compress(body(GOOD) + b" trailing"), ErrorKind.TRAILING_DATA, "followed by more", id="trailing-data"),
        pytest.param(gzip.compress(b'{"Records": [ {"a": 1}, '), ErrorKind.NOT_JSON, "invalid JSON", id="cut-json"),
        pytest.param(gzip.compress(b"hello"), ErrorKind.NOT_JSON, "invalid JSON", id="text"),
        pytest.param(gzip.compress(body({"version": "0", "detail-type": "AWS API Call via CloudTrail", "detail": GOOD["Records"][0]})),
                     ErrorKind.EVENTBRIDGE_ENVELOPE, "EventBridge", id="eventbridge"),
        pytest.param(gzip.compress(body({"digestStartTime": "x", "logFiles": []})), ErrorKind.NOT_A_LOG_FILE, "digest", id="digest"),
        pytest.param(gzip.compress(b"{}"), ErrorKind.NOT_A_LOG_FILE, "no keys", id="empty-object"),
        pytest.param(gzip.compress(b"[]"), ErrorKind.NOT_A_LOG_FILE, "an array", id="array"),
        pytest.param(gzip.compress(b'{"Records": {"a": 1}}'), ErrorKind.NOT_A_LOG_FILE, "must be a list, found dict", id="records-object"),
        pytest.param(gzip.compress(b'{"Records": null}'), ErrorKind.NOT_A_LOG_FILE, "found null", id="records-null"),
        pytest.param(gzip.compress(b"42"), ErrorKind.NOT_A_LOG_FILE, "found int", id="number"),
    ],
)
def test_unusable_file_is_rejected_with_a_specific_kind(data, kind, words):
    error = rejected(data)
    assert error.kind is kind
    assert words in error.message


def test_corrupt_crc_is_corrupt_not_truncated():
    data = bytearray(gzip.compress(body(GOOD)))
    data[-8] ^= 0xFF  # the CRC32 in the trailer
    assert rejected(bytes(data)).kind is ErrorKind.CORRUPT_GZIP
