"""The strict reader: records in CloudTrail's exact shape, decoded by msgspec and read column-wise.

Its msgspec Structs are made at import from the columns' paths (transforms/route53/columns.py):
one Struct per nested object, every key in CloudTrail's own spelling with CloudTrail's type. So
msgspec checks in C that every key is known and every value has that type, and a column is read
off attributes without converting anything. A record that does not fit exactly (decode returns
None for it, or derive does) goes to the lenient reader, which names any problem precisely.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

import msgspec
import orjson
from msgspec import UNSET, Meta, Raw, Struct

from schemas.tables import COUNT, DERIVED, IDENTIFIES, IN_FULL
from transforms.route53 import derived
from transforms.route53.columns import CHANGE_FIELDS, EVENT_FIELDS, Field, scopes_of, split
from transforms.times import TimeWindow, to_timestamp
from transforms.values import to_bool, to_float, to_int, to_json_text

# Keys CloudTrail writes that no column reads: a record holding them is still in CloudTrail's
# shape, and they go to the extra column, as the lenient reader puts every key it does not read.
KEPT_IN_EXTRA = (
    "userIdentity.identityProvider", "userIdentity.credentialId",
    "userIdentity.sessionContext.webIdFederationData", "userIdentity.sessionContext.sourceIdentity",
    "userIdentity.sessionContext.ec2RoleDelivery", "userIdentity.sessionContext.sessionIssuer.principalId",
    "userIdentity.sessionContext.sessionIssuer.accountId", "addendum.updatedFields", "addendum.originalRequestID",
    "sessionCredentialFromConsole", "vpcEndpointAccountId",
)
TEXT_FLAGS = frozenset({"userIdentity.sessionContext.attributes.mfaAuthenticated"})  # CloudTrail writes the string "false"

# CloudTrail's types. A value of any other type (a number where a string belongs, "true" for true)
# fails msgspec's check and sends the record to the lenient reader, which converts it.
_Str = str | None
_TYPES: dict[str, Any] = {
    "text": _Str, "time": _Str, "flag": bool | None,
    "integer": Annotated[int, Meta(ge=-(2**63), le=2**63 - 1)] | None,
    "number": Annotated[float, Meta(ge=-sys.float_info.max, le=sys.float_info.max)] | None,
}
NULL = Raw(b"null")
BATCH = "requestParameters.changeBatch"


class NotCanonical(Exception):
    """The record is not in CloudTrail's own shape: the lenient reader reads it."""


class _Strict(Struct, forbid_unknown_fields=True, gc=False):
    """Unknown keys (including other spellings of known ones) send the record to the lenient reader."""


class _Value(_Strict):
    value: _Str = None


_TYPES["strings"] = list[_Value | str | None] | None


def _member(f: Field) -> tuple[str, Any, Any]:
    if f.read == IN_FULL:
        return (f.key, Raw, NULL)  # kept whole as JSON text; parsed once for the columns named in it
    path = f"{f.scope}.{f.key}" if f.scope else f.key
    return (f.key, bool | str | None if path in TEXT_FLAGS else _TYPES[f.kind], None)


def make_structs(root: str, fields: tuple[Field, ...], kept: tuple[str, ...] = (),
             extra_members: tuple[tuple[str, Any, Any], ...] = ()) -> dict[str, type]:
    """One Struct per object the fields are read from, by scope ("" the root), made deepest first."""
    members: dict[str, list[tuple[str, Any, Any]]] = {"": list(extra_members)}
    for scope in scopes_of(fields):
        members[scope] = []
    for f in fields:
        if not f.in_json and f.read not in (DERIVED, COUNT):
            members[f.scope].append(_member(f))
    for path in kept:
        scope, key = split(path)
        members[scope].append((key, Any, UNSET))
    made: dict[str, type] = {}
    for scope in sorted(members, key=lambda s: -len(s.split(".")) if s else 0):
        name = "_" + (scope.rsplit(".", 1)[-1] or root)
        made[scope] = msgspec.defstruct(name, members[scope], bases=(_Strict,), forbid_unknown_fields=True, gc=False)
        if scope:
            parent, key = split(scope)
            members[parent].append((key, made[scope] | None, None))
    return made


CHANGE_STRUCTS = make_structs("Change", CHANGE_FIELDS)
Change = CHANGE_STRUCTS[""]
Batch = msgspec.defstruct("_Batch", [(f.key, list[Change] | None if f.read == COUNT else _member(f)[1], None)
                                     for f in EVENT_FIELDS if f.scope == BATCH],
                          bases=(_Strict,), forbid_unknown_fields=True, gc=False)
Params = msgspec.defstruct("_Params", [("changeBatch", Batch | None, None)], gc=False)  # its other keys stay in the JSON
EVENT_STRUCTS = make_structs("Record", EVENT_FIELDS, KEPT_IN_EXTRA)
Record = EVENT_STRUCTS[""]
EMPTY: dict[type, Struct] = {cls: cls() for cls in (*CHANGE_STRUCTS.values(), *EVENT_STRUCTS.values(), Batch)}
UNREAD = {cls: tuple(name for name, default in zip(cls.__struct_fields__, cls.__struct_defaults__, strict=True) if default is UNSET)
           for cls in EVENT_STRUCTS.values()}

_RECORDS = msgspec.json.Decoder(list[Record])
_RECORD = msgspec.json.Decoder(Record)
_PARAMS = msgspec.json.Decoder(Params)
_REFUSED = (msgspec.DecodeError, UnicodeDecodeError, RecursionError)  # a type it does not expect, text not UTF-8, deep nesting


def decode(chunks: list[bytes]) -> list[Any]:
    """The records' texts as Records, in one call; None for a text not in CloudTrail's shape."""
    if not chunks:
        return []
    try:
        return _RECORDS.decode(b"[" + b",".join(chunks) + b"]")
    except _REFUSED:
        return [decode_one(chunk) for chunk in chunks]


def decode_one(chunk: bytes) -> Any:
    try:
        return _RECORD.decode(chunk)
    except _REFUSED:
        return None


def values_of(items: list[Any] | None) -> list[str | None] | None:
    """resourceRecords[].value in order (an item may be the value itself)."""
    if items is None:
        return None
    return [item.value if type(item) is _Value else item for item in items]


def is_copied(f: Field) -> bool:
    """Read off the decoded Struct column-wise; the others are converted record by record (derive)."""
    if f.in_json or f.read in (DERIVED, COUNT, IN_FULL):
        return False
    if f.read == IDENTIFIES:
        return f.column in ("event_id", "event_name", "event_source")
    return f.kind != "time" and f"{f.scope}.{f.key}".lstrip(".") not in TEXT_FLAGS


_CLOUDTRAIL_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def read_time(text: str | None, window: TimeWindow, epoch: bool = False) -> datetime | None:
    """to_timestamp, with CloudTrail's own format (2026-11-05T12:34:56Z) read in C."""
    if text is not None and _CLOUDTRAIL_TIME.fullmatch(text):
        return window.check(datetime.fromisoformat(text), "", text)
    return to_timestamp(text, "", window, epoch=epoch)


def parse_json(raw: Raw) -> Any:
    return None if raw is NULL else orjson.loads(memoryview(raw))


def batch_of(raw: Raw, request: Any) -> Any:
    """requestParameters.changeBatch, typed (Exact has checked how its key is spelt)."""
    if not isinstance(request, dict) or request.get("changeBatch") is None:
        return EMPTY[Batch]
    try:
        return _PARAMS.decode(raw).changeBatch
    except msgspec.ValidationError:
        raise NotCanonical from None


# How a value inside requestParameters or responseElements that is not text becomes the column's.
CONVERT: dict[str, Callable[[Any, str], Any]] = {"flag": to_bool, "integer": to_int, "number": to_float}


def extra(scopes: tuple[tuple[str, Struct], ...]) -> str | None:
    """Keys present that the lenient reader does not read, as its `extra` column spells them."""
    found = {prefix + name: value for prefix, struct in scopes for name in UNREAD[type(struct)]
             if (value := getattr(struct, name)) is not UNSET}
    return to_json_text(dict(sorted(found.items()))) if found else None


class Exact:
    """Obj's reading interface (str, obj, raw) for the derived columns (transforms/route53/derived.py),
    over an object whose keys are spelt as CloudTrail spells them: a plain dict lookup, no case
    folding. Another spelling of a key read, or a value of another type, is not canonical."""

    __slots__ = ("_value",)

    def __init__(self, value: Any) -> None:
        if value is None:
            value = {}
        elif type(value) is not dict or not _spelt_as_cloudtrail(value):
            raise NotCanonical
        self._value = value

    def raw(self, key: str) -> Any:
        return self._value.get(key)

    def str(self, key: str) -> str | None:
        value = self._value.get(key)
        if value is None or type(value) is str:
            return value
        raise NotCanonical

    def obj(self, key: str) -> Exact:
        return Exact(self._value.get(key))


_IN_JSON_KEYS = {part for f in EVENT_FIELDS if f.in_json for part in (*f.scope.split(".")[1:], f.key)}
_READ_KEYS = {key.lower(): key for key in (*derived.KEYS_READ, *_IN_JSON_KEYS)}
_SHAPES: dict[tuple[str, ...], bool] = {}  # an object's keys -> whether the keys read are spelt exactly


def _spelt_as_cloudtrail(value: dict[str, Any]) -> bool:
    keys = tuple(value)
    exact = _SHAPES.get(keys)
    if exact is None:
        if len(_SHAPES) >= 20_000:
            _SHAPES.clear()  # data with endless shapes: the cache only saves time
        exact = _SHAPES[keys] = all(_READ_KEYS.get(key.lower(), key) == key for key in keys)
    return exact

