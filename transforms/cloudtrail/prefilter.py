"""Whether a decompressed log file can hold a record of a selected event source, by byte search only.

flatten_event selects a record when its eventSource, decoded from JSON and lower-cased (str.lower),
is one of the configured values (the settings allow only [a-z0-9.-] in them). A file whose bytes
cannot spell any of those values holds no selected record, so flatten_file counts it as read
without parsing it record by record. Bytes can spell a value three ways, and each is looked for:

- in ASCII letters of either case: all values at once, by one case-insensitive search of Arrow's
  (RE2, over the bytes in place: no copy), whose cost hardly grows with the number of values (the
  Route 53 family's six cost what route53.amazonaws.com alone did);
- with a \\uXXXX escape, which JSON allows for any character: any escape of a code point below 0x80
  (or of the Kelvin sign) counts as a possible spelling. The short escapes (\\" \\\\ \\/ \\b \\f \\n
  \\r \\t) spell no character a value can hold;
- with U+212A KELVIN SIGN, whose lower-case is "k": the only character beyond ASCII whose
  lower-case is ASCII (U+0130's is "i" and a combining dot). A test checks this over all of Unicode.

A false match only costs the parse that every file had before. A file without any match is not
checked as JSON either: damage in it cannot hide a selected record, since it holds none. But a file
that is not a log file at all (an XML error page, JSON without Records, an array) says so in its
first bytes (`may_be_log_file`): something writes garbage into the trail, and an operator must learn it.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.compute as pc

_PLAIN = re.compile(r"[a-z0-9.-]+")
_ASCII_OR_KELVIN_ESCAPE = re.compile(rb"\\u(?:00[0-7][0-9a-fA-F]|212[aA])")
_KELVIN = "\u212a".encode()
# CloudTrail writes `{"Records":[` first; whitespace is allowed, as JSON allows it.
_LOG_FILE_OPENING = re.compile(rb'[ \t\n\r]*\{[ \t\n\r]*"Records"[ \t\n\r]*:')
_OBJECT_OPENING = re.compile(rb"[ \t\n\r]*\{")
_CHUNK = 1 << 20  # bytes searched at a time after the first chunk
_FIRST_CHUNK = 1 << 16  # a file holding Route 53 records names their source within its first dozens of records


def may_hold_selected(text: bytes, event_sources: frozenset[str]) -> bool:
    """False only when no record of the text can have one of event_sources as its eventSource.
    event_sources are lower-case (as the settings store them); any other value makes this True."""
    if not event_sources or not all(_PLAIN.fullmatch(source) for source in event_sources):
        return True  # a value this search does not know how to look for: parse
    pattern = "|".join(sorted(source.replace(".", r"\.") for source in event_sources))  # [a-z0-9.-]: '.' is the one metacharacter
    overlap = max(map(len, event_sources)) - 1
    view, start, size = memoryview(text), 0, _FIRST_CHUNK
    while True:  # first: a file that names a source plainly stops early, most often in its first few records
        if _spells_any(view[start:start + size + overlap], pattern):
            return True
        start += size
        if start >= len(text) - overlap:
            break
        size = _CHUNK
    if b"\\" in text and _ASCII_OR_KELVIN_ESCAPE.search(text):
        return True
    return any("k" in source for source in event_sources) and _KELVIN in text


def _spells_any(chunk: memoryview, pattern: str) -> bool:
    """Whether the bytes hold a match of `pattern` in any case of its ASCII letters: the chunk is
    one binary value of an Arrow array over the buffer in place. (RE2's case folding also lets
    'k' match the Kelvin sign and 's' U+017F when it reads UTF-8: extra matches, never fewer.)"""
    offsets = pa.array([0, len(chunk)], pa.int32()).buffers()[1]
    value = pa.Array.from_buffers(pa.binary(), 1, [None, offsets, pa.py_buffer(chunk)])
    return bool(pc.match_substring_regex(value, pattern, ignore_case=True)[0].as_py())


def may_be_log_file(text: bytes) -> bool:
    """False only when the text cannot be a log file ({"Records": [...]}), judged without parsing:
    it does not open as a JSON object (an XML or HTML page, an array, a byte order mark), or it is
    an object in which no "Records" key can be spelt. CloudTrail writes Records as the first key,
    which a look at the first bytes confirms; any other object is searched for the key's bytes (or
    an escape, which might spell it): a false match lets through a file that is then not parsed, as
    any file without a selected source."""
    if _LOG_FILE_OPENING.match(text):
        return True
    if not _OBJECT_OPENING.match(text):
        return False
    return b'"Records"' in text or b"\\u" in text
