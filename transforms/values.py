"""Reading loosely typed CloudTrail JSON into column types, with errors that name the field.

Keys are matched case-insensitively: CloudTrail lower-cases only the first letter of API member
names (tTL, dNSName, iPAddress) while fixtures in the wild use TTL, DNSName, HostedZoneId.
"""

from __future__ import annotations

import json
import math
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from transforms.errors import ErrorKind, Rejected

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_INTEGER = re.compile(r"-?\d{1,19}")


def to_json_text(value: Any) -> str:
    """JSON text of a parsed value. orjson is fast but refuses integers beyond 64 bits, which a
    caller (not our parser, which reads them as floats) can hand us."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False)


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def _bad(path: str, expected: str, value: Any) -> Rejected:
    shown = to_json_text(value)[:80]
    return Rejected(ErrorKind.BAD_FIELD_TYPE, f"{path}: expected {expected}, found {_kind(value)} {shown}")


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
    viewing an object costs a lookup, not a copy."""

    __slots__ = ("path", "_value", "_spelt", "_used")

    def __init__(self, value: Any, path: str) -> None:
        if value is None:
            value = {}
        if not isinstance(value, dict):
            raise _bad(path, "object", value)
        self.path = path
        self._value = value
        self._spelt = _spellings(tuple(value)) if value else {}
        self._used: set[str] = set()

    def raw(self, key: str) -> Any:
        if not self._value:
            return None  # most nested objects are absent: nothing to look up or remember
        lower = _LOWER.get(key) or _LOWER.setdefault(key, key.lower())
        self._used.add(lower)
        spelt = self._spelt.get(lower)
        return None if spelt is None else self._value[spelt]

    def _path(self, key: str) -> str:
        """The path as the record spells it (tTL, not ttl), so a message points at the real key."""
        name = self._spelt.get(key.lower(), key)
        return f"{self.path}.{name}" if self.path else name

    def obj(self, key: str) -> Obj:
        return Obj(self.raw(key), self._path(key))

    def list(self, key: str) -> list[Any] | None:
        value = self.raw(key)
        if value is None or isinstance(value, list):
            return value
        raise _bad(self._path(key), "array", value)

    # The common case (absent, or already the right type) returns at once; the path, which only
    # an error message needs, is built only on the way to the converter.
    def str(self, key: str) -> str | None:
        value = self.raw(key)
        return value if value is None or type(value) is str else to_str(value, self._path(key))

    def int(self, key: str) -> int | None:
        value = self.raw(key)
        return value if value is None else to_int(value, self._path(key))

    def float(self, key: str) -> float | None:
        value = self.raw(key)
        return value if value is None else to_float(value, self._path(key))

    def bool(self, key: str) -> bool | None:
        value = self.raw(key)
        return value if value is None or type(value) is bool else to_bool(value, self._path(key))

    def json(self, key: str) -> str | None:
        value = self.raw(key)
        return None if value is None else to_json_text(value)

    def unknown(self) -> dict[str, Any]:
        """Keys present but never read: what the schema does not know."""
        return {k: self._value[k] for lower, k in self._spelt.items() if lower not in self._used}

    def __bool__(self) -> bool:
        return bool(self._value)


def to_str(value: Any, path: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)  # an account id written as a number is still the account id
    raise _bad(path, "string", value)


def to_int(value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise _bad(path, "integer", value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and _INTEGER.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and _INT64_MIN <= value <= _INT64_MAX:
        return value
    raise _bad(path, "64-bit integer", value)


def to_float(value: Any, path: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            raise _bad(path, "number", value) from None
    else:
        raise _bad(path, "number", value)
    if not math.isfinite(number):
        raise _bad(path, "finite number", value)
    return number


def to_bool(value: Any, path: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"  # sessionContext attributes are the strings "true"/"false"
    raise _bad(path, "boolean", value)


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?\s*(Z|[+-]\d{2}:?\d{2})?",
    re.IGNORECASE,
)
_ISO_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z", re.IGNORECASE)
_US_MEDIUM = re.compile(r"([A-Za-z]{3}) (\d{1,2}), (\d{4}) (\d{1,2}):(\d{2}):(\d{2}) ([AP]M)", re.IGNORECASE)
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}


def _utc(y: str, mo: int, d: str, h: int, mi: str, s: str, micro: int, path: str, value: str) -> datetime:
    try:
        return datetime(int(y), mo, int(d), h, int(mi), int(s), micro, tzinfo=UTC)
    except ValueError as exc:
        raise Rejected(ErrorKind.BAD_TIMESTAMP, f"{path}: {value!r} is not a valid time ({exc})") from None


def to_timestamp(value: Any, path: str) -> datetime | None:
    """ISO-8601 (extended, basic, space-separated, up to nanoseconds) or Route 53's
    'Jan 16, 2015 12:41:43 AM' (changeInfo.submittedAt), to an aware UTC datetime (microseconds)."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise _bad(path, "timestamp string", value)
    text = value.strip()
    if m := _ISO.fullmatch(text):
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        stamp = _utc(y, int(mo), d, int(h), mi, s, micro, path, value)
        if tz and tz.upper() != "Z":
            sign = 1 if tz[0] == "+" else -1
            digits = tz[1:].replace(":", "")
            offset = sign * (int(digits[:2]) * 60 + int(digits[2:]))
            stamp = stamp - timedelta(minutes=offset)
        return stamp
    if m := _ISO_BASIC.fullmatch(text):
        y, mo, d, h, mi, s = m.groups()
        return _utc(y, int(mo), d, int(h), mi, s, 0, path, value)
    if (m := _US_MEDIUM.fullmatch(text)) and m.group(1).lower() in _MONTHS:
        mon, d, y, h, mi, s, half = m.groups()
        hour = int(h) % 12 + (12 if half.upper() == "PM" else 0)
        return _utc(y, _MONTHS[mon.lower()], d, hour, mi, s, 0, path, value)
    raise Rejected(ErrorKind.BAD_TIMESTAMP, f"{path}: {value[:60]!r} is not an ISO-8601 or 'Mon D, YYYY h:mm:ss AM' time")
