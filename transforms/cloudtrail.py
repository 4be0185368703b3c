"""Bytes of one CloudTrail log object -> its list of records, or a specific reason it is unusable."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import orjson

from transforms.errors import ErrorKind, Rejected

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"


def decompress(data: bytes) -> bytes:
    """Gunzip every member of the stream (multi-member safe, as the gzip format allows)."""
    if not data:
        raise Rejected(ErrorKind.EMPTY_FILE, "the file has zero bytes")
    if not data.startswith(_GZIP_MAGIC):
        head = data.lstrip()[:1]
        hint = " (it looks like plain JSON)" if head in (b"{", b"[") else ""
        raise Rejected(ErrorKind.NOT_GZIP, f"expected gzip magic 1f8b, found {data[:2].hex() or 'nothing'}{hint}")
    try:
        return gzip.decompress(data)
    except EOFError as exc:
        raise Rejected(ErrorKind.TRUNCATED_GZIP, f"gzip stream of {len(data)} bytes ends early: {exc}") from None
    except (gzip.BadGzipFile, zlib.error) as exc:
        raise Rejected(ErrorKind.CORRUPT_GZIP, f"gzip stream of {len(data)} bytes is damaged: {exc}") from None


def parse_json(text: bytes) -> Any:
    """Parse one JSON document strictly (RFC 8259), naming the usual ways a log file goes wrong."""
    if text.startswith(_UTF8_BOM):
        raise Rejected(ErrorKind.UTF8_BOM, "the JSON starts with a UTF-8 byte order mark (EF BB BF)")
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise _classify_json_error(text, exc) from None


def _classify_json_error(text: bytes, exc: orjson.JSONDecodeError) -> Rejected:
    try:
        text.decode("utf-8")
    except UnicodeDecodeError as uexc:
        return Rejected(ErrorKind.NOT_UTF8, f"invalid UTF-8 at byte {uexc.start}")
    if "unexpected content after document" in str(exc):
        first_line = text.split(b"\n", 1)[0]
        try:
            first = orjson.loads(first_line)
        except orjson.JSONDecodeError:
            first = None
        if isinstance(first, dict) and len(first_line) < len(text.rstrip()):
            return Rejected(ErrorKind.NDJSON, "one JSON object per line; expected a single {\"Records\": [...]} document")
        return Rejected(ErrorKind.TRAILING_DATA, f"a JSON document followed by more bytes at char {exc.pos}")
    return Rejected(ErrorKind.NOT_JSON, f"invalid JSON: {exc}")


def records_of(document: Any) -> list[Any]:
    """The Records list of a parsed log file body."""
    if isinstance(document, dict):
        records = document.get("Records")
        if isinstance(records, list):
            return records
        if "detail-type" in document and "detail" in document:
            raise Rejected(ErrorKind.EVENTBRIDGE_ENVELOPE, "an EventBridge event with 'detail'; S3 log files hold {\"Records\": [...]}")
        if "logFiles" in document and "digestStartTime" in document:
            raise Rejected(ErrorKind.NOT_A_LOG_FILE, "a CloudTrail digest file (logFiles, digestStartTime), not a log file")
        if "Records" in document:
            found = type(records).__name__ if records is not None else "null"
            raise Rejected(ErrorKind.NOT_A_LOG_FILE, f"'Records' must be a list, found {found}")
        keys = ", ".join(sorted(map(str, document))[:5]) or "no keys"
        raise Rejected(ErrorKind.NOT_A_LOG_FILE, f"expected an object with a 'Records' list, found an object with {keys}")
    found = "an array" if isinstance(document, list) else type(document).__name__
    raise Rejected(ErrorKind.NOT_A_LOG_FILE, f"expected an object with a 'Records' list, found {found}")


def read_log_file(data: bytes) -> list[Any]:
    """gzip bytes of a CloudTrail log object -> its records (any JSON values; records are checked later)."""
    return records_of(parse_json(decompress(data)))
