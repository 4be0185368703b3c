"""The lenient reader: any record -> its events row and record_changes rows, or a quarantine row.

It reads every column as schemas/tables.py declares it (transforms/route53/columns.py), looking
keys up case-insensitively and converting values (TTL, DNSName, numbers as strings), which is what
makes it right for fixtures in the wild. It is the reference the fast reader is tested against,
and the reader of every record that is not in CloudTrail's exact shape.

Only what identifies and places a record can send it to quarantine: eventTime, eventSource,
eventName, and a change batch that cannot be read as changes (and the bounds on a record's size
and depth). Any other value that cannot be read becomes null and is named in parse_warnings; the
JSON columns keep it as it was, and extra keeps it where no JSON column does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from schemas.tables import COUNT, DERIVED, IDENTIFIES, IN_FULL, UPPER, VALUES, ZONE_ID
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits, too_deep
from transforms.route53 import derived
from transforms.route53.columns import CHANGE_FIELDS, EVENT_FIELDS, FROM_EVENT, Field, scopes_of, split
from transforms.route53.names import strip_prefix
from transforms.route53.rows import Flattened, Rows, quarantine_row
from transforms.times import TimeWindow, to_timestamp
from transforms.values import Notes, Obj, bad_type, deeper_than, to_json_text, to_str

DEFAULT_EVENT_SOURCES = frozenset({"route53.amazonaws.com"})

# Nested objects are looked up before any column is read, in this order, so a warning about one
# that is not an object comes first and always in the same place; objects a new column names
# come after these.
_EVENT_SCOPES = tuple(dict.fromkeys((
    "userIdentity", "userIdentity.sessionContext", "userIdentity.sessionContext.sessionIssuer",
    "userIdentity.sessionContext.attributes", "tlsDetails", "addendum", *scopes_of(EVENT_FIELDS))))
_CHANGE_SCOPES = scopes_of(CHANGE_FIELDS)
_RECORD_SET = "resourceRecordSet"  # a change whose record set is not an object cannot be read as a change
_BATCH = "requestParameters.changeBatch"  # read by _change_batch, which refuses a batch of the wrong shape
_JSON_SCOPES = tuple(s for s in dict.fromkeys((*scopes_of(EVENT_FIELDS, in_json=True), derived.CHANGE_INFO)) if s != _BATCH)


def flatten_records(records: list[Any], *, source_file: str, delivery_date: date,
                    event_sources: frozenset[str] = DEFAULT_EVENT_SOURCES, window: TimeWindow | None = None,
                    limits: Limits = DEFAULT_LIMITS) -> Flattened:
    """Keep the records whose eventSource (case-insensitive) is in event_sources and flatten them,
    every one through flatten_event: the reference that transforms.route53.fast is tested against.
    It bounds nesting depth (limits.max_json_depth) as the fast reading does; record size is
    bounded only there, where the record's text is at hand."""
    rows = Rows()
    for index, record in enumerate(records):
        read_record(rows, index, record, source_file=source_file, delivery_date=delivery_date, event_sources=event_sources,
                    window=window, limits=limits)
    return rows.flattened(len(records))


def read_record(rows: Rows, index: int, record: Any, *, source_file: str, delivery_date: date,
                event_sources: frozenset[str], window: TimeWindow | None = None, limits: Limits = DEFAULT_LIMITS) -> None:
    """One record into `rows`: skipped, an event with its changes, or quarantined."""
    deep = deeper_than(record, limits.max_json_depth)  # no parser's stack, nor to_json_text's, for it
    try:
        if not isinstance(record, dict):
            raise too_deep(limits) if deep else Rejected(
                ErrorKind.RECORD_NOT_OBJECT, f"expected a JSON object, found {type(record).__name__}")
        if not _is_selected(record, event_sources, cannot_tell=deep):
            return
        if deep:
            raise too_deep(limits)
        rows.add(*flatten_event(record, source_file=source_file, record_index=index, delivery_date=delivery_date, window=window))
    except Rejected as error:
        rows.reject(quarantine_row(source_file, index, error, record, keep_raw=not deep))


def _is_selected(record: dict[str, Any], event_sources: frozenset[str], cannot_tell: bool = False) -> bool:
    """True for a record of a selected source. Raises for records whose source cannot be told:
    they might be Route 53, so they go to quarantine rather than being skipped (cannot_tell=True:
    they are selected, for the caller to quarantine)."""
    source = Obj(record, "").raw("eventSource")
    if source is None:
        return False  # Insights records have no eventSource; they are not API calls
    if isinstance(source, str):
        return source.lower() in event_sources  # text that is not valid Unicode is no selected source either
    try:
        return to_str(source, "eventSource").lower() in event_sources
    except Rejected:
        if cannot_tell:
            return True
        raise


def flatten_event(record: dict[str, Any], *, source_file: str, record_index: int, delivery_date: date,
                  window: TimeWindow | None = None) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One record -> its events row and its record_changes rows. Raises Rejected for a record that
    cannot be identified or placed (eventTime, eventSource, eventName) or whose change batch
    cannot be read as changes; any other value that cannot be read is set aside and noted."""
    notes = Notes()
    r = Obj(record, "", notes)
    placed = _placed(r, window)
    views = {"": r}
    for scope in _EVENT_SCOPES:
        parent, key = split(scope)
        views[scope] = views[parent].obj(key)
    # requestParameters/responseElements are kept whole as JSON; only the columns named in them are typed.
    for root in (derived.PARAMS, derived.RESPONSE):
        views[root] = Obj(derived.object_or_none(r.raw(root)), root, notes, in_json=True)
    for scope in _JSON_SCOPES:
        if scope not in views:
            parent, key = split(scope)
            views[scope] = views[parent].obj(key)
    views[_BATCH], changes = _change_batch(views[derived.PARAMS])
    event = {f.column: _event_value(f, views, placed, changes, window) for f in EVENT_FIELDS}
    event |= {"extra": _unknown_keys(*((f"{s}." if s else "", views[s]) for s in ("", *_EVENT_SCOPES)), kept=notes.kept),
              "parse_warnings": None, "delivery_date": delivery_date, "source_file": source_file, "record_index": record_index}
    rows = explode_changes(event, changes or [])
    warnings = notes.warnings + [w for row in rows for w in row["parse_warnings"] or ()]
    event["parse_warnings"] = warnings or None
    return event, rows


def _placed(r: Obj, window: TimeWindow | None) -> dict[str, Any]:
    """The columns that identify and place the record: it is quarantined without them."""
    event_time = to_timestamp(r.raw("eventTime"), "eventTime", window)  # places the record: never set aside
    event_name = to_str(r.raw("eventName"), "eventName")
    event_source = to_str(r.raw("eventSource"), "eventSource")
    if event_time is None or not event_name or not event_source:
        missing = "eventTime" if event_time is None else "eventName" if not event_name else "eventSource"
        raise Rejected(ErrorKind.MISSING_FIELD, f"{missing} is missing or null")
    return {"event_time": event_time, "event_name": event_name, "event_source": event_source.lower()}


def _event_value(f: Field, views: dict[str, Obj], placed: dict[str, Any], changes: list[Any] | None,
                 window: TimeWindow | None) -> Any:
    if f.read == IDENTIFIES:
        if f.column == "event_id":
            return views[""].str(f.key) or derived.synthetic_event_id(views[""])
        if f.column == "read_only":  # a readOnly that cannot be read is null, like any other field
            return derived.read_only_by_name(placed["event_name"]) if views[""].raw(f.key) is None else views[""].bool(f.key)
        return placed[f.column]
    if f.read == DERIVED:
        function = derived.EVENT_DERIVED[f.column]
        return function(placed["event_name"], *(views[scope] for scope in derived.views_of(function)))
    if f.read == COUNT:
        return None if changes is None else len(changes)
    return read_value(f, views[f.scope], window)


def read_value(f: Field, view: Obj, window: TimeWindow | None, notes: Notes | None = None) -> Any:
    """The column's value from the object holding it, as the column declares it is read."""
    if f.read == IN_FULL:
        return view.json(f.key)
    if f.read == VALUES:
        return _values(view, f.key, notes)
    if f.kind == "time":  # a time that neither identifies nor places the record: set aside if unreadable
        value = view.raw(f.key)  # (SDK timestamps, which AWS's JSON protocols write as epoch seconds)
        return None if value is None else view.convert(f.key, lambda v, path: to_timestamp(v, path, window, epoch=True), value)
    value = {"text": view.str, "flag": view.bool, "integer": view.int, "number": view.float}[f.kind](f.key)
    if f.read == UPPER:
        return value.upper() if value else None
    if f.read == ZONE_ID:
        return strip_prefix(value, "/hostedzone/")
    return value


def _change_batch(params: Obj) -> tuple[Obj, list[Any] | None]:
    """requestParameters.changeBatch and its changes, or BAD_CHANGE_BATCH: a batch that cannot be
    read as changes is not published in part (nor with its rows missing)."""
    value = params.raw("changeBatch")
    if value is not None and not isinstance(value, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, bad_type(params.path_of("changeBatch"), "object", value).message)
    batch = params.obj("changeBatch")
    changes = batch.raw("changes")
    if changes is not None and not isinstance(changes, list):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, bad_type(batch.path_of("changes"), "array", changes).message)
    return batch, changes


def explode_changes(event: dict[str, Any], changes: list[Any]) -> list[dict[str, Any]]:
    """One row per entry of changeBatch.changes. Key: (event_id, change_index)."""
    context = {name: event[name] for name in FROM_EVENT}
    context["batch_size"] = len(changes)
    return [{**context, **_change_row(index, change)} for index, change in enumerate(changes)]


def _change_row(index: int, value: Any) -> dict[str, Any]:
    """One change. One that is not an object, or whose resourceRecordSet is not, cannot be read as
    a change (BAD_CHANGE_BATCH); any other value that cannot be read is set aside, as on events."""
    path = f"requestParameters.changeBatch.changes[{index}]"
    if not isinstance(value, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, f"{path}: expected an object, found {type(value).__name__}")
    notes = Notes()
    views = {"": Obj(value, path, notes)}
    record_set = views[""].raw(_RECORD_SET)
    if record_set is not None and not isinstance(record_set, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, bad_type(views[""].path_of(_RECORD_SET), "object", record_set).message)
    for scope in _CHANGE_SCOPES:
        parent, key = split(scope)
        views[scope] = views[parent].obj(key)
    row: dict[str, Any] = {"change_index": index}
    for f in CHANGE_FIELDS:
        if f.read == DERIVED:
            source, function = derived.CHANGE_DERIVED[f.column]
            row[f.column] = function(row[source])
        else:
            row[f.column] = read_value(f, views[f.scope], None, notes)
    rrset = views[_RECORD_SET]
    # Values set aside are kept in extra as its keys are spelt: 'tTL' for the record set's, 'change.x' for the change's.
    kept = {(p[len(rrset.path) + 1:] if p.startswith(rrset.path + ".") else "change." + p[len(path) + 1:]): v
            for p, v in notes.kept.items()}
    row["extra"] = _unknown_keys(("change.", views[""]), *((_change_prefix(s), views[s]) for s in _CHANGE_SCOPES), kept=kept)
    row["parse_warnings"] = notes.warnings or None
    return row


def _change_prefix(scope: str) -> str:
    """extra spells a change's keys from its record set: 'aliasTarget.x', not 'resourceRecordSet.aliasTarget.x'."""
    return "" if scope == _RECORD_SET else scope.removeprefix(_RECORD_SET + ".") + "."


def _values(rrset: Obj, key: str, notes: Notes | None) -> list[str | None] | None:
    """resourceRecords[].value in order; an item that cannot be read is null, in its place."""
    items = rrset.list(key)
    if items is None:
        return None
    path = rrset.path_of(key)
    values = []
    for i, item in enumerate(items):
        if isinstance(item, dict):
            values.append(Obj(item, f"{path}[{i}]", notes).str("value"))
            continue
        try:
            values.append(to_str(item, f"{path}[{i}]"))
        except Rejected as error:
            notes.set_aside(error, f"{path}[{i}]", item, keep=True)
            values.append(None)
    return values


def _unknown_keys(*scopes: tuple[str, Obj], kept: dict[str, Any] | None = None) -> str | None:
    """JSON of the keys no column reads, and of the values set aside (by path), or None."""
    unknown = {prefix + key: value for prefix, obj in scopes for key, value in obj.unknown().items()}
    unknown.update(kept or {})
    return to_json_text(dict(sorted(unknown.items()))) if unknown else None
