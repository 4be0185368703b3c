"""Reading loosely typed CloudTrail JSON into column types, with errors that name the field.

Keys are matched case-insensitively: CloudTrail lower-cases only the first letter of API member
names (tTL, dNSName, iPAddress) while fixtures in the wild use TTL, DNSName, HostedZoneId.

An Obj reads strictly (a value that cannot be read raises Rejected) or, given Notes, leniently:
the value is set aside (the column becomes null) and Notes says what was found.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from transforms.errors import ErrorKind, Rejected

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"-?\d{1,19}")
_INT_DIGITS = 4000  # int() refuses more than 4,300 digits (CPython's guard against slow conversions)


class BigNumber:
    """A JSON number no column can hold: beyond a double (1e400) or thousands of digits long.
    RFC 8259 allows it, orjson refuses it; it is kept as its text, so JSON columns keep the original."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BigNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)


def loads_lenient(data: bytes) -> Any:
    """One JSON value as RFC 8259 reads it, where orjson refuses it: a lone surrogate escape
    ("\\ud800") stays in the string, a number no double holds becomes a BigNumber, bytes that are
    not UTF-8 become lone surrogates (U+DC80-U+DCFF). NaN and Infinity are not JSON: ValueError.
    Recursive: the caller bounds the nesting depth first."""
    return json.loads(bytes(data).decode("utf-8", "surrogateescape"), parse_float=_float, parse_int=_int,
                      parse_constant=_not_json)


def _float(text: str) -> float | BigNumber:
    number = float(text)
    return number if math.isfinite(number) else BigNumber(text)


def _int(text: str) -> int | BigNumber:
    return int(text) if len(text) <= _INT_DIGITS else BigNumber(text)


def _not_json(constant: str) -> None:
    raise ValueError(f"{constant} is not JSON")  # the standard library accepts NaN and Infinity; RFC 8259 does not


def is_unicode(text: str) -> bool:
    """False for text holding a lone surrogate, which no UTF-8 column (Parquet, Arrow) can store."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def printable(text: str) -> str:
    """The text with every lone surrogate written as its escape (\\ud800): storable anywhere."""
    return text if is_unicode(text) else text.encode("utf-8", "backslashreplace").decode("utf-8")


def to_json_text(value: Any) -> str:
    """JSON text of a parsed value, compact, as orjson writes it. orjson is fast but refuses
    integers beyond 64 bits, lone surrogates and nesting beyond 254 levels: those take a slower
    writer that escapes lone surrogates (\\ud800), so the text is always valid UTF-8."""
    try:
        return orjson.dumps(value, default=_fragment).decode()
    except TypeError:
        return "".join(_encode(value, []))


def _fragment(value: Any) -> orjson.Fragment:
    if isinstance(value, BigNumber):
        return orjson.Fragment(value.text)
    raise TypeError(f"{type(value).__name__} is not JSON")


def _encode(value: Any, out: list[str]) -> list[str]:
    if isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=not is_unicode(value)))
    elif isinstance(value, dict):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            if i:
                out.append(",")
            _encode(str(key), out).append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list):
        out.append("[")
        for i, item in enumerate(value):
            if i:
                out.append(",")
            _encode(item, out)
        out.append("]")
    elif isinstance(value, int) and not isinstance(value, bool):
        out.append(str(value))
    else:
        out.append(orjson.dumps(value, default=_fragment).decode())
    return out


def deeper_than(value: Any, limit: int) -> bool:
    """Whether a parsed value nests objects and arrays more than `limit` levels (iteratively)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float, BigNumber)):
        return "number"
    return "string"


def bad_type(path: str, expected: str, value: Any) -> Rejected:
    shown = to_json_text(value[:80] if isinstance(value, str) else value)[:80]
    return Rejected(ErrorKind.BAD_FIELD_TYPE, f"{path}: expected {expected}, found {_kind(value)} {shown}")




class Notes:
    """What a lenient reading set aside: one warning per value ("path: what was found") and the
    values themselves by path, where no JSON column keeps them (they go to the extra column)."""

    __slots__ = ("warnings", "kept")

    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.kept: dict[str, Any] = {}

    def set_aside(self, error: Rejected, path: str, value: Any, keep: bool) -> None:
        self.warnings.append(printable(error.message))
        if keep:
            self.kept[path] = value


_LOWER: dict[str, str] = {}  # the schema's key names, lower-cased once
_SPELLINGS: dict[tuple[str, ...], dict[str, str]] = {}  # an object's keys -> lower-cased key -> key as spelt
_MAX_SHAPES = 20_000  # records come in few shapes; the cache is cleared if data has endless ones


def _spellings(keys: tuple[str, ...]) -> dict[str, str]:
    spelt = _SPELLINGS.get(keys)
    if spelt is None:
        if len(_SPELLINGS) >= _MAX_SHAPES:
            _SPELLINGS.clear()
        spelt = _SPELLINGS[keys] = {k.lower(): k for k in keys}  # of two spellings, the later wins
    return spelt


class Obj:
    """A JSON object viewed with case-insensitive keys; remembers which keys were read.

    Objects of the same shape (the same keys in the same order) share one case-folding map, so
    viewing an object costs a lookup, not a copy. Without notes a value that cannot be read
    raises Rejected; with notes it is set aside (None) and noted. in_json: the object is inside a
    field kept whole as JSON text (requestParameters, responseElements), so a value set aside
    there is not copied to the extra column."""

    __slots__ = ("path", "_value", "_spelt", "_used", "_notes", "_in_json")

    def __init__(self, value: Any, path: str, notes: Notes | None = None, in_json: bool = False) -> None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise bad_type(path, "object", value)
        self.path = path
        self._value = value
        self._spelt = _spellings(tuple(value)) if value else {}
        self._used: set[str] = set()
        self._notes = notes
        self._in_json = in_json

    def raw(self, key: str) -> Any:
        if not self._value:
            return None  # most nested objects are absent: nothing to look up or remember
        lower = _LOWER.get(key) or _LOWER.setdefault(key, key.lower())
        self._used.add(lower)
        spelt = self._spelt.get(lower)
        return None if spelt is None else self._value[spelt]

    def path_of(self, key: str) -> str:
        """The path as the record spells it (tTL, not ttl), so a message points at the real key."""
        name = self._spelt.get(key.lower(), key)
        return f"{self.path}.{name}" if self.path else name

    def _set_aside(self, error: Rejected, key: str, value: Any) -> None:
        if self._notes is None:
            raise error
        self._notes.set_aside(error, self.path_of(key), value, keep=not self._in_json)

    def obj(self, key: str) -> Obj:
        value = self.raw(key)
        if value is not None and not isinstance(value, dict):
            self._set_aside(bad_type(self.path_of(key), "object", value), key, value)
            value = None
        return Obj(value, self.path_of(key), self._notes, self._in_json)

    def list(self, key: str) -> list[Any] | None:
        value = self.raw(key)
        if value is None or isinstance(value, list):
            return value
        self._set_aside(bad_type(self.path_of(key), "array", value), key, value)
        return None

    def convert(self, key: str, convert: Any, value: Any) -> Any:
        """convert(value, path), or, for a value it refuses, None once noted (with notes)."""
        try:
            return convert(value, self.path_of(key))
        except Rejected as error:
            self._set_aside(error, key, value)
            return None

    # The common case (absent, or already the right type) returns at once; the path, which only
    # an error message needs, is built only on the way to the converter.
    def str(self, key: str) -> str | None:
        value = self.raw(key)
        return value if value is None or (type(value) is str and value.isascii()) else self.convert(key, to_str, value)

    def int(self, key: str) -> int | None:
        value = self.raw(key)
        return value if value is None else self.convert(key, to_int, value)

    def float(self, key: str) -> float | None:
        value = self.raw(key)
        return value if value is None else self.convert(key, to_float, value)

    def bool(self, key: str) -> bool | None:
        value = self.raw(key)
        return value if value is None or type(value) is bool else self.convert(key, to_bool, value)

    def json(self, key: str) -> str | None:
        value = self.raw(key)
        return None if value is None else to_json_text(value)

    def unknown(self) -> dict[str, Any]:
        """Keys present but never read: what the schema does not know."""
        return {k: self._value[k] for lower, k in self._spelt.items() if lower not in self._used}

    def __bool__(self) -> bool:
        return bool(self._value)


def to_str(value: Any, path: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        if is_unicode(value):
            return value
        raise Rejected(ErrorKind.INVALID_UNICODE, f"{path}: text that is not valid Unicode ({printable(repr(value[:60]))})")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an account id written as a number is still the account id
    raise bad_type(path, "string", value)


def to_int(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise bad_type(path, "integer", value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return value
    raise bad_type(path, "64-bit integer", value)


def to_float(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float, str)) and not isinstance(value, bool):
        try:
            number = float(value)
        except ValueError:
            raise bad_type(path, "number", value) from None
        except OverflowError:  # an integer of hundreds of digits
            raise bad_type(path, "finite number", value) from None
    else:
        raise bad_type(path, "number", value)
    if not math.isfinite(number):
        raise bad_type(path, "finite number", value)
    return number


def to_bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # sessionContext attributes are the strings "true"/"false"
    raise bad_type(path, "boolean", value)
