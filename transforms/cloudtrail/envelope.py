"""The Records of a decompressed log file, cut into record texts, keeping only those that can be
of a selected event source: the first step of transforms.route53.fast.flatten_file.

Three readings; each runs only when the one before refuses the file:
1. msgspec reads every record's eventSource in one pass, in C: every valid CloudTrail file.
2. The same on a copy of the text whose surrogate escapes ("\\ud800") are masked, as msgspec and
   orjson refuse a lone one anywhere. Positions do not change, so records are cut from the
   original text and keep their values.
3. A structural scan in Python (transforms.cloudtrail.jsonscan) that never recurses and holds nothing per
   unselected record: a record nested deeper than the parsers' stacks, bytes that are not UTF-8
   in an eventSource, a file of so many tiny records that one object per record would not fit the
   memory bound, or a file that is not JSON (the scan names the damage).
So a value one parser refuses costs at most its own record, and only if that record is selected.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from typing import Any

import msgspec

from transforms.cloudtrail.container import parse_json, records_of
from transforms.cloudtrail.jsonscan import Broken, Elements, Members, skip_ws, value_end
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits
from transforms.values import is_unicode, loads_lenient, to_json_text

Slices = Iterable[tuple[int, Any]]  # (position in Records, JSON text: bytes or msgspec.Raw), in file order, read once


class _Source(msgspec.Struct, gc=False):
    eventSource: str | None = None  # every other field is skipped unread


class _Sources(msgspec.Struct):
    Records: list[_Source] | None = None


class _Envelope(msgspec.Struct):
    Records: list[msgspec.Raw] | None = None


_SOURCES = msgspec.json.Decoder(_Sources)
_SOURCE = msgspec.json.Decoder(_Source)
_ENVELOPE = msgspec.json.Decoder(_Envelope)
_REFUSED = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)  # msgspec.ValidationError is a DecodeError
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_MAY_NAME_SOURCE = re.compile(rb"(?i)eventsource|\\u")  # another spelling of the key, or an escape in it
_UTF8_BOM = b"\xef\xbb\xbf"
_OBJECTS_PER_RECORD_BOUND = 2  # the first pass holds ~64 bytes per record; see candidate_records


def candidate_records(text: bytes, event_sources: frozenset[str], limits: Limits = DEFAULT_LIMITS) -> tuple[int, Slices]:
    """(number of records, (position, JSON text) of only the records that can be of a selected
    source, or whose source cannot be told, to be iterated once). Raises Rejected for a file that
    is not a log file, or holds more than limits.max_records_per_file records.

    A record whose eventSource is absent (in that spelling) or not a string is kept: flatten_event
    decides about it (another spelling of the key, an Insights record, a value of the wrong type).
    """
    objects_bound = _OBJECTS_PER_RECORD_BOUND * limits.max_records_per_file
    if len(text) > objects_bound and text.count(b"{") > objects_bound:
        return _scanned(text, event_sources, limits)  # maybe tens of millions of tiny records
    try:
        return _parsed(text, text, event_sources, limits)
    except (*_REFUSED, _Misaligned):
        pass
    if b"\\u" in text:
        masked, found = _SURROGATE_ESCAPE.subn(rb"\\u0020", text)
        if found:
            try:
                return _parsed(masked, text, event_sources, limits)
            except (*_REFUSED, _Misaligned):
                pass
    return _scanned(text, event_sources, limits)


def _parsed(structure: bytes, text: bytes, event_sources: frozenset[str], limits: Limits) -> tuple[int, Slices]:
    """The msgspec reading of `structure` (text, or text with surrogates masked), cut from text."""
    try:
        records = _SOURCES.decode(structure).Records
    except msgspec.ValidationError:
        records = None  # some record is not an object or has a source of another type
    if records is not None:
        _count(len(records), limits)
        spellings = {record.eventSource for record in records}
        wanted = {s: 1 for s in spellings if s is not None and s.lower() in event_sources}
        if None in spellings:
            wanted[None] = 2  # kept if its text may name the source otherwise
        if not wanted:
            return len(records), []
        # One byte per record says which to keep, so the records' objects are freed before the slices are made.
        marks = defaultdict(int, wanted)  # 0 for every other source
        mask = bytes(map(marks.__getitem__, [record.eventSource for record in records]))
        del records
        raws = _ENVELOPE.decode(structure).Records
        picks: Iterable[tuple[int, Any]] = _picked(raws, mask)
    else:
        try:
            raws = _ENVELOPE.decode(structure).Records
        except msgspec.ValidationError:
            raws = None
        if raws is None:  # not {"Records": [...]}: names the problem (masking keeps the shape), or reads an unusual but valid file
            try:
                records = records_of(parse_json(structure))
            except Rejected as error:
                if error.kind is ErrorKind.NOT_JSON and structure is text and b"\\u" in text:
                    raise _Misaligned from None  # perhaps only a lone surrogate: the masked reading names it
                raise
            if structure is not text:
                raise _Misaligned  # e.g. two Records keys, read differently by msgspec and orjson: the scan decides
            return _as_slices(records)
        _count(len(raws), limits)
        picks = ((index, raw) for index, raw in enumerate(raws) if _may_be_selected(raw, event_sources))
    if structure is not text:
        return len(raws), _unmasked(structure, text, raws, list(picks))
    return len(raws), picks


def _picked(raws: list[msgspec.Raw], mask: bytes) -> Iterator[tuple[int, Any]]:
    for found in _MARKED.finditer(mask):
        index = found.start()
        if mask[index] == 1 or _MAY_NAME_SOURCE.search(raws[index]):
            yield index, raws[index]


_MARKED = re.compile(b"[\x01\x02]")


def _count(records: int, limits: Limits) -> None:
    if records > limits.max_records_per_file:
        raise Rejected(ErrorKind.TOO_MANY_RECORDS, f"more than {limits.max_records_per_file:,} records (max_records_per_file)")


def _may_be_selected(chunk: Any, event_sources: frozenset[str]) -> bool:
    try:
        source = _SOURCE.decode(chunk).eventSource
    except (msgspec.DecodeError, UnicodeDecodeError):
        return True  # not an object (quarantined), a source that is not a string, or a value msgspec refuses
    if source is None:
        return _MAY_NAME_SOURCE.search(chunk) is not None
    return source.lower() in event_sources


def _as_slices(records: list[Any]) -> tuple[int, Slices]:
    return len(records), [(index, to_json_text(record).encode()) for index, record in enumerate(records)]


class _Misaligned(Exception):
    """This reading cannot settle the file (the masked text's records not found in the original,
    or a lone surrogate perhaps all that is wrong): the next reading does."""


def _unmasked(structure: bytes, text: bytes, raws: list[msgspec.Raw], picks: list[tuple[int, Any]]) -> list[tuple[int, bytes]]:
    """The picked records cut from the original text, at the positions they have in the masked one."""
    members = Members(structure, skip_ws(structure, 0), until=b'"Records"')
    starts = [start for key, start, _ in members if key == b'"Records"']
    if not starts or structure[starts[0]:starts[0] + 1] != b"[":
        raise _Misaligned
    wanted = {index for index, _ in picks}
    last = max(wanted, default=-1)
    cut, pos = [], starts[0] + 1
    for index, raw in enumerate(raws[:last + 1]):
        pos = skip_ws(structure, pos)
        if index:
            pos = skip_ws(structure, pos + 1)  # the ',' between records
        end = pos + len(raw)
        if index in wanted:
            if structure[pos:end] != bytes(raw):
                raise _Misaligned
            cut.append((index, text[pos:end]))
        pos = end
    return cut


def _scanned(text: bytes, event_sources: frozenset[str], limits: Limits) -> tuple[int, Slices]:
    if text.startswith(_UTF8_BOM):
        raise Rejected(ErrorKind.UTF8_BOM, "the JSON starts with a UTF-8 byte order mark (EF BB BF)")
    try:
        return _Scan(text, event_sources, limits).run()
    except Broken as broken:
        raise _damage(text, broken) from None


class _Scan:
    """The structural reading of one file: the top-level object's members, the Records array's
    elements one at a time, and only the texts of the records that may be selected kept."""

    def __init__(self, text: bytes, event_sources: frozenset[str], limits: Limits) -> None:
        self.text, self.event_sources, self.limits = text, event_sources, limits
        self.records: tuple[int, Slices] | None = None

    def run(self) -> tuple[int, Slices]:
        text = self.text
        start = skip_ws(text, 0)
        if text[start:start + 1] != b"{":
            end, _ = value_end(text, start)
            _nothing_after(text, end)
            found = "an array" if text[start:start + 1] == b"[" else type(self._other(start, end)).__name__
            raise Rejected(ErrorKind.NOT_A_LOG_FILE, f"expected an object with a 'Records' list, found {found}")
        document: dict[str, Any] = {}
        members = Members(text, start, scan=self._records)
        for key, value_start, value_end_ in members:
            name = _string(key, value_start)
            document[name] = [] if name == "Records" and self.records is not None else self._other(value_start, value_end_)
        _nothing_after(text, members.end)
        if self.records is not None:
            return self.records
        records_of(document)  # raises, naming what the document is instead
        raise Rejected(ErrorKind.NOT_A_LOG_FILE, "expected an object with a 'Records' list")

    def _records(self, key: bytes, start: int) -> int | None:
        """Reads the Records array itself (one element at a time); of two Records, the later wins."""
        if _string(key, start) != "Records":
            return None
        if self.text[start:start + 1] != b"[":
            self.records = None
            return None
        elements, slices, count = Elements(self.text, start), [], 0
        for index, (first, end, depth) in enumerate(elements):
            count = index + 1
            _count(count, self.limits)
            chunk = self.text[first:end]
            if self._may_be_selected(chunk, depth):
                slices.append((index, chunk))
        self.records = (count, slices)
        return elements.end

    def _may_be_selected(self, chunk: bytes, depth: int) -> bool:
        if chunk[:1] != b"{":
            return True  # not an object: quarantined
        if depth > self.limits.max_json_depth or len(chunk) > self.limits.max_record_bytes:
            return identify(chunk, self.event_sources)[0]  # beyond a bound: not for a parser's stack
        return _may_be_selected(chunk, self.event_sources)

    def _other(self, start: int, end: int) -> Any:
        """A member other than Records, checked as JSON (the fast reading checks it too)."""
        value = self.text[start:end]
        if value[:1] in (b"{", b"[") and value_end(value, 0)[1] > self.limits.max_json_depth:
            raise Rejected(ErrorKind.TOO_DEEP, f"a member beside Records nests deeper than {self.limits.max_json_depth} levels")
        try:
            return loads_lenient(value)
        except ValueError as exc:
            raise Broken(start, f"invalid JSON ({exc})") from None


def _string(key: bytes, position: int) -> str:
    try:
        return loads_lenient(key)
    except ValueError as exc:
        raise Broken(position, f"a string that is not JSON ({exc})") from None


def _nothing_after(text: bytes, end: int) -> None:
    pos = skip_ws(text, end)
    if pos < len(text):
        if text[pos:pos + 1] == b"{" and b"\n" in text[end:pos]:
            raise Rejected(ErrorKind.NDJSON, "one JSON object per line; expected a single {\"Records\": [...]} document")
        raise Rejected(ErrorKind.TRAILING_DATA, f"a JSON document followed by more bytes at byte {pos}")


def _damage(text: bytes, broken: Broken) -> Rejected:
    if not text.isascii():
        try:
            text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return Rejected(ErrorKind.NOT_UTF8, f"invalid UTF-8 at byte {exc.start}")
    return Rejected(ErrorKind.NOT_JSON, f"invalid JSON: {broken}")


def identify(chunk: bytes, event_sources: frozenset[str]) -> tuple[bool, str | None, str | None]:
    """(selected, eventSource, eventID) of a record read only at its top level, never recursing:
    for a record beyond a bound, which no parser should read. Selection follows flatten_event's
    (the key in any case, a source that is not text cannot be told apart, so it is selected); the
    identifiers are those the quarantine row shows (exact keys, text only). Raises Broken."""
    folded: dict[str, bytes] = {}
    exact: dict[str, bytes] = {}
    for key, start, end in Members(chunk, skip_ws(chunk, 0)):
        name = _string(key, start)
        folded[name.lower()] = exact[name] = chunk[start:end]
    source = folded.get("eventsource")
    if source is None or source == b"null":
        selected = False  # Insights records have no eventSource
    elif source[:1] == b'"':
        selected = _string(source, 0).lower() in event_sources
    else:
        selected = source[:1] in b"{[tf"  # a number reads as text ('123'), anything else cannot be told
    return selected, _text(exact.get("eventSource")), _text(exact.get("eventID"))


def _text(value: bytes | None) -> str | None:
    if value is None or value[:1] != b'"':
        return None
    text = _string(value, 0)
    return text if is_unicode(text) else None
