"""CloudTrail records -> rows of events, record_changes and quarantine.

Grain: one events row per record of a selected event source; one record_changes row per entry of
requestParameters.changeBatch.changes; one quarantine row per record that cannot be read. Every
selected record ends in exactly one of events or quarantine, and an event's change rows all come
with it or not at all (a batch is never split).

Only what identifies and places a record can send it to quarantine: eventTime, eventSource,
eventName, and a change batch that cannot be read as changes (and the bounds on a record's size
and depth). Any other value that cannot be read becomes null and is named in parse_warnings; the
JSON columns keep it as it was, and extra keeps it where no JSON column does.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pyarrow as pa

from schemas.tables import EVENTS, QUARANTINE, RECORD_CHANGES
from transforms.errors import ErrorKind, Rejected
from transforms.limits import DEFAULT_LIMITS, Limits, too_deep
from transforms.route53.names import normalize_record_name, strip_prefix
from transforms.times import TimeWindow, to_timestamp
from transforms.values import Notes, Obj, bad_type, deeper_than, is_unicode, printable, to_json_text, to_str

DEFAULT_EVENT_SOURCES = frozenset({"route53.amazonaws.com"})


@dataclass
class Flattened:
    """What one file's records became. Counts reconcile:
    selected == events.num_rows + quarantined (record-level rows of this file).
    parsed False: the file's text cannot spell a selected eventSource, so it was not parsed
    (route53_fast.flatten_file) and records_read is None (not counted)."""

    events: pa.Table
    record_changes: pa.Table
    quarantine: pa.Table
    records_read: int | None
    selected: int
    parsed: bool = True


_ROWS_PER_TABLE = 4096  # rows become Arrow tables this many at a time: as Python dicts they cost ~1 KB each


class Repeated:
    """Columns of one value on every row (the file's source_file and delivery_date, the nulls of
    columns canonical records never fill), made once per file and sliced for each batch: the
    batches share one buffer instead of a copy per row (source_file alone is ~150 bytes a row)."""

    def __init__(self) -> None:
        self._made: dict[tuple[Any, str], pa.Array] = {}

    def __call__(self, value: Any, type_: pa.DataType, rows: int) -> pa.Array:
        base = self._made.get((value, str(type_)))
        if base is None or len(base) < rows:
            size = rows if base is None else max(rows, 2 * len(base))  # most files need one batch: exactly its size
            base = self._made[(value, str(type_))] = pa.nulls(size, type_) if value is None else pa.array([value] * size, type_)
        return base if len(base) == rows else base.slice(0, rows)


@dataclass
class Rows:
    """Rows of one file as they are found, turned into Arrow tables a slice at a time, so a file
    of a million records never holds a million Python dicts."""

    events: list[dict[str, Any]] = field(default_factory=list)
    changes: list[dict[str, Any]] = field(default_factory=list)
    quarantine: list[dict[str, Any]] = field(default_factory=list)
    sealed: dict[str, list[pa.Table]] = field(default_factory=lambda: {name: [] for name in _TABLES})
    repeat: Repeated = field(default_factory=lambda: Repeated())

    def add(self, event: dict[str, Any], changes: list[dict[str, Any]]) -> None:
        self.events.append(event)
        self.changes.extend(changes)
        if len(self.events) >= _ROWS_PER_TABLE or len(self.changes) >= 4 * _ROWS_PER_TABLE:
            self._seal("events")
            self._seal("changes")

    def reject(self, row: dict[str, Any]) -> None:
        self.quarantine.append(row)
        if len(self.quarantine) >= _ROWS_PER_TABLE:
            self._seal("quarantine")

    def add_reference(self, index: int, record: Any, *, source_file: str, delivery_date: date,
                      event_sources: frozenset[str], window: TimeWindow | None = None,
                      limits: Limits = DEFAULT_LIMITS) -> None:
        """One record as the reference reads it: skipped, an event with its changes, or quarantined."""
        deep = deeper_than(record, limits.max_json_depth)  # no parser's stack, nor to_json_text's, for it
        try:
            if not isinstance(record, dict):
                raise too_deep(limits) if deep else Rejected(
                    ErrorKind.RECORD_NOT_OBJECT, f"expected a JSON object, found {type(record).__name__}")
            if not _is_selected(record, event_sources, cannot_tell=deep):
                return
            if deep:
                raise too_deep(limits)
            self.add(*flatten_event(record, source_file=source_file, record_index=index, delivery_date=delivery_date,
                                    window=window))
        except Rejected as error:
            self.reject(quarantine_row(source_file, index, error, record, keep_raw=not deep))

    def _seal(self, name: str) -> None:
        rows = getattr(self, name)
        if not rows:
            return
        table = pa.Table.from_pylist(rows, schema=_TABLES[name].schema)
        for column in ("source_file", "delivery_date"):  # one file's rows share them: one buffer, not a copy a row
            values = {row.get(column) for row in rows}
            if column in table.column_names and len(values) == 1:
                field_ = table.schema.field(column)
                table = table.set_column(table.schema.get_field_index(column), field_, self.repeat(values.pop(), field_.type, len(rows)))
        self.sealed[name].append(table)
        rows.clear()

    def flattened(self, records_read: int) -> Flattened:
        tables = {}
        for name, table in _TABLES.items():
            self._seal(name)
            tables[name] = pa.concat_tables(self.sealed[name]) if self.sealed[name] else table.empty
        return Flattened(
            events=tables["events"],
            record_changes=tables["changes"],
            quarantine=tables["quarantine"],
            records_read=records_read,
            selected=tables["events"].num_rows + tables["quarantine"].num_rows,
        )


_TABLES = {"events": EVENTS, "changes": RECORD_CHANGES, "quarantine": QUARANTINE}


def quarantine_row(source_file: str, record_index: int | None, error: Rejected, record: Any = None, *,
                   keep_raw: bool = True, event_source: str | None = None, event_id: str | None = None) -> dict[str, Any]:
    """keep_raw=False: a record beyond a bound, whose text is not repeated here (raw is null)."""
    if isinstance(record, dict):
        event_source = _lenient_str(record.get("eventSource"))
        event_id = _lenient_str(record.get("eventID"))
    return {
        "source_file": source_file,
        "record_index": record_index,
        "error_kind": str(error.kind),
        "error_message": printable(error.message),
        "event_source": event_source,
        "event_id": event_id,
        "raw": None if record_index is None or not keep_raw else to_json_text(record),
    }


def _lenient_str(value: Any) -> str | None:
    return value if isinstance(value, str) and is_unicode(value) else None


def flatten_records(
    records: list[Any],
    *,
    source_file: str,
    delivery_date: date,
    event_sources: frozenset[str] = DEFAULT_EVENT_SOURCES,
    window: TimeWindow | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Flattened:
    """Keep the records whose eventSource (case-insensitive) is in event_sources and flatten them,
    every one through flatten_event: the reference that transforms.route53.fast is tested against.
    It bounds nesting depth (limits.max_json_depth) as the fast reading does; record size is
    bounded only there, where the record's text is at hand."""
    rows = Rows()
    for index, record in enumerate(records):
        rows.add_reference(index, record, source_file=source_file, delivery_date=delivery_date, event_sources=event_sources,
                           window=window, limits=limits)
    return rows.flattened(len(records))


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


def flatten_event(
    record: dict[str, Any], *, source_file: str, record_index: int, delivery_date: date, window: TimeWindow | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One record -> its events row and its record_changes rows. Raises Rejected for a record that
    cannot be identified or placed (eventTime, eventSource, eventName) or whose change batch
    cannot be read as changes; any other value that cannot be read is set aside and noted."""
    notes = Notes()
    r = Obj(record, "", notes)
    event_time = to_timestamp(r.raw("eventTime"), "eventTime", window)  # places the record: never set aside
    event_name = to_str(r.raw("eventName"), "eventName")
    event_source = to_str(r.raw("eventSource"), "eventSource")
    if event_time is None or not event_name or not event_source:
        missing = "eventTime" if event_time is None else "eventName" if not event_name else "eventSource"
        raise Rejected(ErrorKind.MISSING_FIELD, f"{missing} is missing or null")
    identity = r.obj("userIdentity")
    session = identity.obj("sessionContext")
    issuer, attributes = session.obj("sessionIssuer"), session.obj("attributes")
    tls, addendum = r.obj("tlsDetails"), r.obj("addendum")
    # requestParameters/responseElements are kept whole as JSON; only their join keys are typed.
    params = Obj(_object_or_none(r.raw("requestParameters")), "requestParameters", notes, in_json=True)
    response = Obj(_object_or_none(r.raw("responseElements")), "responseElements", notes, in_json=True)
    change_info = response.obj("changeInfo")
    batch, changes = _change_batch(params)

    event = {
        "event_id": r.str("eventID") or _synthetic_event_id(r),
        "event_time": event_time,
        "event_name": event_name,
        "event_source": event_source.lower(),
        "event_type": r.str("eventType"),
        "event_version": r.str("eventVersion"),
        "api_version": r.str("apiVersion"),
        "event_category": r.str("eventCategory"),
        "read_only": _read_only(r, event_name),
        "management_event": r.bool("managementEvent"),
        "aws_region": r.str("awsRegion"),
        "source_ip_address": r.str("sourceIPAddress"),
        "user_agent": r.str("userAgent"),
        "request_id": r.str("requestID"),
        "recipient_account_id": r.str("recipientAccountId"),
        "shared_event_id": r.str("sharedEventID"),
        "vpc_endpoint_id": r.str("vpcEndpointId"),
        "error_code": r.str("errorCode"),
        "error_message": r.str("errorMessage"),
        "tls_version": tls.str("tlsVersion"),
        "tls_cipher_suite": tls.str("cipherSuite"),
        "tls_client_provided_host_header": tls.str("clientProvidedHostHeader"),
        "user_identity_type": identity.str("type"),
        "user_identity_principal_id": identity.str("principalId"),
        "user_identity_arn": identity.str("arn"),
        "user_identity_account_id": identity.str("accountId"),
        "user_identity_access_key_id": identity.str("accessKeyId"),
        "user_identity_user_name": identity.str("userName"),
        "user_identity_invoked_by": identity.str("invokedBy"),
        "session_issuer_type": issuer.str("type"),
        "session_issuer_arn": issuer.str("arn"),
        "session_issuer_user_name": issuer.str("userName"),
        "session_mfa_authenticated": attributes.bool("mfaAuthenticated"),
        "session_creation_date": _time(attributes, "creationDate", window),
        "hosted_zone_id": _hosted_zone_id(event_name, params, response),
        "hosted_zone_name": _hosted_zone_name(event_name, params, response),
        "change_id": _change_id(event_name, params, change_info),
        "change_status": change_info.str("status"),
        "change_submitted_at": _time(change_info, "submittedAt", window),
        "health_check_id": _health_check_id(params, response),
        "change_count": None if changes is None else len(changes),
        "change_comment": batch.str("comment"),
        "addendum_reason": addendum.str("reason"),
        "addendum_original_event_id": addendum.str("originalEventID"),
        "request_parameters": r.json("requestParameters"),
        "response_elements": r.json("responseElements"),
        "additional_event_data": r.json("additionalEventData"),
        "extra": _unknown_keys(
            ("", r), ("userIdentity.", identity), ("userIdentity.sessionContext.", session),
            ("userIdentity.sessionContext.sessionIssuer.", issuer),
            ("userIdentity.sessionContext.attributes.", attributes), ("tlsDetails.", tls), ("addendum.", addendum),
            kept=notes.kept,
        ),
        "parse_warnings": None,
        "delivery_date": delivery_date,
        "source_file": source_file,
        "record_index": record_index,
    }
    rows = explode_changes(event, changes or [])
    warnings = notes.warnings + [w for row in rows for w in row["parse_warnings"] or ()]
    event["parse_warnings"] = warnings or None
    return event, rows


def _time(obj: Obj, key: str, window: TimeWindow | None) -> Any:
    """A timestamp that neither identifies nor places the record: one that cannot be read is set
    aside. These fields hold SDK timestamps, which AWS's JSON protocols write as epoch seconds."""
    value = obj.raw(key)
    return None if value is None else obj.convert(key, lambda v, path: to_timestamp(v, path, window, epoch=True), value)


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


_READ_PREFIXES = ("get", "list", "describe", "testdnsanswer", "check", "view")


def _read_only(r: Obj, event_name: str) -> bool | None:
    """readOnly as recorded; records older than eventVersion 1.01 lack it, and then the API naming
    convention decides (Get*, List*, TestDNSAnswer... read; everything else writes). A readOnly
    that cannot be read is null, like any other field."""
    if r.raw("readOnly") is None:
        return event_name.lower().startswith(_READ_PREFIXES)
    return r.bool("readOnly")


def _object_or_none(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def _synthetic_event_id(r: Obj) -> str:
    """eventVersion 1.0 records have no eventID: derive a stable one from what identifies the call."""
    parts = [r.raw(k) for k in ("eventTime", "eventSource", "eventName", "awsRegion", "sourceIPAddress")]
    parts += [Obj(_object_or_none(r.raw("userIdentity")), "").raw("arn"), r.raw("requestParameters")]
    canonical = json.dumps(parts, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    digest = hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()
    return f"synthetic:{digest[:32]}"


def _hosted_zone_id(event_name: str, params: Obj, response: Obj) -> str | None:
    zone = params.str("hostedZoneId")
    if zone is None and "hostedzone" in event_name.lower():
        zone = params.str("id")  # DeleteHostedZone, GetHostedZone, UpdateHostedZoneComment
    if zone is None and (params.str("resourceType") or "").lower() == "hostedzone":
        zone = params.str("resourceId")  # ChangeTagsForResource
    if zone is None:
        zone = response.obj("hostedZone").str("id")  # CreateHostedZone
    return strip_prefix(zone, "/hostedzone/")


def _hosted_zone_name(event_name: str, params: Obj, response: Obj) -> str | None:
    if event_name.lower() != "createhostedzone":
        return None
    return normalize_record_name(params.str("name") or response.obj("hostedZone").str("name"))


def _change_id(event_name: str, params: Obj, change_info: Obj) -> str | None:
    change = change_info.str("id")
    if change is None and event_name.lower() == "getchange":
        change = params.str("id")
    return strip_prefix(change, "/change/")


def _health_check_id(params: Obj, response: Obj) -> str | None:
    check = params.str("healthCheckId") or response.obj("healthCheck").str("id")
    if check is None and (params.str("resourceType") or "").lower() == "healthcheck":
        check = params.str("resourceId")
    return check


_EVENT_COLUMNS_ON_CHANGES = (
    "event_id", "event_time", "recipient_account_id", "hosted_zone_id", "change_id", "change_comment",
    "user_identity_type", "user_identity_arn", "user_identity_invoked_by", "session_issuer_arn", "source_ip_address", "user_agent",
    "error_code", "delivery_date", "source_file", "record_index",
)


def explode_changes(event: dict[str, Any], changes: list[Any]) -> list[dict[str, Any]]:
    """One row per entry of changeBatch.changes. Key: (event_id, change_index)."""
    context = {name: event[name] for name in _EVENT_COLUMNS_ON_CHANGES}
    context["batch_size"] = len(changes)
    return [{**context, **_change_row(index, change)} for index, change in enumerate(changes)]


def _change_row(index: int, value: Any) -> dict[str, Any]:
    """One change. One that is not an object, or whose resourceRecordSet is not, cannot be read as
    a change (BAD_CHANGE_BATCH); any other value that cannot be read is set aside, as on events."""
    path = f"requestParameters.changeBatch.changes[{index}]"
    if not isinstance(value, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, f"{path}: expected an object, found {type(value).__name__}")
    notes = Notes()
    change = Obj(value, path, notes)
    record_set = change.raw("resourceRecordSet")
    if record_set is not None and not isinstance(record_set, dict):
        raise Rejected(ErrorKind.BAD_CHANGE_BATCH, bad_type(change.path_of("resourceRecordSet"), "object", record_set).message)
    rrset = change.obj("resourceRecordSet")
    alias, geo = rrset.obj("aliasTarget"), rrset.obj("geoLocation")
    cidr, proximity = rrset.obj("cidrRoutingConfig"), rrset.obj("geoProximityLocation")
    coordinates = proximity.obj("coordinates")
    action = change.str("action")
    name = rrset.str("name")
    row = {
        "change_index": index,
        "action": action.upper() if action else None,
        "record_name": name,
        "record_name_normalized": normalize_record_name(name),
        "record_type": rrset.str("type"),
        "ttl": rrset.int("ttl"),
        "resource_records": _values(rrset, notes),
        "alias_hosted_zone_id": strip_prefix(alias.str("hostedZoneId"), "/hostedzone/"),
        "alias_dns_name": alias.str("dNSName"),
        "alias_evaluate_target_health": alias.bool("evaluateTargetHealth"),
        "set_identifier": rrset.str("setIdentifier"),
        "weight": rrset.int("weight"),
        "region": rrset.str("region"),
        "failover": rrset.str("failover"),
        "geo_continent_code": geo.str("continentCode"),
        "geo_country_code": geo.str("countryCode"),
        "geo_subdivision_code": geo.str("subdivisionCode"),
        "multi_value_answer": rrset.bool("multiValueAnswer"),
        "health_check_id": rrset.str("healthCheckId"),
        "traffic_policy_instance_id": rrset.str("trafficPolicyInstanceId"),
        "cidr_collection_id": cidr.str("collectionId"),
        "cidr_location_name": cidr.str("locationName"),
        "geoproximity_aws_region": proximity.str("aWSRegion"),
        "geoproximity_local_zone_group": proximity.str("localZoneGroup"),
        "geoproximity_latitude": coordinates.float("latitude"),
        "geoproximity_longitude": coordinates.float("longitude"),
        "geoproximity_bias": proximity.int("bias"),
    }
    # Values set aside are kept in extra as its keys are spelt: 'tTL' for the record set's, 'change.x' for the change's.
    kept = {(p[len(rrset.path) + 1:] if p.startswith(rrset.path + ".") else "change." + p[len(path) + 1:]): v
            for p, v in notes.kept.items()}
    row["extra"] = _unknown_keys(
        ("change.", change), ("", rrset), ("aliasTarget.", alias), ("geoLocation.", geo),
        ("cidrRoutingConfig.", cidr), ("geoProximityLocation.", proximity),
        ("geoProximityLocation.coordinates.", coordinates), kept=kept,
    )
    row["parse_warnings"] = notes.warnings or None
    return row


def _values(rrset: Obj, notes: Notes) -> list[str | None] | None:
    """resourceRecords[].value in order; an item that cannot be read is null, in its place."""
    items = rrset.list("resourceRecords")
    if items is None:
        return None
    path = rrset.path_of("resourceRecords")
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
