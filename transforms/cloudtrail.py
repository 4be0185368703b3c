"""Bytes of one CloudTrail log object -> its list of records, or a specific reason it is unusable."""

from __future__ import annotations

import gzip
import json
import zlib
from typing import Any

import msgspec
import orjson
from isal import igzip, isal_zlib

from transforms.errors import ErrorKind, Rejected

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"


def decompress(data: bytes, *, reference: bool = False) -> bytes:
    """Gunzip every member of the stream (multi-member safe, as the gzip format allows).
    ISA-L's inflate is about twice zlib's speed; reference=True uses the standard library's."""
    if not data:
        raise Rejected(ErrorKind.EMPTY_FILE, "the file has zero bytes")
    if not data.startswith(_GZIP_MAGIC):
        head = data.lstrip()[:1]
        hint = " (it looks like plain JSON)" if head in (b"{", b"[") else ""
        raise Rejected(ErrorKind.NOT_GZIP, f"expected gzip magic 1f8b, found {data[:2].hex() or 'nothing'}{hint}")
    if not reference:
        try:
            # One member, the CloudTrail norm: inflate into one buffer grown in place, so a file's
            # text is never held twice (igzip.decompress joins chunks) and it is ~15% faster.
            inflater = isal_zlib.decompressobj(wbits=31)
            text = inflater.decompress(data)
            if inflater.eof and not inflater.unused_data:
                return text
            return igzip.decompress(data)  # several members (or damage, which raises)
        except (EOFError, igzip.BadGzipFile, zlib.error, isal_zlib.error):
            pass  # the standard library names the damage (ISA-L calls trailing garbage truncation)
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


def read_log_file_reference(data: bytes) -> list[Any]:
    """The straightforward reading, standard library only (gzip, json), that the fast path is
    tested against. Not used by the pipeline."""
    text = decompress(data, reference=True)
    if text.startswith(b"\xef\xbb\xbf"):
        raise Rejected(ErrorKind.UTF8_BOM, "the JSON starts with a UTF-8 byte order mark (EF BB BF)")
    try:
        return records_of(json.loads(text, parse_constant=_not_json))
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON: {exc}") from None


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # the standard library accepts NaN and Infinity; RFC 8259 does not


class _Envelope(msgspec.Struct):
    Records: list[msgspec.Raw] | None = None


_ENVELOPE = msgspec.json.Decoder(_Envelope)


class _Source(msgspec.Struct, gc=False):
    eventSource: str | None = None  # every other field is skipped unread


class _Sources(msgspec.Struct):
    Records: list[_Source] | None = None


_SOURCES = msgspec.json.Decoder(_Sources)
_SOURCE = msgspec.json.Decoder(_Source)


def candidate_records(text: bytes, event_sources: frozenset[str]) -> tuple[int, list[tuple[int, bytes]]]:
    """The fast reading of a decompressed log file: (number of records, [(position, JSON text)] of
    only the records that can be of a selected source, or whose source cannot be told).

    One msgspec pass reads every record's eventSource and skips everything else, in C: it counts
    the records and checks the JSON. Only a file with a selected record is split again into raw
    record slices, of which the selected ones are kept. A record whose eventSource is absent or
    not a string is kept too: flatten_event decides about it (another spelling of the key, an
    Insights record, a value of the wrong type). Whenever this reading meets something it does not
    accept, the reference parser decides, so errors are named exactly as parse_json names them.
    """
    if not text.isascii():
        try:
            text.decode("utf-8")  # raw slices are not UTF-8-checked: check the file once
        except UnicodeDecodeError:
            parse_json(text)  # raises NOT_UTF8 (or a more specific kind)
    try:
        records = _SOURCES.decode(text).Records
    except (msgspec.DecodeError, msgspec.ValidationError):
        records = None  # not JSON, or some record is not an object or has a source of another type
    if records is not None:
        spellings = {record.eventSource for record in records}
        wanted = {s for s in spellings if s is None or s.lower() in event_sources}
        if not wanted:
            return len(records), []
        raws = _ENVELOPE.decode(text).Records
        return len(records), [(index, bytes(raws[index])) for index, record in enumerate(records) if record.eventSource in wanted]
    try:
        raws = _ENVELOPE.decode(text).Records
    except (msgspec.DecodeError, msgspec.ValidationError):
        raws = None
    if raws is None:  # names the problem, or reads an unusual but valid file
        return _as_slices(records_of(parse_json(text)))
    return len(raws), [(index, chunk) for index, chunk in enumerate(map(bytes, raws)) if _may_be_selected(chunk, event_sources)]


def _may_be_selected(chunk: bytes, event_sources: frozenset[str]) -> bool:
    try:
        source = _SOURCE.decode(chunk).eventSource
    except (msgspec.DecodeError, msgspec.ValidationError):
        return True  # not an object (quarantined), or a source that is not a string
    return source is None or source.lower() in event_sources


def _as_slices(records: list[Any]) -> tuple[int, list[tuple[int, bytes]]]:
    return len(records), [(index, orjson.dumps(record)) for index, record in enumerate(records)]
