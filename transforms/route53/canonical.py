"""The columns of records in CloudTrail's exact shape (decoded by strict.py), as the lenient
reader would give them. What is copied is read column-wise off the Structs (columnwise.py); what needs converting
(times, JSON texts, the derived columns, extra) is converted record by record by `derive`, which
returns None for a record whose values it cannot take as they are (the lenient reader reads it).

`derive` is the hot loop of a day, so it is written out once at import, from the declarations,
as straight-line Python (DERIVE_SOURCE): one expression per converted column, no dispatch.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas.tables import COUNT, DERIVED, IDENTIFIES, IN_FULL
from transforms.errors import Rejected
from transforms.route53 import columnwise, derived, strict
from transforms.route53.columns import EVENT_FIELDS, Field, scopes_of, split
from transforms.route53.strict import BATCH, EMPTY, EVENT_STRUCTS, UNREAD, NotCanonical
from transforms.times import TimeWindow, to_timestamp
from transforms.values import to_bool, to_json_text

_CONVERTED = tuple(f for f in EVENT_FIELDS if not strict.is_copied(f))
CONVERTED_COLUMNS = tuple(f.column for f in _CONVERTED) + ("extra",)
# The nested objects derive looks at (parents first): those holding a converted column or keys kept in extra.
_NEEDED = {f.scope for f in _CONVERTED if f.scope and not f.in_json} | {s for s, cls in EVENT_STRUCTS.items() if s and UNREAD[cls]}
_OBJECTS = tuple(sorted({".".join(s.split(".")[:i]) for s in _NEEDED for i in range(1, s.count(".") + 2)}, key=lambda s: (s.count("."), s)))
_JSON_SCOPES = tuple(s for s in dict.fromkeys((*scopes_of(EVENT_FIELDS, in_json=True), derived.CHANGE_INFO))
                     if s not in (derived.PARAMS, derived.RESPONSE, BATCH))
_WHOLE = tuple(f.key for f in EVENT_FIELDS if f.read == IN_FULL)


def _expression(f: Field, objects: dict[str, str], views: dict[str, str]) -> str:
    """Python for the value of a converted column, over the names _source gives the record's parts."""
    at, key = objects.get(f.scope), f.key
    if f.read == IDENTIFIES:
        assert f.column in ("event_time", "read_only"), f.column
        return "event_time" if f.column == "event_time" else f"(r.{key} if r.{key} is not None else read_only_by_name(event_name))"
    if f.read == DERIVED:
        arguments = ", ".join(views[scope] for scope in derived.views_of(derived.EVENT_DERIVED[f.column]))
        return f"derived_{f.column}(event_name, {arguments})"
    if f.read == IN_FULL:
        return f"(None if json_{key} is None else to_json_text(json_{key}))"
    if f.read == COUNT:
        return f"(None if batch.{key} is None else len(batch.{key}))"
    if f.in_json and f.scope == BATCH:
        return f"batch.{key}"
    if f.in_json:
        view = views[f.scope]
        if f.kind == "text":
            return f"{view}.str({key!r})"
        if f.kind == "time":
            return f"to_timestamp({view}.raw({key!r}), '', window, epoch=True)"
        return f"convert_{f.kind}({view}.raw({key!r}), '')"
    if f"{f.scope}.{key}".lstrip(".") in strict.TEXT_FLAGS:
        return f"to_bool({at}.{key}, '')"
    assert f.kind == "time", f
    return f"read_time({at}.{key}, window, True)"


def _source() -> str:
    """The text of derive (see DERIVE_SOURCE)."""
    objects, views = {"": "r"}, {derived.PARAMS: "view_0", derived.RESPONSE: "view_1"}
    body = []
    for i, scope in enumerate(_OBJECTS):
        parent, key = split(scope)
        body.append(f"object_{i} = {objects[parent]}.{key} or empty_{i}")
        objects[scope] = f"object_{i}"
    body += [f"json_{key} = parse_json(r.{key})" for key in _WHOLE]
    body += [f"view_0 = Exact(object_or_none(json_{derived.PARAMS}))", f"view_1 = Exact(object_or_none(json_{derived.RESPONSE}))"]
    for i, scope in enumerate(_JSON_SCOPES, start=2):
        parent, key = split(scope)
        body.append(f"view_{i} = {views[parent]}.obj({key!r})")
        views[scope] = f"view_{i}"
    body.append(f"batch = batch_of(r.{derived.PARAMS}, json_{derived.PARAMS})")
    unread = ", ".join(f"({(scope + '.') if scope else ''!r}, {name})" for scope, name in objects.items()
                       if UNREAD[EVENT_STRUCTS[scope]])
    values = [_expression(f, objects, views) for f in _CONVERTED] + [f"extra(({unread},))"]
    return "\n".join([
        "def derive(r, window=None):",
        "    window = window or any_plausible",
        "    try:",
        "        event_time = read_time(r.eventTime, window)",
        "        event_name = r.eventName",
        "        if event_time is None or not event_name or not r.eventID:",
        "            return None  # the lenient reader rejects it, or derives a synthetic id",
        *(f"        {line}" for line in body),
        "        return (", *(f"            {value}," for value in values), "        ), batch",
        "    except (Rejected, NotCanonical, ValueError):  # ValueError: a date fromisoformat refuses, or JSON orjson refuses",
        "        return None",
    ]) + "\n"


def _compile() -> Callable[[Any, TimeWindow | None], tuple[tuple[Any, ...], Any] | None]:
    names: dict[str, Any] = {
        "any_plausible": TimeWindow(), "read_time": strict.read_time, "parse_json": strict.parse_json, "Exact": strict.Exact,
        "object_or_none": derived.object_or_none, "batch_of": strict.batch_of, "extra": strict.extra, "to_bool": to_bool,
        "to_json_text": to_json_text, "to_timestamp": to_timestamp, "read_only_by_name": derived.read_only_by_name,
        "Rejected": Rejected, "NotCanonical": NotCanonical,
    }
    names |= {f"empty_{i}": EMPTY[EVENT_STRUCTS[scope]] for i, scope in enumerate(_OBJECTS)}
    names |= {f"derived_{name}": function for name, function in derived.EVENT_DERIVED.items()}
    names |= {f"convert_{kind}": function for kind, function in strict.CONVERT.items()}
    exec(compile(DERIVE_SOURCE, "<transforms.route53.canonical.derive>", "exec"), names)  # noqa: S102 - our own text
    return names["derive"]


DERIVE_SOURCE = _source()
derive = _compile()
derive.__doc__ = """The converted values of a record in CloudTrail's shape (in CONVERTED_COLUMNS' order) and its
typed change batch; or None to use the lenient reader (which also reads every value set aside
with a warning, every time outside the window, and derives an id for a record without one)."""


def event_columns(records: list[Any], converted: list[tuple[Any, ...]]) -> dict[str, Any]:
    """The events columns read from records (not those the pipeline makes), by name; None for a
    column that is null on every row (rows.Repeated makes it once per file)."""
    columns = columnwise.events(records)
    columns.update(zip(CONVERTED_COLUMNS, map(list, zip(*converted, strict=True)), strict=True))
    return columns
