"""Bytes of one CloudTrail log object -> its list of records, or a specific reason it is unusable."""

from __future__ import annotations

import gzip
import zlib
from typing import Any

import orjson
from isal import isal_zlib

from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits, out_of_memory
from transforms.values import loads_lenient

_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"


def decompress(data: bytes, *, limits: Limits = DEFAULT_LIMITS, reference: bool = False) -> bytes:
    """Gunzip every member of the stream (multi-member safe, as the gzip format allows), inflating
    at most limits.inflate_budget(len(data)) bytes: beyond, inflating stops and the file is
    rejected (FILE_TOO_LARGE, or COMPRESSION_RATIO for a gzip bomb), so memory is bounded by the
    limits, not by what a file would inflate to. ISA-L inflates about twice as fast as zlib, into
    one buffer grown in place. reference=True uses the standard library's gzip, unbounded (tests)."""
    if not data:
        raise Rejected(ErrorKind.EMPTY_FILE, "the file has zero bytes")
    if not data.startswith(_GZIP_MAGIC):
        head = data.lstrip()[:1]
        hint = " (it looks like plain JSON)" if head in (b"{", b"[") else ""
        raise Rejected(ErrorKind.NOT_GZIP, f"expected gzip magic 1f8b, found {data[:2].hex() or 'nothing'}{hint}")
    if reference:
        return _gunzip_reference(data)
    budget = limits.inflate_budget(len(data))
    if int.from_bytes(data[-4:], "little") > budget:
        # The gzip trailer (ISIZE, the last member's size mod 2**32) says the file is larger than
        # allowed: count what it inflates to in small pieces first, holding almost nothing, so a
        # gzip bomb is refused without memory for its budget. (A damaged trailer can say anything:
        # then the file is inflated as any other, which names the damage.)
        _inflate(data, budget, limits, keep=False)
    return _inflate(data, budget, limits, keep=True)


_PIECE = 8 * 2**20  # bytes inflated at a time when only counting


def _inflate(data: bytes, budget: int, limits: Limits, *, keep: bool) -> bytes:
    members, size, rest = [], 0, data
    while True:
        inflater = isal_zlib.decompressobj(wbits=31)
        try:
            if keep:
                text = inflater.decompress(rest, budget - size + 1)
                size += len(text)
                members.append(text)
            else:
                while rest and size <= budget:
                    size += len(inflater.decompress(rest, _PIECE))
                    rest = inflater.unconsumed_tail
        except (isal_zlib.error, zlib.error) as exc:
            raise Rejected(ErrorKind.CORRUPT_GZIP, f"gzip stream of {len(data)} bytes is damaged: {exc}") from None
        except MemoryError:  # the output buffer could not grow: nothing else is held, the file is refused
            raise out_of_memory(f"inflating {len(data):,} compressed bytes (the bounds allow {budget:,})") from None
        if size > budget:
            raise _too_large(len(data), budget, limits)
        if not inflater.eof:
            raise Rejected(ErrorKind.TRUNCATED_GZIP, f"gzip stream of {len(data)} bytes ends early: "
                           "compressed data ended before the end-of-stream marker was reached")
        rest = inflater.unused_data.lstrip(b"\x00")  # gzip allows zero padding after a member
        if not rest:
            return members[0] if len(members) == 1 else b"".join(members)
        if not rest.startswith(_GZIP_MAGIC):
            raise Rejected(ErrorKind.CORRUPT_GZIP, f"gzip stream of {len(data)} bytes is damaged: "
                           f"{len(rest)} bytes of garbage after its end")


def _too_large(compressed: int, budget: int, limits: Limits) -> Rejected:
    if budget >= limits.max_decompressed_bytes:
        return Rejected(ErrorKind.FILE_TOO_LARGE, f"{compressed:,} compressed bytes inflate to more than "
                        f"{budget:,} bytes (max_decompressed_bytes); inflating stopped there")
    return Rejected(ErrorKind.COMPRESSION_RATIO, f"{compressed:,} compressed bytes inflate to more than {budget:,} "
                    f"bytes ({limits.max_expansion_ratio}x plus 1 MiB, max_expansion_ratio): a gzip bomb, or data "
                    "repetitive beyond any CloudTrail log; inflating stopped there")


def _gunzip_reference(data: bytes) -> bytes:
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
    tested against: as lenient as RFC 8259 (lone surrogate escapes, numbers beyond a double, bytes
    that are not UTF-8 inside strings), unbounded, recursive. Not used by the pipeline."""
    text = decompress(data, reference=True)
    if text.startswith(b"\xef\xbb\xbf"):
        raise Rejected(ErrorKind.UTF8_BOM, "the JSON starts with a UTF-8 byte order mark (EF BB BF)")
    try:
        return records_of(loads_lenient(text))
    except ValueError as exc:
        raise Rejected(ErrorKind.NOT_JSON, f"invalid JSON: {exc}") from None
