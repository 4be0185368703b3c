"""A structural reading of JSON text that never recurses and never builds values: where each value
starts and ends, and how deep it nests.

The lenient reading of a log file uses it to cut the Records array into record texts when the fast
parsers refuse the file as a whole (a lone surrogate escape, nesting deeper than their stacks), so
one such value costs only its record. It checks brackets and strings, not the grammar inside a
value: every text it cuts out is parsed afterwards, which finds anything else wrong.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

_WS = re.compile(rb"[ \t\n\r]*")
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SCALAR = re.compile(rb"-?(?:0|[1-9][0-9]*+)(?:\.[0-9]++)?(?:[eE][+-]?[0-9]++)?|true|false|null")
# Everything up to the next run of brackets outside a string, then that run (all opening or all
# closing): one match per run, however long the strings in between or the run ("[[[[..." is one).
_TO_BRACKETS = re.compile(rb'[^"\[\]{}]*+(?:"[^"\\]*+(?:\\.[^"\\]*+)*+"[^"\[\]{}]*+)*+([\[{]++|[\]}]++)', re.DOTALL)
_OPEN = frozenset(b"[{")
_OPENER_OF = bytes.maketrans(b"]}", b"[{")


class Broken(Exception):
    """The text is not JSON at this position (an unterminated string, a missing bracket...)."""

    def __init__(self, position: int, what: str) -> None:
        super().__init__(f"{what} at byte {position}")
        self.position = position


def skip_ws(text: bytes, pos: int) -> int:
    return _WS.match(text, pos).end()


def value_end(text: bytes, pos: int) -> tuple[int, int]:
    """(end, depth) of the JSON value starting at text[pos]: depth 0 for a scalar, 1 for {} or []."""
    if pos >= len(text):
        raise Broken(pos, "a value expected, end of text found")
    first = text[pos]
    if first in _OPEN:
        return _container_end(text, pos)
    match = (_STRING if first == 0x22 else _SCALAR).match(text, pos)
    if match is None:
        raise Broken(pos, "a value expected")
    return match.end(), 0


def _container_end(text: bytes, pos: int) -> tuple[int, int]:
    stack = bytearray()  # the brackets open, innermost last
    deepest = 0
    match = _TO_BRACKETS.match
    while True:
        found = match(text, pos)
        if found is None:
            raise Broken(pos, "an unterminated object, array or string")
        run, pos = found.group(1), found.end()
        if run[0] in _OPEN:
            stack += run
            deepest = max(deepest, len(stack))
            continue
        closed = min(len(run), len(stack))
        if closed == 0 or run[:closed].translate(_OPENER_OF)[::-1] != stack[len(stack) - closed:]:
            raise Broken(found.start(1), "a bracket that closes nothing open")
        del stack[len(stack) - closed:]
        if not stack:
            return found.start(1) + closed, deepest


def depth_at_most(chunk: bytes, limit: int) -> bool:
    """Whether a value's text nests at most `limit` levels, for text a parser has found balanced.
    Counting brackets settles it for almost every record; for one with more brackets than the
    limit, the brackets outside strings are kept and the innermost pairs removed a level a pass:
    all in C, a few microseconds where a scan would take a millisecond."""
    if chunk.count(b"{") + chunk.count(b"[") <= limit:
        return True
    if b"\\" in chunk:  # escaped backslashes first: what remains of \" is a real quote, of \\" none
        chunk = chunk.replace(b"\\\\", b"").replace(b'\\"', b"")
    brackets = b"".join(chunk.split(b'"')[0::2]).translate(None, _NOT_BRACKETS)
    for _ in range(limit):
        inner = _INNERMOST.sub(b"", brackets)
        if not inner:
            return True
        if len(inner) == len(brackets):
            return False  # unbalanced: not a value a parser accepted
        brackets = inner
    return False


_NOT_BRACKETS = bytes(set(range(256)) - set(b"[]{}"))
_INNERMOST = re.compile(rb"\[\]|\{\}")  # one level a pass: a substitution does not look at its own output


class Elements:
    """The elements of the array at text[pos] ('['), as (start, end, depth), one at a time; once
    iterated, `end` is the position after the array's ']'."""

    def __init__(self, text: bytes, pos: int) -> None:
        self.text, self.start, self.end = text, pos, -1

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        text = self.text
        pos = skip_ws(text, self.start + 1)
        if text[pos:pos + 1] == b"]":
            self.end = pos + 1
            return
        while True:
            end, depth = value_end(text, pos)
            yield pos, end, depth
            pos = skip_ws(text, end)
            separator = text[pos:pos + 1]
            if separator == b"]":
                self.end = pos + 1
                return
            if separator != b",":
                raise Broken(pos, "',' or ']' expected after an array element")
            pos = skip_ws(text, pos + 1)


class Members:
    """The members of the object at text[pos] ('{'), as (key as JSON text, value start, value end);
    once iterated, `end` is the position after the object's '}'. scan(key, start) may read a value
    itself and return its end (None: scanned here). At the key `until` (JSON text, e.g.
    b'"Records"') iteration yields (key, start, -1) and stops without scanning that value."""

    def __init__(self, text: bytes, pos: int, *, until: bytes | None = None,
                 scan: Callable[[bytes, int], int | None] | None = None) -> None:
        self.text, self.start, self.end, self.until, self.scan = text, pos, -1, until, scan

    def __iter__(self) -> Iterator[tuple[bytes, int, int]]:
        text = self.text
        pos = skip_ws(text, self.start + 1)
        if text[pos:pos + 1] == b"}":
            self.end = pos + 1
            return
        while True:
            key = _STRING.match(text, pos)
            if key is None:
                raise Broken(pos, "a key expected")
            pos = skip_ws(text, key.end())
            if text[pos:pos + 1] != b":":
                raise Broken(pos, "':' expected after a key")
            start = skip_ws(text, pos + 1)
            if key.group() == self.until:
                yield key.group(), start, -1
                return
            end = self.scan(key.group(), start) if self.scan else None
            if end is None:
                end, _ = value_end(text, start)
            yield key.group(), start, end
            pos = skip_ws(text, end)
            separator = text[pos:pos + 1]
            if separator == b"}":
                self.end = pos + 1
                return
            if separator != b",":
                raise Broken(pos, "',' or '}' expected after an object member")
            pos = skip_ws(text, pos + 1)
