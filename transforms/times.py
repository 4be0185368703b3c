"""Every time format AWS writes into a CloudTrail record, read to an aware UTC datetime, and the
window of instants a record can plausibly carry.

- eventTime and most timestamps: ISO-8601, extended or basic, `T` or a space, `Z`, an offset
  (`+01:00`, `+0100`, `+01`) or none (UTC), fractions up to nanoseconds (kept to microseconds:
  Athena reads no finer).
- responseElements.changeInfo.submittedAt: Java's `DateFormat.MEDIUM` for the US locale, which
  changed with the JDK: `Jan 16, 2018 12:41:43 AM` (JDK 8), `Jan 16, 2018, 12:41:43 AM` (JDK 9+,
  CLDR), and U+202F or U+00A0 before AM/PM (JDK 20+, CLDR 42).
- Where a field is documented to hold an SDK timestamp (submittedAt, session creationDate),
  epoch seconds or milliseconds as a number or digits (AWS's JSON protocols write epoch seconds).

No clock here: the caller says what "now" is (TimeWindow.until).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from transforms.errors import ErrorKind, Rejected
from transforms.values import BigNumber, bad_type

CLOUDTRAIL_BEGAN = datetime(2013, 11, 1, tzinfo=UTC)  # CloudTrail launched on 13 November 2013
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAX_OFFSET_MINUTES = 18 * 60  # ISO-8601 and java.time allow no more; +99:99 is not a zone
_EPOCH_MILLIS_FROM = 1e11  # 1e11 seconds is the year 5138, 1e11 milliseconds is 1973: larger values are milliseconds


@dataclass(frozen=True)
class TimeWindow:
    """Instants a record can carry: not before CloudTrail existed, not (much) after now. A time
    outside it would put the record into an event_date partition no query reads (years 0001 or
    9999), or is a clock or data error that moves an event silently."""

    earliest: datetime = CLOUDTRAIL_BEGAN
    latest: datetime | None = None  # None: no upper bound (callers that do not know "now")

    @classmethod
    def until(cls, now: datetime, slack: timedelta = timedelta(days=1)) -> TimeWindow:
        """The window of a run started at `now`; slack allows for clocks that are a little ahead."""
        return cls(latest=now + slack)

    def check(self, stamp: datetime, path: str, value: Any) -> datetime:
        if stamp < self.earliest:
            raise _implausible(path, value, f"is {_utc(stamp)}, before CloudTrail existed ({_utc(self.earliest)})")
        if self.latest is not None and stamp > self.latest:
            raise _implausible(path, value, f"is {_utc(stamp)}, after {_utc(self.latest)} (the run's start plus a day)")
        return stamp


def _utc(stamp: datetime) -> str:
    return stamp.isoformat(sep=" ", timespec="seconds")[:19] + " UTC"


_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:[.,](\d{1,9}))?\s*(Z|[+-]\d{2}(?::?\d{2})?)?", re.IGNORECASE)
_ISO_BASIC = re.compile(r"(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(?:[.,](\d{1,9}))?(Z|[+-]\d{2}(?:\d{2})?)?", re.IGNORECASE)
# Java's US medium format in every JDK's spelling: comma after the year or not; a space, U+00A0 or
# U+202F before AM/PM (\s matches all three); month names abbreviated (Sep, or Sept) or in full.
_US_MEDIUM = re.compile(r"([A-Za-z]{3,9})\.?\s+(\d{1,2}),\s*(\d{4}),?\s+(\d{1,2}):(\d{2}):(\d{2})\s*([AP])\.?M\.?", re.IGNORECASE)
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")
_MONTHS = {m: i for i, m in enumerate(
    ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), start=1)}
_MONTH_NAMES = ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
                "november", "december")


def to_timestamp(value: Any, path: str, window: TimeWindow | None = None, *, epoch: bool = False) -> datetime | None:
    """A time as AWS writes it -> an aware UTC datetime (microseconds), or None for null.

    Raises Rejected: BAD_TIMESTAMP (no format AWS writes, or not a real date), BAD_FIELD_TYPE (not
    a string, where epoch numbers are not allowed), IMPLAUSIBLE_TIME (an offset beyond ±18:00, or
    outside `window`; by default not before CloudTrail began)."""
    if value is None:
        return None
    window = window or _DEFAULT_WINDOW
    if isinstance(value, str):
        text = value.strip()
        if epoch and _NUMBER.fullmatch(text):
            return window.check(_from_epoch(float(text), path, value), path, value)
        return window.check(_parse_text(text, path, value), path, value)
    if epoch and isinstance(value, (int, float)) and not isinstance(value, bool):
        return window.check(_from_epoch(value, path, value), path, value)
    if epoch and isinstance(value, BigNumber):  # a number no double holds (1e400)
        raise _implausible(path, value, "is no instant a calendar holds")
    raise bad_type(path, "timestamp string", value)


_DEFAULT_WINDOW = TimeWindow()


def _parse_text(text: str, path: str, value: str) -> datetime:
    if m := _ISO.fullmatch(text) or _ISO_BASIC.fullmatch(text):
        y, mo, d, h, mi, s, frac, tz = m.groups()
        micro = int((frac or "0")[:6].ljust(6, "0"))
        return _shift(_civil(y, int(mo), d, int(h), mi, s, micro, path, value), tz, path, value)
    if m := _US_MEDIUM.fullmatch(text):
        mon, d, y, h, mi, s, half = m.groups()
        month = _month(mon)
        if month and 1 <= int(h) <= 12:
            hour = int(h) % 12 + (12 if half.upper() == "P" else 0)
            return _civil(y, month, d, hour, mi, s, 0, path, value)
    raise Rejected(ErrorKind.BAD_TIMESTAMP, f"{path}: {value[:60]!r} is not an ISO-8601 or 'Mon D, YYYY, h:mm:ss AM' time")


def _month(name: str) -> int | None:
    lowered = name.lower()
    if len(lowered) == 3 or lowered == "sept":
        return _MONTHS.get(lowered[:3])
    return _MONTH_NAMES.index(lowered) + 1 if lowered in _MONTH_NAMES else None


def _civil(y: str, mo: int, d: str, h: int, mi: str, s: str, micro: int, path: str, value: str) -> datetime:
    try:
        return datetime(int(y), mo, int(d), h, int(mi), int(s), micro, tzinfo=UTC)
    except ValueError as exc:
        raise Rejected(ErrorKind.BAD_TIMESTAMP, f"{path}: {value!r} is not a valid time ({exc})") from None


def _shift(stamp: datetime, tz: str | None, path: str, value: str) -> datetime:
    """The instant of a local time with its offset: 10:00+02:00 is 08:00 UTC."""
    if not tz or tz.upper() == "Z":
        return stamp
    digits = tz[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if minutes >= 60 or hours * 60 + minutes > _MAX_OFFSET_MINUTES:
        raise _implausible(path, value, f"has the offset {tz}, which is no UTC offset (they lie within ±18:00)")
    offset = timedelta(hours=hours, minutes=minutes)
    try:
        return stamp - offset if tz[0] == "+" else stamp + offset
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is in the year 0, which datetime cannot hold
        raise _implausible(path, value, "is outside the calendar (years 1 to 9999) in UTC") from None


def _from_epoch(number: float, path: str, value: Any) -> datetime:
    if not math.isfinite(number):
        raise _implausible(path, value, "is no instant a calendar holds")
    try:
        if abs(number) >= _EPOCH_MILLIS_FROM:
            return _EPOCH + timedelta(milliseconds=number)
        return _EPOCH + timedelta(seconds=number)
    except OverflowError:
        raise _implausible(path, value, "is outside the calendar (years 1 to 9999)") from None


def _implausible(path: str, value: Any, why: str) -> Rejected:
    shown = value[:60] if isinstance(value, str) else value
    return Rejected(ErrorKind.IMPLAUSIBLE_TIME, f"{path}: {shown!r} {why}")
